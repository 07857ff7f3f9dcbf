/* The Linux boot path without KVM: bzImage header checks (each refusal and the good case),
 * the layout of kernel, initrd and command line against the machine map, the e820 table and
 * the zero page, byte by byte where the kernel reads them. */
#include <inttypes.h>

#include "test.h"
#include "fake_bzimage.h"
#include "vmm/bzimage.h"
#include "vmm/kvm_vm.h"
#include "vmm/linux_boot_params.h"

static uint8_t img[(FAKE_SETUP_SECTS + 1) * 512 + 65536];

static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

static void expect_refused(size_t len, int code, const char *word, const char *what)
{
	struct bzimage_info info;
	struct err e = { 0 };
	int ret = bzimage_parse(img, len, &info, &e);

	TEST_ASSERT(ret == code, "%s: got %d (%s), want %d", what, ret, e.msg, code);
	TEST_ASSERT(strstr(e.msg, word), "%s: the sentence \"%s\" lacks \"%s\"", what, e.msg, word);
}

static void test_header(void)
{
	size_t len = fake_bzimage(img, 65536);
	struct bzimage_info info;
	struct err e = { 0 };

	TEST_ASSERT(bzimage_parse(img, len, &info, &e) == 0, "good image refused: %s", e.msg);
	TEST_ASSERT(info.version == 0x020f && info.setup_sects == 39 && info.payload_offset == 40 * 512 &&
		    info.payload_bytes == 65536 && info.init_size == FAKE_INIT_SIZE &&
		    info.pref_address == 0x1000000 && info.hdr_end == 0x26c && info.cmdline_size == 2047,
		    "fields: version %x sects %u off %zu bytes %zu", info.version, info.setup_sects,
		    info.payload_offset, info.payload_bytes);

	expect_refused(0x100, -EINVAL, "too short", "a 256-byte file");
	expect_refused(40 * 512, -EINVAL, "truncated", "header but no payload");
	img[0x202] = 'X';
	expect_refused(len, -ENOEXEC, "not a bzImage", "no HdrS");
	fake_bzimage(img, 65536);
	img[0x1fe] = 0;
	expect_refused(len, -ENOEXEC, "not a bzImage", "no boot flag");
	fake_bzimage(img, 65536);
	fake_put16(img + 0x206, 0x020b);
	expect_refused(len, -ENOEXEC, "2.11", "protocol 2.11");
	fake_bzimage(img, 65536);
	img[0x211] = 0;
	expect_refused(len, -ENOEXEC, "LOADED_HIGH", "zImage");
	fake_bzimage(img, 65536);
	fake_put16(img + 0x236, 0x7e);
	expect_refused(len, -ENOEXEC, "XLF_KERNEL_64", "32-bit kernel");
	fake_bzimage(img, 65536);
	fake_put32(img + 0x230, 0x300000);
	expect_refused(len, -ENOEXEC, "power of two", "alignment 3 MiB");
	fake_bzimage(img, 65536);
	fake_put32(img + 0x260, 4096);
	expect_refused(len, -ENOEXEC, "init_size", "init_size below the payload");
	fake_bzimage(img, 65536);
	img[0x201] = 0x10;
	expect_refused(len, -ENOEXEC, "setup header", "short header");
	/* setup_sects 0 means 4. */
	fake_bzimage(img, 65536);
	img[0x1f1] = 0;
	TEST_ASSERT(bzimage_parse(img, len, &info, &e) == 0 && info.setup_sects == 4 &&
		    info.payload_offset == 5 * 512, "setup_sects 0: %d sects %u", info.setup_sects,
		    info.setup_sects);
}

static void plan(uint64_t ram, struct machine_map *m, struct bzimage_info *info)
{
	struct err e = { 0 };
	size_t len = fake_bzimage(img, 65536);

	TEST_ASSERT(bzimage_parse(img, len, info, &e) == 0, "%s", e.msg);
	TEST_ASSERT(machine_map_x86(ram, 0, m, &e) == 0, "%s", e.msg);
}

