#!/usr/bin/env python3
"""'daxvm run --kernel' through its CLI and JSON report.

usage: linux_check.py DAXVM CASE   (exit 0 pass, 77 skip, 1 fail)
host suite: bad_input (usage errors before KVM is opened, on any machine), pvm_refusal (this
host's kvm-pvm is refused in one line; skips on a hardware-KVM machine).
kvm suite: boot, panic, hang, sigint, sigterm: a real Linux bzImage (DAXVM_TEST_KERNEL, else
/boot/vmlinuz-$(uname -r), else the pmem lab's cached kernel of the running release) with the
built-in initramfs; they need hardware KVM (they skip on kvm-pvm, which cannot boot Linux)."""
import glob
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'common'))
from daxvm_check import T_SKIP, TIME_SCALE, check, get, Fail  # noqa: E402
import daxvm_check  # noqa: E402

DAXVM = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None

MiB = 1 << 20


def fake_bzimage(version=0x020f, xlf=0x7f, loadflags=1, payload=65536):
    """A bzImage header like Debian's (protocol 2.15, 39 setup sectors) over a dummy payload."""
    img = bytearray((39 + 1) * 512 + payload)
    img[0x1f1] = 39
    struct.pack_into('<H', img, 0x1fe, 0xaa55)
    img[0x201] = 0x6a
    img[0x202:0x206] = b'HdrS'
    struct.pack_into('<H', img, 0x206, version)
    img[0x211] = loadflags
    struct.pack_into('<IIBBHI', img, 0x22c, 0x7fffffff, 0x200000, 1, 21, xlf, 2047)
    struct.pack_into('<Q', img, 0x258, 0x1000000)
    struct.pack_into('<I', img, 0x260, 64 << 20)
    return bytes(img)


def run(args, timeout=60, sig_after=None, sig=signal.SIGINT):
    d = tempfile.mkdtemp(prefix='daxvm-linux-test-')
    try:
        path = os.path.join(d, 'report.json')
        cmd = [DAXVM, 'run'] + args + ['--report', path, '--console', os.path.join(d, 'console')]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if sig_after:
            time.sleep(sig_after)
            p.send_signal(sig)
        out, err = p.communicate(timeout=timeout)
        rep = None
        if os.path.exists(path):
            with open(path) as f:
                rep = json.load(f)
        console = ''
        if os.path.exists(os.path.join(d, 'console')):
            with open(os.path.join(d, 'console'), errors='replace') as f:
                console = f.read()
        return p.returncode, out, err, rep, console
    finally:
        shutil.rmtree(d)


def shm():
    # Other cases of this file run beside this one (meson runs tests in parallel) and keep their
    # own backing file /dev/shm/daxvm-linux-test-PID: not this run's to account for.
    others = re.compile(r'daxvm-linux-test-(\d+)$')
    return sorted(n for n in os.listdir('/dev/shm')
                  if not (others.match(n) and others.match(n).group(1) != str(os.getpid())))


def expect_usage(args, needle):
    before = shm()
    rc, out, err, rep, _ = run(args, timeout=30)
    check(rc == 2, '%s: exit %d, want 2; stderr %s' % (args, rc, err))
    check(needle in err, '%s: stderr "%s" lacks "%s"' % (args, err.strip(), needle))
    check(err.count('\n') == 1, '%s: not one line: %s' % (args, err))
    check(shm() == before, '%s: /dev/shm changed: %s -> %s' % (args, before, shm()))


