#!/bin/bash
# Validator overhead on a running guest (issue 13), part of the by-hand lab benchmark
# ready_bench: the built-in stress guest under the lab's nested KVM, its verified bytes per
# second with the validator sampling every 100 ms (daxvm run's default) and every 10 ms,
# against --validate-interval 60000 ("off": in a few seconds' run only the snapshot at the
# start and the final sweep happen; run accepts 1 to 60000 ms), interleaved rounds.
# Prints numbers; the overhead is 1 - on/off per round. Under TCG every cost is inflated
# (L1's own code is emulated), so this says how the two compare, not what hardware does.
# Usage: bench_validator.sh BUILD_DIR [ROUNDS] [SECONDS]
set -uo pipefail
build=$1 rounds=${2:-5} secs=${3:-3}
daxvm=$build/daxvm out=/tmp/validator-bench.tsv
: >"$out"
[ -e /dev/kvm ] || { echo "FAIL: no /dev/kvm"; exit 1; }
one() {	# INTERVAL ROUND
	rm -f /tmp/vb.json
	timeout -k 5 $((secs + 60)) "$daxvm" run --mem memfd --mem-size 128M --cpus 1 --dma off --duration "$secs" \
		--validate-interval "$1" --report /tmp/vb.json >/tmp/vb.out 2>&1
	local st=$?
	python3 - "$1" "$2" "$st" /tmp/vb.json >>"$out" <<'PY'
import json, sys
iv, rnd, st, path = sys.argv[1:]
try:
    r = json.load(open(path))
    b, ms = r['guest']['verified_bytes'], r['timing']['run_ms']
    print(f"{iv}\t{rnd}\t{b / (ms / 1e3) / 2**30:.4f}\t{r['validation']['samples']}\t{r['verdict']}\t{st}")
except Exception as e:
    print(f"{iv}\t{rnd}\tNA\tNA\t{e}\t{st}")
PY
}
for r in $(seq 1 "$rounds"); do
	case $((r % 3)) in
	0) order="60000 100 10" ;; 1) order="100 10 60000" ;; *) order="10 60000 100" ;;
	esac
	for iv in $order; do one "$iv" "$r"; done
done
echo "--- raw (interval_ms round GiB/s samples verdict exit)"
cat "$out"
python3 - "$out" <<'PY'
import sys, statistics as st
d = {}
for l in open(sys.argv[1]):
    f = l.split('\t')
    if f[2] != 'NA': d.setdefault(f[0], {})[int(f[1])] = float(f[2])
off = d.get('60000', {})
if not off: print('no baseline numbers'); sys.exit(1)
print('\n| validate interval | guest GiB/s verified (min/median/max) | overhead per round (1 - on/off) | median overhead |')
print('|---|---:|---|---:|')
for iv in ('60000', '100', '10'):
    v = d.get(iv, {})
    if not v: print(f'| {iv} ms | no numbers | | |'); continue
    ov = [1 - v[r] / off[r] for r in sorted(v) if r in off and iv != '60000']
    print(f"| {iv} ms{' (off: snapshot + final sweep)' if iv == '60000' else ''} | {min(v.values()):.3f}/{st.median(v.values()):.3f}/{max(v.values()):.3f} | "
          f"{' '.join('%+.1f%%' % (100 * o) for o in ov)} | {'%+.1f%%' % (100 * st.median(ov)) if ov else '-'} |")
PY
