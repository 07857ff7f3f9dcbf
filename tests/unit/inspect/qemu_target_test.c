/* QEMU command lines (keyval and libvirt's JSON) into promises, and promises matched to
 * made-up smaps: every kind found, and each way a mapping can disagree with its promise
 * (private instead of shared, 4 KiB instead of huge pages, not locked, missing, a domain
 * XML's nvdimm and hostdev that QEMU does not have) reported as a mismatch. */
#include <string.h>

#include "test.h"
#include "inspect/target.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char smaps[] =
	"7f0000000000-7f0010000000 rw-s 00000000 00:01 3175                       /memfd:memory-backend-memfd (deleted)\n"
	"Size:             262144 kB\nKernelPageSize:        4 kB\nRss:              262144 kB\nLocked:           262144 kB\n"
	"VmFlags: rd wr sh mr mw me ms lo dc hg \n"
	"7f1000000000-7f1010000000 rw-s 00000000 00:06 77                         /dev/dax0.0\n"
	"Size:             262144 kB\nKernelPageSize:     2048 kB\nVmFlags: rd wr sh mr mw me ms \n"
	"7f2000000000-7f2004000000 rw-p 00000000 00:00 0 \n"
	"Size:              65536 kB\nKernelPageSize:        4 kB\nVmFlags: rd wr mr mw me ac \n"
	"7f3000000000-7f3000001000 rw-s 00000000 00:0e 12                         /dev/vfio/5\n"
	"KernelPageSize:        4 kB\nVmFlags: rd wr sh mr mw me io pf \n";

static struct inspect_process proc(void)
{
	struct inspect_process p = { .pid = 4242, .pidfd = -1, .vmm = INSPECT_VMM_QEMU };

	return p;
}

static bool has(const struct inspect_target *t, const char *needle)
{
	for (unsigned i = 0; i < t->nr_mismatch; i++)
		if (strstr(t->mismatch[i], needle))
			return true;
	return false;
}

