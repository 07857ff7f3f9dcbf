#!/bin/bash
# Runs inside the lab guest (chrooted into the host root over read-only 9p): sets up /dev/dax0.0,
# binds edu to vfio-pci, checks /dev/kvm, then runs each lab check and prints one
# "LAB-RESULT <name> PASS|FAIL <detail>" line per check for tests/lab/run to collect.
src=$1 build=$2 pmem=$3 only=${4:-} bzimage=${5:-} l2_initrd=${6:-}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
up() { cut -d' ' -f1 /proc/uptime; }
echo "LAB-BOOT guest.sh start at $(up) s, kernel $(uname -r)"
setup_problems=	# one line per failed setup step, repeated in every check's detail

# --- devdax: turn the pmem namespace into a device-dax device with 2 MiB alignment ---
if ndctl create-namespace -f -e namespace0.0 -m devdax -a 2M >/tmp/ndctl.out 2>&1; then
	echo "LAB-BOOT devdax ready at $(up) s"
else
	echo "LAB-BOOT ndctl create-namespace failed: $(tr '\n' ' ' </tmp/ndctl.out)"
	setup_problems+="setup: ndctl create-namespace -m devdax failed: $(tr '\n' ' ' </tmp/ndctl.out | cut -c1-200)"$'\n'
fi
cat /tmp/ndctl.out
ls -l /dev/dax* 2>&1
for f in size align resource; do echo "dax0.0 $f=$(cat /sys/bus/dax/devices/dax0.0/$f 2>&1)"; done
for m in /sys/bus/dax/devices/dax0.0/mapping*; do echo "$m: $(cat $m/start) $(cat $m/end)"; done

# --- VFIO: QEMU's edu device (1234:11e8) bound to vfio-pci ---
edu=
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat $d/vendor)" = 0x1234 ] && [ "$(cat $d/device)" = 0x11e8 ]; then edu=$(basename $d); fi
done
if [ -n "$edu" ]; then
	echo vfio-pci >/sys/bus/pci/devices/$edu/driver_override
	echo "$edu" >/sys/bus/pci/drivers_probe
	group=$(basename "$(readlink /sys/bus/pci/devices/$edu/iommu_group)")
	echo "LAB-BOOT edu $edu driver $(basename "$(readlink /sys/bus/pci/devices/$edu/driver)") group $group"
	ls -l /dev/vfio
	[ -n "$group" ] && [ -e "/dev/vfio/$group" ] ||
		setup_problems+="setup: edu $edu has no VFIO group device (is intel_iommu=on and vfio-pci loaded?)"$'\n'
else
	setup_problems+="setup: QEMU's edu device (1234:11e8) is not on the PCI bus"$'\n'
fi
# QEMU's default NIC on q35, e1000e (8086:10d3, MSI-X), on vfio-pci too: the MSI-X proofs
# (lab_vfio_pci; vfio_l2 passes it to L2 beside edu). No driver claims it in L1.
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat $d/vendor)" = 0x8086 ] && [ "$(cat $d/device)" = 0x10d3 ]; then
		echo vfio-pci >$d/driver_override; basename $d >/sys/bus/pci/drivers_probe
		echo "LAB-BOOT e1000e $(basename $d) driver $(basename "$(readlink $d/driver)") group $(basename "$(readlink $d/iommu_group)")"
	fi
done
[ -e /dev/dax0.0 ] || setup_problems+="setup: /dev/dax0.0 does not exist"$'\n'
[ -e /dev/kvm ] || setup_problems+="setup: /dev/kvm does not exist (kvm-amd did not load: no SVM in -cpu max?)"$'\n'
printf '%s' "$setup_problems" | sed 's/^/LAB-BOOT /'
ls -l /dev/kvm
grep -E 'nr_foll_pin' /proc/vmstat

# --- The checks: each prints its lines as LAB-DETAIL and ends with one LAB-RESULT ---
bin=$build/tests/lab
# Two idle KVM VMs for the whole boot keep KVM's static keys (the scheduler's preempt notifiers,
# LAPIC paths) on, so the checks' VMs never patch kernel text under QEMU's multi-threaded TCG,
# which crashed L1 on such patching (tests/lab/lab_kvm_keys.c). Their own first flip is the one
# left (tests/lab/result boots again an L1 that died of it).
keys_pid=
if [ -x "$bin/lab_kvm_keys" ] && [ -e /dev/kvm ]; then
	"$bin/lab_kvm_keys" >/tmp/kvm_keys.out 2>&1 &
	keys_pid=$!
	for _ in $(seq 1 100); do
		grep -q holding /tmp/kvm_keys.out && break
		kill -0 $keys_pid 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/LAB-BOOT /' /tmp/kvm_keys.out
