#!/bin/bash
# Development check (by --only soak only, never in ./test.sh): the two built-in-guest runs that
# stalled now and then under nested TCG, repeated for BUDGET seconds, each round's end printed
# with daxvm's own words (a hang names where the vCPU thread was and the guest's RIP):
#   hostile: run --mem /dev/dax0.0 --cpus 2 --inject hostile --pin vfio (as check_daxvm.sh)
#   dma2:    run --mem memfd --mem-size 256M --cpus 2 (the kvm suite's run_dma_memfd_2cpu, x4 time)
# Fails when any round ended in a hang, a triple fault or a guest exception (the stall family). Usage: check_soak.sh BUILD_DIR EDU_BDF [BUDGET_S]
set -uo pipefail
build=$1 edu=$2 budget=${3:-170}
daxvm=$build/daxvm
[ -e /dev/kvm ] || { echo "FAIL: no /dev/kvm in the lab guest"; exit 1; }
end=$(( $(date +%s) + budget ))
rounds=0 hangs=0
while [ "$(date +%s)" -lt "$end" ]; do
	for kind in hostile dma2; do
		case $kind in
		hostile) args=(run --mem /dev/dax0.0 --mem-size 64M --cpus 2 --duration 2 --inject hostile --pin vfio
			       --vfio "$edu" --hang-timeout 20 --console /dev/null --report /tmp/soak.json) ;;
		dma2) args=(run --mem memfd --mem-size 256M --cpus 2 --duration 8 --console /dev/null
			    --report /tmp/soak.json) ;;
		esac
		rounds=$((rounds + 1))
		t0=$(date +%s.%N)
		timeout -k 5 60 "$daxvm" "${args[@]}" >/tmp/soak.out 2>&1
		st=$?
		secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
		reason=$(grep -m1 -E "^daxvm( run)?:" /tmp/soak.out)
		echo "round $rounds $kind: exit $st in $secs s: $reason"
		if grep -qE "hung|triple fault|guest exception on|did not start" /tmp/soak.out || [ $st = 124 ] || [ $st = 137 ]; then
			hangs=$((hangs + 1))
			sed 's/^/    /' /tmp/soak.out | head -40
			# A stop RIP in L1's kernel half: name L1's symbol there (this boot's addresses).
			rip=$(grep -oE "stopped at guest RIP 0xffff[0-9a-f]+" /tmp/soak.out | head -1 | grep -oE "0x[0-9a-f]+$")
			[ -n "$rip" ] && python3 - "$rip" <<'PY'
import sys
rip = int(sys.argv[1], 16)
best = None
for line in open('/proc/kallsyms'):
    a, _, name = line.split()[:3]
    a = int(a, 16)
    if a <= rip and (best is None or a > best[0]):
        best = (a, name, line.split()[3] if len(line.split()) > 3 else '')
if best:
    print('    L1 symbol at 0x%x: %s+0x%x %s' % (rip, best[1], rip - best[0], best[2]))
PY
		fi
	done
done
echo "MEASURE soak_rounds $rounds"
echo "MEASURE soak_stalls $hangs"
[ $hangs = 0 ] && { echo "PASS: $rounds rounds, none hung or faulted"; exit 0; }
echo "FAIL: $hangs of $rounds rounds hung or faulted"
exit 1
