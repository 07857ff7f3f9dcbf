#!/bin/bash
# daxvm run --device with a device that cannot be passed through: exit 2 and one line naming the
# cause, before any memory is mapped (the pci_check stage runs first). On a machine without VFIO
# that line is "VFIO is unavailable"; with VFIO, an address with no device is "no PCI device".
daxvm=$1
if [ -e /dev/vfio/vfio ]; then want="no PCI device"; else want="VFIO is unavailable"; fi
err=$("$daxvm" run --mem memfd --mem-size 64M --duration 1 --device vfio-pci,host=0000:00:1f.6 2>&1 >/dev/null)
st=$?
echo "exit $st: $err"
[ $st -eq 2 ] || { echo "FAIL: exit $st, want 2"; exit 1; }
[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { echo "FAIL: not one line"; exit 1; }
grep -q -- "$want" <<<"$err" && grep -q -- "--device" <<<"$err" || { echo "FAIL: the line should name '$want' and --device"; exit 1; }
echo "PASS: refused before the guest with one line"
