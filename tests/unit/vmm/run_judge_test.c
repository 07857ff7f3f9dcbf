/* The judge of a run: PASS only when no part found anything; otherwise the first finding in
 * the order a run notices them (live, device, unpin, guest, pins). */
#include "test.h"
#include "vmm/session.h"

int main(void)
{
	struct run_findings f;
	char reason[SESSION_REASON_BYTES];

	memset(&f, 0, sizeof(f));
	TEST_ASSERT(run_judge(&f, reason, sizeof(reason)) && !reason[0], "nothing found: PASS");

	snprintf(f.pins, sizeof(f.pins), "pin leak");
	TEST_ASSERT(!run_judge(&f, reason, sizeof(reason)) && !strcmp(reason, "pin leak"), "pins alone");
	snprintf(f.guest, sizeof(f.guest), "3 pattern mismatches");
	TEST_ASSERT(!run_judge(&f, reason, sizeof(reason)) && !strcmp(reason, "3 pattern mismatches"),
		    "the guest's verdict before the validator's: %s", reason);
	snprintf(f.device, sizeof(f.device), "DMA: 1 verify failure");
	TEST_ASSERT(!run_judge(&f, reason, sizeof(reason)) && !strncmp(reason, "DMA:", 4), "device first: %s", reason);
	snprintf(f.live, sizeof(f.live), "interrupted");
	TEST_ASSERT(!run_judge(&f, reason, sizeof(reason)) && !strcmp(reason, "interrupted"), "live first: %s", reason);

	memset(&f, 0, sizeof(f));
	snprintf(f.unpin, sizeof(f.unpin), "unpinning failed: x");
	TEST_ASSERT(!run_judge(&f, reason, 8) && strlen(reason) == 7, "a short buffer is cut, not overrun");
	printf("PASS: run judge\n");
	return T_PASS;
}
