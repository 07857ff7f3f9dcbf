#!/usr/bin/env python3
"""The in-guest stress tool proven without daxvm (suite host): QEMU (TCG) boots the pmem lab's
Debian 6.1 kernel with the built-in initramfs (plus nd_e820/nd_pmem for the pmem case) and
isa-debug-exit at the verdict port, and each case asserts the DAXVM-GUEST-RESULT line and QEMU's
exit status ((verdict << 1) | 1):
  pass      2 vCPUs, 256 MiB, 32 MiB of it as legacy pmem (memmap=): verdict pass, RAM and
            /dev/pmem0 verified over at least two passes, 0 mismatches
  mismatch  daxvm_inject=mismatch (one bit flipped between write and verify): verdict fail with
            exactly that one mismatch, located in RAM, expected ^ found == 1; with
            daxvm_ports=devport, so the /dev/port fallback (ports.h) carries the verdict
  setup     daxvm_duration=0 (a bad parameter): verdict setup failure naming the word
Needs qemu-system-x86_64 and the lab's cached kernel (fetched with tests/lab/kernel when
missing); skips, saying so, when either cannot be had. Every QEMU run is bounded.

usage: linux_guest_qemu.py SRC_ROOT INITRAMFS_CPIO"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

PASS, SKIP, FAIL = 0, 77, 1
PREFIX = 'DAXVM-GUEST-RESULT '
QEMU_BOUND_S = 90


def skip(why):
    print('SKIP: ' + why)
    sys.exit(SKIP)


def fail(why, log=''):
    print('FAIL: ' + why)
    if log:
        print('--- serial log (last 30 lines)')
        print('\n'.join(log.splitlines()[-30:]))
    sys.exit(FAIL)


def lab_kernel(src):
    """(vmlinux, modules dir) of the lab's 6.1 kernel, fetching it once when missing."""
    root = os.environ.get('DAXVM_LAB_CACHE', '/var/cache/daxvm-lab')
    cache = os.path.join(root, '6.1')
    ready = os.path.join(cache, 'kernel.ready')
    if not os.path.exists(ready):
        if not os.access(root if os.path.isdir(root) else os.path.dirname(root), os.W_OK):
            skip('feature missing: the lab kernel is not cached in %s and it is not writable' % cache)
        os.makedirs(cache, exist_ok=True)
        print('fetching the lab kernel 6.1 into %s (tests/lab/kernel, once)' % cache)
        r = subprocess.run(['flock', '-w', '600', os.path.join(root, 'fetch-6.1.lock'),
                            os.path.join(src, 'tests', 'lab', 'kernel'), '6.1', cache],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
        if r.returncode != 0 or not os.path.exists(ready):
            skip('feature missing: the lab kernel 6.1 could not be fetched: ' + r.stdout.strip()[-300:])
    kver = open(ready).read().split()[1]
    return os.path.join(cache, 'vmlinux'), os.path.join(cache, 'kroot', 'lib', 'modules', kver)


def boot(initrd, append, mem='256M', cpus=2):
    """Boots the kernel; returns (QEMU's exit status, serial log, parsed result or None)."""
    cmd = ['qemu-system-x86_64', '-accel', 'tcg,thread=multi', '-cpu', 'max', '-smp', str(cpus),
           '-m', mem, '-nographic', '-no-reboot', '-nic', 'none', '-kernel', VMLINUX,
           '-initrd', initrd, '-device', 'isa-debug-exit,iobase=0x501,iosize=4',
           '-append', 'console=ttyS0 quiet panic=-1 ' + append]
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=QEMU_BOUND_S)
    except subprocess.TimeoutExpired as e:
        fail('QEMU did not end within %d s (append: %s)' % (QEMU_BOUND_S, append),
             (e.stdout or b'').decode(errors='replace'))
    log = r.stdout.decode(errors='replace').replace('\r', '')
    lines = [l[l.index(PREFIX) + len(PREFIX):] for l in log.splitlines() if PREFIX in l]
    if len(lines) != 1:
        fail('%d result lines, expected 1 (append: %s)' % (len(lines), append), log)
    if len(PREFIX) + len(lines[0]) + 1 > 1024:
        fail('the result line is longer than DAXVM_GUEST_RESULT_MAX', log)
    try:
        res = json.loads(lines[0])
    except ValueError as e:
        fail('the result line is not JSON (%s): %s' % (e, lines[0]), log)
    print('%s -> exit %d: %s' % (append, r.returncode, lines[0]))
    return r.returncode, log, res


