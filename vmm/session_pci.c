/* Passed-through PCI devices in a run: check, set up on bus 0, stop in the teardown order, report. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/vfio.h>
#include <seccomp.h>
#include <sys/ioctl.h>

#include "devices/pci_bus.h"
#include "devices/vfio_device.h"
#include "devices/vfio_pci.h"
#include "vmm/pci_host.h"
#include "vmm/session_pci.h"

struct session_pci_dev {
	const char *addr;
	int group;			/* IOMMU group number */
	struct vfio_device vdev;
	struct vfio_pci_fd fdops;
	struct vfio_pci *v;
	int reset_at_start;
	bool irq_wired;
	int64_t irqs_before;		/* VFIO host handler count at start */
	int64_t irqs;			/* interrupts forwarded during the run (-1: unknown) */
	struct vfio_pci_stop_info stop;
	struct vfio_pci_counters n;
	uint64_t bar0_gpa;
	unsigned slot, irq;
	unsigned msix_vectors;		/* offered to the guest (0: no MSI-X) */
};

struct session_pci {
	struct pci_host host;
	bool host_init;
	struct pci_bus *bus;
	bool irqchip;			/* the guest has KVM's in-kernel irqchip (irqfds need it) */
	int kvm_vfio;			/* pci_host_add_group of the last group: 0 or -errno */
	unsigned nr;
	struct session_pci_dev d[RUN_MAX_DEVICES];
	struct pci_bus_counters bus_n;
	bool stopped;
};

int session_pci_check(struct run_session *s, struct err *e)
{
	for (unsigned i = 0; i < s->cfg->nr_devices; i++) {
		int ret = pin_vfio_check_device(s->cfg->devices[i], e);

		if (ret)
			return ret;
	}
	return 0;
}

/* KVM_GET_IRQCHIP answers ENXIO without an in-kernel irqchip (the stress guest has none). */
static bool has_irqchip(int vm_fd)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };

	return ioctl(vm_fd, KVM_GET_IRQCHIP, &chip) == 0;
}

static int group_of(const char *addr)
{
	char path[96], link[256];
	ssize_t n;
	const char *b;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", addr);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return -1;
	link[n] = 0;
	b = strrchr(link, '/');
	return atoi(b ? b + 1 : link);
}

