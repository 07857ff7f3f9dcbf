#!/bin/bash
# Lab check 6, inside the lab guest: daxvm itself on /dev/dax0.0 with nested KVM and real VFIO.
#   daxvm pin-check --mem /dev/dax0.0 --pin vfio --vfio EDU   must pass;
#   daxvm run --mem /dev/dax0.0 with the pinning the kernel allows (auto first: io_uring on a
#   machine without /dev/iommu; then vfio with edu) must pass with its live validation on
#   devmap pages, and its report must say which backend and why.
# Usage: check_daxvm.sh BUILD_DIR EDU_BDF
build=$1 edu=$2
daxvm=$build/daxvm
fail=0
[ -e /dev/kvm ] || { echo "FAIL: no /dev/kvm in the lab guest (kvm-amd did not load)"; exit 1; }
[ -x "$daxvm" ] || { echo "FAIL: $daxvm was not built"; exit 1; }

echo "\$ daxvm pin-check --mem /dev/dax0.0 --pin vfio --vfio $edu"
"$daxvm" pin-check --mem /dev/dax0.0 --pin vfio --vfio "$edu" --report /tmp/pin-check.json 2>&1
st=$?
echo "pin-check exit status $st"
[ $st -eq 0 ] || fail=1

# Checks one run report: devdax, devmap, PASS, every page inside the device, a backend and why.
check_report() {
	python3 - "$1" <<'PY'
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
        'pinning.pinned_pages', 'pinning.expected_pages', 'pinning.vmstat_acquired_delta',
        'pinning.vmstat_released_delta', 'validation.samples', 'validation.pages_checked',
        'validation.pfn_changes', 'validation.not_present', 'validation.outside_devmap',
        'dma.transfers', 'dma.bytes', 'dma.verify_failures', 'dma.iommu_faults']
for k in keys:
    print(f"report {k} = {get(k)}")
bad = []
if get('verdict') != 'PASS': bad.append('verdict is not PASS')
if get('backing.kind') != 'devdax': bad.append('backing is not devdax')
if get('backing.devmap') is not True: bad.append('backing.devmap is not true')
if not get('pinning.backend') or not get('pinning.backend_why'): bad.append('no backend or reason in the report')
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
	timeout -k 5 90 "$daxvm" "${args[@]}" 2>&1
	st=$?
	echo "run (pin $pin) exit status $st"
	if [ -f /tmp/run-$pin.json ] && check_report /tmp/run-$pin.json && [ $st -eq 0 ]; then
		passed_runs=$((passed_runs + 1))
	fi
done
[ $passed_runs -ge 1 ] || { echo "FAIL: no daxvm run on /dev/dax0.0 passed"; fail=1; }
[ $fail -eq 0 ] && echo "PASS: daxvm pin-check and $passed_runs daxvm run(s) passed on devdax with nested KVM"
exit $fail
