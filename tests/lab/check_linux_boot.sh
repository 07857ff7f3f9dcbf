#!/bin/bash
# Lab check linux_boot (development check of the VMM side of issue 10; the full lab check is
# linux_guest): the kvm-suite tests of 'daxvm run --kernel' (tests/kvm/linux: a boot that
# passes, a panic that reboots, a silent hang, SIGINT during the boot) under the lab's nested
# KVM with the lab's own kernel, then two quiet boots measured side by side: as daxvm boots
# by default, and with pci=noearly (the early PCI scans probe ports nothing claims).
# Usage: check_linux_boot.sh BUILD
set -uo pipefail
build=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
DAXVM_TEST_TIME_SCALE=4 python3 "$src/tests/lab/check_kvm_suite.py" "$build" linux_
st=$?
bz=$(ls /var/cache/daxvm-lab/*/kroot/boot/vmlinuz-"$(uname -r)" 2>/dev/null | head -1)
for extra in "" "pci=noearly"; do
	rm -f /tmp/lb.json
	timeout -k 5 150 "$build/daxvm" run --kernel "$bz" --mem memfd --mem-size 256M --cpus 2 --duration 2 \
		--hang-timeout 60 --append "quiet $extra" --console /tmp/lb.console --report /tmp/lb.json >/dev/null 2>&1
	echo "boot --append \"quiet $extra\": exit $? $(jq -r '"launch_to_init_ms \(.timing.launch_to_init_ms) launch_to_running_ms \(.timing.launch_to_running_ms) launch_to_first_insn_ms \(.timing.launch_to_first_insn_ms) unclaimed \(.guest.unclaimed_port_accesses) (\(.guest.unclaimed_ports))"' /tmp/lb.json 2>&1)"
done
exit $st
