#!/bin/bash
# Lab check vfio_l2 (issue 11), inside the lab guest (L1): daxvm boots the lab's own kernel as
# L2 with its RAM on /dev/dax0.0 and QEMU's edu passed through (--device vfio-pci,host=EDU).
# L2's /init is guest/linux/edu_dma.c (daxvm-edu) in an initramfs built here with the lab
# kernel's uio_pci_generic: it finds edu on daxvm's PCI bus 0, maps BAR0 from sysfs resource0,
# runs DMA both ways at many L2 guest-physical addresses (= IOVAs of daxvm's vfio container)
# waiting by interrupt, verifies every byte, then aims one DMA outside L2's RAM, which must land
# nowhere (L1's kernel logs the IOMMU fault; the tool checks its RAM did not change).
# QEMU's e1000e (8086:10d3, bound to vfio-pci by guest.sh) goes to L2 as a second device: L2's own
# e1000e driver takes it in MSI-X mode, then in MSI mode, and the tool counts the interrupts L2
# took in each (guest/linux/nic_irq.c): MSI-X end to end through daxvm (judged); MSI measured
# (MEASURE vfio_l2_msi_in_l2: it falls back to INTx today, an open gap).
# Judged here: the tool's result line, daxvm's report (devices, groups, interrupts delivered,
# MSI/MSI-X enables, validator samples), the verdict the kernel's pin counters deserve, L1's DMAR
# fault line.
# Usage: check_vfio_l2.sh BUILD_DIR EDU_BDF SRC_DIR [BZIMAGE]
set -uo pipefail
build=$1 edu=$2 src=$3 bz=${4:-}
daxvm=$build/daxvm bad=0 rounds=24
[ -e /dev/kvm ] || { echo "FAIL: no /dev/kvm in the lab guest"; exit 1; }
# The lab kernel's bzImage (tests/lab/run caches it per series; 7.x packages no /boot/vmlinuz).
[ -r "$bz" ] || bz=$(ls /var/cache/daxvm-lab/*/kroot/boot/vmlinuz-"$(uname -r)" 2>/dev/null | head -1)
moddir=$(ls -d /var/cache/daxvm-lab/*/kroot/usr/lib/modules/"$(uname -r)" /var/cache/daxvm-lab/*/kroot/lib/modules/"$(uname -r)" 2>/dev/null | head -1)
[ -r "$bz" ] && [ -d "$moddir" ] || { echo "FAIL: no bzImage or modules for $(uname -r) under /var/cache/daxvm-lab"; exit 1; }
[ -x "$build/guest/linux/daxvm-edu" ] || { echo "FAIL: $build/guest/linux/daxvm-edu was not built"; exit 1; }
nic=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor)" = 0x8086 ] && [ "$(cat $d/device)" = 0x10d3 ] &&
		[ "$(basename "$(readlink $d/driver)")" = vfio-pci ] && nic=$(basename $d)
done
[ -n "$nic" ] || { echo "FAIL: no e1000e (8086:10d3) on vfio-pci in L1 for the MSI/MSI-X proof"; exit 1; }
python3 "$src/guest/linux/mkinitramfs.py" /tmp/edu-initrd.cpio --init "$build/guest/linux/daxvm-edu" \
	--modules "$moddir" uio_pci_generic e1000e || { echo "FAIL: building the edu initramfs"; exit 1; }
echo "initramfs: daxvm-edu + uio_pci_generic, e1000e from $moddir ($(stat -c %s /tmp/edu-initrd.cpio) bytes)"
pin_net() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '$1 == "nr_foll_pin_acquired" { a = $2 } $1 == "nr_foll_pin_released" { r = $2 } END { print a - r }' /proc/vmstat
}
dmesg_lines=$(dmesg | wc -l)
before=$(pin_net)
rm -f /tmp/l2.json /tmp/l2.console
args=(run --kernel "$bz" --initrd /tmp/edu-initrd.cpio --append "quiet daxvm_edu_rounds=$rounds" --mem /dev/dax0.0
      --mem-size 128M --cpus 1 --duration 5 --hang-timeout 60 --device "vfio-pci,host=$edu" --device "vfio-pci,host=$nic"
      --console /tmp/l2.console --report /tmp/l2.json)
echo "\$ daxvm ${args[*]}"
t0=$(date +%s.%N)
timeout -k 5 170 "$daxvm" "${args[@]}" >/tmp/l2.out 2>&1
st=$?
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
cat /tmp/l2.out
leaked=$(( $(pin_net) - before ))
echo "exit status $st in $secs s; pins left behind (vmstat net, measured here): $leaked"
echo "--- L2 console (the first 60 lines)"
head -60 /tmp/l2.console 2>/dev/null
echo "--- L1 kernel log during the run (DMAR)"
dmesg | tail -n +"$((dmesg_lines + 1))" | grep -iE "dmar|fault|vfio|nobody cared" | head -20
if dmesg | tail -n +"$((dmesg_lines + 1))" | grep -iqE "DMAR.*fault|fault addr"; then fault=logged; else fault=none; fi
echo "MEASURE vfio_l2_iommu_fault $fault"
[ $fault = logged ] || { echo "no IOMMU fault in L1's log for the DMA outside L2's RAM"; bad=$((bad + 1)); }

# The tool's line and daxvm's report.
python3 - /tmp/l2.console /tmp/l2.json "$edu" "$rounds" "$nic" <<'PY' || bad=$((bad + 1))
import json, sys
console, report, edu, rounds, nic = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
res = None
try:
    for line in open(console, errors='replace'):
        if 'DAXVM-GUEST-RESULT ' in line:
            res = json.loads(line.split('DAXVM-GUEST-RESULT ', 1)[1])
except Exception as e:
    print('console:', e)
bad = []
if not res or res.get('tool') != 'edu':
    bad.append('no edu result line on the L2 console')
    res = {}
else:
    for k in ('verdict', 'device', 'dma_round_trips', 'bytes_verified', 'mismatches', 'interrupts', 'polled',
              'usable_uptime_s', 'outside_ram_iova', 'outside_ram_changed', 'seconds', 'nic', 'nic_msix_vectors',
              'nic_msix_irqs', 'nic_msi_vectors', 'nic_msi_irqs', 'nic_seconds', 'nic_msi_why', 'why'):
        print(f"L2 edu {k} = {res.get(k)}")
    if res.get('verdict') != 'pass': bad.append('the edu tool failed: %s' % res.get('why'))
    if res.get('dma_round_trips', 0) < rounds // 2: bad.append('fewer than %d round trips' % (rounds // 2))
    if res.get('mismatches') != 0: bad.append('DMA data mismatches')
    if not res.get('interrupts'): bad.append('no edu interrupt reached L2')
    if res.get('outside_ram_iova') in (None, '0x0'): bad.append('the DMA outside RAM was not tried')
    if res.get('outside_ram_changed') is not False: bad.append('guest RAM changed after the DMA outside RAM')
    if not res.get('nic'): bad.append('L2 saw no e1000e')
    if not res.get('nic_msix_vectors') or not res.get('nic_msix_irqs'): bad.append('no MSI-X interrupt reached L2')
    # MSI inside L2 is an open gap (e1000e's MSI self-test interrupt does not arrive; cause not
    # found): measured and shown, not judged, until it works.
    msi_ok = bool(res.get('nic_msi_vectors') and res.get('nic_msi_irqs'))
    print('MEASURE vfio_l2_msi_in_l2 %s' % ('delivered' if msi_ok else 'fell_back_to_intx'))
    if not msi_ok: print('KNOWN GAP: MSI did not reach L2: %s' % res.get('nic_msi_why'))
try:
    r = json.load(open(report))
except Exception as e:
    print('report:', e); r = {}
def g(k):
    v = r
    for p in k.split('.'):
        if not isinstance(v, dict) or p not in v:
            return None
        v = v[p]
    return v
for k in ('verdict', 'reason', 'pci.devices', 'pci.device0.host', 'pci.device0.iommu_group', 'pci.device0.interrupts_wired',
          'pci.device0.interrupts_delivered', 'pci.device0.msi_enables', 'pci.device0.bus_master_at_stop',
          'pci.device0.bus_master_cleared', 'pci.device0.dma_hazard', 'pci.config_errors', 'pci.refused_bar_moves',
          'pci.bar_moves', 'pci.unclaimed_accesses', 'pci.kvm_vfio_device', 'pinning.backend', 'pinning.pinned_pages', 'pinning.leaked_pins',
          'validation.samples', 'validation.pfn_changes', 'validation.outside_devmap', 'timing.launch_to_init_ms',
          'timing.launch_to_running_ms', 'guest.linux.tool', 'pci.device1.host', 'pci.device1.msix_vectors',
          'pci.device1.msix_enables', 'pci.device1.msix_errors', 'pci.device1.msix_route_updates',
          'pci.device1.msix_table_accesses', 'pci.device1.msi_enables', 'pci.device1.irq_errors',
          'pci.device1.interrupts_delivered', 'pci.device1.dma_hazard'):
    print(f"report {k} = {g(k)}")
if g('pci.device0.host') != edu: bad.append('report: pci.device0.host is not %s' % edu)
if g('pci.device0.interrupts_wired') != 'intx+msi': bad.append('report: interrupts not wired')
if not g('pci.device0.interrupts_delivered') or g('pci.device0.interrupts_delivered') < 1: bad.append('report: no interrupts delivered')
if g('pci.device0.dma_hazard') is not False: bad.append('report: DMA hazard at stop')
if g('pinning.backend') != 'vfio': bad.append('report: the container is not vfio')
if g('pci.device1.host') != nic: bad.append('report: pci.device1.host is not %s' % nic)
if not g('pci.device1.msix_vectors') or not g('pci.device1.msix_enables'): bad.append('report: MSI-X never enabled on the NIC')
if not g('pci.device1.msi_enables'): bad.append('report: MSI never enabled on the NIC')
if g('pci.device1.msix_errors') != 0 or g('pci.device1.irq_errors') != 0: bad.append('report: MSI-X/IRQ errors on the NIC')
l2_irqs = (res.get('nic_msix_irqs') or 0) + (res.get('nic_msi_irqs') or 0)
if (g('pci.device1.interrupts_delivered') or 0) < l2_irqs:
    bad.append('report: L1 forwarded fewer NIC interrupts (%s) than L2 counted (%d)' % (g('pci.device1.interrupts_delivered'), l2_irqs))
if g('pci.device1.dma_hazard') is not False: bad.append('report: NIC DMA hazard at stop')
print(f"INFO vfio_l2_msix_irqs_in_l2 {res.get('nic_msix_irqs')}")
print(f"INFO vfio_l2_msi_irqs_in_l2 {res.get('nic_msi_irqs')}")
print(f"INFO vfio_l2_nic_irqs_delivered {g('pci.device1.interrupts_delivered')}")
print(f"TIMING vfio_l2_nic_seconds {res.get('nic_seconds')}")
if not g('validation.samples'): bad.append('report: no validator samples')
if g('validation.outside_devmap') != 0 or g('validation.pfn_changes') != 0: bad.append('report: pages moved or outside the device')
if res and g('timing.launch_to_running_ms'):
    secs = res.get('seconds') or 0
    print(f"NUMBERS: {res.get('dma_round_trips')} round trips, {res.get('bytes_verified')} bytes verified, "
          f"{res.get('interrupts')} interrupts in L2 ({g('pci.device0.interrupts_delivered')} on L1's VFIO handler), "
          f"launch to edu usable in L2 ~{g('timing.launch_to_running_ms')} ms (tool running)")
for b in bad: print('check failed:', b)
sys.exit(1 if bad else 0)
PY
if [ "$leaked" -gt 0 ]; then
	if [ $st -eq 1 ] && grep -Eq "pin leak:.* $leaked more pins" /tmp/l2.out; then
		echo "verdict right: FAIL naming the kernel's leak of $leaked pins"; echo "MEASURE vfio_l2_daxvm FAIL_leak"
	else echo "WRONG VERDICT (exit $st) for a leak of $leaked pins"; bad=$((bad + 1)); echo "MEASURE vfio_l2_daxvm wrong"; fi
elif [ $st -eq 0 ]; then echo "verdict right: PASS"; echo "MEASURE vfio_l2_daxvm PASS"
else echo "WRONG VERDICT: exit $st with every pin released"; bad=$((bad + 1)); echo "MEASURE vfio_l2_daxvm wrong"; fi
echo "MEASURE vfio_l2_other_failures $bad"
[ $bad -eq 0 ] && { echo "PASS: L2 on devdax drove edu through daxvm's vfio-pci: DMA verified both ways, interrupts delivered, the DMA outside RAM refused by L1's IOMMU; e1000e's MSI-X interrupts reached L2 (MSI: see MEASURE vfio_l2_msi_in_l2)"; exit 0; }
echo "FAIL: $bad problem(s)"
exit 1