def case_bad_input():
    d = tempfile.mkdtemp(prefix='daxvm-linux-input-')
    try:
        def write(name, data):
            p = os.path.join(d, name)
            with open(p, 'wb') as f:
                f.write(data)
            return p
        good = write('good', fake_bzimage())
        initrd = write('initrd', b'070701' + b'0' * 500)
        k = ['--mem', 'memfd', '--mem-size', '256M', '--initrd', initrd, '--kernel']
        expect_usage(k + [write('short', b'\0' * 100)], 'too short')
        expect_usage(k + [write('elf', b'\x7fELF' + b'\0' * 5000)], 'not a bzImage')
        expect_usage(k + [write('old', fake_bzimage(version=0x020b))], 'boot protocol 2.11')
        expect_usage(k + [write('k32', fake_bzimage(xlf=0))], 'XLF_KERNEL_64')
        expect_usage(k + [write('trunc', fake_bzimage()[:30 * 512])], 'truncated')
        expect_usage(k + [os.path.join(d, 'missing')], 'cannot open the kernel')
        expect_usage(['--kernel', good, '--initrd', os.path.join(d, 'nope')], 'cannot open the initrd')
        expect_usage(['--kernel', good, '--initrd', write('empty', b'')], 'is empty')
        expect_usage(['--initrd', initrd], '--initrd needs --kernel')
        expect_usage(['--pmem', 'memfd'], '--pmem needs --kernel')
        expect_usage(k + [good, '--pmem', 'memfd,size=3M'], 'not aligned')
        ram = '/dev/shm/daxvm-linux-test-%d' % os.getpid()
        try:
            expect_usage(['--mem', ram, '--mem-size', '256M', '--initrd', initrd, '--kernel', good,
                          '--pmem', ram + ',offset=128M,size=64M'], 'overlaps guest RAM')
            check(not os.path.exists(ram), '%s left behind' % ram)
        finally:
            if os.path.exists(ram):
                os.unlink(ram)
    finally:
        shutil.rmtree(d)


def case_pvm_refusal():
    if not os.path.isdir('/sys/module/kvm_pvm'):
        print('SKIP: feature missing: a kvm-pvm host (this KVM can boot Linux; the refusal does not apply)')
        return T_SKIP
    d = tempfile.mkdtemp(prefix='daxvm-linux-pvm-')
    try:
        good = os.path.join(d, 'bz')
        with open(good, 'wb') as f:
            f.write(fake_bzimage())
        expect_usage(['--mem', 'memfd', '--mem-size', '256M', '--kernel', good, '--initrd', good],
                     'kvm-pvm')
        rc, _, err, _, _ = run(['--kernel', good, '--initrd', good], timeout=30)
        check('hardware KVM' in err and 'lab' in err, 'the refusal does not name the alternatives: %s' % err)
    finally:
        shutil.rmtree(d)


def kernel():
    """The bzImage to boot, or None after printing why the case skips."""
    if os.path.isdir('/sys/module/kvm_pvm'):
        print('SKIP: feature missing: hardware KVM (this KVM is kvm-pvm, which cannot boot Linux)')
        return None
    missing = daxvm_check.kvm_missing(DAXVM)
    if missing:
        print(missing)
        return None
    cands = [os.environ.get('DAXVM_TEST_KERNEL', ''), '/boot/vmlinuz-' + os.uname().release]
    # The pmem lab's kernel cache: SERIES/kernel.ready names the release, SERIES/bzImage is it.
    for ready in sorted(glob.glob('/var/cache/daxvm-lab/*/kernel.ready')):
        with open(ready) as f:
            if os.uname().release in f.read().split():
                cands.append(os.path.join(os.path.dirname(ready), 'bzImage'))
    for c in cands:
        if c and os.access(c, os.R_OK):
            return c
    print('SKIP: feature missing: a bzImage to boot (set DAXVM_TEST_KERNEL)')
    return None


BOOT_S = 240 * TIME_SCALE / 4 if TIME_SCALE > 1 else 90


def case_boot():
    k = kernel()
    if not k:
        return T_SKIP
    rc, out, err, rep, con = run(['--kernel', k, '--mem', 'memfd', '--mem-size', '256M', '--cpus', '2',
                                  '--duration', '2', '--hang-timeout', str(15 * TIME_SCALE)],
                                 timeout=BOOT_S)
    check(rc == 0, 'exit %d; stderr %s; stdout %s; console tail %s' % (rc, err, out, con[-2000:]))
    check(get(rep, 'guest.kind') == 'linux' and get(rep, 'guest.verdict') == 'pass', 'guest verdict')
    check(get(rep, 'guest.linux.end') == 'verdict', 'ended by %s' % get(rep, 'guest.linux.end'))
    check(get(rep, 'guest.verified_bytes') > 0 and get(rep, 'guest.mismatches') == 0, 'verified')
    check(get(rep, 'timing.launch_to_init_ms') > 0, 'no /init event')
    check(get(rep, 'timing.launch_to_running_ms') >= get(rep, 'timing.launch_to_init_ms'), 'running before init')
    check(get(rep, 'pinning.leaked_pins') == 0, 'leaked pins')
    check('DAXVM-GUEST-RESULT' in con and 'Run /init' in con, 'console lacks the boot or the result line')
    check('smp: Brought up 1 node, 2 CPUs' in con, 'the MP table did not bring up 2 CPUs')
    # The vCPU threads ran under the Linux guest's own allowlist and needed nothing else.
    check(get(rep, 'security.seccomp') is True and get(rep, 'security.seccomp_violations') == 0,
          'seccomp: %s' % get(rep, 'security'))
    print('launch to /init %.0f ms, to the tool running %.0f ms' % (
        get(rep, 'timing.launch_to_init_ms'), get(rep, 'timing.launch_to_running_ms')))


