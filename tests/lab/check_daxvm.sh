#!/bin/bash
# Lab check 6, inside the lab guest: daxvm itself on /dev/dax0.0 with nested KVM and real VFIO.
#   daxvm pin-check --mem /dev/dax0.0 --pin vfio --vfio EDU   must pass;
#   daxvm run --mem /dev/dax0.0 with the pinning the kernel allows (auto first: io_uring on a
#   machine without /dev/iommu; then vfio with edu) must pass with its live validation on
#   devmap pages, and its report must say which backend and why.
# A kernel that leaks pins (Linux 6.1 with VFIO on devdax, docs/validation.md) makes daxvm's
# verdict FAIL: then this check asserts that daxvm reported the leak the kernel's counters show
# (measured here, independently, around each command) instead of passing.
# Usage: check_daxvm.sh BUILD_DIR EDU_BDF
build=$1 edu=$2
daxvm=$build/daxvm
fail=0
[ -e /dev/kvm ] || { echo "FAIL: no /dev/kvm in the lab guest (kvm-amd did not load)"; exit 1; }
[ -x "$daxvm" ] || { echo "FAIL: $daxvm was not built"; exit 1; }

# The net of nr_foll_pin_acquired - released, system-wide (the lab guest runs nothing else).
pin_net() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '$1 == "nr_foll_pin_acquired" { a = $2 } $1 == "nr_foll_pin_released" { r = $2 } END { print a - r }' /proc/vmstat
}

# Runs one daxvm command; its verdict must match what the kernel's counters show:
# no pins left behind -> exit 0; pins left behind -> exit 1 and "pin leak" reported.
# Sets $leaked to the independently measured leak.
run_judged() {	# LABEL OUT_FILE COMMAND...
	local label=$1 out=$2 before st
	shift 2
	before=$(pin_net)
	timeout -k 5 60 "$@" >"$out" 2>&1
	st=$?
	cat "$out"
	leaked=$(( $(pin_net) - before ))
	echo "$label exit status $st; pins left behind by the kernel (vmstat net, measured here): $leaked"
	if [ "$leaked" -gt 0 ]; then
		if [ $st -eq 1 ] && grep -q "pin leak" "$out"; then
			echo "$label: the kernel leaked $leaked pins and daxvm reported the leak (verdict FAIL, as it must)"
			return 0
		fi
		echo "$label: the kernel leaked $leaked pins but daxvm did not report it"
		return 1
	fi
	return $st
}

echo "\$ daxvm pin-check --mem /dev/dax0.0 --pin vfio --vfio $edu"
run_judged pin-check /tmp/pin-check.out "$daxvm" pin-check --mem /dev/dax0.0 --pin vfio --vfio "$edu" || fail=1

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
if leaked > 0:
    # The kernel leaked: the verdict must be FAIL and name it; everything else must still hold.
    if get('verdict') != 'FAIL': bad.append('verdict PASS although the kernel leaked %d pins' % leaked)
    if not get('pinning.leaked_pins'): bad.append('pinning.leaked_pins does not show the leak')
elif get('verdict') != 'PASS':
    bad.append('verdict is not PASS')
if not get('validation.samples'): bad.append('no live validation samples')
if get('validation.outside_devmap') != 0: bad.append('pages outside the devdax ranges')
if get('validation.pfn_changes') != 0: bad.append('PFNs changed')
if not get('dma.transfers'): bad.append('no DMA transfers')
if get('dma.verify_failures') != 0: bad.append('DMA verify failures')
for b in bad: print("report check failed:", b)
sys.exit(1 if bad else 0)
PY
}

passed_runs=0
for pin in auto vfio; do
	args=(run --mem /dev/dax0.0 --mem-size 256M --cpus 2 --duration 5 --report /tmp/run-$pin.json)
	[ $pin = vfio ] && args+=(--pin vfio --vfio "$edu")
	echo "\$ daxvm ${args[*]}"
	rm -f /tmp/run-$pin.json
	if run_judged "run (pin $pin)" /tmp/run-$pin.out "$daxvm" "${args[@]}" &&
	   [ -f /tmp/run-$pin.json ] && check_report /tmp/run-$pin.json "$leaked"; then
		passed_runs=$((passed_runs + 1))
	fi
done
[ $passed_runs -ge 1 ] || { echo "FAIL: no daxvm run on /dev/dax0.0 passed"; fail=1; }
[ $fail -eq 0 ] && echo "PASS: daxvm pin-check and $passed_runs daxvm run(s) passed on devdax with nested KVM"
exit $fail
