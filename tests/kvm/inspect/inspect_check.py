#!/usr/bin/env python3
"""daxvm inspect on real processes of this host (suite host: root, no KVM).
  qemu      QEMU TCG paused (-S) with a 256 MiB memfd backend (share=on) and mem-lock=on: the
            mapping found as promised, locked, VmLck charged, 0 pins expected (no VFIO here:
            nothing pins QEMU's RAM) and PASS; --until-exit then sees QEMU end and checks its release.
  daxvm     a daxvm pin-check in the background (it knows the truth: 65,536 io_uring pins on a
            256 MiB memfd): inspect finds them all pinned, and after its exit all released.
  negative  a process that says it is QEMU with a shared memfd backend but maps it private:
            inspect must FAIL (exit 1) naming the mismatch.
  domain    a libvirt domain (TCG, memfd RAM, shared) from this host's libvirtd, run in a
            private mount namespace with its state on tmpfs (libvirt_ns.sh): inspect --domain
            finds its QEMU by UUID and its RAM as the XML promised.
  bad_input no such pid, not a VMM, a VMM that exits during inspection, not root, libvirt not
            reachable, no such domain, a domain without a QEMU here, usage errors: one line, exit 2.
usage: inspect_check.py DAXVM TMPDIR CASE"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

daxvm, tmp, case = sys.argv[1], sys.argv[2], sys.argv[3]


def fail(msg):
    print('FAIL:', msg)
    sys.exit(1)


def skip(msg):
    print('SKIP:', msg)
    sys.exit(77)


def inspect(*args, timeout=60):
    p = subprocess.run([daxvm, 'inspect', *args], capture_output=True, text=True, timeout=timeout)
    print('$ daxvm inspect', ' '.join(args), '->', p.returncode)
    print(p.stdout + p.stderr)
    return p


def report(path):
    r = json.load(open(path))

    def get(key):
        v = r
        for part in key.split('.'):
            v = v.get(part) if isinstance(v, dict) else None
        return v
    return get


def qemu(extra=()):
    qemu_bin = shutil.which('qemu-system-x86_64')
    if not qemu_bin:
        skip('feature missing: qemu-system-x86_64 is not installed')
    pidfile = os.path.join(tmp, 'inspect-qemu.pid')
    if os.path.exists(pidfile):
        os.unlink(pidfile)
    # tb-size keeps TCG's code buffer small: mem-lock=on locks all of QEMU's memory.
    cmd = [qemu_bin, '-accel', 'tcg,tb-size=32', '-S', '-display', 'none', '-nodefaults', '-m', '256M',
           '-object', 'memory-backend-memfd,id=m,size=256M,share=on', '-machine', 'memory-backend=m',
           '-overcommit', 'mem-lock=on', '-daemonize', '-pidfile', pidfile, *extra]
    subprocess.run(cmd, check=True, timeout=60)
    return int(open(pidfile).read())


def stop(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_attached(inspect_pid, target_pid, limit=60):
    """Until daxvm inspect holds the target's pagemap open (it has attached), then 0.5 s more."""
    end = time.monotonic() + limit
    want = '/proc/%d/pagemap' % target_pid
    while time.monotonic() < end:
        try:
            if any(os.readlink('/proc/%d/fd/%s' % (inspect_pid, fd)) == want
                   for fd in os.listdir('/proc/%d/fd' % inspect_pid)):
                time.sleep(0.5)
                return
        except OSError:
            pass
        time.sleep(0.05)
    fail('daxvm inspect did not attach to pid %d within %d s' % (target_pid, limit))


