#!/bin/bash
# Lab check linux_guest, inside the lab guest (L1): daxvm boots the lab's own Debian kernel as a
# nested guest (L2) with the in-guest stress tool (guest/linux, daxvm-stress) as /init, three
# times:
#   devdax  RAM on /dev/dax0.0 (2 vCPUs, 256 MiB), the built-in initramfs, pinned by the backend
#           the kernel allows (io_uring refuses devdax before 6.5: VFIO with edu's group there)
#   pmem    the same plus 64 MiB of the device as --pmem, with an initrd that adds nd_e820 and
#           nd_pmem (tests/lab/run builds it): /dev/pmem0 must appear in L2 and verify
#   memfd   RAM on a memfd (io_uring), the built-in initramfs: the stand-in for comparison
#   qemu    the peer: QEMU (-accel kvm, its firmware) boots the same bzImage and initramfs, 2 vCPUs,
#           256 MiB, with isa-debug-exit at the verdict port: the same guest, another VMM
# Each run: bounded (RUN_BOUND_S); the console (daxvm's stdout, QEMU's serial) is timestamped
# line by line here, so launch -> /init and launch -> running are measured the same way for
# both VMMs from the tool's console milestones. The guest's DAXVM-GUEST-RESULT line must say pass with 0 mismatches over >= 2 passes; daxvm's verdict must be the one the kernel's
# pin counters (measured here, around the run) deserve: pins left behind -> FAIL naming that
# leak (6.1 with VFIO: the known type1 devdax leak), all released -> PASS; the report must show
# the backing, the backend and why, live validation samples with 0 PFN moves, 0 pages not
# present and 0 outside the device.
# MEASURE lines (judged against tests/lab/expect.tsv) carry what must not vary; the timings and
# rates are printed as "TIMING key value" lines, never judged (benchmarks compare, they do not
# pass or fail on speed).
# Usage: check_linux_guest.sh BUILD_DIR EDU_BDF BZIMAGE L2_INITRD
set -uo pipefail
build=$1 edu=$2 bz=$3 l2_initrd=$4
daxvm=$build/daxvm
RUN_BOUND_S=${RUN_BOUND_S:-75}
DURATION_S=3
wrong=0	# runs whose daxvm verdict was not the one the kernel deserved
other=0	# other problems: guest line, report content
t_check=$EPOCHREALTIME
[ -e /dev/kvm ] || { echo "FAIL: no /dev/kvm in the lab guest (kvm-amd did not load)"; exit 1; }
[ -x "$daxvm" ] || { echo "FAIL: $daxvm was not built"; exit 1; }
[ -r "$bz" ] || { echo "FAIL: the lab kernel's bzImage $bz is missing (tests/lab/kernel makes it)"; exit 1; }
[ -r "$l2_initrd" ] || { echo "FAIL: the L2 initrd $l2_initrd is missing (tests/lab/run makes it)"; exit 1; }
has_kernel=yes
"$daxvm" run --help 2>&1 | grep -q -- '--kernel' || has_kernel=no

pin_net() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '$1 == "nr_foll_pin_acquired" { a = $2 } $1 == "nr_foll_pin_released" { r = $2 } END { print a - r }' /proc/vmstat
}
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
# Timestamps each line as it arrives (bash's clock: no fork per line).
stamp() { local l; while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "${l%$'\r'}"; done; }
# ms from T0 to the first stamped console line containing TEXT, or "none".
ms_to() {	# FILE T0 TEXT
	awk -v t0="$2" -v text="$3" 'index($0, text) { printf "%.0f\n", ($1 - t0) * 1000; found = 1; exit }
		END { if (!found) print "none" }' "$1"
}
# The stamped console's milestones and the guest's rates, as TIMING lines.
timings() {	# NAME FILE T0
	echo "TIMING linux_guest_$1_launch_to_init_ms $(ms_to "$2" "$3" 'daxvm-stress: /init started')"
	echo "TIMING linux_guest_$1_launch_to_running_ms $(ms_to "$2" "$3" 'daxvm-stress: running')"
	echo "TIMING linux_guest_$1_launch_to_result_ms $(ms_to "$2" "$3" 'DAXVM-GUEST-RESULT ')"
	echo "TIMING linux_guest_$1_guest_ram_bytes_per_s $(gkey "$2" ram_bytes_per_s)"
}
progress() { echo "<3>daxvm-lab linux_guest: $*" >/dev/kmsg 2>/dev/null; }	# a hang shows where
json() { jq -r "$2 // \"none\"" "$1" 2>/dev/null || echo none; }	# FILE FILTER
# A key of the guest's result line (flat JSON, one line).
gkey() { awk '$2 == "DAXVM-GUEST-RESULT" { sub(/^[^ ]+ DAXVM-GUEST-RESULT /, ""); print; exit }' "$1" | jq -r ".$2 // \"none\"" 2>/dev/null || echo none; }

