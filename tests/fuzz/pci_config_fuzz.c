/* Fuzz target: the PCI config-space write handler (conf1 + the model + the bus's BAR moves +
 * vfio-pci's config callbacks over a mock device with MSI and MSI-X). LLVMFuzzerTestOneInput
 * reads the input as a sequence of guest operations (config writes, window accesses, MSI-X
 * table and PBA accesses, the device firing a vector) and checks after each: read-only bits
 * unchanged, every decoding BAR aligned to its size, inside its window, off guest RAM and off
 * every other BAR; the memslots exactly the mmapped BAR0 minus the MSI-X table and PBA pages
 * while it decodes; no table byte reaching the device; one interrupt type at VFIO at a time;
 * an MSI-X vector's irqfd assigned exactly while MSI-X is on, the function and the vector
 * unmasked and its address an interrupt address, on a route equal to its entry; the PBA
 * showing exactly the masked vectors that fired. This file is the libFuzzer target alone
 * (clang -fsanitize=fuzzer: devices/pci_config.c, pci_bus.c, vfio_pci.c, vfio_pci_fd.c and
 * bus.c are what it links from devices/); pci_config_fuzz_driver.c is its seeded-random main
 * for the gcc build, so the 'fuzz' suite runs it anywhere. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"
#include "devices/pci_bus.h"
#include <poll.h>
#include <unistd.h>

#include "devices/vfio_pci.h"
#include "devices/vfio_pci_internal.h"	/* white box: the MSI-X vectors' state */
#include "fuzz/pci_config_fuzz.h"
#include "unit/pci/mock_vfio.h"
#include "test.h"

#define NDEV 3	/* host bridge, a vfio-pci mock (mmapped BAR0), a plain device with every BAR kind */
/* The mock's MSI-X: 5 vectors, table and PBA on separate pages of BAR0: three memslot pieces. */
#define MSIX_NR 5
#define MSIX_TABLE 0x2000u
#define MSIX_PBA 0x5000u

#define MSIX_TABLE_BYTES_MAX (MSIX_NR * 16)
/* The invariant checks are not instrumented for coverage: run after every operation, their
 * compares were 70 % of the time and fed libFuzzer features of the checker, not of the code
 * under test. (The gcc driver builds the same file.) */
#ifdef __clang__
#define ORACLE __attribute__((no_sanitize("coverage", "address"), noinline))
#else
#define ORACLE
#endif
#define FAIL(...) do { printf("FAIL: " __VA_ARGS__); printf("\n"); fflush(stdout); abort(); } while (0)

struct snapshot {
	uint8_t regs[PCI_CFG_BYTES];
};

/* Against the previous operation's registers (s, updated here): read-only bits never change,
 * write-1-to-clear bits never become set, hence never over the whole input either. */
ORACLE static void check_ro(const struct pci_dev *d, struct snapshot *s)
{
	if (!memcmp(d->cfg.regs, s->regs, PCI_CFG_BYTES))
		return;		/* most operations change nothing here */
	for (unsigned i = 0; i < PCI_CFG_BYTES; i++) {
		uint8_t fixed = (uint8_t)~(d->cfg.wmask[i] | d->cfg.w1c[i]);

		if ((d->cfg.regs[i] ^ s->regs[i]) & fixed) {
			printf("FAIL: %s: read-only bits of config byte 0x%02x changed: 0x%02x -> 0x%02x\n", d->name, i,
			       s->regs[i], d->cfg.regs[i]);
			fflush(stdout), abort();
		}
		/* write-1-to-clear bits never become set */
		if (d->cfg.regs[i] & ~s->regs[i] & d->cfg.w1c[i]) {
			printf("FAIL: %s: status bit set by a write at 0x%02x\n", d->name, i);
			fflush(stdout), abort();
		}
	}
	memcpy(s->regs, d->cfg.regs, PCI_CFG_BYTES);
}

