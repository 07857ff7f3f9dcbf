#!/bin/bash
# Lab benchmark ready_bench (issue 13), by hand only: tests/lab/run BUILD --kernel 6.1 --only
# ready_bench. Not in ./test.sh or the lab's meson tests (about 3 minutes under TCG).
# Inside L1 on the real /dev/dax0.0 with edu bound to vfio-pci, interleaved rounds of:
#   daxvm       daxvm run --pin vfio --vfio EDU --dma off: timing.launch_to_first_insn_ms
#               (nested KVM: process start -> RAM populated, pinned through VFIO -> first
#               guest instruction), with populate_ms and pin_ms
#   pincheck    daxvm pin-check, same populate + pin, no KVM: timing.launch_to_pinned_ms
#   pincheck0   the same with --prealloc-threads 0: no populate pass, VFIO's MAP_DMA faults
#               the device pages in itself (the mechanism comparison)
#   qemu        QEMU -accel kvm, RAM on /dev/dax0.0 (prealloc=on, prealloc-threads=NCPU,
#               -overcommit mem-lock=on), -device vfio-pci,host=EDU, -S -daemonize: spawn ->
#               the parent returns (QEMU maps all RAM through VFIO while it initialises)
#   qemu16      the same QEMU with 16 MiB of RAM: its fixed cost
#   touch       NCPU threads writing one byte per 2 MiB page of the fresh mapping (the
#               physical limit of making devdax present; devdax needs no zeroing)
# Prints numbers (min/median/max, ratios per round); never passes or fails on speed: the
# exit status is 1 only when a case produced no number.
# Usage: bench_ready.sh BUILD_DIR EDU_BDF [ROUNDS] [SIZES]
set -uo pipefail
build=$1 edu=$2 rounds=${3:-3} sizes=${4:-"256M 512M"}
daxvm=$build/daxvm prefault=$build/bench/prefault
ncpu=$(nproc) out=/tmp/ready-bench.tsv
: >"$out"
for x in "$daxvm" "$prefault"; do [ -x "$x" ] || { echo "FAIL: $x was not built"; exit 1; }; done
command -v qemu-system-x86_64 >/dev/null || { echo "FAIL: qemu-system-x86_64 missing"; exit 1; }
[ -e /dev/dax0.0 ] && [ -e /dev/kvm ] || { echo "FAIL: needs /dev/dax0.0 and /dev/kvm"; exit 1; }
echo "L1: $(uname -r), $ncpu CPUs (one TCG thread runs them all: threads share one host CPU), $rounds rounds, sizes $sizes"
echo "the pins of devdax that VFIO type1 never releases (docs/findings) add up over these runs; numbers only"
now() { date +%s%N; }
ms_since() { echo $(( ($(now) - $1) / 1000000 )); }
jget() { python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    v=r
    for p in k.split("."): v=v.get(p) if isinstance(v,dict) else None
    print(v if v is not None else "NA", end=" ")
print()' "$@" 2>/dev/null || echo NA; }

one_daxvm() {	# SIZE ROUND
	rm -f /tmp/rb.json
	timeout -k 5 90 "$daxvm" run --mem /dev/dax0.0 --mem-size "$1" --cpus 1 --pin vfio --vfio "$edu" \
		--dma off --duration 0.001 --prealloc-threads "$ncpu" --report /tmp/rb.json >/tmp/rb.out 2>&1
	local st=$? v
	v=$(jget /tmp/rb.json timing.launch_to_first_insn_ms timing.populate_ms timing.pin_ms verdict)
	echo "daxvm	$1	$2	$v	exit=$st" >>"$out"
	[ -f /tmp/rb.json ] || { echo "daxvm run $1 wrote no report (exit $st):"; tail -3 /tmp/rb.out; }
}
one_pincheck() {	# SIZE ROUND THREADS NAME
	rm -f /tmp/rb.json
	timeout -k 5 90 "$daxvm" pin-check --mem /dev/dax0.0 --mem-size "$1" --pin vfio --vfio "$edu" --hold 0 \
		--validate-interval 0 --prealloc-threads "$3" --report /tmp/rb.json >/tmp/rb.out 2>&1
	local st=$?
	echo "$4	$1	$2	$(jget /tmp/rb.json timing.launch_to_pinned_ms timing.populate_ms timing.pin_ms verdict)	exit=$st" >>"$out"
	[ -f /tmp/rb.json ] || { echo "pin-check $1 wrote no report (exit $st):"; tail -3 /tmp/rb.out; }
}
one_qemu() {	# SIZE ROUND NAME
	local t0 ms st pid i
	rm -f /tmp/rb-qemu.pid
	t0=$(now)
	timeout -k 5 90 qemu-system-x86_64 -accel kvm -cpu host -S -display none -nodefaults -m "$1" \
		-object memory-backend-file,id=ram0,mem-path=/dev/dax0.0,size="$1",share=on,align=2M,prealloc=on,prealloc-threads="$ncpu" \
		-machine q35,memory-backend=ram0 -overcommit mem-lock=on -device vfio-pci,host="$edu" \
		-daemonize -pidfile /tmp/rb-qemu.pid >/tmp/rb-qemu.out 2>&1
	st=$? ms=$(ms_since "$t0")
	pid=$(cat /tmp/rb-qemu.pid 2>/dev/null)
	if [ $st -ne 0 ] || [ -z "$pid" ]; then
		echo "QEMU $1 failed (exit $st): $(tr '\n' ' ' </tmp/rb-qemu.out | cut -c1-300)"
		echo "$3	$1	$2	NA	exit=$st" >>"$out"
		return
	fi
	# The group must be free before the next case opens it.
	kill "$pid" 2>/dev/null
	for i in $(seq 100); do [ -d /proc/"$pid" ] || break; sleep 0.1; done
	[ -d /proc/"$pid" ] && kill -9 "$pid"
	echo "$3	$1	$2	$ms	exit=0" >>"$out"
}
one_touch() {	# SIZE ROUND
	local v
	v=$("$prefault" /dev/dax0.0 "$1" "$ncpu" touch 2>/tmp/rb-touch.err | sed -n 's/^ms=//p')
	echo "touch	$1	$2	${v:-NA}	" >>"$out"
	[ -n "$v" ] || cat /tmp/rb-touch.err
}

# VFIO maps a mapping one GiB piece at a time (pinning/pin_vfio.c): 1.5 GiB of memfd is two
# pieces' worth of code path (two MAP_DMA, one UNMAP_DMA) with a release that VFIO does honour
# (memfd, unlike devdax): pin-check must PASS with every pin back.
echo "--- vfio in GiB pieces: pin-check memfd 1536M"
timeout -k 5 120 "$daxvm" pin-check --mem memfd --mem-size 1536M --pin vfio --vfio "$edu" --hold 0.2 \
	--validate-interval 50 >/tmp/rb-pieces.out 2>&1
pieces_st=$?
cat /tmp/rb-pieces.out
echo "vfio pieces: pin-check exit $pieces_st"

cases=(daxvm qemu pincheck pincheck0 qemu16 touch)
for size in $sizes; do
	# Untimed warm-up: the first use of the device pages and QEMU's first start pay alone.
	one_pincheck "$size" 0 "$ncpu" warmup; one_qemu 16M 0 warmup
	for r in $(seq 1 "$rounds"); do
		n=${#cases[@]} order=()
		for i in $(seq 0 $((n - 1))); do order+=("${cases[$(( (i + r - 1) % n ))]}"); done
		echo "size $size round $r: ${order[*]}"
		for c in "${order[@]}"; do
			case $c in
			daxvm) one_daxvm "$size" "$r" ;;
			pincheck) one_pincheck "$size" "$r" "$ncpu" pincheck ;;
			pincheck0) one_pincheck "$size" "$r" 0 pincheck0 ;;
			qemu) one_qemu "$size" "$r" qemu ;;
			qemu16) one_qemu 16M "$r" qemu16; sed -i '$ s/^\(qemu16\t\)16M/\1'"$size"'/' "$out" ;;
			touch) one_touch "$size" "$r" ;;
			esac
		done
	done
