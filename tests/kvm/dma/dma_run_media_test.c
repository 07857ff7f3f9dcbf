/* KVM-suite test of 'daxvm run' with --dma-media FILE: a clean run passes with the file as
 * media and equal injected/IOMMU fault counts; then a run whose media this test overwrites
 * while the guest runs must fail with DMA verify failures found by the guest.
 * argv[1]: the daxvm binary. */
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#include "guest/dma_abi.h"
#include "guest/abi.h"
#include "test.h"
#include "kvm/common/kvm_require.h"

#define MEDIA_BYTES (64ULL << 20)	/* the engine's default size for a file */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = calloc(1, 1 << 20);

	TEST_ASSERT(f && buf, "open the report %s", path);
	TEST_ASSERT(fread(buf, 1, (1 << 20) - 1, f) > 0, "read the report");
	fclose(f);
	return buf;
}

/* The number after "key": inside the "dma" object of the report (keys there are unique). */
static uint64_t dma_u64(const char *json, const char *key)
{
	const char *dma = strstr(json, "\"dma\": {");
	char pat[64];
	const char *at;

	TEST_ASSERT(dma, "the report has no dma object");
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	at = strstr(dma, pat);
	TEST_ASSERT(at, "the report has no dma.%s", key);
	return strtoull(at + strlen(pat), NULL, 10);
}

/* Runs daxvm; when corrupt_after_ms > 0, zeroes the media's read region that long after the
 * engine filled it. Returns the exit status and the report text. */
static int run(const char *daxvm, const char *media, const char *report, double duration_s,
	       int corrupt_after_ms, char **json)
{
	char duration[32];
	const char *argv[] = { daxvm, "run", "--mem", "memfd", "--mem-size", "256M", "--cpus", "2",
			       "--duration", duration, "--dma-queues", "1", "--dma-media", media,
			       "--report", report, NULL };
	int status;
	pid_t pid;

	snprintf(duration, sizeof(duration), "%.2f", duration_s);
	/* Empty the file first: the wait below must see this run's fill, not the last one's. */
	TEST_ASSERT(truncate(media, 0) == 0, "truncate the media file");
	pid = fork();

	TEST_ASSERT(pid >= 0, "fork");
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDOUT_FILENO);
		execv(daxvm, (char **)argv);
		_exit(127);
	}
	if (corrupt_after_ms > 0) {
		uint64_t rb = dma_media_read_bytes(MEDIA_BYTES);
		char *zeros = calloc(1, rb);
		int fd = open(media, O_WRONLY);

		/* Wait until the engine has written the pattern (its last word), so the zeros
		 * come after its fill whatever the machine's load, then a little more. */
		for (int i = 0; i < 3000; i++) {
			uint64_t w = 0;
			int rfd = open(media, O_RDONLY);

			if (rfd >= 0 && pread(rfd, &w, 8, (off_t)(rb - 8)) == 8 &&
			    w == dma_pattern_word(DMA_MEDIA_SEED, (rb - 8) / 8))
				i = 3000;
			if (rfd >= 0)
				close(rfd);
			usleep(10000);
		}
		usleep((useconds_t)corrupt_after_ms * 1000);
		TEST_ASSERT(zeros && fd >= 0 && pwrite(fd, zeros, rb, 0) == (ssize_t)rb, "corrupt the media");
		close(fd);
		free(zeros);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "daxvm ended by a signal");
	*json = slurp(report);
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	char media[] = "/var/tmp/daxvm-dma-media-XXXXXX";
	char report[] = "/tmp/daxvm-dma-report-XXXXXX";
	int fd_m, fd_r, rc;
	char *json;

	/* A usage error is the harness's mistake, never a missing feature: it fails, before
	 * the KVM check, so it shows on a machine without KVM too. */
	if (argc != 2) {
		printf("FAIL: usage: %s DAXVM\n", argv[0]);
		return T_FAIL;
	}
	{
		struct vm vm;

		t_require_vm(&vm);	/* daxvm run needs it: skip, naming why, without */
		vm_close(&vm);
	}
	fd_m = mkstemp(media);
	fd_r = mkstemp(report);
	TEST_ASSERT(fd_m >= 0 && fd_r >= 0, "temporary files");
	close(fd_m);
	close(fd_r);

	rc = run(argv[1], media, report, 1.5 * t_time_scale(), 0, &json);
	TEST_ASSERT(rc == 0, "clean run with a file as media: exit %d\n%s", rc, json);
	TEST_ASSERT(strstr(json, media), "dma.media names the file");
	TEST_ASSERT(dma_u64(json, "transfers") > 0 && dma_u64(json, "verify_failures") == 0, "clean DMA");
	TEST_ASSERT(dma_u64(json, "faults_injected") > 0 &&
		    dma_u64(json, "faults_injected") == dma_u64(json, "iommu_faults"), "injected == IOMMU faults");
	printf("clean: %" PRIu64 " transfers, %" PRIu64 " faults injected and counted\n",
	       dma_u64(json, "transfers"), dma_u64(json, "iommu_faults"));
	free(json);

	/* The guest starts about 0.6 s after launch (measured); zero the media 1 s after the
	 * engine filled it, in the middle of the 3 s run. */
	rc = run(argv[1], media, report, 3 * t_time_scale(), (int)(1000 * t_time_scale()), &json);
	TEST_ASSERT(rc == 1, "a run whose media was corrupted must fail: exit %d\n%s", rc, json);
	TEST_ASSERT(strstr(json, "\"verdict\": \"FAIL\""), "verdict FAIL");
	TEST_ASSERT(dma_u64(json, "guest_verify_failures") > 0 &&
		    dma_u64(json, "verify_failures") >= dma_u64(json, "guest_verify_failures") &&
		    dma_u64(json, "first_failure_gpa") >= GUEST_RESERVED_BYTES,
		    "the guest found the corruption: %" PRIu64 " failures, first at 0x%" PRIx64,
		    dma_u64(json, "guest_verify_failures"), dma_u64(json, "first_failure_gpa"));
	printf("corrupted: %" PRIu64 " guest verify failures, the first at guest address 0x%" PRIx64 "\n",
	       dma_u64(json, "guest_verify_failures"), dma_u64(json, "first_failure_gpa"));
	free(json);
	unlink(media);
	unlink(report);
	printf("PASS\n");
	return T_PASS;
}
