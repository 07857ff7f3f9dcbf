/* The DAXVM-GUEST-RESULT line: formatting (pure) and printing on the console (see result.h). */
#include "result.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "daxvm_guest_abi.h"

/* JSON string body: quotes, backslashes and control characters escaped, cut at max bytes. */
static void json_escape(const char *s, char *out, size_t max)
{
	size_t o = 0;

	for (; *s && o + 7 < max; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, max - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = 0;
}

static const char *verdict_name(uint32_t v)
{
	return v == DAXVM_GUEST_PASS ? "pass" : "fail";
}

static size_t format_with_reason(const struct stress_result *r, const char *reason, char *buf, size_t len)
{
	char miss[24] = "", dev[96];
	int n;

	if (r->have_miss)
		snprintf(miss, sizeof(miss), "0x%llx", (unsigned long long)r->miss_address);
	json_escape(r->pmem_device, dev, sizeof(dev));
	n = snprintf(buf, len,
		"%s{\"tool\":\"stress\",\"verdict\":\"%s\",\"bytes_verified\":%llu,\"mismatches\":%llu,"
		"\"threads\":%u,\"ram_bytes\":%llu,\"pmem_bytes\":%llu,\"pmem_device\":\"%s\","
		"\"seconds\":%.3f,\"first_mismatch\":\"%s\",\"verdict_code\":%u,"
		"\"ram_bytes_verified\":%llu,\"pmem_bytes_verified\":%llu,\"pmem_errors\":%llu,"
		"\"ram_bytes_per_s\":%llu,\"pmem_bytes_per_s\":%llu,\"passes\":%u,\"seed\":\"0x%llx\","
		"\"init_seconds\":%.3f,\"running_seconds\":%.3f,\"modules_loaded\":%u,"
		"\"inject\":\"%s\",\"ports\":\"%s\"",
		DAXVM_GUEST_RESULT_PREFIX, verdict_name(r->verdict),
		(unsigned long long)(r->ram_bytes_verified + r->pmem_bytes_verified),
		(unsigned long long)r->mismatches, r->threads, (unsigned long long)r->ram_bytes,
		(unsigned long long)r->pmem_bytes, dev, r->seconds, miss, r->verdict,
		(unsigned long long)r->ram_bytes_verified, (unsigned long long)r->pmem_bytes_verified,
		(unsigned long long)r->pmem_errors, (unsigned long long)r->ram_bytes_per_s,
		(unsigned long long)r->pmem_bytes_per_s, r->passes, (unsigned long long)r->seed,
		r->init_seconds, r->running_seconds, r->modules_loaded, r->inject ? r->inject : "none",
		r->ports ? r->ports : "none");
	if (n > 0 && (size_t)n < len && r->have_miss)
		n += snprintf(buf + n, len - (size_t)n,
			",\"first_mismatch_where\":\"%s\",\"first_mismatch_expected\":\"0x%llx\","
			"\"first_mismatch_found\":\"0x%llx\"", r->miss_where ? r->miss_where : "",
			(unsigned long long)r->miss_expected, (unsigned long long)r->miss_found);
	if (n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ",\"reason\":\"%s\"}\n", reason);
	return n < 0 ? 0 : (size_t)n;
}

size_t result_format(const struct stress_result *r, char *buf, size_t len)
{
	char reason[2 * RESULT_REASON_MAX];
	size_t cap = len < DAXVM_GUEST_RESULT_MAX ? len : DAXVM_GUEST_RESULT_MAX, n;

	json_escape(r->reason, reason, sizeof(reason));
	n = format_with_reason(r, reason, buf, cap);
	/* Too long: cut the reason (the only free text) until the line fits. */
	while (n >= cap && reason[0]) {
		size_t rl = strlen(reason), cut = n - cap + 1 + 3;

		rl = rl > cut ? rl - cut : 0;
		while (rl && reason[rl - 1] == '\\')
			rl--;	/* never end on half an escape */
		snprintf(reason + rl, sizeof(reason) - rl, "%s", rl ? "..." : "");
		n = format_with_reason(r, reason, buf, cap);
	}
	return n < cap ? n : 0;
}

static void on_alarm(int sig)
{
	(void)sig;	/* only interrupts tcdrain */
}

/* tcdrain on a UART the VMM does not drain would block forever: bound it with an alarm. */
static void write_drained(int fd, const char *line, size_t len)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	size_t off = 0;

	while (off < len) {
		ssize_t w = write(fd, line + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		off += (size_t)w;
	}
	sigaction(SIGALRM, &sa, &old);	/* no SA_RESTART: the alarm ends tcdrain */
	alarm(2);
	tcdrain(fd);
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
}

void result_print(const char *line, size_t len)
{
	char active[128] = "";
	FILE *f;

	fflush(stdout);
	write_drained(STDOUT_FILENO, line, len);
	/* The console may be another device (no console=ttyS0): the VMM reads the first UART. */
	f = fopen("/sys/class/tty/console/active", "r");
	if (f) {
		if (!fgets(active, sizeof(active), f))
			active[0] = 0;
		fclose(f);
	}
	if (!strstr(active, "ttyS0")) {
		int fd = open("/dev/ttyS0", O_WRONLY | O_NOCTTY | O_CLOEXEC);

		if (fd >= 0) {
			write_drained(fd, line, len);
			close(fd);
		}
	}
}