done
echo "--- raw (case size round value [populate_ms pin_ms verdict] exit)"
cat "$out"
python3 - "$out" <<'PY'
import sys, statistics as st
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1]) if l.strip()]
data = {}
for r in rows:
    case, size, rnd = r[0], r[1], int(r[2])
    if case == 'warmup' or rnd == 0: continue
    f = r[3].split()
    try: v = float(f[0])
    except (ValueError, IndexError): v = None
    extra = f[1:3] if len(f) >= 3 else []
    data.setdefault((case, size), {})[rnd] = (v, extra)
sizes = sorted({s for (_, s) in data}, key=lambda s: int(s[:-1]))
def mmm(d):
    v = [x[0] for x in d.values() if x[0] is not None]
    return '%.0f/%.0f/%.0f' % (min(v), st.median(v), max(v)) if v else 'NA'
bad = 0
print('\nms, min/median/max over rounds; daxvm = run with nested KVM (launch -> first guest instruction)')
print('| size | daxvm run | its populate_ms | its pin_ms | pin-check | pin-check, no populate | QEMU vfio-pci | QEMU 16 MiB | touch limit | daxvm/QEMU per round | daxvm/touch per round | pin-check/touch per round |')
print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|')
for s in sizes:
    g = lambda c: data.get((c, s), {})
    q16 = g('qemu16')
    dx, q, t, pc = g('daxvm'), g('qemu'), g('touch'), g('pincheck')
    def sub(d, i):
        v = [float(x[1][i]) for x in d.values() if len(x[1]) > i and x[1][i] not in ('NA', 'None')]
        return '%.0f/%.0f/%.0f' % (min(v), st.median(v), max(v)) if v else 'NA'
    def ratio(a, b):
        out = []
        for rnd in sorted(a):
            if rnd in b and a[rnd][0] and b[rnd][0]: out.append('%.2f' % (a[rnd][0] / b[rnd][0]))
        return ' '.join(out) or 'NA'
    for c in ('daxvm', 'qemu', 'pincheck', 'pincheck0', 'touch'):
        if not any(x[0] is not None for x in g(c).values()): bad += 1; print('no numbers for', c, s)
    print(f"| {s} | {mmm(dx)} | {sub(dx, 0)} | {sub(dx, 1)} | {mmm(pc)} | {mmm(g('pincheck0'))} | {mmm(q)} | {mmm(q16)} | {mmm(t)} | {ratio(dx, q)} | {ratio(dx, t)} | {ratio(pc, t)} |")
print('\nnot included: the guest booting (daxvm: its first instruction; QEMU -S: paused before its first)')
print('QEMU 16 MiB: the same QEMU with 16 MiB of RAM in the rounds of that size (its fixed cost)')
sys.exit(1 if bad else 0)
PY
st=$?
[ "$pieces_st" -eq 0 ] || { echo "FAIL: vfio pin-check of 1.5 GiB memfd in GiB pieces exited $pieces_st"; exit 1; }
exit $st
