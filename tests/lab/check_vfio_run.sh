#!/bin/bash
# Lab check vfio_run, inside the lab guest: `daxvm run --device vfio-pci,host=EDU` end to end
# with the built-in stress guest (no Linux guest: it does not drive edu, but the device is on
# daxvm's PCI bus 0 with BAR0 in a memslot for the whole run): edu's group joins the vfio
# container that maps /dev/dax0.0 guest RAM; the report lists the device with its group and
# the teardown's device part (bus master, reset, hazard); the verdict is the one the kernel's pin
# counters deserve (6.1-7: VFIO type1 leaks devdax pins, so daxvm must FAIL naming the leak).
# Then the bad inputs, each one line and exit 2 before the guest starts: a malformed address, a
# device that does not exist, one not bound to vfio-pci, a group held by another process.
# Usage: check_vfio_run.sh BUILD_DIR EDU_BDF
set -uo pipefail
build=$1 edu=$2
daxvm=$build/daxvm
bad=0
[ -e /dev/kvm ] || { echo "FAIL: no /dev/kvm in the lab guest"; exit 1; }
pin_net() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '$1 == "nr_foll_pin_acquired" { a = $2 } $1 == "nr_foll_pin_released" { r = $2 } END { print a - r }' /proc/vmstat
}

args=(run --mem /dev/dax0.0 --mem-size 256M --cpus 1 --duration 3 --device "vfio-pci,host=$edu" --report /tmp/vfio-run.json)
echo "\$ daxvm ${args[*]}"
before=$(pin_net)
t0=$(date +%s.%N)
timeout -k 5 90 "$daxvm" "${args[@]}" >/tmp/vfio-run.out 2>&1
st=$?
cat /tmp/vfio-run.out
leaked=$(( $(pin_net) - before ))
echo "exit status $st in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s; pins left behind (vmstat net, measured here): $leaked"
if [ "$leaked" -gt 0 ]; then
	if [ $st -eq 1 ] && grep -Eq "pin leak:.* $leaked more pins" /tmp/vfio-run.out; then
		echo "verdict right: FAIL naming the kernel's leak of $leaked pins"; echo "MEASURE vfio_run_daxvm FAIL_leak"
	else echo "WRONG VERDICT (exit $st) for a leak of $leaked pins"; bad=$((bad + 1)); echo "MEASURE vfio_run_daxvm wrong"; fi
else
	if [ $st -eq 0 ]; then echo "verdict right: PASS"; echo "MEASURE vfio_run_daxvm PASS"
	else echo "WRONG VERDICT: exit $st with every pin released"; bad=$((bad + 1)); echo "MEASURE vfio_run_daxvm wrong"; fi
fi
group=$(basename "$(readlink /sys/bus/pci/devices/$edu/iommu_group)")
if [ -f /tmp/vfio-run.json ]; then
	python3 - /tmp/vfio-run.json "$edu" "$group" <<'PY' || bad=$((bad + 1))
import json, sys
r = json.load(open(sys.argv[1])); edu, group = sys.argv[2], int(sys.argv[3])
pci = r.get('pci', {}); d = pci.get('device0', {})
for k in sorted(pci):
    if k != 'device0': print(f"report pci.{k} = {pci[k]}")
for k in sorted(d): print(f"report pci.device0.{k} = {d[k]}")
print(f"report pinning.backend = {r.get('pinning', {}).get('backend')}, dma.transfers = {r.get('dma', {}).get('transfers')}")
bad = []
if pci.get('devices') != 1: bad.append('pci.devices is not 1')
if d.get('host') != edu: bad.append('pci.device0.host is not %s' % edu)
if d.get('iommu_group') != group: bad.append('pci.device0.iommu_group is not %d' % group)
if r.get('pinning', {}).get('backend') != 'vfio': bad.append('the container is not vfio')
if d.get('dma_hazard') is not False: bad.append('dma_hazard is not false')
if d.get('bus_master_at_stop') and not d.get('bus_master_cleared'): bad.append('bus master left on')
# (the stress guest's own DMA engine may not start within 3 s under nested TCG: not judged here)
if r.get('dma', {}).get('verify_failures'): bad.append('DMA verify failures through the container')
for b in bad: print("report check failed:", b)
sys.exit(1 if bad else 0)
PY
else
	echo "no report written"; bad=$((bad + 1))
fi

# Bad inputs: exit 2, one line on stderr naming the cause.
expect_refusal() {	# NAME NEEDLE DEVICE
	local out st
	out=$(timeout -k 5 30 "$daxvm" run --mem /dev/dax0.0 --mem-size 64M --duration 1 --device "vfio-pci,host=$3" 2>&1 >/dev/null)
	st=$?
	echo "--device vfio-pci,host=$3 ($1): exit $st: $out"
	if [ $st -ne 2 ] || [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ] || ! grep -q -- "$2" <<<"$out"; then
		echo "bad input $1: expected exit 2 and one line mentioning '$2'"; bad=$((bad + 1))
	fi
}
expect_refusal malformed "not a PCI address" "0000:00:3.0"
expect_refusal absent "no PCI device" "0000:00:1f.6"
other=
for d in /sys/bus/pci/devices/*; do
	drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
	[ -n "$drv" ] && [ "$drv" != vfio-pci ] && [ -e "$d/iommu_group" ] && { other=$(basename "$d"); break; }
done
[ -n "$other" ] && expect_refusal not_bound "not vfio-pci" "$other"
# Another process holds edu's group open: VFIO allows one opener (EBUSY).
( exec 3<>"/dev/vfio/$group"; sleep 20 ) &
holder=$!
sleep 0.5
expect_refusal group_busy "in use" "$edu"
kill $holder 2>/dev/null; wait $holder 2>/dev/null
echo "MEASURE vfio_run_other_failures $bad"
[ $bad -eq 0 ] && { echo "PASS: daxvm run --device on edu: device on bus 0 over the vfio container, report and verdict right, bad inputs refused"; exit 0; }
echo "FAIL: $bad problem(s)"
exit 1