# io_uring registered buffers on devdax: refused before 6.5 (EOPNOTSUPP; expect.tsv uring_pin).
rel=$(uname -r)
if [ "$(printf '%s\n6.5\n' "${rel%%-*}" | sort -V | head -1)" = 6.5 ]; then
	pin=(--pin io_uring) backend=io_uring
else
	pin=(--pin vfio --vfio "$edu") backend=vfio
fi
echo "kernel $rel: devdax RAM pinned with $backend"
echo "MEASURE linux_guest_backend $backend"

# Runs daxvm once and judges it. NAME MEM_KIND EXPECT_PMEM DAXVM_ARGS...
run_guest() {
	local name=$1 kind=$2 want_pmem=$3 before st leaked said right=no t0 rep=/tmp/lg-$1.json
	local con=/tmp/lg-$1.out gv bad=0
	shift 3
	rm -f "$con" "$rep"
	echo "\$ daxvm run $* --report $rep"
	progress "$name start"
	before=$(pin_net)
	t0=$EPOCHREALTIME
	# The guest console on daxvm's stdout, stamped line by line.
	# --hang-timeout: a nested boot under TCG is silent for seconds; RUN_BOUND_S bounds it all.
	timeout -k 5 "$RUN_BOUND_S" "$daxvm" run "$@" --cpus 2 --mem-size 256M --duration "$DURATION_S" \
		--hang-timeout 60 --report "$rep" 2>&1 | stamp >"$con"
	st=${PIPESTATUS[0]}
	echo "TIMING linux_guest_${name}_wall_ms $(ms_since "$t0")"
	progress "$name done: exit $st"
	cut -d' ' -f2- "$con" | grep -v '^DAXVM-GUEST-RESULT' | tail -25
	leaked=$(( $(pin_net) - before ))
	echo "$name: exit status $st; pins left behind (vmstat net, measured here): $leaked"
	case $st in
	0) said=PASS ;;
	124|137) said=timeout; echo "$name: daxvm did not end within ${RUN_BOUND_S}s" ;;
	1)	if grep -Eq "pin leak:.* $leaked more pins" "$con"; then said=FAIL_leak
		elif grep -q "pin leak" "$con"; then said=FAIL_leak_miscounted
		else said=FAIL_other
		fi ;;
	*) said=exit_$st ;;
	esac
	if [ "$leaked" -gt 0 ]; then [ $said = FAIL_leak ] && right=yes
	elif [ $said = PASS ]; then right=yes
	fi
	echo "MEASURE linux_guest_${name}_pins $([ "$leaked" -gt 0 ] && echo leak || echo released)"
	echo "MEASURE linux_guest_${name}_daxvm $said"
	[ $right = yes ] || { wrong=$((wrong + 1)); echo "$name: WRONG VERDICT: daxvm said $said, the kernel left $leaked pins behind"; }

	# The guest's own line.
	echo "$name: $(grep -o 'DAXVM-GUEST-RESULT .*' "$con")"
	gv=$(gkey "$con" verdict)
	echo "MEASURE linux_guest_${name}_guest $gv"
	if [ "$(awk '$2 == "DAXVM-GUEST-RESULT"' "$con" | wc -l)" != 1 ]; then
		echo "$name: not exactly one DAXVM-GUEST-RESULT line on the guest console"; bad=1
	elif [ "$gv" != pass ]; then
		echo "$name: the guest tool said $gv: $(gkey "$con" reason)"; bad=1
	else
		[ "$(gkey "$con" mismatches)" = 0 ] || { echo "$name: mismatches in the guest"; bad=1; }
		[ "$(gkey "$con" threads)" = 2 ] || { echo "$name: the guest did not run 2 threads"; bad=1; }
		[ "$(gkey "$con" passes)" -ge 2 ] 2>/dev/null || { echo "$name: fewer than 2 passes"; bad=1; }
	fi
	if [ "$want_pmem" = yes ]; then
		echo "MEASURE linux_guest_${name}_device $(gkey "$con" pmem_device)"
		awk -v v="$(gkey "$con" pmem_bytes_verified)" -v s="$(gkey "$con" pmem_bytes)" \
			'BEGIN { exit !(s + 0 == 64 * 1048576 && v + 0 >= 2 * s) }' ||
			{ echo "$name: /dev/pmem0 was not verified twice over its 64 MiB"; bad=1; }
	fi
	timings "$name" "$con" "$t0"
	[ "$want_pmem" = yes ] && echo "TIMING linux_guest_${name}_guest_pmem_bytes_per_s $(gkey "$con" pmem_bytes_per_s)"

	# daxvm's report.
	if [ ! -f "$rep" ]; then
		echo "$name: no report written"; bad=1
	else
		for k in verdict reason guest.kind guest.verdict guest.verified_bytes guest.mismatches backing.kind backing.devmap pinning.backend pinning.backend_why \
			pinning.pinned_pages pinning.expected_pages pinning.leaked_pins validation.samples \
			validation.pages_checked validation.pfn_changes validation.not_present validation.outside_devmap; do
			echo "report $k = $(json "$rep" ".$k")"
		done
		# daxvm's own clock for launch -> /init and -> running, whatever the keys are called.
		jq -r '.timing // {} | to_entries[] | "TIMING linux_guest_'"$name"'_report_\(.key) \(.value)"' "$rep" 2>/dev/null
		[ "$(json "$rep" .backing.kind)" = "$kind" ] || { echo "$name: backing is not $kind"; bad=1; }
		# daxvm's reading of the guest agrees with the guest's own line.
		[ "$(json "$rep" .guest.kind)" = linux ] || { echo "$name: guest.kind is not linux"; bad=1; }
		[ "$(json "$rep" .guest.verdict)" = "$gv" ] || { echo "$name: guest.verdict is $(json "$rep" .guest.verdict), the line says $gv"; bad=1; }
		[ "$(json "$rep" .guest.mismatches)" = "$(gkey "$con" mismatches)" ] || { echo "$name: guest.mismatches differs from the line"; bad=1; }
		[ "$(json "$rep" .guest.verified_bytes)" = "$(gkey "$con" bytes_verified)" ] || { echo "$name: guest.verified_bytes differs from the line"; bad=1; }
		if [ "$kind" = devdax ]; then
			[ "$(json "$rep" .backing.devmap)" = true ] || { echo "$name: backing.devmap is not true"; bad=1; }
			[ "$(json "$rep" .pinning.backend)" = "$backend" ] || { echo "$name: backend is not $backend"; bad=1; }
			[ "$(json "$rep" .validation.outside_devmap)" = 0 ] || { echo "$name: pages outside the device"; bad=1; }
		fi
		[ "$(json "$rep" .pinning.backend_why)" != none ] || { echo "$name: no reason for the backend"; bad=1; }
		[ "$(json "$rep" .validation.samples)" -gt 0 ] 2>/dev/null || { echo "$name: no live validation samples"; bad=1; }
		[ "$(json "$rep" .validation.pfn_changes)" = 0 ] || { echo "$name: PFNs changed"; bad=1; }
		[ "$(json "$rep" .validation.not_present)" = 0 ] || { echo "$name: pages not present"; bad=1; }
		if [ "$leaked" -gt 0 ] && [ "$(json "$rep" .pinning.leaked_pins)" != "$leaked" ]; then
			echo "$name: pinning.leaked_pins is $(json "$rep" .pinning.leaked_pins), the kernel left $leaked"; bad=1
		fi
	fi
	other=$((other + bad))
}