def check(cond, why, log):
    if not cond:
        fail(why, log)


def main():
    global VMLINUX
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, initramfs = sys.argv[1], sys.argv[2]
    if not shutil.which('qemu-system-x86_64'):
        skip('feature missing: qemu-system-x86_64 (Debian package qemu-system-x86)')
    VMLINUX, moddir = lab_kernel(src)
    tmp = tempfile.mkdtemp(prefix='linux-guest-')
    try:
        mods = os.path.join(tmp, 'modules.cpio')
        subprocess.run([sys.executable, os.path.join(src, 'guest', 'linux', 'mkinitramfs.py'), mods,
                        '--modules', moddir, 'nd_e820', 'nd_pmem'], check=True)
        full = os.path.join(tmp, 'initrd.cpio')
        with open(full, 'wb') as out:
            for part in (initramfs, mods):
                out.write(open(part, 'rb').read())

        st, log, r = boot(full, 'daxvm_duration=2 memmap=32M!192M')
        check(st == (0 << 1) | 1 and r['verdict'] == 'pass' and r['verdict_code'] == 0,
              'the clean run did not pass (exit %d)' % st, log)
        check(r['mismatches'] == 0 and r['threads'] == 2 and r['passes'] >= 2, 'counters', log)
        check(r['pmem_device'] == '/dev/pmem0' and r['pmem_bytes'] == 32 << 20, 'pmem not used', log)
        check(r['pmem_bytes_verified'] >= 2 * r['pmem_bytes'] and r['ram_bytes'] > 64 << 20 and
              r['ram_bytes_verified'] >= 2 * r['ram_bytes'], 'less than two passes verified', log)
        check(r['bytes_verified'] == r['ram_bytes_verified'] + r['pmem_bytes_verified'], 'sum', log)
        check(r['modules_loaded'] >= 2, 'the initramfs modules were not loaded', log)
        check(r['ram_bytes_per_s'] > 0 and r['pmem_bytes_per_s'] > 0, 'no rates', log)
        check(0 < r['init_seconds'] <= r['running_seconds'], 'the /init and running stamps', log)

        check(r['ports'] == 'out', 'direct port I/O was not used', log)

        st, log, r = boot(initramfs, 'daxvm_duration=1 daxvm_inject=mismatch daxvm_ports=devport', cpus=1)
        check(r['ports'] == 'devport', 'daxvm_ports=devport was not used', log)
        check(st == (1 << 1) | 1 and r['verdict'] == 'fail' and r['verdict_code'] == 1,
              'the injected mismatch did not fail the run (exit %d)' % st, log)
        check(r['mismatches'] == 1 and r['first_mismatch_where'] == 'ram' and r['first_mismatch'],
              'the one injected mismatch was not reported exactly', log)
        check(int(r['first_mismatch_expected'], 16) ^ int(r['first_mismatch_found'], 16) == 1,
              'the reported words are not the flipped bit', log)

        st, log, r = boot(initramfs, 'daxvm_duration=0', cpus=1)
        check(st == (2 << 1) | 1 and r['verdict'] == 'fail' and r['verdict_code'] == 2,
              'a bad parameter did not end as a setup failure (exit %d)' % st, log)
        check('daxvm_duration=0' in r['reason'], 'the reason does not name the word', log)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print('PASS')
    return PASS


if __name__ == '__main__':
    sys.exit(main())
