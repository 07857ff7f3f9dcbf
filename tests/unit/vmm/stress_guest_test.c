/* The stress guest behind the guest interface, without KVM: created, then collected before
 * its devices exist (a run interrupted during set-up) — no finding, no crash — and freed. */
#include "common/report.h"
#include "test.h"
#include "vmm/guest.h"
#include "vmm/stress_guest.h"

int main(void)
{
	struct run_config cfg = { .cpus = 2, .dma = true, .dma_queues = 1, .hang_s = 1 };
	struct guest_machine none = { 0 };
	struct report *r = report_new();
	char gf[256] = "stale", df[256] = "stale";
	struct guest *g = NULL;
	struct err e = { 0 };
	const char *kind;

	TEST_ASSERT(r, "report");
	TEST_ASSERT(stress_guest_ops.create(&cfg, &g, &e) == 0 && g, "create: %s", e.msg);
	TEST_ASSERT(stress_guest_ops.collect(g, &none, r, gf, df, sizeof(gf)) == 0, "collect before devices");
	TEST_ASSERT(!gf[0] && !df[0], "no finding before the guest ran: '%s' '%s'", gf, df);
	kind = report_get_str(r, "guest.kind");
	TEST_ASSERT(kind && !strcmp(kind, "stress"), "guest.kind");
	stress_guest_ops.quiesce(g);		/* idempotent, nothing to drain */
	stress_guest_ops.destroy_devices(g);
	stress_guest_ops.destroy(g);

	cfg.cpus = 0;
	err_reset(&e);
	TEST_ASSERT(stress_guest_ops.create(&cfg, &g, &e) == -EINVAL && !g && strstr(e.msg, "vCPUs"),
		    "0 vCPUs refused: %s", e.msg);
	report_free(r);
	printf("PASS: stress guest collected before its devices, refused with 0 vCPUs\n");
	return T_PASS;
}