ORACLE static void check_bars(struct pci_dev *const *devs, const struct pci_bus_layout *l, const struct mock_host *mh,
		       const struct mock_dev *m, const struct pci_dev *vdev)
{
	unsigned mapped = 0;

	for (unsigned i = 0; i < NDEV; i++) {
		for (unsigned b = 0; b < PCI_BARS; b++) {
			uint64_t at = devs[i]->cfg.active[b], size = devs[i]->cfg.bar_size[b];
			bool io = devs[i]->cfg.bar_type[b] == PCI_BAR_IO;

			if (at == PCI_ADDR_NONE)
				continue;
			if (!size || at % size) {
				printf("FAIL: %s BAR %u at 0x%llx not aligned to its size 0x%llx\n", devs[i]->name, b,
				       (unsigned long long)at, (unsigned long long)size);
				fflush(stdout), abort();
			}
			if (io ? (at < l->io_base || at + size > l->io_base + l->io_size)
			       : (at < l->mmio_base || at + size > l->mmio_base + l->mmio_size)) {
				printf("FAIL: %s BAR %u at 0x%llx outside its window\n", devs[i]->name, b, (unsigned long long)at);
				fflush(stdout), abort();
			}
			for (unsigned r = 0; !io && r < l->nr_ram; r++)
				if (at < l->ram[r].gpa + l->ram[r].size && l->ram[r].gpa < at + size) {
					printf("FAIL: %s BAR %u at 0x%llx over guest RAM\n", devs[i]->name, b, (unsigned long long)at);
					fflush(stdout), abort();
				}
			for (unsigned j = 0; j < NDEV; j++)
				for (unsigned c = 0; c < PCI_BARS; c++) {
					uint64_t o = devs[j]->cfg.active[c];

					if ((j == i && c == b) || o == PCI_ADDR_NONE || (devs[j]->cfg.bar_type[c] == PCI_BAR_IO) != io)
						continue;
					if (at < o + devs[j]->cfg.bar_size[c] && o < at + size) {
						printf("FAIL: %s BAR %u overlaps %s BAR %u at 0x%llx\n", devs[i]->name, b,
						       devs[j]->name, c, (unsigned long long)at);
						fflush(stdout), abort();
					}
				}
		}
	}
	/* The vfio-pci mock's BAR0 is mmappable: memslots exactly while it decodes, covering it
	 * all but the MSI-X table and PBA pages, each at its own offset of the mapping. */
	uint64_t covered = 0, base = vdev->cfg.active[0];

	for (unsigned s = 0; s < MOCK_SLOTS; s++)
		if (mh->slot[s].used) {
			uint64_t o = mh->slot[s].gpa - base, end = o + mh->slot[s].size;

			mapped++;
			covered += mh->slot[s].size;
			if (base == PCI_ADDR_NONE || mh->slot[s].gpa < base || end > MOCK_BAR0_SIZE ||
			    mh->slot[s].host != m->bar0 + o)
				FAIL("memslot at 0x%llx, BAR0 decodes at 0x%llx", (unsigned long long)mh->slot[s].gpa,
				     (unsigned long long)base);
			if ((o < MSIX_TABLE + 4096 && MSIX_TABLE < end) || (o < MSIX_PBA + 4096 && MSIX_PBA < end))
				FAIL("memslot BAR0+0x%llx..0x%llx maps an MSI-X page", (unsigned long long)o,
				     (unsigned long long)end);
		}
	if (base != PCI_ADDR_NONE ? mapped != 3 || covered != MOCK_BAR0_SIZE - 2 * 4096 : mapped != 0)
		FAIL("%u memslots (0x%llx bytes) for BAR0 decoding at 0x%llx", mapped, (unsigned long long)covered,
		     (unsigned long long)base);
}

/* Over all inputs: how far the inputs got into MSI-X (the seeded driver checks them). */
struct pci_config_fuzz_msix pci_config_fuzz_msix;

ORACLE static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

ORACLE static bool signalled(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return fd >= 0 && poll(&p, 1, 0) == 1;
}

