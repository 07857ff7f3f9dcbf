#!/usr/bin/env python3
"""Lab check, inside the lab guest: the meson 'kvm' suite under the lab's nested /dev/kvm.

The host that runs CI may have no /dev/kvm (its kvm suite then skips); the lab guest always has
one (kvm_amd under QEMU's SVM), so the VMM is exercised on every CI run. The tests come from
`meson introspect --tests` of the build tree (read-only here), each run with its own command,
environment and timeout, in a scratch directory. A skip inside the lab is a failure: the lab
has every feature the suite needs. Prints one line per test and a closing count.

Usage: check_kvm_suite.py BUILD_DIR [NAME_SUBSTRING...]
"""
import json
import os
import subprocess
import sys
import tempfile
import time


def main():
    build = sys.argv[1]
    only = sys.argv[2:]
    if not os.path.exists('/dev/kvm'):
        print('FAIL: no /dev/kvm in the lab guest (kvm-amd did not load)')
        return 1
    p = subprocess.run(['meson', 'introspect', '--tests', build], capture_output=True, text=True)
    if p.returncode:
        print('FAIL: meson introspect --tests %s: %s' % (build, p.stderr.strip()))
        return 1
    tests = [t for t in json.loads(p.stdout) if 'kvm' in t['suite'] or 'daxvm:kvm' in t['suite']]
    if only:
        tests = [t for t in tests if any(s in t['name'] for s in only)]
    if not tests:
        print('FAIL: the build has no kvm-suite tests')
        return 1
    passed = failed = 0
    t_all = time.time()
    for t in sorted(tests, key=lambda t: t['name']):
        env = dict(os.environ)
        env.update(t.get('env') or {})
        with tempfile.TemporaryDirectory(prefix='daxvm-lab-kvm-') as d:
            t0 = time.time()
            try:
                r = subprocess.run(t['cmd'], cwd=d, env=env, capture_output=True, text=True,
                                   timeout=max(30, (t.get('timeout') or 30) * 2))
                rc, out = r.returncode, r.stdout + r.stderr
            except subprocess.TimeoutExpired as e:
                rc, out = 'timeout', ((e.stdout or b'').decode(errors='replace') if isinstance(e.stdout, bytes)
                                      else (e.stdout or ''))
        secs = time.time() - t0
        if rc == 0:
            passed += 1
            print('ok    %-32s %5.1f s' % (t['name'], secs))
        else:
            failed += 1
            print('FAIL  %-32s %5.1f s  exit %s' % (t['name'], secs, 'skip (77): the lab lacks nothing the suite needs' if rc == 77 else rc))
            for line in out.strip().splitlines()[-8:]:
                print('      | ' + line)
    print('the kvm suite took %.0f s' % (time.time() - t_all))
    print('%d passed, %d failed under nested KVM (%s)' % (passed, failed, os.uname().release))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
