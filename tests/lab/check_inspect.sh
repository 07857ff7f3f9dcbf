#!/bin/bash
# Lab check "inspect", inside the lab guest: daxvm inspect on the VMM people run. QEMU (nested
# KVM, paused with -S: no guest code runs, so nested KVM cannot hang it) with its RAM on
# /dev/dax0.0 and edu passed through with vfio-pci. VFIO type1 maps (and pins) all guest RAM
# when the device is realized, before the guest runs, so -S is enough.
#   1. daxvm inspect --pid QEMU --duration 2: must PASS with every page pinned (512 MiB = 131,072
#      4 KiB pins, evidence vmstat: VFIO does not charge devdax pages to VmLck), PFNs stable and
#      inside the device.
#   2. daxvm inspect --pid QEMU --until-exit while QEMU is stopped (SIGTERM, a clean exit): must
#      FAIL naming the pin leak, with the count the kernel's own counters show (measured here
#      around QEMU's whole life) when the kernel leaks.
# Every nested run is bounded (timeout). Prints MEASURE lines (judged against expect.tsv).
# Usage: check_inspect.sh BUILD_DIR EDU_BDF
set -uo pipefail
build=$1 edu=$2
daxvm=$build/daxvm
size_mib=512
fails=0
[ -e /dev/kvm ] || { echo "FAIL: no /dev/kvm in the lab guest"; exit 1; }
[ -e /dev/dax0.0 ] || { echo "FAIL: no /dev/dax0.0"; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "FAIL: qemu-system-x86_64 is not installed on the host"; exit 1; }

pin_net() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '$1 == "nr_foll_pin_acquired" { a = $2 } $1 == "nr_foll_pin_released" { r = $2 } END { print a - r }' /proc/vmstat
}
# One value of daxvm's report (pretty-printed JSON, one key per line) without python3: Python
# starts in seconds here (its stdlib comes over 9p under TCG) and this runs a dozen times.
json() {	# FILE KEY
	awk -v want="$2" '
	/^ *"[^"]*": \{$/ { k = $0; sub(/^ *"/, "", k); sub(/".*/, "", k); st[++n] = k; next }
	/^ *\},?$/ { n--; next }
	/^ *"[^"]*": / {
		line = $0; sub(/^ *"/, "", line); key = line; sub(/".*/, "", key)
		val = line; sub(/^[^"]*": /, "", val); sub(/,$/, "", val); gsub(/^"|"$/, "", val)
		p = ""; for (i = 1; i <= n; i++) p = p st[i] "."
		if (p key == want) { print val; found = 1; exit }
	}
	END { if (!found) print "None" }' "$1"
}

# Waits (up to 60 s) until daxvm inspect, a child of timeout pid $1, reads QEMU $2's pagemap
# (its sampler runs: it has attached), then 1 s more. Starting daxvm over 9p under TCG takes
# seconds, so a fixed sleep could stop QEMU before inspect attached.
attached() {
	local i c
	for i in $(seq 600); do
		for c in $(pgrep -P "$1"); do
			ls -l /proc/$c/fd 2>/dev/null | grep -q "/proc/$2/pagemap" && { sleep 1; return 0; }
		done
		sleep 0.1
	done
	echo "inspect did not attach within 60 s"
}

before=$(pin_net)
rm -f /tmp/inspect-qemu.pid
t0=$(date +%s.%N)
timeout -k 5 60 qemu-system-x86_64 -accel kvm -cpu host -S -display none -nodefaults -m ${size_mib}M \
	-object memory-backend-file,id=m,mem-path=/dev/dax0.0,share=on,align=2M,size=${size_mib}M \
	-machine q35,memory-backend=m -device vfio-pci,host="$edu" \
	-daemonize -pidfile /tmp/inspect-qemu.pid >/tmp/inspect-qemu.out 2>&1
st=$?
cat /tmp/inspect-qemu.out
qpid=$(cat /tmp/inspect-qemu.pid 2>/dev/null)
if [ $st -ne 0 ] || [ -z "$qpid" ]; then echo "FAIL: QEMU did not start (exit $st)"; exit 1; fi
echo "QEMU pid $qpid started in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s; pins held system-wide since: $(( $(pin_net) - before ))"
grep -E 'VmLck|VmPin' /proc/$qpid/status
grep dax /proc/$qpid/maps