int session_pci_setup(struct run_session *s, struct err *e)
{
	struct pci_bus_layout l = { .mmio_base = SESSION_PCI_MMIO_BASE,
				    .mmio_size = SESSION_PCI_MMIO_END - SESSION_PCI_MMIO_BASE,
				    .io_base = SESSION_PCI_IO_BASE, .io_size = SESSION_PCI_IO_END - SESSION_PCI_IO_BASE };
	struct vfio_pci_host ops;
	struct session_pci *p;
	int ret;

	/* A Linux guest always gets bus 0 with its host bridge: Linux registers legacy (e820
	 * type 12) pmem in iomem only after its PCI resource survey, so without config space
	 * /dev/pmem0 never appears (6.1-7.3, lab). The built-in guest needs it only for devices. */
	if (!s->cfg->nr_devices && !s->cfg->kernel)
		return 0;
	if (s->cfg->nr_devices && (!s->pins || pin_container_backend(s->pins) != PIN_VFIO))
		return err_set(e, -EINVAL, "passed-through devices need the vfio pin container (guest RAM mapped for their DMA)");
	for (unsigned i = 0; i < s->map.nr && l.nr_ram < PCI_MAX_RAM_RANGES; i++) {
		const struct machine_range *r = &s->map.ranges[i];

		if (r->type != MACHINE_RAM && r->type != MACHINE_PMEM)
			continue;
		l.ram[l.nr_ram].gpa = r->gpa;
		l.ram[l.nr_ram].size = r->size;
		l.nr_ram++;
	}
	ret = machine_map_add(&s->map, l.mmio_base, l.mmio_size, MACHINE_DEVICE, "pci-bars", e);
	if (ret)
		return ret;
	p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(e, -ENOMEM, "out of memory for the PCI devices");
	s->pci = p;
	pci_host_init(&p->host, s->vm.vm_fd);
	p->host_init = true;
	p->irqchip = has_irqchip(s->vm.vm_fd);
	ops = pci_host_ops(&p->host);
	ret = pci_bus_create(&l, &p->bus, e);
	if (!ret)
		ret = pci_bus_attach(p->bus, s->bus, e);
	for (unsigned i = 0; !ret && i < s->cfg->nr_devices; i++) {
		struct session_pci_dev *d = &p->d[i];
		char name[40];

		d->addr = s->cfg->devices[i];
		d->group = group_of(d->addr);
		d->irqs = -1;
		snprintf(name, sizeof(name), "vfio-pci %s", d->addr);
		ret = vfio_device_open(s->pins, d->addr, &d->vdev, e);
		if (ret)
			break;
		p->nr++;
		/* KVM's VFIO device: not fatal without it (coherent DMA works), reported. */
		p->kvm_vfio = pci_host_add_group(&p->host, pin_vfio_device_group_fd(s->pins, d->addr));
		ret = vfio_pci_fd_init(&d->fdops, d->vdev.fd, e);
		if (!ret)
			ret = vfio_pci_create(name, &vfio_pci_fd_ops, &d->fdops, &ops, &d->v, e);
		if (ret)
			break;
		d->reset_at_start = vfio_pci_reset_status(d->v);
		ret = pci_bus_add(p->bus, vfio_pci_dev(d->v), e);
		if (ret)
			break;
		d->slot = vfio_pci_dev(d->v)->slot;
		d->irq = vfio_pci_dev(d->v)->irq;
		d->bar0_gpa = vfio_pci_dev(d->v)->cfg.active[0];
		d->msix_vectors = vfio_pci_msix_vectors(d->v);
		/* Interrupts need KVM's in-kernel irqchip (a Linux guest has one; the stress guest,
		 * which does not take interrupts, has none): without it the device runs polled. */
		if (p->irqchip) {
			ret = vfio_pci_start(d->v, e);
			d->irq_wired = !ret;
		}
		d->irqs_before = vfio_pci_host_irqs(d->addr);
	}
	if (!ret)
		s->gm.pci = p->bus;
	return ret;
}

void session_pci_undo(struct run_session *s)
{
	struct session_pci *p = s->pci;

	if (!p || p->stopped)
		return;
	/* vCPUs are stopped: quiet each device (bus master off, reset), then drop its
	 * interrupts and memslots and close it; the pins go after this stage. */
	for (unsigned i = 0; i < p->nr; i++) {
		struct session_pci_dev *d = &p->d[i];

		if (d->v) {
			int64_t now = vfio_pci_host_irqs(d->addr);

			vfio_pci_get_counters(d->v, &d->n);
			vfio_pci_stop(d->v, &d->stop);
			if (now >= 0 && d->irqs_before >= 0)
				d->irqs = now - d->irqs_before;
		}
	}
	if (p->bus)
		pci_bus_get_counters(p->bus, &p->bus_n);
	for (unsigned i = p->nr; i-- > 0;) {
		vfio_pci_destroy(p->d[i].v);
		p->d[i].v = NULL;
		vfio_device_close(&p->d[i].vdev);	/* before the container: it holds the group */
	}
	pci_bus_destroy(p->bus);
	p->bus = NULL;
	s->gm.pci = NULL;
	p->stopped = true;
}

