#!/bin/bash
# Lab check linux_boot (development check of the VMM side of issue 10; the full lab check is
# linux_guest): the kvm-suite tests of 'daxvm run --kernel' (tests/kvm/linux: a boot that
# passes, a panic that reboots, a silent hang, SIGINT and SIGTERM during the boot) under the
# lab's nested KVM with the lab's own kernel; then one boot with --pmem (RAM and pmem on
# /dev/dax0.0, unpinned: this check has no VFIO device) and the L2 initrd with nd_e820 and
# nd_pmem, verbose, to show what the guest kernel makes of the e820 pmem range.
# Usage: check_linux_boot.sh BUILD
set -uo pipefail
build=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
DAXVM_TEST_TIME_SCALE=4 python3 "$src/tests/lab/check_kvm_suite.py" "$build" linux_
st=$?
case $(uname -r) in 6.1.*) series=6.1 ;; 6.12.*) series=6.12 ;; *) series=7 ;; esac
bz=/var/cache/daxvm-lab/$series/bzImage	# tests/lab/kernel keeps it beside the vmlinux
l2=$build/lab/$series-linux_boot/work/linux-guest-initrd.cpio	# tests/lab/run makes it for this kernel
echo "pmem boot: initrd $l2"
for size in 64M 128M; do
	rm -f /tmp/lb.json /tmp/lb.console
	timeout -k 5 150 "$build/daxvm" run --kernel "$bz" --initrd "$l2" --mem /dev/dax0.0 --pin none \
		--pmem /dev/dax0.0,size=$size,offset=512M --mem-size 256M --cpus 2 --duration 2 --hang-timeout 60 \
		--append "daxvm_pmem=/dev/pmem0" --console /tmp/lb.console --report /tmp/lb.json >/tmp/lb.out 2>&1
	echo "pmem boot, $size at offset 512M: exit $?; $(head -1 /tmp/lb.out)"
	grep -iE 'e820|pmem|nd_|nvdimm|namespace|region|memremap|dax|DAXVM-GUEST|daxvm-stress|fpu|xsave|xstate|BUG|RIP|panic' /tmp/lb.console | cut -c1-300 | head -40
done
exit $st