def case_qemu():
    pid = qemu()
    try:
        rep = os.path.join(tmp, 'inspect-qemu.json')
        t0 = time.monotonic()
        p = inspect('--pid', str(pid), '--duration', '1', '--report', rep)
        if p.returncode != 0:
            fail('inspect of a healthy QEMU did not pass')
        g = report(rep)
        m = 'target.mappings.ram0.'
        checks = {
            m + 'found.kind': 'memfd', m + 'found.path': '/memfd:memory-backend-memfd',
            m + 'found.size_bytes': 256 << 20, m + 'found.shared': True, m + 'found.locked': True,
            m + 'found.pins_expected': 0, m + 'promised.share': 'yes', 'target.vmm': 'qemu',
            'target.found.pin_path': 'none', 'pinning.expected_pages': 0, 'pinning.evidence': 'not_pinned',
            'target.mismatches': 0, 'validation.pfn_changes': 0, 'verdict': 'PASS', 'backing.kind': 'memfd',
        }
        for k, want in checks.items():
            if g(k) != want:
                fail('%s is %r, expected %r' % (k, g(k), want))
        if g('target.found.vmlck_kib') < 256 << 10 or g('target.found.mlocked_kib') != g('target.found.vmlck_kib'):
            fail('mem-lock=on: VmLck %s KiB should cover the 256 MiB and equal the mlocked mappings (%s KiB)'
                 % (g('target.found.vmlck_kib'), g('target.found.mlocked_kib')))
        if g('validation.pages_checked') < 65536:
            fail('only %s pages checked' % g('validation.pages_checked'))
        print('first verdict %.1f ms, snapshot %.1f ms, sampler %.1f ms CPU for %d pages (command %.0f ms)'
              % (g('timing.first_verdict_ms'), g('timing.snapshot_ms'), g('validation.sampler_cpu_ms'),
                 g('validation.pages_checked'), (time.monotonic() - t0) * 1e3))
        # --until-exit: QEMU quits 1 s in; inspect sees it, checks the release (nothing was pinned).
        rep2 = os.path.join(tmp, 'inspect-qemu-exit.json')
        proc = subprocess.Popen([daxvm, 'inspect', '--pid', str(pid), '--until-exit', '--duration', '30',
                                 '--report', rep2], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_attached(proc.pid, pid)
        os.kill(pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        print(out)
        g = report(rep2)
        if proc.returncode != 0 or g('target.exited') is not True or g('pinning.leaked_pins') != 0:
            fail('--until-exit on QEMU: exit %d, exited %s, leaked %s' % (proc.returncode, g('target.exited'),
                                                                         g('pinning.leaked_pins')))
    finally:
        stop(pid)
    print('PASS: QEMU memfd RAM found as promised (shared, locked, VmLck charged, 0 pins: no VFIO here); '
          'exit seen with --until-exit')


def wait_io_uring(pid, limit=60):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            for fd in os.listdir('/proc/%d/fd' % pid):
                if os.readlink('/proc/%d/fd/%s' % (pid, fd)) == 'anon_inode:[io_uring]':
                    time.sleep(0.3)	# the buffers are registered right after the ring opens
                    return
        except OSError:
            pass
        time.sleep(0.1)
    fail('daxvm pin-check did not open its io_uring within %d s' % limit)


def case_daxvm():
    out = open(os.path.join(tmp, 'inspect-pin-check.out'), 'w')
    pc = subprocess.Popen([daxvm, 'pin-check', '--mem', 'memfd', '--mem-size', '256M', '--hold', '12'],
                          stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_io_uring(pc.pid)
        rep = os.path.join(tmp, 'inspect-daxvm.json')
        p = inspect('--pid', str(pc.pid), '--duration', '1', '--report', rep)
        g = report(rep)
        if p.returncode != 0:
            fail('inspect of a daxvm pin-check holding its pins did not pass')
        for k, want in {'target.vmm': 'daxvm', 'target.found.pin_path': 'io_uring', 'pinning.expected_pages': 65536,
                        'pinning.pinned_pages': 65536, 'target.mappings.ram0.found.kind': 'memfd',
                        'validation.pfn_changes': 0, 'validation.not_present': 0}.items():
            if g(k) != want:
                fail('%s is %r, expected %r' % (k, g(k), want))
        rep2 = os.path.join(tmp, 'inspect-daxvm-exit.json')
        p = inspect('--pid', str(pc.pid), '--until-exit', '--duration', '40', '--report', rep2)
        g = report(rep2)
        if p.returncode != 0 or g('target.exited') is not True or g('pinning.leaked_pins') != 0 or \
                g('pinning.vmstat_after_exit.released') < 65536:
            fail('--until-exit on pin-check: exit %d, released %s, leaked %s' % (
                p.returncode, g('pinning.vmstat_after_exit.released'), g('pinning.leaked_pins')))
    finally:
        pc.kill()
        pc.wait()
    print('PASS: a daxvm pin-check seen from outside: 65,536 io_uring pins held, all released at its exit')


def case_negative():
    # Says it is QEMU with a shared memfd backend of 64 MiB; maps the memfd private.
    code = ('import mmap, os, time\n'
            'fd = os.memfd_create("memory-backend-memfd"); os.ftruncate(fd, 64 << 20)\n'
            'm = mmap.mmap(fd, 64 << 20, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)\n'
            'for i in range(0, 64 << 20, 4096): m[i] = 1\n'
            'print("ready", flush=True); time.sleep(60)\n')
    fake = subprocess.Popen(['qemu-system-x86_64', '-c', code, '-object',
                             'memory-backend-memfd,id=m,size=64M,share=on', '-machine', 'memory-backend=m'],
                            executable=sys.executable, stdout=subprocess.PIPE, text=True)
    try:
        if fake.stdout.readline().strip() != 'ready':
            fail('the stand-in process did not start')
        rep = os.path.join(tmp, 'inspect-negative.json')
        p = inspect('--pid', str(fake.pid), '--duration', '0.5', '--report', rep)
        g = report(rep)
        if p.returncode != 1 or 'share=on' not in (g('reason') or '') or 'private' not in g('reason'):
            fail('a private mapping of a share=on backend must FAIL naming it (exit %d, reason %r)'
                 % (p.returncode, g('reason')))
        if g('target.mappings.ram0.found.shared') is not False or g('target.mismatches') < 1:
            fail('the report does not show the private mapping')
    finally:
        fake.kill()
        fake.wait()
    print('PASS: configuration says shared, the mapping is private: FAIL with the mismatch named')


def case_domain():
    if not shutil.which('libvirtd') or not shutil.which('virsh'):
        skip('feature missing: libvirtd and virsh (libvirt-daemon, libvirt-clients; tests/lab/run installs them)')
    if not shutil.which('unshare') or not shutil.which('qemu-system-x86_64'):
        skip('feature missing: unshare or qemu-system-x86_64')
    d = os.path.join(tmp, 'inspect-domain')
    os.makedirs(d, exist_ok=True)
    for f in ('inspect.json', 'inspect.rc', 'missing.rc'):
        if os.path.exists(os.path.join(d, f)):
            os.unlink(os.path.join(d, f))
    ns = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'libvirt_ns.sh')
    p = subprocess.run(['unshare', '-m', '--propagation', 'private', ns, daxvm, d], capture_output=True, text=True,
                       timeout=300)
    print(p.stdout, p.stderr[-3000:])
    if p.returncode == 77:
        skip('feature missing: libvirt state directories (libvirt-daemon is not installed)')
    if p.returncode != 0 or not os.path.exists(os.path.join(d, 'inspect.rc')):
        fail('libvirtd or the domain did not come up (exit %d)' % p.returncode)
    if open(os.path.join(d, 'inspect.rc')).read().strip() != '0':
        fail('inspect --domain did not pass')
    g = report(os.path.join(d, 'inspect.json'))
    for k, want in {'target.domain.name': 'daxvm-inspect-host', 'target.config_source': 'domain XML and QEMU command line',
                    'target.mappings.ram0.found.kind': 'memfd', 'target.mappings.ram0.found.shared': True,
                    'target.domain.memory_backing.source': 'memfd', 'target.domain.memory_backing.shared': 'yes',
                    'target.mismatches': 0, 'verdict': 'PASS'}.items():
        if g(k) != want:
            fail('%s is %r, expected %r' % (k, g(k), want))
    if open(os.path.join(d, 'missing.rc')).read().strip() != '2':
        fail('a domain that is not there must exit 2')
    left = subprocess.run(['pgrep', '-f', 'guest=daxvm-inspect-host'], capture_output=True, text=True).stdout.split()
    if left:
        fail('QEMU of the test domain left running: %s' % left)
    print('PASS: a libvirt domain inspected through libvirt\'s read-only API: QEMU found by UUID, memfd RAM '
          'shared as the XML promised')


def one_line_exit2(p, needle):
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    if p.returncode != 2 or len(lines) != 1 or needle not in lines[0] or p.stdout.strip():
        fail('expected exit 2 and one stderr line with %r, got %d: %r %r' % (needle, p.returncode, p.stderr, p.stdout))


def case_bad_input():
    before = set(os.listdir('/dev/shm'))
    sleeper = subprocess.Popen(['sleep', '60'])
    try:
        one_line_exit2(inspect('--pid', '4194303'), 'no process with pid 4194303')
        one_line_exit2(inspect('--pid', str(sleeper.pid)), 'is not a VMM')
        one_line_exit2(inspect(), 'give --pid PID or --domain NAME')
        one_line_exit2(inspect('--pid', '1', '--domain', 'x'), 'give one of them')
        one_line_exit2(inspect('--pid', '1', '--connect', 'test:///default'), '--connect only applies to --domain')
        one_line_exit2(inspect('--pid', 'abc'), '--pid')
        one_line_exit2(inspect('--domain', 'x', '--connect', 'qemu+unix:///system?socket=/nonexistent/sock'),
                       'cannot connect to libvirt')
        one_line_exit2(inspect('--domain', 'no-such', '--connect', 'test:///default'), "no domain named 'no-such'")
        one_line_exit2(inspect('--domain', 'test', '--connect', 'test:///default'), 'no QEMU process with -uuid')
        # Not root: inspect needs the target's page frames.
        if shutil.which('setpriv'):
            p = subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', daxvm, 'inspect',
                                '--pid', str(sleeper.pid)], capture_output=True, text=True, timeout=30)
            print('as nobody ->', p.returncode, p.stderr)
            one_line_exit2(p, 'needs root')
    finally:
        sleeper.kill()
        sleeper.wait()
    # A VMM that exits during the inspection (without --until-exit).
    pid = qemu()
    try:
        proc = subprocess.Popen([daxvm, 'inspect', '--pid', str(pid), '--duration', '30'],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_attached(proc.pid, pid)
        os.kill(pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        one_line_exit2(subprocess.CompletedProcess([], proc.returncode, out, err), 'exited during the inspection')
    finally:
        stop(pid)
    if set(os.listdir('/dev/shm')) != before:
        fail('/dev/shm changed: %s' % (set(os.listdir('/dev/shm')) ^ before))
    print('PASS: every bad input: one line, exit 2, nothing left behind')


if os.geteuid() != 0:
    skip('feature missing: root (inspect reads other processes\' page frames)')
{'qemu': case_qemu, 'daxvm': case_daxvm, 'negative': case_negative, 'domain': case_domain,
 'bad_input': case_bad_input}[case]()
