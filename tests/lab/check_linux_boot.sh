#!/bin/bash
# Lab check linux_boot (a development check of the VMM side of issue 10; the full check is
# linux_guest): daxvm boots the lab's own kernel (its bzImage from the kernel cache, seen
# through the 9p share) as a nested guest with the built-in initramfs, RAM on a memfd, then on
# /dev/dax0.0, and prints the report's guest keys and timings. Usage: check_linux_boot.sh BUILD
set -uo pipefail
build=$1
bz=$(ls /var/cache/daxvm-lab/*/kroot/boot/vmlinuz-"$(uname -r)" 2>/dev/null | head -1)
[ -r "$bz" ] || { echo "FAIL: no bzImage for $(uname -r) under /var/cache/daxvm-lab"; exit 1; }
fail=0
for mem in memfd /dev/dax0.0; do
	rm -f /tmp/lb.json /tmp/lb.console
	extra=()
	[ "$mem" = /dev/dax0.0 ] && extra=(--pin none)
	echo "=== daxvm run --kernel $bz --mem $mem ${extra[*]}"
	timeout -k 5 120 "$build/daxvm" run --kernel "$bz" --mem "$mem" --mem-size 256M --cpus 2 \
		--duration 3 --hang-timeout 60 "${extra[@]}" --console /tmp/lb.console --report /tmp/lb.json
	st=$?
	echo "exit status $st"
	echo "--- console (last 40 lines)"
	tail -40 /tmp/lb.console 2>/dev/null
	echo "--- report"
	python3 - <<'PY'
import json
try:
    r = json.load(open('/tmp/lb.json'))
except Exception as e:
    print('no report:', e); raise SystemExit
def walk(d, p=''):
    for k, v in d.items():
        if isinstance(v, dict): walk(v, p + k + '.')
        elif (p + k).startswith(('verdict', 'reason', 'guest.', 'timing.', 'pinning.backend', 'validation.')):
            print(p + k, v)
walk(r)
for k in ('launch_to_init_ms', 'launch_to_running_ms'):
    print('TIMING', k, r.get('timing', {}).get(k))
PY
	[ "$st" = 0 ] || fail=1
done
exit $fail