echo "\$ daxvm inspect --pid $qpid --duration 2"
timeout -k 5 60 "$daxvm" inspect --pid "$qpid" --duration 2 --report /tmp/inspect-1.json
st=$?
echo "exit status $st"
echo "MEASURE inspect_verdict $([ $st -eq 0 ] && echo PASS || echo "exit_$st")"
if [ -f /tmp/inspect-1.json ]; then
	for k in pinning.expected_pages pinning.pinned_pages pinning.evidence validation.outside_devmap \
		 validation.pfn_changes validation.not_present backing.kind backing.devmap target.found.pin_path \
		 timing.first_verdict_ms timing.snapshot_ms validation.pages_checked validation.sampler_cpu_ms; do
		echo "report $k = $(json /tmp/inspect-1.json $k)"
	done
	echo "MEASURE inspect_pins_expected $(json /tmp/inspect-1.json pinning.expected_pages)"
	echo "MEASURE inspect_evidence $(json /tmp/inspect-1.json pinning.evidence)"
	echo "MEASURE inspect_outside_devmap $(json /tmp/inspect-1.json validation.outside_devmap)"
	echo "MEASURE inspect_pfn_changes $(json /tmp/inspect-1.json validation.pfn_changes)"
	echo "first verdict for a $size_mib MiB guest: $(json /tmp/inspect-1.json timing.first_verdict_ms) ms"
	[ "$(json /tmp/inspect-1.json pinning.expected_pages)" = $((size_mib * 256)) ] || { echo "expected pages wrong"; fails=$((fails + 1)); }
	[ "$(json /tmp/inspect-1.json backing.devmap)" = true ] || { echo "backing.devmap is not true"; fails=$((fails + 1)); }
else
	echo "no report written"; fails=$((fails + 1))
fi
[ $st -eq 0 ] || fails=$((fails + 1))

echo "\$ daxvm inspect --pid $qpid --until-exit --duration 60 (QEMU gets SIGTERM once inspect has attached)"
timeout -k 5 90 "$daxvm" inspect --pid "$qpid" --until-exit --duration 60 --report /tmp/inspect-2.json &
ipid=$!
attached "$ipid" "$qpid"
kill -TERM "$qpid"
wait $ipid
st=$?
for i in $(seq 50); do [ -d /proc/$qpid ] || break; sleep 0.1; done
leaked=$(( $(pin_net) - before ))
echo "exit status $st; pins QEMU left behind (vmstat net over its whole life, measured here): $leaked"
said=exit_$st
if [ $st -eq 0 ]; then said=PASS
elif [ $st -eq 1 ] && grep -q '"reason": "pin leak' /tmp/inspect-2.json 2>/dev/null; then said=FAIL_leak
fi
reported=$(json /tmp/inspect-2.json pinning.leaked_pins 2>/dev/null)
echo "MEASURE inspect_exit_verdict $said"
echo "MEASURE inspect_exit_kernel $([ "$leaked" -gt 0 ] && echo leak || echo released)"
# inspect sees the pins of the mapping it watched (it attached after QEMU started); QEMU's whole
# life may have leaked more (VFIO type1 leaks the devdax pins of every unmap, also of QEMU's own
# remaps while the machine is set up): those show as the system-wide excess at attach.
echo "MEASURE inspect_exit_leaked $reported"
echo "MEASURE qemu_life_leaked $leaked"
echo "inspect reported $reported leaked pins of its mapping; the kernel's counters over QEMU's life: $leaked"
right=no
if [ "$leaked" -gt 0 ] && [ $said = FAIL_leak ] && [ "$reported" -gt 0 ] && [ "$reported" -le "$leaked" ]; then right=yes
elif [ "$leaked" -le 0 ] && [ $said = PASS ]; then right=yes
fi
echo "MEASURE inspect_exit_verdict_right $right"
[ $right = yes ] || fails=$((fails + 1))
if [ $fails -eq 0 ]; then echo "PASS: inspect saw every page pinned on devdax and judged QEMU's exit as the kernel's counters did"; exit 0; fi
echo "FAIL: $fails problem(s)"
exit 1