def case_seccomp_probe():
    """The vCPU filter's positive control with a Linux guest: each vCPU thread, once filtered,
    tries open("/"); the run must fail at once naming it, not boot on."""
    k = kernel()
    if not k:
        return T_SKIP
    t0 = time.time()
    rc, out, err, rep, con = run(['--kernel', k, '--mem', 'memfd', '--mem-size', '256M', '--cpus', '2',
                                  '--duration', '30', '--seccomp', 'probe'], timeout=BOOT_S)
    took = time.time() - t0
    check(rc == 1, 'exit %d, want 1: %s %s' % (rc, err, out))
    reason = get(rep, 'reason')
    check('seccomp: a vCPU thread made the forbidden system call openat' in reason, 'reason: %s' % reason)
    check(get(rep, 'security.seccomp_violations') == 2 and get(rep, 'security.seccomp_refused') == 'openat / by vCPU x2',
          'security: %s' % get(rep, 'security'))
    check(get(rep, 'security.seccomp_vcpu_rules') >= 3, 'the Linux guest added no vCPU rules: %s' % get(rep, 'security'))
    check(took < 30 * TIME_SCALE, 'the run went on for %.1f s after the violation' % took)
    check(get(rep, 'pinning.leaked_pins') == 0, 'leaked pins')
    print('seccomp probe (Linux guest): refused and failed in %.1f s: %s' % (took, reason))


def case_panic():
    """No init: the kernel panics, panic=-1 reboots through the i8042: a failed run."""
    k = kernel()
    if not k:
        return T_SKIP
    rc, out, err, rep, con = run(['--kernel', k, '--mem', 'memfd', '--mem-size', '256M', '--cpus', '1',
                                  '--append', 'rdinit=/nonexistent'], timeout=BOOT_S)
    check(rc == 1, 'exit %d, want 1: %s %s' % (rc, err, out))
    check('rebooted before reporting a verdict' in get(rep, 'reason'), 'reason: %s' % get(rep, 'reason'))
    check(get(rep, 'guest.linux.end') == 'rebooted' and get(rep, 'guest.linux.i8042_resets') >= 1, 'end')
    check('Kernel panic' in con, 'no panic on the console')


def case_hang():
    """panic=0: the kernel panics and stays silent: a hang before /init."""
    k = kernel()
    if not k:
        return T_SKIP
    rc, out, err, rep, con = run(['--kernel', k, '--mem', 'memfd', '--mem-size', '256M', '--cpus', '1',
                                  '--append', 'rdinit=/nonexistent panic=0'], timeout=BOOT_S + 60)
    check(rc == 1, 'exit %d, want 1: %s %s' % (rc, err, out))
    check('hung' in get(rep, 'reason') and 'before /init' in get(rep, 'reason'), 'reason: %s' % get(rep, 'reason'))


def case_sigint(sig=signal.SIGINT):
    """SIGINT during the boot: exit 1, interrupted, every pin released, no file left."""
    k = kernel()
    if not k:
        return T_SKIP
    before = shm()
    rc, out, err, rep, con = run(['--kernel', k, '--mem', 'memfd', '--mem-size', '256M', '--cpus', '2'],
                                 timeout=BOOT_S, sig_after=3 * TIME_SCALE, sig=sig)
    check(rc == 1, 'exit %d, want 1: %s' % (rc, err))
    check('interrupted' in get(rep, 'reason'), 'reason: %s' % get(rep, 'reason'))
    check(get(rep, 'pinning.leaked_pins') == 0, 'leaked pins')
    check(shm() == before, '/dev/shm changed')


def case_sigterm():
    """SIGTERM during the boot: the same clean end."""
    return case_sigint(signal.SIGTERM)



if __name__ == '__main__':
    # Each KVM case checks for hardware KVM itself (kernel()): kvm-pvm is named before /dev/kvm.
    sys.exit(daxvm_check.main(globals(), __doc__, lambda name: False))