# The peer: QEMU as the L2 VMM, same kernel and initramfs (the built-in part of the L2 initrd,
# without its modules: the initramfs daxvm embeds is BUILD/guest/linux/daxvm-initramfs.cpio).
run_qemu() {
	local con=/tmp/lg-qemu.out t0 st gv
	progress "qemu start"
	t0=$EPOCHREALTIME
	timeout -k 5 "$RUN_BOUND_S" qemu-system-x86_64 -accel kvm -cpu host -smp 2 -m 256M -nographic \
		-no-reboot -nic none -kernel "$bz" -initrd "$build/guest/linux/daxvm-initramfs.cpio" \
		-device isa-debug-exit,iobase=0x501,iosize=4 -append "$append daxvm_pmem=none" \
		</dev/null 2>&1 | stamp >"$con"
	st=${PIPESTATUS[0]}
	echo "TIMING linux_guest_qemu_wall_ms $(ms_since "$t0")"
	progress "qemu done: exit $st"
	gv=$(gkey "$con" verdict)
	echo "qemu: exit status $st (isa-debug-exit: 1 = verdict pass); $(grep -o 'DAXVM-GUEST-RESULT .*' "$con")"
	timings qemu "$con" "$t0"
	echo "MEASURE linux_guest_qemu_guest $gv"
	if [ "$st" != 1 ] || [ "$gv" != pass ] || [ "$(gkey "$con" mismatches)" != 0 ]; then
		echo "qemu: the peer run did not pass; its console:"
		cut -d' ' -f2- "$con" | tail -30
		other=$((other + 1))
	fi
}