ORACLE static void check_msix(struct vfio_pci *v, const struct mock_dev *m, const struct mock_host *mh, struct bus *io)
{
	const struct vfio_pci_msix *x = &v->msix;
	uint16_t ctrl = (uint16_t)pci_config_read(&v->dev.cfg, x->off + 2, 2);
	unsigned live = 0;
	uint32_t pba_expect = 0;

	if (!x->off || x->nr != MSIX_NR)
		FAIL("MSI-X not exposed with %u vectors", MSIX_NR);
	if ((m->msix_count != 0 && m->msix_count != MSIX_NR) || (m->msix_count && !(ctrl & 0x8000)))
		FAIL("VFIO has %u MSI-X vectors with Message Control 0x%04x", m->msix_count, ctrl);
	if ((!!m->msix_count + !!m->msi_count + !!m->intx_trigger_count) > 1)
		FAIL("two interrupt types at VFIO (intx %u msi %u msix %u)", m->intx_trigger_count, m->msi_count,
		     m->msix_count);
	for (unsigned i = 0; i < MSIX_TABLE_BYTES_MAX; i++)
		if (m->bar0[MSIX_TABLE + i] || (i < 8 && m->bar0[MSIX_PBA + i]))
			FAIL("a table or PBA byte reached the device at +0x%x", i);
	for (unsigned i = 0; i < MSIX_NR; i++) {
		const struct vfio_pci_msix_vec *e = &x->vec[i];
		uint64_t addr = le32(e->entry) | (uint64_t)le32(e->entry + 4) << 32;
		uint32_t data = le32(e->entry + 8);
		bool want = m->msix_count && !(ctrl & 0x4000) && !(e->entry[12] & 1) && (addr >> 20) == 0xfee;
		unsigned g = e->gsi;
		bool has = g && g < MOCK_GSIS && mh->gsi_irqfd[g] && mh->gsi_fd[g] == m->msix_fds[i];

		if ((e->entry[0] & 3) || (e->entry[12] & ~1) || e->entry[13] || e->entry[14] || e->entry[15])
			FAIL("vector %u: read-only zero bits of its entry are set", i);
		if (want != has)
			FAIL("vector %u: irqfd %s, but enable %u fmask %u masked %u address 0x%llx", i, has ? "on" : "off",
			     !!m->msix_count, !!(ctrl & 0x4000), e->entry[12] & 1, (unsigned long long)addr);
		if (has && (mh->gsi_addr[g] != addr || mh->gsi_data[g] != data))
			FAIL("vector %u: route 0x%llx/0x%x, entry 0x%llx/0x%x", i, (unsigned long long)mh->gsi_addr[g],
			     mh->gsi_data[g], (unsigned long long)addr, data);
		live += want;
		if (m->msix_count && !has && signalled(m->msix_fds[i]))
			pba_expect |= 1u << i;
	}
	if (live > pci_config_fuzz_msix.live_max)
		pci_config_fuzz_msix.live_max = live;
	if (v->dev.cfg.active[0] != PCI_ADDR_NONE) {
		uint8_t d[4];

		if (bus_dispatch(io, BUS_MMIO, 0, v->dev.cfg.active[0] + MSIX_PBA, d, 4, false))
			FAIL("PBA read");
		if (le32(d) != pba_expect)
			FAIL("PBA 0x%08x, pending vectors 0x%08x", le32(d), pba_expect);
		pci_config_fuzz_msix.pending_seen += pba_expect != 0;
	}
}

/* Over all inputs: the seeded driver checks that moves and refusals happened. */
struct pci_bus_counters pci_config_fuzz_total;
#define total pci_config_fuzz_total

static int plain_move(struct pci_dev *d, const struct pci_bar_move *m, struct err *e)
{
	(void)d; (void)m; (void)e;
	return 0;
}

