/* Fuzz target: the bzImage header parser, the Linux boot layout and zero-page builder, and the
 * guest's result-line parser, against invariants. LLVMFuzzerTestOneInput is a plain libFuzzer
 * entry point (build with -fsanitize=fuzzer -DDAXVM_LIBFUZZER); without libFuzzer, main() below
 * drives it with seeded random mutations of a valid header, so it runs in the fuzz suite today
 * and a failure reproduces from its seed. */
#include <inttypes.h>
#include <stdint.h>

#include "test.h"
#include "../unit/vmm/fake_bzimage.h"
#include "vmm/bzimage.h"
#include "vmm/linux_boot_params.h"
#include "vmm/linux_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static void check_boot(const uint8_t *data, size_t size, const struct bzimage_info *info)
{
	static uint8_t zp[4096];
	/* RAM, initrd and command-line sizes derived from the input's last bytes. */
	uint8_t k = size ? data[size - 1] : 0;
	uint64_t ram = (64ULL << 20) + (uint64_t)(k % 64) * (64ULL << 20);
	uint64_t initrd = size > 1 ? (uint64_t)data[size - 2] << 20 | (size & 0xfff) : 0;
	size_t cmdline = size > 2 ? (size_t)data[size - 3] * 16 : 0;
	struct machine_map m;
	struct linux_boot_layout l;
	struct err e = { 0 };
	uint64_t low_end, prev_end = 0;

	if (machine_map_x86(ram, 0, &m, &e))
		return;
	low_end = machine_map_nth(&m, MACHINE_RAM, 0)->size;
	if (linux_layout_plan(info, &m, initrd, cmdline, &l, &e)) {
		if (!e.msg[0])
			abort();	/* every refusal says why */
		return;
	}
	if (l.kernel_gpa % info->kernel_alignment || l.kernel_gpa < LINUX_KERNEL_MIN_GPA ||
	    l.kernel_end != l.kernel_gpa + info->init_size || l.kernel_end > low_end ||
	    cmdline > info->cmdline_size)
		abort();
	if (initrd && (l.initrd_gpa % 4096 || l.initrd_gpa < LINUX_KERNEL_MIN_GPA ||
		       l.initrd_gpa + initrd > low_end ||
		       l.initrd_gpa + initrd > (uint64_t)info->initrd_addr_max + 1 ||
		       (l.initrd_gpa < l.kernel_end && l.kernel_gpa < l.initrd_gpa + initrd)))
		abort();
	if (linux_zero_page_build(info, data, &m, &l, zp, &e))
		abort();	/* the machine map of machine_map_x86 always fits */
	if (zp[0x210] != 0xff || rd32(zp + 0x218) != l.initrd_gpa || memcmp(zp + 0x202, "HdrS", 4))
		abort();
	for (unsigned i = 0; i < zp[0x1e8]; i++) {
		uint64_t a = rd64(zp + 0x2d0 + 20 * i), s = rd64(zp + 0x2d8 + 20 * i);

		if (a < prev_end || !s)
			abort();	/* sorted, not overlapping, none empty */
		prev_end = a + s;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bzimage_info info;
	struct linux_result r;
	struct err e = { 0 };
	char line[1100];

	if (!bzimage_parse(data, size, &info, &e)) {
		if (info.payload_offset + info.payload_bytes != size || info.hdr_end > size ||
		    info.version < BZIMAGE_MIN_VERSION || !(info.xloadflags & BZIMAGE_XLF_KERNEL_64))
			abort();
		check_boot(data, size, &info);
	} else if (!e.msg[0]) {
		abort();
	}
	/* The same bytes as a console line after the result prefix. */
	snprintf(line, sizeof(line), "DAXVM-GUEST-RESULT %.*s", (int)(size < 1000 ? size : 1000),
		 (const char *)data);
	e.msg[0] = '\0';
	if (linux_result_parse(line, &r, &e) == -EINVAL && !e.msg[0])
		abort();
	return 0;
}

#ifndef DAXVM_LIBFUZZER
static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int main(int argc, char **argv)
{
	static uint8_t img[(FAKE_SETUP_SECTS + 1) * 512 + 4096];
	static const char *const json_bits[] = {
		"{", "}", "\"verdict\"", ":", "\"pass\"", "\"fail\"", ",", "\"bytes_verified\"", "12",
		"\"mismatches\"", "0", "[", "]", "\"\\u12\"", "\"x\\\"", "-1", "1e400", "true", " ",
		"\"tool\"", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
	};
	unsigned long iterations = argc > 1 ? strtoul(argv[1], NULL, 0) : 200000;
	unsigned long parsed = 0;

	for (unsigned long n = 0; n < iterations; n++) {
		size_t len = fake_bzimage(img, 1 + next() % 4096);
		char json[1200];
		size_t jl = 0;

		/* Mutate a few header bytes (most inputs stay near valid), sometimes truncate. */
		for (unsigned i = next() % 6; i > 0; i--) {
			size_t at = 0x1f0 + next() % 0x80;

			img[at] = (uint8_t)next();
		}
		if (next() % 8 == 0)
			len = next() % len;
		img[len ? len - 1 : 0] = (uint8_t)next();
		if (LLVMFuzzerTestOneInput(img, len) == 0) {
			struct bzimage_info info;
			struct err e = { 0 };

			parsed += bzimage_parse(img, len, &info, &e) == 0;
		}
		for (unsigned i = next() % 16; i > 0 && jl < 1000; i--) {
			const char *b = json_bits[next() % (sizeof(json_bits) / sizeof(json_bits[0]))];

			jl += (size_t)snprintf(json + jl, sizeof(json) - jl, "%s", b);
		}
		LLVMFuzzerTestOneInput((const uint8_t *)json, jl < sizeof(json) ? jl : sizeof(json) - 1);
	}
	TEST_ASSERT(parsed > iterations / 20, "only %lu of %lu inputs parsed: the driver explores nothing",
		    parsed, iterations);
	printf("linux_boot_fuzz: %lu inputs (%lu valid bzImages laid out), every invariant held\n",
	       iterations, parsed);
	return T_PASS;
}
#endif
