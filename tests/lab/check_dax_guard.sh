#!/bin/bash
# Lab check dax_guard, inside the lab guest: `daxctl disable-device dax0.0` while
# `daxvm run --mem /dev/dax0.0 --pin vfio --vfio EDU` runs on it. The kernel lets the device go
# under the live pins (docs/findings/devdax-teardown-under-pins.md); daxvm's dax guard must see
# it, stop its DMA engine at once and fail the run naming the device and the live pins:
#   - daxvm exits 1 within the run (long before --duration), its reason names /dev/dax0.0 and
#     "went away under live pins";
#   - its report: dax_guard.state tripped, dax_guard.pins_live = the pins it held,
#     dax_guard.dma_after_event 0 (no transfer of daxvm's own engine started after the event),
#     dax_guard.latency_ms present, timing.run_ms below the 20 s duration (stopped within the run).
# ROUNDS rounds (the device is re-enabled after each, and at the end for the checks after this
# one). The reaction times are printed (median too) but never judged: they are numbers for the
# report. MEASURE lines (judged against tests/lab/expect.tsv) carry only what must not vary.
# Usage: check_dax_guard.sh BUILD_DIR EDU_BDF [ROUNDS]
set -uo pipefail
build=$1 edu=$2 rounds=${3:-3}
daxvm=$build/daxvm
dev=dax0.0
fails=0
[ -e /dev/kvm ] || { echo "FAIL: no /dev/kvm in the lab guest (kvm-amd did not load)"; exit 1; }
[ -x "$daxvm" ] || { echo "FAIL: $daxvm was not built"; exit 1; }

pin_net() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '$1 == "nr_foll_pin_acquired" { a = $2 } $1 == "nr_foll_pin_released" { r = $2 } END { print a - r }' /proc/vmstat
}
now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }

lat=() disable_ok=() daxvm_said=() after=() state=()
for round in $(seq 1 "$rounds"); do
	echo "=== round $round"
	[ -e /dev/$dev ] || daxctl enable-device $dev
	rm -f /tmp/guard.json
	base=$(pin_net)
	args=(run --mem /dev/$dev --mem-size 256M --cpus 2 --pin vfio --vfio "$edu" --duration 20 --report /tmp/guard.json)
	echo "\$ daxvm ${args[*]} &"
	t_start=$(now)
	"$daxvm" "${args[@]}" >/tmp/guard.out 2>&1 &
	pid=$!
	# The guest runs once the 65,536 pins are taken; then let it run ~3 s.
	for _ in $(seq 1 300); do
		[ $(( $(pin_net) - base )) -ge 65536 ] && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	echo "pins taken $(( $(pin_net) - base )) after $(ms "$t_start" "$(now)") ms"
	sleep 3
	kill -0 $pid 2>/dev/null || echo "daxvm ended before the device was disabled"
	t_dis=$(now)
	daxctl disable-device $dev >/tmp/disable.out 2>&1
	dst=$?
	t_dis_end=$(now)
	echo "daxctl disable-device $dev: exit $dst in $(ms "$t_dis" "$t_dis_end") ms: $(tr '\n' ' ' </tmp/disable.out)"
	disable_ok+=("$([ $dst -eq 0 ] && echo succeeds || echo fails)")
	# Bound the wait: a run that does not react goes on for its 20 s duration.
	st=
	for _ in $(seq 1 400); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 $pid 2>/dev/null; then
		echo "daxvm still running 20 s after the device was disabled: killing it"
		kill -9 $pid
	fi
	wait $pid
	st=$?
	t_end=$(now)
	cat /tmp/guard.out
	echo "daxvm: exit $st, $(ms "$t_dis" "$t_end") ms after disable-device started, $(ms "$t_dis_end" "$t_end") ms after it returned"
	if [ $st -eq 1 ] && grep -q "/dev/$dev went away under live pins" /tmp/guard.out; then
		daxvm_said+=(FAIL_guard)
	else
		daxvm_said+=("exit_$st")
		echo "round $round: daxvm did not fail the run naming /dev/$dev (exit $st)"
		fails=$((fails + 1))
	fi
	if [ -f /tmp/guard.json ]; then
		out=$(python3 - /tmp/guard.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
g = r.get('dax_guard', {})
for k in ('state', 'device', 'sources', 'event', 'source', 'latency_ms', 'pins_live', 'dma_after_event',
          'sigbus_faults', 'event_after_sigbus_ms', 'uevent_after_event_ms', 'dma_stopped'):
    print(f"report dax_guard.{k} = {g.get(k)}")
d = r.get('dma', {})
print(f"report dma.transfers = {d.get('transfers')} dma.fenced = {d.get('fenced')} dma.transfers_after_fence = {d.get('transfers_after_fence')}")
print(f"report verdict = {r.get('verdict')} reason = {r.get('reason')}")
print(f"report timing.run_ms = {r.get('timing', {}).get('run_ms')}")
print("VALUES", g.get('state'), g.get('latency_ms'), g.get('dma_after_event'), g.get('pins_live'),
      r.get('timing', {}).get('run_ms'))
PY
)
		echo "$out" | grep -v '^VALUES'
		read -r _ s l a p run_ms <<<"$(echo "$out" | grep '^VALUES')"
		state+=("$s") after+=("$a") lat+=("$l")
		[ "$s" = tripped ] || { echo "round $round: dax_guard.state is $s, not tripped"; fails=$((fails + 1)); }
		[ "$a" = 0 ] || { echo "round $round: dax_guard.dma_after_event is $a, not 0"; fails=$((fails + 1)); }
		[ "$p" = 65536 ] || { echo "round $round: dax_guard.pins_live is $p, not 65536"; fails=$((fails + 1)); }
		[ "$l" != None ] || { echo "round $round: no dax_guard.latency_ms"; fails=$((fails + 1)); }
		# Stopped within the run: a run that did not react lasts its whole --duration.
		awk -v m="$run_ms" 'BEGIN { exit !(m != "None" && m + 0 < 20000) }' ||
			{ echo "round $round: the run lasted $run_ms ms: it did not stop before its 20 s duration"; fails=$((fails + 1)); }
	else
		echo "round $round: no report written"
		state+=(none) after+=(none)
		fails=$((fails + 1))
	fi
	daxctl enable-device $dev >/tmp/enable.out 2>&1 || { echo "daxctl enable-device $dev failed: $(cat /tmp/enable.out)"; fails=$((fails + 1)); }
	echo "pins left behind by this round (vmstat net): $(( $(pin_net) - base ))"
done
[ -e /dev/$dev ] || { echo "/dev/$dev is missing after the rounds"; fails=$((fails + 1)); }

# One value per key when every round agreed, else "mixed:..." (a MISMATCH on the host).
same() { local first=$1 v; for v in "$@"; do [ "$v" = "$first" ] || { echo "mixed:$(IFS=,; echo "$*")"; return; }; done; echo "$first"; }
echo "MEASURE dax_guard_disable $(same "${disable_ok[@]}")"
echo "MEASURE dax_guard_daxvm $(same "${daxvm_said[@]}")"
echo "MEASURE dax_guard_state $(same "${state[@]}")"
echo "MEASURE dax_guard_dma_after_event $(same "${after[@]}")"
echo "dax_guard latency_ms (event -> DMA stopped) per round: ${lat[*]}; median $(printf '%s\n' "${lat[@]}" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
if [ $fails -eq 0 ]; then
	echo "PASS: in $rounds rounds daxvm stopped its DMA and failed the run naming /dev/$dev, 0 transfers after the event"
	exit 0
fi
echo "FAIL: $fails problem(s) over $rounds rounds"
exit 1