void session_pci_collect(struct run_session *s, struct report *r)
{
	struct session_pci *p = s->pci;
	int ret = 0;

	if (!p)
		return;
	ret |= report_set_u64(r, "pci.devices", p->nr);
	ret |= report_set_u64(r, "pci.config_errors", p->bus_n.config_errors);
	ret |= report_set_u64(r, "pci.refused_bar_moves", p->bus_n.refused_moves);
	ret |= report_set_u64(r, "pci.bar_moves", p->bus_n.moves);
	ret |= report_set_u64(r, "pci.bar_move_failures", p->bus_n.move_failures);
	ret |= report_set_u64(r, "pci.unclaimed_accesses", p->bus_n.unclaimed);
	ret |= report_set_str(r, "pci.kvm_vfio_device", p->kvm_vfio == 0 ? "groups added" :
			      p->kvm_vfio == -ENODEV ? "unavailable (KVM without CONFIG_KVM_VFIO)" : strerror(-p->kvm_vfio));
	for (unsigned i = 0; i < p->nr; i++) {
		struct session_pci_dev *d = &p->d[i];
		char k[64];

#define KEY(name) (snprintf(k, sizeof(k), "pci.device%u." name, i), k)
		ret |= report_set_str(r, KEY("host"), d->addr);
		ret |= report_set_i64(r, KEY("iommu_group"), d->group);
		ret |= report_set_u64(r, KEY("slot"), d->slot);
		ret |= report_set_u64(r, KEY("irq"), d->irq);
		ret |= report_set_str(r, KEY("interrupts_wired"), d->irq_wired ? "intx+msi" :
				      p->irqchip ? "failed" : "no (the guest has no in-kernel irqchip)");
		ret |= report_set_i64(r, KEY("interrupts_delivered"), d->irqs);
		ret |= report_set_u64(r, KEY("msi_enables"), d->n.msi_enables);
		ret |= report_set_u64(r, KEY("msi_errors"), d->n.msi_errors);
		ret |= report_set_u64(r, KEY("msix_vectors"), d->msix_vectors);
		ret |= report_set_u64(r, KEY("msix_enables"), d->n.msix_enables);
		ret |= report_set_u64(r, KEY("msix_errors"), d->n.msix_errors);
		ret |= report_set_u64(r, KEY("msix_route_updates"), d->n.msix_route_updates);
		ret |= report_set_u64(r, KEY("msix_table_accesses"), d->n.msix_table_accesses);
		ret |= report_set_u64(r, KEY("irq_errors"), d->n.irq_errors);
		ret |= report_set_u64(r, KEY("trapped_accesses"), d->n.trapped_reads + d->n.trapped_writes);
		ret |= report_set_str(r, KEY("reset_at_start"), d->reset_at_start == 0 ? "done" :
				      d->reset_at_start == -ENOTTY ? "unsupported" : "failed");
		ret |= report_set_str(r, KEY("reset_at_stop"), d->stop.reset == 0 ? "done" :
				      d->stop.reset == -ENOTTY ? "unsupported" : "failed");
		ret |= report_set_bool(r, KEY("bus_master_at_stop"), d->stop.master_at_stop);
		ret |= report_set_bool(r, KEY("bus_master_cleared"), d->stop.master_cleared);
		ret |= report_set_bool(r, KEY("dma_hazard"), d->stop.hazard);
#undef KEY
		if (d->stop.hazard && !s->found.device[0])
			snprintf(s->found.device, sizeof(s->found.device),
				 "device %s may still DMA into guest RAM: bus mastering was on at stop and could neither be "
				 "cleared nor the device reset", d->addr);
	}
	if (ret && !s->found.device[0])
		snprintf(s->found.device, sizeof(s->found.device), "internal error: the report rejected a pci key");
}

void session_pci_free(struct run_session *s)
{
	if (!s->pci)
		return;
	session_pci_undo(s);
	if (s->pci->host_init)
		pci_host_fini(&s->pci->host);
	free(s->pci);
	s->pci = NULL;
}

void session_pci_vcpu_allow(const struct run_session *s, struct thread_filter_rules *r)
{
	const struct session_pci *p = s->pci;

	if (!p || !p->nr)
		return;
	for (unsigned i = 0; i < p->nr; i++) {
		thread_filter_rules_add(r, SCMP_SYS(pread64), p->d[i].vdev.fd);
		thread_filter_rules_add(r, SCMP_SYS(pwrite64), p->d[i].vdev.fd);
		thread_filter_rules_add_ioctl(r, p->d[i].vdev.fd, VFIO_DEVICE_SET_IRQS);
	}
	/* INTx and MSI eventfds are made and closed when the guest switches between them. */
	thread_filter_rules_add(r, SCMP_SYS(eventfd2), -1);
	thread_filter_rules_add(r, SCMP_SYS(close), -1);
	pci_host_vcpu_allow(&p->host, r);
}