static const struct pci_dev_ops plain_ops = { .bar_move = plain_move };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pci_bus_layout l = mock_layout();
	struct mock_dev m;
	struct mock_host mh = { 0 };
	struct vfio_pci_host host = mock_host_ops(&mh);
	struct pci_dev plain = { .ops = &plain_ops, .name = "plain" };
	struct pci_dev *devs[NDEV];
	struct snapshot snap[NDEV];
	struct vfio_pci *v;
	struct pci_bus *pb;
	struct bus *io;
	struct err e = { 0 };

	static uint8_t bar0[MOCK_BAR0_SIZE];	/* one for every input: allocating 1 MiB each is slow */

	mock_dev_init_buf(&m, true, bar0);
	mock_dev_add_msix(&m, MSIX_NR, MSIX_TABLE, MSIX_PBA, MSIX_NR);
	memset(bar0 + MSIX_TABLE, 0, MSIX_TABLE_BYTES_MAX);	/* the device's table: must stay untouched */
	memset(bar0 + MSIX_PBA, 0, 8);
	if (bus_create(&io) || pci_bus_create(&l, &pb, &e) || pci_bus_attach(pb, io, &e) ||
	    vfio_pci_create("vfio-mock", &mock_dev_ops, &m, &host, &v, &e))
		fflush(stdout), abort();
	pci_config_init(&plain.cfg, 0x1af4, 0x1000, 0x020000, 1);
	pci_config_set_int_pin(&plain.cfg, 1);
	if (pci_config_set_bar(&plain.cfg, 0, PCI_BAR_IO, 64, false, &e) ||
	    pci_config_set_bar(&plain.cfg, 1, PCI_BAR_MEM32, 4096, false, &e) ||
	    pci_config_set_bar(&plain.cfg, 2, PCI_BAR_MEM64, 2 << 20, true, &e) ||
	    pci_config_set_bar(&plain.cfg, PCI_BAR_ROM, PCI_BAR_ROM_MEM, 256 << 10, false, &e) ||
	    pci_bus_add(pb, vfio_pci_dev(v), &e) || pci_bus_add(pb, &plain, &e) || vfio_pci_start(v, &e))
		fflush(stdout), abort();
	devs[0] = pci_bus_device(pb, 0);
	devs[1] = vfio_pci_dev(v);
	devs[2] = &plain;
	for (unsigned i = 0; i < NDEV; i++)
		memcpy(snap[i].regs, devs[i]->cfg.regs, PCI_CFG_BYTES);

	/* Each operation: 6 bytes: kind, slot, offset, value[3]; lengths and ports from kind. */
	for (size_t p = 0; p + 6 <= size; p += 6) {
		const uint8_t *op = data + p;
		unsigned len = 1u << (op[0] & 3) > 4 ? 4 : 1u << (op[0] & 3), slot = op[1] % 4;
		uint32_t val = op[3] | op[4] << 8 | (uint32_t)op[5] << 16;
		uint8_t buf[8];

		/* Values that matter most often: all-ones (probes), window addresses, zero. */
		switch (op[0] >> 5) {
		case 0: val = 0xffffffff; break;
		case 1: val = 0xe0000000u | val << 4; break;
		case 2: val = val << 8; break;
		default: val |= (uint32_t)op[0] << 24; break;
		}
		if ((op[0] & 0x18) == 0x08 && op[0] >> 5 == 6) {	/* the device fires an MSI-X vector */
			uint64_t one = 1;

			if (m.msix_count && write(m.msix_fds[op[1] % MSIX_NR], &one, 8) != 8)
				FAIL("eventfd write");
		} else if ((op[0] & 0x18) == 0x08 && op[0] >> 5 == 7) {	/* the MSI-X table or PBA */
			uint64_t at = vfio_pci_dev(v)->cfg.active[0], o;
			unsigned field = op[2] >> 2 & 3;
			uint32_t tv = op[3] | op[4] << 8 | (uint32_t)op[5] << 16;

			if ((op[2] & 3) == 3) {		/* any byte of table or PBA, any length */
				o = (op[2] & 0x40 ? MSIX_PBA : MSIX_TABLE) + op[1] % (MSIX_NR * 16 + 8);
			} else {
				o = op[2] & 0x40 ? MSIX_PBA : MSIX_TABLE + 16u * (op[1] % (MSIX_NR + 1)) + 4 * field;
				len = 4;
				/* Entries that matter: interrupt addresses, upper half 0, mask bit toggles. */
				tv = field == 0 ? 0xfee00000u | (tv & 0xfffff) : field == 1 ? (op[2] & 0x80 ? tv : 0) :
				     field == 3 ? (op[2] & 0x80 ? tv : tv & 1) : tv;
			}
			memcpy(buf, &tv, 4);
			if (at != PCI_ADDR_NONE)
				bus_dispatch(io, BUS_MMIO, 0, at + o, buf, len, !(op[0] & 4));
		} else if (op[0] & 0x10) {	/* through conf1 ports, any port and size */
			uint8_t d[4] = { (uint8_t)val, (uint8_t)(val >> 8), (uint8_t)(val >> 16), (uint8_t)(val >> 24) };
			uint32_t addr = 0x80000000u | slot << 11 | (op[2] & 0xfc);

			bus_dispatch(io, BUS_PIO, 0, 0xcf8, (uint8_t *)&addr, 4, true);
			bus_dispatch(io, BUS_PIO, 0, 0xcfc + (op[2] & 3), d, len, (op[0] & 4) == 0);
		} else if (op[0] & 0x08) {	/* a guest access somewhere in the windows */
			uint64_t a = 0xe0000000ull + ((uint64_t)val & 0x0fffffff);

			bus_dispatch(io, BUS_MMIO, 0, a, buf, len, op[0] & 4);
		} else {
			pci_bus_cfg_write(pb, slot, 0, op[2], len, val);
		}
		for (unsigned i = 0; i < NDEV; i++)
			check_ro(devs[i], &snap[i]);
		check_bars(devs, &l, &mh, &m, devs[1]);
		check_msix(v, &m, &mh, io);
	}
	{
		struct pci_bus_counters n;

		pci_bus_get_counters(pb, &n);
		total.moves += n.moves;
		total.refused_moves += n.refused_moves;
		total.config_errors += n.config_errors;
	}
	{
		struct vfio_pci_counters vn;

		vfio_pci_get_counters(v, &vn);
		pci_config_fuzz_msix.enables += vn.msix_enables;
		pci_config_fuzz_msix.route_updates += vn.msix_route_updates;
		pci_config_fuzz_msix.errors += vn.msix_errors;
	}
	pci_bus_quiesce(pb);
	vfio_pci_destroy(v);
	if (mh.irqfds_assigned) {
		printf("FAIL: %u irqfds left after destroy\n", mh.irqfds_assigned);
		fflush(stdout), abort();
	}
	for (unsigned s = 0; s < MOCK_SLOTS; s++)
		if (mh.slot[s].used) {
			printf("FAIL: memslot %u left after destroy\n", s);
			fflush(stdout), abort();
		}
	pci_bus_destroy(pb);
	bus_destroy(io);
	return 0;
}
