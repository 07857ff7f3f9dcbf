#!/usr/bin/env python3
"""bench/launch: how long 'daxvm run' takes from process start to the first guest
instruction, over N short runs (2 vCPUs, 64 MiB memfd, 0.2 s each). Prints the numbers;
never a pass/fail: compare them with another build's in the same session.

usage: launch.py DAXVM [RUNS]   (exit 0 with a table; 77 without /dev/kvm; 1 if a run fails)"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

GiB = 1 << 30


def one_run(daxvm):
    d = tempfile.mkdtemp(prefix='daxvm-bench-launch-')
    try:
        path = os.path.join(d, 'report.json')
        p = subprocess.run([daxvm, 'run', '--mem', 'memfd', '--mem-size', '64M', '--duration', '0.2',
                            '--report', path], capture_output=True, text=True, timeout=60)
        if p.returncode != 0 or not os.path.exists(path):
            raise RuntimeError('daxvm run exited %d: %s' % (p.returncode, p.stderr.strip()))
        with open(path) as f:
            rep = json.load(f)
        t, g = rep['timing'], rep['guest']
        return t['launch_to_first_insn_ms'], t['cmd_to_first_insn_ms'], g['verified_bytes_per_s']
    finally:
        shutil.rmtree(d)


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__)
        return 1
    daxvm, runs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 10
    try:
        os.close(os.open('/dev/kvm', os.O_RDWR))
    except OSError as e:
        print('SKIP: feature missing: /dev/kvm cannot be opened (%s)' % e.strerror)
        return 77
    launch, cmd, rate = [], [], []
    try:
        for _ in range(runs):
            a, b, r = one_run(daxvm)
            launch.append(a)
            cmd.append(b)
            rate.append(r)
    except (RuntimeError, KeyError, subprocess.TimeoutExpired) as e:
        print('bench/launch: %s' % e)
        return 1
    print('%d runs of daxvm run, 2 vCPUs, 64 MiB memfd, 0.2 s' % runs)
    print('process start -> first guest instruction: median %.1f ms (min %.1f, max %.1f; 10 ms clock)'
          % (statistics.median(launch), min(launch), max(launch)))
    print('run command   -> first guest instruction: median %.2f ms (min %.2f, max %.2f)'
          % (statistics.median(cmd), min(cmd), max(cmd)))
    print('verified rate: median %.2f GiB/s' % (statistics.median(rate) / GiB))
    return 0


if __name__ == '__main__':
    sys.exit(main())