static void test_layout(void)
{
	struct bzimage_info info;
	struct machine_map m;
	struct linux_boot_layout l;
	struct err e = { 0 };
	char cmd[3000];

	plan(256ULL << 20, &m, &info);
	TEST_ASSERT(linux_layout_plan(&info, &m, 8 << 20, 100, &l, &e) == 0, "%s", e.msg);
	TEST_ASSERT(l.kernel_gpa == 0x1000000 && l.entry_gpa == 0x1000200 &&
		    l.kernel_end == 0x1000000 + FAKE_INIT_SIZE, "kernel at 0x%" PRIx64, l.kernel_gpa);
	/* The initrd: page-aligned, at the top of RAM, clear of the kernel. */
	TEST_ASSERT(l.initrd_gpa == (256ULL << 20) - (8 << 20) && l.initrd_bytes == 8 << 20,
		    "initrd at 0x%" PRIx64, l.initrd_gpa);
	TEST_ASSERT(l.cmdline_bytes == 101, "cmdline bytes %" PRIu64, l.cmdline_bytes);

	/* 4 GiB guest: low RAM ends at 3 GiB, and initrd_addr_max caps it (2 GiB - 1). */
	plan(4ULL << 30, &m, &info);
	TEST_ASSERT(linux_layout_plan(&info, &m, 5000, 10, &l, &e) == 0, "%s", e.msg);
	TEST_ASSERT(l.initrd_gpa + l.initrd_bytes <= 0x80000000ULL && l.initrd_gpa % 4096 == 0 &&
		    l.initrd_gpa >= 0x80000000ULL - 8192, "initrd 0x%" PRIx64 " under initrd_addr_max",
		    l.initrd_gpa);

	/* Too small for init_size: a relocatable kernel moves down, then gives up. */
	plan(72ULL << 20, &m, &info);
	TEST_ASSERT(linux_layout_plan(&info, &m, 0, 10, &l, &e) == 0 && l.kernel_gpa == 0x200000,
		    "relocated to 0x%" PRIx64 ": %s", l.kernel_gpa, e.msg);
	plan(64ULL << 20, &m, &info);
	e.msg[0] = '\0';
	TEST_ASSERT(linux_layout_plan(&info, &m, 0, 10, &l, &e) == -E2BIG && strstr(e.msg, "init_size"),
		    "64 MiB: %s", e.msg);
	/* The initrd fits neither above nor below the kernel. */
	plan(128ULL << 20, &m, &info);
	e.msg[0] = '\0';
	TEST_ASSERT(linux_layout_plan(&info, &m, 60ULL << 20, 10, &l, &e) == -E2BIG &&
		    strstr(e.msg, "initrd"), "big initrd: %s", e.msg);
	/* Below the kernel when the top is taken: 96 MiB RAM, kernel 16..80 MiB, 14 MiB initrd. */
	plan(96ULL << 20, &m, &info);
	TEST_ASSERT(linux_layout_plan(&info, &m, 14ULL << 20, 10, &l, &e) == 0 &&
		    l.initrd_gpa + l.initrd_bytes <= 96ULL << 20 &&
		    (l.initrd_gpa >= l.kernel_end || l.initrd_gpa + l.initrd_bytes <= l.kernel_gpa),
		    "initrd at 0x%" PRIx64 " overlaps the kernel: %s", l.initrd_gpa, e.msg);
	/* The command line: cmdline_size bytes pass, one more is refused, never cut. */
	plan(256ULL << 20, &m, &info);
	TEST_ASSERT(linux_layout_plan(&info, &m, 0, 2047, &l, &e) == 0, "2047: %s", e.msg);
	memset(cmd, 'x', sizeof(cmd));
	e.msg[0] = '\0';
	TEST_ASSERT(linux_layout_plan(&info, &m, 0, 2048, &l, &e) == -E2BIG &&
		    strstr(e.msg, "2048 bytes") && strstr(e.msg, "2047"), "2048: %s", e.msg);
}

