#!/bin/bash
# Lab check 6, inside the lab guest: daxvm itself on /dev/dax0.0 with nested KVM and real VFIO.
# Three commands, and EVERY one must give the verdict the kernel deserves:
#   daxvm pin-check --mem /dev/dax0.0 --pin vfio --vfio EDU
#   daxvm run --mem /dev/dax0.0              (auto: io_uring on a machine without /dev/iommu)
#   daxvm run --mem /dev/dax0.0 --pin vfio --vfio EDU
# The deserved verdict comes from the kernel's pin counters, measured here independently around
# each command: pins left behind -> daxvm must FAIL naming the leak with the same count; every pin
# released -> daxvm must PASS, or refuse (exit 2) naming the kernel's reason when the kernel
# refused to pin. A run's report must also show devdax, devmap, a backend and why, live samples,
# no PFN outside the device, DMA without verify failures.
# What each command did is printed as MEASURE lines (judged on the host against
# tests/lab/expect.tsv: which backend, what the kernel did with the pins, what daxvm said, whether
# that was right), so a daxvm verdict that is wrong on one kernel is recorded there, not hidden.
# Usage: check_daxvm.sh BUILD_DIR EDU_BDF
set -uo pipefail	# not -e: every command runs and is judged, whatever the one before did
build=$1 edu=$2
daxvm=$build/daxvm
wrong=0	# commands whose verdict was not the one the kernel deserved
other=0	# report problems other than the verdict
[ -e /dev/kvm ] || { echo "FAIL: no /dev/kvm in the lab guest (kvm-amd did not load)"; exit 1; }
[ -x "$daxvm" ] || { echo "FAIL: $daxvm was not built"; exit 1; }

# The net of nr_foll_pin_acquired - released, system-wide (the lab guest runs nothing else).
pin_net() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '$1 == "nr_foll_pin_acquired" { a = $2 } $1 == "nr_foll_pin_released" { r = $2 } END { print a - r }' /proc/vmstat
}

# Runs one daxvm command and judges its verdict against the kernel's counters (see the header).
# Sets $leaked (measured here) and prints MEASURE NAME_pins / NAME_daxvm / NAME_verdict_right.
run_judged() {	# NAME OUT_FILE COMMAND...
	local name=$1 out=$2 before st right=no
	said=	# global: the caller looks at it
	shift 2
	before=$(pin_net)
	timeout -k 5 60 "$@" >"$out" 2>&1
	st=$?
	cat "$out"
	leaked=$(( $(pin_net) - before ))
	echo "$name: exit status $st; pins left behind by the kernel (vmstat net, measured here): $leaked"
	case $st in
	0) said=PASS ;;
	2) said=refused ;;
	124|137) said=timeout ;;
	1)	if grep -Eq "pin leak:.* $leaked more pins" "$out"; then said=FAIL_leak
		elif grep -q "pin leak" "$out"; then said=FAIL_leak_miscounted
		elif grep -q "VmPin" "$out"; then said=FAIL_vmpin
		else said=FAIL_other
		fi ;;
	*) said=exit_$st ;;
	esac
	if [ "$leaked" -gt 0 ]; then
		[ $said = FAIL_leak ] && right=yes
	elif [ $said = PASS ]; then
		right=yes
	elif [ $said = refused ] && grep -qiE "not supported|EOPNOTSUPP|refus" "$out"; then
		right=yes	# the kernel refused to pin and daxvm said so
	fi
	echo "MEASURE ${name}_pins $([ "$leaked" -gt 0 ] && echo leak || echo released)"
	echo "MEASURE ${name}_daxvm $said"
	echo "MEASURE ${name}_verdict_right $right"
	if [ $right = no ]; then
		wrong=$((wrong + 1))
		echo "$name: WRONG VERDICT: daxvm said $said, the kernel left $leaked pins behind"
	fi
}

echo "\$ daxvm pin-check --mem /dev/dax0.0 --pin vfio --vfio $edu"
run_judged pin_check /tmp/pin-check.out "$daxvm" pin-check --mem /dev/dax0.0 --pin vfio --vfio "$edu"

# Checks one run report: devdax, devmap, PASS, every page inside the device, a backend and why.
check_report() {
	python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
def get(k):
    v = r
    for p in k.split('.'):
        if not isinstance(v, dict) or p not in v:
            return None
        v = v[p]
    return v
keys = ['verdict', 'backing.kind', 'backing.devmap', 'pinning.backend', 'pinning.backend_why',
        'pinning.pinned_pages', 'pinning.expected_pages', 'pinning.evidence', 'pinning.evidence_why',
        'pinning.vmstat_while_pinning.acquired', 'pinning.vmstat_while_pinning.released',
        'pinning.vmstat_after_unpin.net', 'pinning.leaked_pins', 'validation.samples', 'validation.pages_checked',
        'validation.pfn_changes', 'validation.not_present', 'validation.outside_devmap',
        'dma.transfers', 'dma.bytes', 'dma.verify_failures', 'dma.iommu_faults']
for k in keys:
    print(f"report {k} = {get(k)}")
bad = []
if get('backing.kind') != 'devdax': bad.append('backing is not devdax')
if get('backing.devmap') is not True: bad.append('backing.devmap is not true')
leaked = int(sys.argv[2])
if get('pinning.backend') in (None, 'none') or not get('pinning.backend_why'): bad.append('no pinning backend or reason in the report')
# The verdict itself is judged by run_judged; here the report's own numbers must agree with it.
if leaked > 0 and get('pinning.leaked_pins') != leaked:
    bad.append('pinning.leaked_pins is %s, the kernel left %d' % (get('pinning.leaked_pins'), leaked))
if not get('validation.samples'): bad.append('no live validation samples')
if get('validation.outside_devmap') != 0: bad.append('pages outside the devdax ranges')
if get('validation.pfn_changes') != 0: bad.append('PFNs changed')
if not get('dma.transfers'): bad.append('no DMA transfers')
if get('dma.verify_failures') != 0: bad.append('DMA verify failures')
for b in bad: print("report check failed:", b)
sys.exit(1 if bad else 0)
PY
}

for pin in auto vfio; do
	args=(run --mem /dev/dax0.0 --mem-size 256M --cpus 2 --duration 5 --report /tmp/run-$pin.json)
	[ $pin = vfio ] && args+=(--pin vfio --vfio "$edu")
	echo "\$ daxvm ${args[*]}"
	rm -f /tmp/run-$pin.json
	run_judged run_$pin /tmp/run-$pin.out "$daxvm" "${args[@]}"
	if [ -f /tmp/run-$pin.json ]; then
		echo "MEASURE run_${pin}_backend $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("pinning", {}).get("backend"))' /tmp/run-$pin.json)"
		check_report /tmp/run-$pin.json "$leaked" || other=$((other + 1))
	elif [ "$said" != refused ]; then
		echo "run (pin $pin): no report written"
		other=$((other + 1))
	fi
done
# Problems other than the verdict (report content, missing report): expected 0 on every kernel,
# so an expected verdict failure (expect.tsv xfail) can never hide one of these.
echo "MEASURE other_failures $other"
if [ $wrong -eq 0 ] && [ $other -eq 0 ]; then
	echo "PASS: pin-check and both daxvm runs gave the verdict the kernel deserved; reports complete"
	exit 0
fi
echo "FAIL: $wrong command(s) with a wrong verdict, $other report problem(s)"
exit 1