fi
run_check() {	# NAME TIMEOUT_SEC COMMAND...
	local name=$1 limit=$2 status t0
	shift 2
	[ -z "$only" ] || [ "$only" = "$name" ] || [ "$only" = "${name}_full" ] || return 0
	t0=$(up)
	echo "LAB-BOOT check $name start at $t0 s"
	for exe in "$@"; do
		case $exe in
		/*/tests/*) [ -x "$exe" ] || { echo "LAB-RESULT $name FAIL $exe was not built"; return; } ;;
		esac
	done
	timeout -k 5 "$limit" "$@" >/tmp/check.out 2>&1
	status=$?
	{ printf '%s' "$setup_problems"; cat /tmp/check.out; } | sed "s/^/LAB-DETAIL $name /"
	case $status in
	0) echo "LAB-RESULT $name PASS" ;;
	124|137) echo "LAB-RESULT $name FAIL timed out after ${limit}s" ;;
	77) echo "LAB-RESULT $name FAIL skipped inside the lab (a lab feature is missing): exit 77" ;;
	*) echo "LAB-RESULT $name FAIL exit status $status" ;;
	esac
	echo "LAB-BOOT check $name done in $(awk -v s="$t0" -v e="$(up)" 'BEGIN { printf "%.2f", e - s }') s"
}
export DAXVM_TEST_DAX=/dev/dax0.0
# Check 1 also runs the backing layer's own devdax test (it skips on hosts without devdax).
run_check devdax_map 90 bash -c '"$1" /dev/dax0.0 && echo "--- $2" && "$2"' _ \
	"$bin/lab_devdax_map" "$build/tests/kvm/backing/backing_devdax_test"
run_check odirect 60 "$bin/lab_odirect" /dev/dax0.0
run_check uring_pin 60 "$bin/lab_uring_pin" /dev/dax0.0
run_check vfio_edu 60 "$bin/lab_vfio_edu" "$edu" /dev/dax0.0
run_check vfio_pci 60 "$bin/lab_vfio_pci" "$edu" /dev/dax0.0
run_check vfio_run 150 "$src/tests/lab/check_vfio_run.sh" "$build" "$edu"
run_check daxvm 200 "$src/tests/lab/check_daxvm.sh" "$build" "$edu"
# The standalone reproducer of the VFIO type1 devdax pin leak (docs/findings/): it exits 1 when it
# sees the leak, so its summary becomes MEASURE lines and the host judges them (expect.tsv).
run_check repro 60 bash -c 'out=$("$1" "$2" /dev/dax0.0 64 2>&1); st=$?; echo "$out"
	echo "$out" | awk "/^summary:/ { for (i = 2; i <= NF; i++) { split(\$i, kv, \"=\"); print \"MEASURE repro_\" kv[1], kv[2] } }"
	[ $st -le 1 ]' _ "$bin/repro/vfio_devdax_pin_leak" "$edu"
# daxvm inspect on QEMU (nested KVM, paused) with RAM on devdax and edu on vfio-pci.
run_check inspect 150 "$src/tests/lab/check_inspect.sh" "$build" "$edu"
# daxvm inspect --domain on a libvirt domain with an nvdimm on devdax and edu as a hostdev (6.1
# only: libvirt's first call costs 15-21 s under TCG, the check about 40 s).
case $(uname -r) in
6.1.*) run_check inspect_libvirt 200 "$src/tests/lab/check_inspect_libvirt.sh" "$build" "$edu" ;;
esac
# The meson kvm suite under the lab's nested KVM boots on its own (--only kvm_suite, without
# its slowest tests; kvm_suite_full: all), so a nested hang costs only that check.
case $only in
kvm_suite) run_check kvm_suite 200 python3 "$src/tests/lab/check_kvm_suite.py" "$build" ;;
kvm_suite_full) run_check kvm_suite 400 python3 "$src/tests/lab/check_kvm_suite.py" --full "$build" ;;
esac
# daxvm boots the lab's kernel as a nested Linux guest (L2) with the in-guest stress tool; its own
# boot (--only linux_guest) like the kvm suite, so a nested hang costs only this check.
case $only in
linux_guest) run_check linux_guest 400 "$src/tests/lab/check_linux_guest.sh" "$build" "$edu" "$bzimage" "$l2_initrd" ;;
# edu passed through to a nested Linux guest on devdax (issue 11), its own boot too.
vfio_l2) run_check vfio_l2 200 "$src/tests/lab/check_vfio_l2.sh" "$build" "$edu" "$src" "$bzimage" ;;
esac
# Benchmark (issue 13), by --only ready_bench only: daxvm vs QEMU with vfio-pci on devdax; numbers.
[ "$only" = ready_bench ] && run_check ready_bench 560 "$src/tests/lab/bench_ready.sh" "$build" "$edu"
[ "$only" = validator_bench ] && run_check validator_bench 300 "$src/tests/lab/bench_validator.sh" "$build" 5 3
# Development check of daxvm's Linux boot (issue 10), by --only linux_boot only.
# Development check: the built-in guest's nested stalls, repeated (--only soak only).
[ "$only" = soak ] && run_check soak 230 "$src/tests/lab/check_soak.sh" "$build" "$edu"
[ "$only" = linux_boot ] && run_check linux_boot 340 "$src/tests/lab/check_linux_boot.sh" "$build"
# The dax guard: daxctl disable-device during daxvm run (re-enables the device after each round).
run_check dax_guard 200 "$src/tests/lab/check_dax_guard.sh" "$build" "$edu" 1	# rounds (~14 s each; by hand the default is 3)
# Last: it tears the dax device down.
run_check teardown 90 "$bin/lab_teardown" "$edu" /dev/dax0.0
# lab_kvm_keys holds no pins; it goes before the final count all the same.
[ -n "$keys_pid" ] && { pkill -f "$bin/lab_kvm_keys"; wait "$keys_pid"; } 2>/dev/null
# After every check process has exited: pins still counted here were never released.
echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
echo "LAB-BOOT vmstat after all checks: $(grep -E 'nr_foll_pin' /proc/vmstat | tr '\n' ' ')"
echo "LAB-BOOT guest.sh done at $(up) s"