static void test_e820(void)
{
	struct e820_entry t[E820_MAX_ZERO_PAGE];
	struct machine_map m;
	struct err e = { 0 };
	unsigned nr;

	TEST_ASSERT(machine_map_x86(5ULL << 30, 0, &m, &e) == 0, "%s", e.msg);
	TEST_ASSERT(machine_map_add(&m, 64ULL << 30, 1ULL << 30, MACHINE_PMEM, "pmem", &e) == 0, "%s", e.msg);
	TEST_ASSERT(linux_e820_build(&m, t, E820_MAX_ZERO_PAGE, &nr, &e) == 0, "%s", e.msg);
	{
		const struct e820_entry want[] = {
			{ 0, LINUX_LEGACY_START, E820_RAM },
			{ LINUX_LEGACY_START, LINUX_LEGACY_END - LINUX_LEGACY_START, E820_RESERVED },
			{ LINUX_LEGACY_END, (3ULL << 30) - LINUX_LEGACY_END, E820_RAM },
			{ VM_KVM_PAGES_GPA, VM_KVM_PAGES_BYTES, E820_RESERVED },
			{ 4ULL << 30, 2ULL << 30, E820_RAM },
			{ 64ULL << 30, 1ULL << 30, E820_PMEM },
		};

		TEST_ASSERT(nr == 6, "%u e820 entries", nr);
		for (unsigned i = 0; i < nr; i++)
			TEST_ASSERT(t[i].addr == want[i].addr && t[i].size == want[i].size &&
				    t[i].type == want[i].type, "entry %u: 0x%" PRIx64 "+0x%" PRIx64 " type %u",
				    i, t[i].addr, t[i].size, t[i].type);
	}
	/* The MMIO hole is a hole: nothing but KVM's pages inside 3-4 GiB. */
	for (unsigned i = 0; i < nr; i++)
		TEST_ASSERT(t[i].addr >= 4ULL << 30 || t[i].addr + t[i].size <= 3ULL << 30 ||
			    t[i].addr == VM_KVM_PAGES_GPA, "entry %u inside the hole", i);
	TEST_ASSERT(linux_e820_build(&m, t, 3, &nr, &e) == -E2BIG, "3 entries must not be enough");
}

static void test_zero_page(void)
{
	static uint8_t zp[4096];
	struct bzimage_info info;
	struct machine_map m;
	struct linux_boot_layout l;
	struct err e = { 0 };

	plan(512ULL << 20, &m, &info);
	TEST_ASSERT(linux_layout_plan(&info, &m, 1 << 20, 30, &l, &e) == 0, "%s", e.msg);
	memset(zp, 0xee, sizeof(zp));
	TEST_ASSERT(linux_zero_page_build(&info, img, &m, &l, zp, &e) == 0, "%s", e.msg);
	TEST_ASSERT(!memcmp(zp + 0x1f1, img + 0x1f1, 0x1fa - 0x1f1) &&
		    !memcmp(zp + 0x1fc, img + 0x1fc, 0x210 - 0x1fc), "the header before type_of_loader is the image's");
	TEST_ASSERT(zp[0x1fa] == 0xff && zp[0x1fb] == 0xff, "vid_mode: normal");
	TEST_ASSERT(get32(zp + 0x202) == 0x53726448 && zp[0x210] == 0xff, "HdrS and type_of_loader 0xff");
	TEST_ASSERT(get32(zp + 0x228) == LINUX_CMDLINE_GPA, "cmd_line_ptr 0x%x", get32(zp + 0x228));
	TEST_ASSERT(get32(zp + 0x218) == l.initrd_gpa && get32(zp + 0x21c) == 1 << 20,
		    "ramdisk 0x%x+0x%x", get32(zp + 0x218), get32(zp + 0x21c));
	TEST_ASSERT(get32(zp + 0x260) == FAKE_INIT_SIZE && get32(zp + 0x230) == 0x200000,
		    "init_size and alignment copied");
	TEST_ASSERT(zp[0x1e8] == 4, "e820_entries %u", zp[0x1e8]);
	TEST_ASSERT(get64(zp + 0x2d0) == 0 && get64(zp + 0x2d8) == LINUX_LEGACY_START && get32(zp + 0x2e0) == 1,
		    "first e820 entry");
	/* Outside the header and the table, boot_params is zero (boot.rst: zero it first). */
	TEST_ASSERT(zp[0x000] == 0 && zp[0x070] == 0 && zp[0x0c0] == 0 && zp[0x1e9] == 0 && zp[0xfff] == 0,
		    "boot_params not zeroed");
}

int main(void)
{
	test_header();
	test_layout();
	test_e820();
	test_zero_page();
	printf("linux_boot_test: bzImage checks, layout, e820 and zero page hold\n");
	return T_PASS;
}
