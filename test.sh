#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite: unit, host, kvm, fuzz and lab on
# the normal build, then unit, host and kvm again on an ASan+UBSan build. Ends with
# "N passed, N failed, N skipped". Suites: unit (no kernel feature), host (root and io_uring on
# this kernel, no KVM), kvm (/dev/kvm), fuzz (libFuzzer smokes over committed corpora, clang; about
# 25 s plus ~10 s of clang per target when its sources change), lab (the QEMU pmem lab).
set -uo pipefail
cd "$(dirname "$0")"

scripts/setup.sh build || exit 2
scripts/setup.sh build-san -Db_sanitize=address,undefined -Db_lundef=false -Db_asneeded=false -Dlab=disabled || exit 2

status=0
# The lab boots QEMU TCG guests, one per two CPUs at a time (tests/lab/run): it runs in the
# background, two tests at a time (the longest boots first), while the other suites and the
# sanitizer build use the time (log: build/meson-logs/lab.txt).
meson test -C build --no-rebuild --print-errorlogs --num-processes 2 --suite lab --logbase lab \
	>build/meson-logs/lab-console.txt 2>&1 &
lab_pid=$!
meson test -C build --no-rebuild --print-errorlogs --num-processes 2 \
	--suite unit --suite host --suite kvm --suite fuzz || status=1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	meson test -C build-san --print-errorlogs --num-processes 2 --suite unit --suite host --suite kvm || status=1
echo "waiting for the lab (build/meson-logs/lab-console.txt)..."
wait $lab_pid || status=1
cat build/meson-logs/lab-console.txt

# One closing line over both runs, counted from meson's own logs.
python3 - build/meson-logs/testlog.json build/meson-logs/lab.json build-san/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        try:
            r = json.loads(line).get("result")
        except ValueError:
            continue
        if r == "OK" or r == "EXPECTEDFAIL":
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
