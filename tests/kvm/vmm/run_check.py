#!/usr/bin/env python3
"""KVM integration tests of 'daxvm run' through its CLI and JSON report.

usage: run_check.py DAXVM CASE   (exit 0 pass, 77 skip, 1 fail)
Each case boots the real guest on this host's KVM, so it needs /dev/kvm."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'common'))
from daxvm_check import T_PASS, T_SKIP, TIME_SCALE, Fail, check, get  # noqa: E402
import daxvm_check  # noqa: E402

DAXVM = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None

MiB, GiB = 1 << 20, 1 << 30


def hugepages():
    with open('/proc/sys/vm/nr_hugepages') as f:
        return int(f.read())


def run(args, timeout=60, report=True, **kw):
    """Runs daxvm run ARGS in a fresh directory; returns (rc, stdout, stderr, report, dir listing)."""
    d = tempfile.mkdtemp(prefix='daxvm-vmm-test-')
    try:
        path = os.path.join(d, 'report.json')
        cmd = [DAXVM, 'run'] + args + (['--report', path] if report else [])
        # errors='replace': a guest may print any bytes on its console (the hostile one does).
        p = subprocess.run(cmd, capture_output=True, text=True, errors='replace', timeout=timeout, **kw)
        rep = None
        if os.path.exists(path):
            with open(path) as f:
                rep = json.load(f)
        return p.returncode, p.stdout, p.stderr, rep, sorted(os.listdir(d))
    finally:
        shutil.rmtree(d)


def expect_pass(args, cpus, kind, timeout=60):
    pool = hugepages()
    rc, out, err, rep, files = run(args, timeout)
    check(rc == 0, 'exit %d, want 0; stderr: %s; stdout: %s' % (rc, err.strip(), out.strip()))
    check(rep is not None, 'no report written')
    check(files == ['report.json'], 'leftover files next to the report: %s' % files)
    check(get(rep, 'verdict') == 'PASS', 'verdict %s' % get(rep, 'verdict'))
    check(get(rep, 'guest.vcpus') == cpus, 'guest.vcpus %s, want %d' % (get(rep, 'guest.vcpus'), cpus))
    check(get(rep, 'guest.vcpus_done') == cpus, 'not every vCPU reported CTL_DONE')
    check(get(rep, 'backing.kind') == kind, 'backing.kind %s, want %s' % (get(rep, 'backing.kind'), kind))
    check(get(rep, 'guest.mismatches') == 0, 'mismatches')
    per = get(rep, 'guest.work_bytes_per_vcpu')
    check(get(rep, 'guest.verified_bytes') >= cpus * per, 'less than one full pass verified')
    check(get(rep, 'guest.passes_min') >= 1, 'a vCPU did not complete a pass')
    check(get(rep, 'guest.verified_bytes_per_s') > 0, 'no rate')
    for k in ('launch_to_first_insn_ms', 'map_ms', 'boot_ms', 'run_ms'):
        check(get(rep, 'timing.' + k) > 0, 'timing.%s is not positive' % k)
    for k in ('backing.path', 'backing.devmap', 'backing.page_size', 'backing.why', 'guest.ram_bytes'):
        get(rep, k)
    check('PASS' in out and '\r' not in out, 'summary missing, or a progress line written to a file')
    check(err == '', 'stderr not empty: %s' % err)
    check(hugepages() == pool, 'hugetlb pool changed')
    return rep, out


def expect_fail(args, reason_has, timeout=60):
    rc, out, err, rep, files = run(args, timeout)
    check(rc == 1, 'exit %d, want 1; stderr: %s' % (rc, err.strip()))
    check(rep is not None and get(rep, 'verdict') == 'FAIL', 'verdict not FAIL')
    check(reason_has in get(rep, 'reason'), 'reason "%s" lacks "%s"' % (get(rep, 'reason'), reason_has))
    check(files == ['report.json'], 'leftover files: %s' % files)
    return rep, out


def case_boot_1cpu():
    expect_pass(['--mem', 'memfd', '--mem-size', '32M', '--cpus', '1', '--duration', '0.3'], 1, 'memfd')


def case_boot_2cpu():
    rep, out = expect_pass(['--mem', 'memfd', '--mem-size', '64M', '--duration', '0.3'], 2, 'memfd')
    check('daxvm guest: 2 vCPUs at CPL3' in out, 'the guest banner (CTL_PUTC) is not on stdout')


def case_boot_4cpu():
    expect_pass(['--mem', 'anon', '--mem-size', '64M', '--cpus', '4', '--duration', '0.3'], 4, 'anon')


def case_backing_tmpfs():
    path = '/dev/shm/daxvm-vmm-test-%d' % os.getpid()
    try:
        expect_pass(['--mem', path, '--mem-size', '32M', '--duration', '0.2'], 2, 'tmpfs')
        check(not os.path.exists(path), '%s left behind' % path)
    finally:
        if os.path.exists(path):
            os.unlink(path)


def case_backing_memfd_huge():
    """memfd-huge with --grow-pool: daxvm grows the hugetlb pool for the run and gives the
    pages back at exit; the pool must be as before afterwards (this test changes it only
    through daxvm, and says so)."""
    pool = hugepages()
    rep, out = expect_pass(['--mem', 'memfd-huge', '--mem-size', '64M', '--duration', '0.2',
                            '--grow-pool'], 2, 'memfd-huge')
    check(get(rep, 'backing.page_size') == 2 * MiB, 'page size')
    check(get(rep, 'pinning.expected_pages') == 32, 'expected %s pins, one per 2 MiB folio'
          % get(rep, 'pinning.expected_pages'))
    check(hugepages() == pool, 'hugetlb pool %d after the run, was %d' % (hugepages(), pool))
    print('hugetlb pool was %d pages, grown by daxvm for the run, %d afterwards' % (pool, hugepages()))
    # Without --grow-pool a short pool is one clear line naming the fix, and nothing changes.
    if pool == 0:
        rc, _, err, _, _ = run(['--mem', 'memfd-huge', '--mem-size', '64M', '--duration', '0.2'])
        check(rc == 2 and 'nr_hugepages' in err and err.count('\n') == 1,
              'short pool: exit %d, %s' % (rc, err))
        check(hugepages() == pool, 'the pool changed without --grow-pool')
    return T_PASS


def case_layout_5g():
    # vCPU 1's share starts at 2.5 GiB: a 600 MiB area runs from below 3 GiB into 4 GiB+. The
    # DMA stress is off: its region at the end of RAM would shift the shares (layout only).
    rep, out = expect_pass(['--mem', 'memfd', '--mem-size', '5G', '--work-size', '600M',
                            '--duration', '0.2', '--dma', 'off'], 2, 'memfd', timeout=120 * TIME_SCALE)
    check(get(rep, 'guest.ram_bytes') == 5 * GiB, 'ram_bytes')
    check(get(rep, 'guest.ram_low_bytes') == 3 * GiB, 'low RAM is not 3 GiB')
    check(get(rep, 'guest.ram_high_bytes') == 2 * GiB, 'high RAM is not 2 GiB')
    check(get(rep, 'guest.memslots') == 2, 'want two memslots')
    gpa1, per = get(rep, 'guest.work_gpa.cpu1'), get(rep, 'guest.work_bytes_per_vcpu')
    check(gpa1 < 3 * GiB < gpa1 + per, 'vCPU 1 area 0x%x+%d does not cross the hole' % (gpa1, per))


def case_inject_ud():
    rep, out = expect_fail(['--mem', 'memfd', '--mem-size', '32M', '--duration', '1', '--inject', 'ud'],
                           'vector 6')
    check(get(rep, 'guest.exception.vector') == 6, 'vector')
    check(get(rep, 'guest.exception.cpu') == 0, 'cpu')
    check(0x100000 <= get(rep, 'guest.exception.rip') < 0x180000, 'RIP outside the guest image')
    check('#UD' in out, 'summary does not name #UD')
    check('daxvm guest: ring-0 exception handler' in out, 'the handler line (8250 port 0x3f8) is missing')


def case_triple_fault():
    rep, _ = expect_fail(['--mem', 'memfd', '--mem-size', '32M', '--duration', '1', '--inject',
                          'triple-fault'], 'triple fault')
    check(get(rep, 'guest.triple_fault') is True, 'guest.triple_fault')


def case_bad_mmio():
    rep, _ = expect_fail(['--mem', 'memfd', '--mem-size', '32M', '--duration', '1', '--inject',
                          'bad-mmio'], 'unregistered address 0xdead0000 at RIP 0x')


def case_corrupt():
    rep, out = expect_fail(['--mem', 'memfd', '--mem-size', '32M', '--duration', '0.3', '--inject',
                            'corrupt'], '1 pattern mismatches')
    want = get(rep, 'guest.work_gpa.cpu0') + 0x1008
    check(get(rep, 'guest.mismatches') == 1, 'mismatches %s, want 1' % get(rep, 'guest.mismatches'))
    check(get(rep, 'guest.first_mismatch_gpa') == want,
          'first_mismatch_gpa 0x%x, want 0x%x' % (get(rep, 'guest.first_mismatch_gpa'), want))
    check(get(rep, 'guest.vcpus_done') == 2, 'the run should still end normally')


def case_hostile():
    """Every vCPU attacks the VMM for the whole run (--inject hostile): the host must come
    through intact, with each kind of attack seen and refused where it should be."""
    rc, out, err, rep, files = run(['--mem', 'memfd', '--mem-size', '64M', '--duration', '2', '--inject',
                                    'hostile', '--hang-timeout', str(5 * TIME_SCALE)], timeout=60 * TIME_SCALE)
    check(rc == 0, 'exit %d, want 0; stderr: %s; stdout: %s' % (rc, err.strip(), out.strip()[-600:]))
    check(rep is not None and get(rep, 'verdict') == 'PASS', 'verdict %s: %s' % (get(rep, 'verdict'), rep.get('reason')))
    check(files == ['report.json'], 'leftover files: %s' % files)
    h = get(rep, 'hostile')
    check(h['host_intact'] is True and h['guard_checked'] is True and h['guard_violations'] == 0,
          'host not intact: %s' % h)
    for k in ('unclaimed_io', 'ctl_bad_writes', 'dma_refused', 'exceptions'):
        check(h[k] > 0, 'hostile.%s is 0: that attack never happened or was not counted' % k)
    check(h['refused_accesses'] == h['unclaimed_io'] + h['ctl_bad_writes'] + h['dma_refused'],
          'refused accesses do not add up: %s' % h)
    check(get(rep, 'guest.vcpus_done') == 2, 'a hostile vCPU was not served to the end')
    check(get(rep, 'security.seccomp') is True and get(rep, 'security.seccomp_violations') == 0,
          'seccomp: %s' % get(rep, 'security'))
    check(get(rep, 'pinning.leaked_pins') == 0 and get(rep, 'validation.pfn_changes') == 0, 'pins not intact')
    check(get(rep, 'dma.media_errors') == 0, 'DMA media errors under attack')
    print('MEASURE hostile_refused_per_s %.0f' % h['refused_per_s'])
    print('MEASURE hostile_guard_violations %d' % h['guard_violations'])
    print('hostile: %d refused accesses (%.0f/s: %d unclaimed MMIO, %d control, %d DMA), %d exceptions survived, '
          '%d DMA transfers served, guard violations %d' % (h['refused_accesses'], h['refused_per_s'], h['unclaimed_io'],
          h['ctl_bad_writes'], h['dma_refused'], h['exceptions'], h['dma_transfers'], h['guard_violations']))


def case_seccomp_probe():
    """The positive control of the vCPU filter in a real run (--seccomp probe): each vCPU thread,
    once filtered, tries open("/"); it must be refused, counted per thread, named in the report,
    and fail the run at once (not after the duration). A control run with the filter on and no
    probe passes with 0 refused, and with --seccomp off nothing is filtered."""
    t0 = time.time()
    rc, out, err, rep, files = run(['--mem', 'memfd', '--mem-size', '64M', '--cpus', '2', '--duration', '30',
                                    '--seccomp', 'probe', '--hang-timeout', str(5 * TIME_SCALE)],
                                   timeout=60 * TIME_SCALE)
    took = time.time() - t0
    check(rc == 1, 'exit %d, want 1: %s %s' % (rc, err.strip(), out.strip()[-400:]))
    reason = get(rep, 'reason')
    check('seccomp: a vCPU thread made the forbidden system call openat' in reason, 'reason: %s' % reason)
    check(get(rep, 'security.seccomp') is True and get(rep, 'security.seccomp_probe') is True, 'security keys')
    check(get(rep, 'security.seccomp_violations') == 2, 'want one refused call per vCPU: %s' % get(rep, 'security'))
    check(get(rep, 'security.seccomp_refused') == 'openat / by vCPU x2', 'refused: %s' % get(rep, 'security.seccomp_refused'))
    check(took < 20 * TIME_SCALE, 'the run went on for %.1f s after the violation' % took)
    check(get(rep, 'pinning.leaked_pins') == 0, 'leaked pins')
    check(files == ['report.json'], 'leftover files: %s' % files)
    rc, out, err, rep, _ = run(['--mem', 'memfd', '--mem-size', '64M', '--cpus', '2', '--duration', '1',
                                '--hang-timeout', str(5 * TIME_SCALE)], timeout=60 * TIME_SCALE)
    check(rc == 0 and get(rep, 'security.seccomp') is True and get(rep, 'security.seccomp_violations') == 0,
          'control run with the filter on: exit %d, %s' % (rc, rep and rep.get('security')))
    print('seccomp probe: %s refused in %.1f s, reason: %s' % (2, took, reason))


def case_hang():
    # The other vCPU reports at least every few ms on hardware KVM; the lab's emulated nested
    # KVM is far slower, so its timeout scales with DAXVM_TEST_TIME_SCALE (see tests/test.h).
    hang = 1.0 * TIME_SCALE
    t0 = time.time()
    rep, _ = expect_fail(['--mem', 'memfd', '--mem-size', '32M', '--duration', '30', '--inject', 'hang',
                          '--hang-timeout', str(hang)], 'vCPU 0 hung')
    check(time.time() - t0 < 10 * TIME_SCALE, 'the hang was not detected within %.0f s' % (10 * TIME_SCALE))
    # Where it hung: the guest spins in its own code without exits (GUEST_F_HANG's pause loop).
    reason = get(rep, 'reason')
    check('its thread has been inside KVM_RUN' in reason and 'stopped at guest RIP 0x' in reason and
          'outside the guest' not in reason, 'reason does not place the hang in the guest: %s' % reason)


def interrupt(sig):
    path = '/dev/shm/daxvm-vmm-test-int-%d' % os.getpid()
    d = tempfile.mkdtemp(prefix='daxvm-vmm-test-')
    try:
        console = os.path.join(d, 'console.txt')
        report = os.path.join(d, 'report.json')
        p = subprocess.Popen([DAXVM, 'run', '--mem', path, '--mem-size', '32M', '--duration', '30',
                              '--console', console, '--report', report],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(console) and 'daxvm guest' in open(console).read():
                break
            time.sleep(0.02)
        else:
            p.kill()
            raise Fail('the guest never printed its banner')
        time.sleep(0.3)
        t0 = time.time()
        p.send_signal(sig)
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            raise Fail('daxvm did not stop within 10 s of the signal')
        check(p.returncode == 1, 'exit %d, want 1; stderr %s' % (p.returncode, err))
        with open(report) as f:
            rep = json.load(f)
        check(get(rep, 'verdict') == 'FAIL' and get(rep, 'reason') == 'interrupted', 'reason')
        check(not os.path.exists(path), 'the tmpfs backing file was left behind')
        check(sorted(os.listdir(d)) == ['console.txt', 'report.json'], 'leftover files: %s' % os.listdir(d))
        print('stopped %.0f ms after the signal' % ((time.time() - t0) * 1e3))
    finally:
        shutil.rmtree(d)
        if os.path.exists(path):
            os.unlink(path)


def case_sigint():
    interrupt(signal.SIGINT)


def case_sigterm():
    interrupt(signal.SIGTERM)


def expect_usage(args, msg_has, wrap=None, **kw):
    pool = hugepages()
    before = set(os.listdir('/dev/shm'))
    d = tempfile.mkdtemp(prefix='daxvm-vmm-test-')
    try:
        os.chmod(d, 0o777)
        report = os.path.join(d, 'report.json')
        cmd = (wrap or []) + [DAXVM, 'run'] + args + ['--duration', '0.1', '--report', report]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, **kw)
        lines = p.stderr.splitlines()
        check(p.returncode == 2, '%s: exit %d, want 2; stderr %s' % (args, p.returncode, p.stderr))
        check(len(lines) == 1 and lines[0].startswith('daxvm: '), '%s: not one line: %r' % (args, p.stderr))
        check(msg_has in lines[0], '%s: "%s" lacks "%s"' % (args, lines[0], msg_has))
        check(p.stdout == '', '%s: stdout not empty: %r' % (args, p.stdout))
        check(os.listdir(d) == [], '%s: left %s behind' % (args, os.listdir(d)))
        new = [n for n in set(os.listdir('/dev/shm')) - before if n.startswith('daxvm')]
        check(not new, '%s: left %s in /dev/shm' % (args, new))
        check(hugepages() == pool, 'hugetlb pool changed')
        print('ok  %-50s %s' % (' '.join((wrap or [])[:1] + args), lines[0]))
    finally:
        shutil.rmtree(d)


def case_bad_console():
    """A console file that cannot be created: refused once the VM exists (needs KVM)."""
    expect_usage(['--mem', 'memfd', '--mem-size', '16M', '--console', '/nonexistent/dir/c.txt'], 'console')


def case_bad_input():
    """Usage errors caught before /dev/kvm is opened: they run on any machine."""
    mem = ['--mem', 'memfd']
    expect_usage(['--mem', '/nonexistent/ram'], 'does not exist')
    expect_usage(['--mem', '/etc/hostname'], 'pagecache')
    expect_usage(mem + ['--mem-size', '3001K'], 'alignment')
    expect_usage(mem + ['--mem-size', '5000K'], 'multiple of 2 MiB')
    expect_usage(mem + ['--mem-size', '4M', '--cpus', '4'], 'too small for 4 vCPUs')
    expect_usage(mem + ['--mem-size', '12Q'], 'not a size')
    expect_usage(['--cpus', '0'], '--cpus 0')
    expect_usage(['--cpus', '65'], 'use 1 to 64')
    expect_usage(['--cpus', 'two'], 'not a number')
    expect_usage(['--duration', 'soon'], 'not a number of seconds')
    expect_usage(['--frobnicate'], "unknown option '--frobnicate'")
    expect_usage(['--pin', 'dma'], 'not a pinning backend')
    # A tmpfs file smaller than the RAM asked for: "larger than the device".
    small = '/dev/shm/daxvm-vmm-test-small-%d' % os.getpid()
    with open(small, 'wb') as f:
        f.write(b'\1' * MiB)
    try:
        expect_usage(['--mem', small, '--mem-size', '64M'], 'smaller than')
        check(os.path.getsize(small) == MiB, 'the small file was changed')
    finally:
        os.unlink(small)


def case_bad_input_root():
    """The usage errors that only root can stage (setpriv/unshare): skipped, with the reason,
    when not root, so a run without them never counts as a pass."""
    if os.geteuid() != 0:
        print('SKIP: feature missing: root (the unreadable-backing, no-permission and '
              'no-/dev/kvm cases stage their error with setpriv/unshare)')
        return T_SKIP
    mem = ['--mem', 'memfd']
    # Unreadable backing: root without CAP_DAC_OVERRIDE cannot open a mode-000 file.
    noread = '/dev/shm/daxvm-vmm-test-noread-%d' % os.getpid()
    with open(noread, 'wb') as f:
        f.write(b'\0' * (16 * MiB))
    os.chmod(noread, 0)
    try:
        expect_usage(['--mem', noread, '--mem-size', '16M'], 'permission',
                     wrap=['setpriv', '--bounding-set=-dac_override,-dac_read_search'])
    finally:
        os.unlink(noread)
    # No permission on /dev/kvm (mode 0600 root): run as nobody.
    expect_usage(mem + ['--mem-size', '16M'], '/dev/kvm',
                 wrap=['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'])
    # No /dev/kvm at all: a private mount namespace with an empty /dev.
    expect_usage(mem + ['--mem-size', '16M'], 'no /dev/kvm',
                 wrap=['unshare', '-m', 'sh', '-c', 'mount -t tmpfs tmpfs /dev && exec "$@"', 'sh'])


def case_help():
    p = subprocess.run([DAXVM, 'run', '--help'], capture_output=True, text=True, timeout=10)
    check(p.returncode == 0, 'exit %d' % p.returncode)
    for opt in ('--mem ', '--mem-size', '--work-size', '--cpus', '--duration', '--pin', '--report',
                '--console', '--hang-timeout', '--inject', '(default 2)', '(default 10)', 'auto'):
        check(opt in p.stdout, '--help does not mention %s' % opt)


# Cases that never reach KVM: they run (suite host) where /dev/kvm is missing.
NO_KVM = ('help', 'bad_input')



if __name__ == '__main__':
    sys.exit(daxvm_check.main(globals(), __doc__, lambda name: name not in NO_KVM))
