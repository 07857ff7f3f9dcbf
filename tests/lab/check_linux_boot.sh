#!/bin/bash
# Lab check linux_boot (development check of the VMM side of issue 10; the full lab check is
# linux_guest): the kvm-suite tests of 'daxvm run --kernel' (tests/kvm/linux: a boot that
# passes, a panic that reboots, a silent hang, SIGINT during the boot) under the lab's nested
# KVM, with the lab's own kernel. Usage: check_linux_boot.sh BUILD
set -uo pipefail
build=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
DAXVM_TEST_TIME_SCALE=4 exec python3 "$src/tests/lab/check_kvm_suite.py" "$build" linux_