append="console=ttyS0 quiet panic=-1 daxvm_duration=$DURATION_S"
if [ $has_kernel = yes ]; then
	run_guest devdax devdax no --kernel "$bz" --mem /dev/dax0.0 "${pin[@]}" --append "$append daxvm_pmem=none"
	run_guest pmem devdax yes --kernel "$bz" --initrd "$l2_initrd" --mem /dev/dax0.0 "${pin[@]}" \
		--pmem /dev/dax0.0,size=64M,offset=512M --append "$append daxvm_pmem=/dev/pmem0"
	run_guest memfd memfd no --kernel "$bz" --mem memfd --pin io_uring --append "$append daxvm_pmem=none"
else
	echo "this daxvm has no --kernel: the VMM side of issue 10 (booting Linux) is not in this build; only the QEMU peer runs"
	other=$((other + 1))
fi
run_qemu

# The comparison the runs were made for: the guest's RAM verify rate on devdax against memfd.
awk -v d="$(gkey /tmp/lg-devdax.out ram_bytes_per_s)" -v m="$(gkey /tmp/lg-memfd.out ram_bytes_per_s)" \
	'BEGIN { if (d + 0 > 0 && m + 0 > 0) printf "TIMING linux_guest_ram_rate_devdax_over_memfd %.2f\n", d / m }'
echo "TIMING linux_guest_check_ms $(ms_since "$t_check")"
echo "MEASURE linux_guest_other_failures $other"
if [ $wrong -eq 0 ] && [ $other -eq 0 ]; then
	echo "PASS: daxvm booted Linux on devdax, devdax + pmem and memfd; the guest verified every run; daxvm's verdicts matched the kernel's pins"
	exit 0
fi
echo "FAIL: $wrong run(s) with a wrong daxvm verdict, $other run(s) with other problems"
exit 1