int main(void)
{
	char *keyval[] = { "qemu-system-x86_64", "-accel", "tcg", "-S", "-m", "256",
		"-object", "memory-backend-memfd,id=m,size=256M,share=on", "-machine", "q35,memory-backend=m",
		"-overcommit", "mem-lock=on", "-name", "guest=vm1,debug-threads=on", "-uuid", "1d6a2f8e-0c3b-4b6e-8f2a-9e1d7c5b3a40" };
	char *json[] = { "/usr/bin/qemu-system-x86_64", "-machine", "pc-q35-7.2,usb=off,memory-backend=pc.ram",
		"-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":\"pc.ram\",\"size\":67108864}",
		"-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"memnvdimm0\",\"mem-path\":\"/dev/dax0.0\","
			   "\"share\":true,\"prealloc\":true,\"size\":268435456,\"align\":2097152,\"pmem\":true}",
		"-device", "{\"driver\":\"nvdimm\",\"memdev\":\"memnvdimm0\",\"id\":\"nvdimm0\",\"slot\":0}",
		"-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:00:03.0\",\"id\":\"hostdev0\",\"bus\":\"pci.0\"}" };
	char *plain[] = { "qemu-system-x86_64", "-m", "64M", "-device", "vfio-pci,host=00:04.0" };
	char *wrong[] = { "qemu-system-x86_64", "-object", "memory-backend-memfd,id=m,size=64M,share=on,hugetlb=on",
		"-machine", "memory-backend=m" };
	struct inspect_config c;
	struct inspect_domain dom;
	struct inspect_process p = proc();
	struct proc_vmas vmas = { 0 };
	struct inspect_target t;
	struct err e = { 0 };

	TEST_ASSERT(proc_vmas_parse(smaps, &vmas, &e) == 0 && vmas.n == 4, "smaps: %s (%zu)", e.msg, vmas.n);
	TEST_ASSERT(vmas.v[0].deleted && !strcmp(vmas.v[0].path, "/memfd:memory-backend-memfd") && vmas.v[0].locked &&
		    vmas.v[0].shared && vmas.v[1].kernel_page_size == 2u << 20 && vmas.v[3].io, "smaps fields");
	TEST_ASSERT(proc_vmas_locked_bytes(&vmas) == 256u << 20, "locked bytes");

	/* keyval: memfd RAM, mem-lock, name, uuid; matches the memfd mapping, no pin path. */
	TEST_ASSERT(inspect_qemu_cmdline(ARGC(keyval), keyval, &c, &e) == 0, "keyval: %s", e.msg);
	TEST_ASSERT(c.nr_mem == 1 && c.mem[0].role == INSPECT_ROLE_RAM && c.mem[0].source == INSPECT_SRC_MEMFD &&
		    c.mem[0].size == 256u << 20 && c.mem[0].share == 1 && c.mem_lock == 1, "keyval promises");
	TEST_ASSERT(!strcmp(c.name, "vm1") && !strcmp(c.uuid, "1d6a2f8e-0c3b-4b6e-8f2a-9e1d7c5b3a40"), "name/uuid");
	TEST_ASSERT(inspect_target_build(&p, &c, NULL, &vmas, &t, &e) == 0, "build: %s", e.msg);
	TEST_ASSERT(t.nr_found == 1 && t.found[0].found && !strcmp(t.found[0].kind, "memfd") && t.nr_mismatch == 0 &&
		    t.nr_ranges == 1 && t.vt.expected_pins == 0 && !t.vt.own_field, "keyval target: %u mismatches: %s",
		    t.nr_mismatch, t.mismatch[0]);

	/* libvirt's JSON: anonymous RAM by size, an nvdimm on devdax, vfio-pci; a VFIO fd is open. */
	TEST_ASSERT(inspect_qemu_cmdline(ARGC(json), json, &c, &e) == 0, "json: %s", e.msg);
	TEST_ASSERT(c.nr_mem == 2 && c.mem[0].source == INSPECT_SRC_ANON && c.mem[0].size == 64u << 20 &&
		    c.mem[1].role == INSPECT_ROLE_NVDIMM && !strcmp(c.mem[1].path, "/dev/dax0.0") && c.mem[1].pmem == 1 &&
		    c.mem[1].share == 1 && c.mem[1].align == 2u << 20, "json promises");
	TEST_ASSERT(c.nr_vfio == 1 && !strcmp(c.vfio[0], "0000:00:03.0"), "json vfio %u", c.nr_vfio);
	p.vfio_group_fds = 1;
	/* dax_info_by_path needs the device: only the promise side is checked without one. */
	if (access("/dev/dax0.0", F_OK) != 0) {
		c.mem[1].path[0] = 0;
		c.mem[1].source = INSPECT_SRC_MEMFD;
		c.mem[1].size = 0;
	}
	TEST_ASSERT(inspect_target_build(&p, &c, NULL, &vmas, &t, &e) == 0, "build json: %s", e.msg);
	TEST_ASSERT(t.nr_found == 2 && t.found[0].found && !strcmp(t.found[0].kind, "anon") && t.found[1].found,
		    "json found: %s %s", t.found[0].kind, t.found[1].kind);
	TEST_ASSERT(!strcmp(t.pin_path, "vfio") && !strcmp(t.vt.own_field, "VmLck") &&
		    t.vt.own_not_pins_kib == 256u << 10 && t.vt.expected_pins == t.found[0].size / 4096 + t.found[1].size / 4096,
		    "vfio: every page of both ranges (%llu)", (unsigned long long)t.vt.expected_pins);

	/* Defaults: -m 64M without a backend is anonymous pc.ram; the short vfio address gets a domain.
	 * No VFIO file open: that is a mismatch. */
	p.vfio_group_fds = 0;
	TEST_ASSERT(inspect_qemu_cmdline(ARGC(plain), plain, &c, &e) == 0, "plain: %s", e.msg);
	TEST_ASSERT(c.nr_mem == 1 && !strcmp(c.mem[0].id, "pc.ram") && c.mem[0].size == 64u << 20 &&
		    !strcmp(c.vfio[0], "0000:00:04.0"), "plain promises %s", c.vfio[0]);
	TEST_ASSERT(inspect_target_build(&p, &c, NULL, &vmas, &t, &e) == 0 && has(&t, "no /dev/vfio"),
		    "vfio promised, none open: %u %s", t.nr_mismatch, t.mismatch[0]);

	/* Negative controls: hugetlb promised on a 4 KiB memfd; shared promised, the mapping private;
	 * locked promised, not locked; a size nothing maps. */
	TEST_ASSERT(inspect_qemu_cmdline(ARGC(wrong), wrong, &c, &e) == 0, "wrong: %s", e.msg);
	TEST_ASSERT(inspect_target_build(&p, &c, NULL, &vmas, &t, &e) == 0, "build wrong");
	TEST_ASSERT(has(&t, "promises 64 MiB but the mapping ram0 is 256 MiB"), "64M memfd: %s", t.mismatch[0]);
	c.mem[0].source = INSPECT_SRC_FILE;
	snprintf(c.mem[0].path, sizeof(c.mem[0].path), "/dev/shm/not-mapped");
	TEST_ASSERT(inspect_target_build(&p, &c, NULL, &vmas, &t, &e) == 0 && has(&t, "no such mapping") && !t.nr_ranges,
		    "file missing: %s", t.mismatch[0]);
	c.mem[0].source = INSPECT_SRC_MEMFD;
	c.mem[0].path[0] = 0;
	c.mem[0].size = 256u << 20;
	vmas.v[0].shared = false;
	vmas.v[0].locked = false;
	c.mem_lock = 1;
	snprintf(c.mem_lock_origin, sizeof(c.mem_lock_origin), "-overcommit mem-lock=on");
	TEST_ASSERT(inspect_target_build(&p, &c, NULL, &vmas, &t, &e) == 0, "build wrong 2");
	TEST_ASSERT(has(&t, "mapped private") && has(&t, "huge pages") && has(&t, "not locked"),
		    "%u mismatches: %s | %s | %s", t.nr_mismatch, t.mismatch[0], t.mismatch[1], t.mismatch[2]);

	/* A domain XML whose nvdimm and hostdev QEMU does not have, and private access on devdax. */
	vmas.v[0].shared = true;
	c.mem[0].hugepages = -1;
	c.mem_lock = -1;
	memset(&dom, 0, sizeof(dom));
	dom.ram_share = 1;
	dom.hugepages = dom.locked = -1;
	dom.ram_source = INSPECT_SRC_ANON;
	dom.nr_nvdimm = 1;
	snprintf(dom.nvdimm[0].path, sizeof(dom.nvdimm[0].path), "/dev/dax9.9");
	dom.nvdimm[0].share = 0;
	dom.nr_hostdev = 1;
	snprintf(dom.hostdev[0].address, sizeof(dom.hostdev[0].address), "0000:00:03.0");
	snprintf(dom.hostdev[0].driver, sizeof(dom.hostdev[0].driver), "vfio");
	TEST_ASSERT(inspect_target_build(&p, &c, &dom, &vmas, &t, &e) == 0, "build domain");
	TEST_ASSERT(has(&t, "QEMU does not map /dev/dax9.9") && has(&t, "not passed to QEMU") &&
		    has(&t, "source type='anonymous'"), "domain mismatches %u: %s | %s | %s", t.nr_mismatch,
		    t.mismatch[0], t.mismatch[1], t.mismatch[2]);
	proc_vmas_free(&vmas);
	printf("PASS: QEMU keyval and JSON command lines, smaps matching, 4 mismatch kinds and a domain XML's promises\n");
	return T_PASS;
}
