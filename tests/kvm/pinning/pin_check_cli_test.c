/* daxvm pin-check from the outside: --help, exit codes (0 pass, 2 usage/environment, 1 on
 * SIGTERM with pins released), and the report fields DESIGN.md names. */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "test.h"
#include "kvm/common/host_require.h"

static const char *daxvm, *dir;

/* Runs daxvm with args; stdout+stderr go to out. Returns the exit status. With
 * term_after_ms > 0 the process gets SIGTERM after that long. */
static int run(const char *out, int term_after_ms, const char *const *args)
{
	const char *argv[32] = { daxvm };
	int status, n = 1;
	pid_t pid;

	for (; args[n - 1]; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	fflush(stdout);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(daxvm, (char **)argv);
		_exit(127);
	}
	if (term_after_ms > 0) {
		usleep((useconds_t)term_after_ms * 1000);
		kill(pid, SIGTERM);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	TEST_ASSERT(WIFEXITED(status), "daxvm died from signal %d", WTERMSIG(status));
	return WEXITSTATUS(status);
}

static char *slurp(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	TEST_ASSERT(n >= 0, "read %s", path);
	buf[n] = 0;
	close(fd);
	return buf;
}

static void expect(const char *text, const char *needle)
{
	TEST_ASSERT(strstr(text, needle), "missing '%s' in:\n%s", needle, text);
}

int main(int argc, char **argv)
{
	char out[4096], rep[4096];
	const char *text;
	int rc;

	t_require_root("pin-check reads PFNs");
	t_require_io_uring();
	TEST_ASSERT(argc > 2, "usage: %s DAXVM TMPDIR", argv[0]);
	daxvm = argv[1];
	dir = argv[2];
	snprintf(out, sizeof(out), "%s/pin-check-cli.out", dir);
	snprintf(rep, sizeof(rep), "%s/pin-check-cli.json", dir);

	rc = run(out, 0, (const char *[]){ "pin-check", "--help", NULL });
	text = slurp(out);
	TEST_ASSERT(rc == 0, "--help exits 0, got %d", rc);
	for (const char *const *o = (const char *[]){ "--mem ", "--mem-size", "--pin", "--vfio", "--hold",
						      "--validate-interval", "--report", "Exit status", NULL };
	     *o; o++)
		expect(text, *o);

	const char *const *bad[] = {
		(const char *[]){ "pin-check", "--bogus", NULL },
		(const char *[]){ "pin-check", "--mem-size", "lots", NULL },
		(const char *[]){ "pin-check", "--pin", "magic", NULL },
		(const char *[]){ "pin-check", "--hold", "-1", NULL },
		(const char *[]){ "pin-check", "--mem", "memfd", "--mem-size", "4M", "--pin", "vfio", NULL },
		(const char *[]){ "pin-check", "--mem", "/nonexistent/ram", "--mem-size", "4M", NULL },
		(const char *[]){ "pin-check", "--mem", "memfd", "--mem-size", "4M", "extra", NULL },
		(const char *[]){ "pin-check", "--mem", "memfd", "--mem-size", "4M", "--pin", "vfio", "--vfio",
				  "0000:00:1f.7", NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = run(out, 0, bad[i]);
		text = slurp(out);
		TEST_ASSERT(rc == 2, "bad input %zu exits 2, got %d: %s", i, rc, text);
		TEST_ASSERT(strchr(text, '\n') == text + strlen(text) - 1 && strlen(text) > 20,
			    "bad input %zu: one clear line, got: %s", i, text);
	}

	unlink(rep);
	rc = run(out, 0, (const char *[]){ "pin-check", "--mem", "memfd", "--mem-size", "32M", "--pin", "io_uring",
					   "--hold", "0.3", "--validate-interval", "20", "--report", rep, NULL });
	TEST_ASSERT(rc == 0, "memfd pin-check passes, got %d: %s", rc, slurp(out));
	expect(slurp(out), "PASS");
	text = slurp(rep);
	for (const char *const *f = (const char *[]){
		     "\"verdict\": \"PASS\"", "\"kind\": \"memfd\"", "\"devmap\": false", "\"backend\": \"io_uring\"",
		     "\"backend_why\"", "\"pinned_pages\": 8192", "\"expected_pages\": 8192", "\"vmstat_while_pinning\"",
		     "\"vmstat_after_unpin\"", "\"evidence\"", "\"leaked_pins\": 0", "\"samples\"", "\"pages_checked\"",
		     "\"pfn_changes\": 0", "\"not_present\": 0", "\"outside_devmap\": 0", "\"pin_ms\"", "\"unpin_ms\"",
		     NULL };
	     *f; f++)
		expect(text, *f);

	/* SIGTERM while holding: pins released, report says interrupted, exit 1. */
	unlink(rep);
	rc = run(out, 1500, (const char *[]){ "pin-check", "--mem", "memfd", "--mem-size", "16M", "--hold", "30",
					     "--report", rep, NULL });
	TEST_ASSERT(rc == 1, "SIGTERM exits 1, got %d: %s", rc, slurp(out));
	text = slurp(rep);
	expect(text, "\"interrupted\": true");
	expect(text, "\"verdict\": \"FAIL\"");
	expect(text, "SIGTERM");
	expect(text, "\"leaked_pins\": 0");
	unlink(rep);
	unlink(out);
	printf("PASS: pin-check help, 8 bad inputs -> 2, memfd run -> 0 with report fields, SIGTERM -> 1\n");
	return T_PASS;
}
