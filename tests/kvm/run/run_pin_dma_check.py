#!/usr/bin/env python3
"""KVM integration tests of 'daxvm run' with pinning and the DMA stress (the main job):
the report's pinning.*, validation.* and dma.* fields, and that every pin is released on
PASS, on a guest crash, on SIGINT, and when daxvm is SIGKILLed (checked from the parent
through /proc/vmstat, so these cases run alone: is_parallel false in meson).

usage: run_pin_dma_check.py DAXVM CASE   (exit 0 pass, 77 skip, 1 fail)"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'common'))
from daxvm_check import TIME_SCALE, Fail, check, get  # noqa: E402
import daxvm_check  # noqa: E402

DAXVM = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None



def get_or_none(rep, key):
    v = rep
    for part in key.split('.'):
        if not isinstance(v, dict) or part not in v:
            return None
        v = v[part]
    return v


def pin_counters():
    """System-wide FOLL_PIN counters; the refresh folds the per-CPU deltas first."""
    with open('/proc/sys/vm/stat_refresh', 'w') as f:
        f.write('1')
    acq = rel = None
    with open('/proc/vmstat') as f:
        for line in f:
            k, v = line.split()
            if k == 'nr_foll_pin_acquired':
                acq = int(v)
            elif k == 'nr_foll_pin_released':
                rel = int(v)
    check(acq is not None and rel is not None, 'no nr_foll_pin_* in /proc/vmstat')
    return acq, rel


def wait_net_zero(before, timeout=10.0):
    """io_uring drops registered buffers from a workqueue after the ring closes: poll."""
    deadline = time.time() + timeout
    while True:
        acq, rel = pin_counters()
        net = (acq - before[0]) - (rel - before[1])
        if net == 0 or time.time() > deadline:
            return acq - before[0], rel - before[1], net
        time.sleep(0.05)


def run(args, timeout=120):
    d = tempfile.mkdtemp(prefix='daxvm-run-test-')
    try:
        path = os.path.join(d, 'report.json')
        p = subprocess.run([DAXVM, 'run'] + args + ['--report', path], capture_output=True,
                           text=True, timeout=timeout)
        rep = json.load(open(path)) if os.path.exists(path) else None
        return p.returncode, p.stdout, p.stderr, rep
    finally:
        shutil.rmtree(d)


def check_pins_held_and_released(rep, page_size):
    ram = get(rep, 'guest.ram_bytes')
    check(get(rep, 'pinning.backend') == 'io_uring', 'backend %s' % get(rep, 'pinning.backend'))
    check(get(rep, 'pinning.expected_pages') == ram // page_size,
          'expected_pages %d for %d bytes of %d-byte pages' % (get(rep, 'pinning.expected_pages'), ram, page_size))
    check(get(rep, 'pinning.pinned_pages') == get(rep, 'pinning.expected_pages'),
          'pinned %d, expected %d' % (get(rep, 'pinning.pinned_pages'), get(rep, 'pinning.expected_pages')))
    check(get(rep, 'pinning.vmstat_while_pinning.acquired') >= get(rep, 'pinning.expected_pages'),
          'vmstat acquired %d below the pins taken' % get(rep, 'pinning.vmstat_while_pinning.acquired'))
    check(get(rep, 'pinning.leaked_pins') == 0, 'leaked pins %d' % get(rep, 'pinning.leaked_pins'))


def check_validation(rep, min_samples):
    check(get(rep, 'validation.samples') >= min_samples,
          'only %d validator samples' % get(rep, 'validation.samples'))
    check(get(rep, 'validation.pages_checked') >= get(rep, 'pinning.expected_pages'),
          'the validator did not check every pinned page once')
    for k in ('pfn_changes', 'not_present', 'outside_devmap'):
        check(get(rep, 'validation.' + k) == 0, 'validation.%s = %d' % (k, get(rep, 'validation.' + k)))


def check_dma(rep):
    check(get(rep, 'dma.transfers') > 0, 'no DMA transfer completed')
    check(get(rep, 'dma.bytes') > 0, 'no DMA bytes')
    check(get(rep, 'dma.verify_failures') == 0, 'DMA verify failures %d' % get(rep, 'dma.verify_failures'))
    check(get(rep, 'dma.faults_injected') > 0, 'the guest injected no bad IOVA')
    check(get(rep, 'dma.iommu_faults') == get(rep, 'dma.faults_injected'),
          'IOMMU faults %d != injected %d' % (get(rep, 'dma.iommu_faults'), get(rep, 'dma.faults_injected')))


def expect_pass(args, page_size=4096, min_samples=3):
    before = pin_counters()
    rc, out, err, rep = run(args)
    check(rc == 0, 'exit %d; stderr: %s; stdout: %s' % (rc, err.strip(), out.strip()))
    check(get(rep, 'verdict') == 'PASS', 'verdict %s' % get(rep, 'verdict'))
    check_pins_held_and_released(rep, page_size)
    check_validation(rep, min_samples)
    check_dma(rep)
    acq, rel, net = wait_net_zero(before)
    check(acq >= get(rep, 'pinning.expected_pages'), 'vmstat saw %d pins acquired' % acq)
    check(net == 0, 'after exit %d pins acquired, %d released: %d never released' % (acq, rel, net))
    for line in ('pinning', 'frames', 'dma'):
        check(('  %s ' % line) in out, 'summary lacks the %s line' % line)
    return rep, out


def case_dma_memfd_2cpu():
    rep, out = expect_pass(['--mem', 'memfd', '--mem-size', '256M', '--cpus', '2',
                            '--duration', str(2 * TIME_SCALE)])
    check(get(rep, 'dma.queues') == 2, 'dma.queues %s' % get(rep, 'dma.queues'))
    print(out)


def case_dma_anon_4cpu_1queue():
    # Long enough for the guests' random bad IOVAs (1 %) to show on one queue; scaled where
    # guests run slower than on hardware KVM (DAXVM_TEST_TIME_SCALE, the lab).
    rep, out = expect_pass(['--mem', 'anon', '--mem-size', '128M', '--cpus', '4',
                            '--duration', str(1.5 * TIME_SCALE), '--dma-queues', '1'])
    check(get(rep, 'dma.queues') == 1, 'dma.queues %s' % get(rep, 'dma.queues'))
    print(out)


def dma_areas(rep):
    """[(cpu, gpa, bytes)] of the DMA stress areas, from dma.area_gpa.cpuN and dma.area_bytes
    (the layout dma_engine_fill_guest_params chose; IOVA = guest-physical address)."""
    for k in ('dma.area_gpa', 'dma.area_bytes'):
        check(get_or_none(rep, k) is not None,
              'report lacks %s: cannot check where the DMA areas lie (the layout is chosen in '
              'dma_engine_fill_guest_params; the report must carry dma.area_gpa.cpuN and dma.area_bytes)' % k)
    size = get(rep, 'dma.area_bytes')
    areas = get(rep, 'dma.area_gpa')
    check(isinstance(areas, dict) and areas, 'dma.area_gpa is not a cpuN -> address object: %r' % areas)
    return sorted((int(k[3:]), v, size) for k, v in areas.items())


def case_dma_crosses_1g():
    """1.5 GiB of RAM: the io_uring backend splits it at 1 GiB and a DMA area straddles that edge."""
    rep, out = expect_pass(['--mem', 'memfd', '--mem-size', '1536M', '--cpus', '2', '--duration', str(2 * TIME_SCALE),
                            '--work-size', '16M'], min_samples=2)
    print(out)
    GiB = 1 << 30
    areas = dma_areas(rep)
    check(len(areas) == get(rep, 'guest.vcpus'), 'one DMA area per vCPU: %s' % areas)
    for cpu, gpa, size in areas:
        check(size > 0 and gpa + size <= get(rep, 'guest.ram_bytes'),
              'cpu%d area [0x%x, +0x%x) is not inside the 1.5 GiB of RAM' % (cpu, gpa, size))
    straddle = [(cpu, gpa, size) for cpu, gpa, size in areas if gpa < GiB < gpa + size]
    check(straddle, 'no DMA area straddles the 1 GiB edge: %s'
          % ', '.join('cpu%d [0x%x, 0x%x)' % (c, g, g + n) for c, g, n in areas))
    for cpu, gpa, size in straddle:
        print('cpu%d DMA area [0x%x, 0x%x) straddles 1 GiB (0x40000000)' % (cpu, gpa, gpa + size))


def case_pin_none():
    rc, out, err, rep = run(['--mem', 'memfd', '--mem-size', '64M', '--duration', '0.5', '--pin', 'none'])
    check(rc == 0, 'exit %d; %s%s' % (rc, err, out))
    check(get(rep, 'pinning.backend') == 'none', 'backend %s' % get(rep, 'pinning.backend'))
    check('dma' not in rep or 'transfers' not in rep['dma'], 'DMA ran without pins')
    check('not pinned' in out, 'summary does not say RAM was not pinned')


def case_small_ram_for_dma():
    rc, out, err, rep = run(['--mem', 'memfd', '--mem-size', '8M', '--cpus', '2', '--duration', '0.5'])
    check(rc == 2, 'exit %d, want 2' % rc)
    check(err.count('\n') == 1 and '--dma off' in err, 'not one line naming the fix: %s' % err)


def case_crash_releases_pins():
    before = pin_counters()
    rc, out, err, rep = run(['--mem', 'memfd', '--mem-size', '64M', '--duration', '5', '--inject', 'ud'])
    check(rc == 1, 'exit %d, want 1' % rc)
    check('exception' in get(rep, 'reason'), 'reason %s' % get(rep, 'reason'))
    check(get(rep, 'pinning.leaked_pins') == 0, 'leaked pins')
    acq, rel, net = wait_net_zero(before)
    check(acq > 0 and net == 0, 'after a guest crash: %d acquired, %d released' % (acq, rel))


def case_memlock_limit():
    """Without CAP_IPC_LOCK a 64 KiB memlock limit cannot cover 64 MiB of pins: one line
    naming the limit, the amount and the fix; exit 2; no pin left."""
    import resource
    if not shutil.which('setpriv'):
        raise Fail('setpriv (util-linux) is missing')
    before = pin_counters()
    lim = 64 * 1024
    p = subprocess.run(['setpriv', '--inh-caps=-ipc_lock', '--ambient-caps=-ipc_lock',
                        '--bounding-set=-ipc_lock', DAXVM, 'run', '--mem', 'memfd', '--mem-size', '64M',
                        '--duration', '0.5'], capture_output=True, text=True, timeout=60,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_MEMLOCK, (lim, lim)))
    check(p.returncode == 2, 'exit %d, want 2; %s' % (p.returncode, p.stderr))
    check(p.stderr.count('\n') == 1 and 'memlock limit 64 KiB' in p.stderr and '64 MiB' in p.stderr
          and 'ulimit -l' in p.stderr, 'not one line naming the limit, the amount and the fix: %s' % p.stderr)
    acq, rel, net = wait_net_zero(before)
    check(net == 0, 'pins left after the refusal: %d acquired, %d released' % (acq, rel))
    print(p.stderr.strip())


def spawn(args):
    d = tempfile.mkdtemp(prefix='daxvm-run-test-')
    path = os.path.join(d, 'report.json')
    p = subprocess.Popen([DAXVM, 'run'] + args + ['--report', path], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    return p, d, path


def wait_pinned(p, timeout=20.0):
    """Until the child holds long-term pins (VmPin in its status) and its guest runs."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if p.poll() is not None:
            raise Fail('daxvm exited early (%d): %s' % (p.returncode, p.communicate()[1]))
        try:
            with open('/proc/%d/status' % p.pid) as f:
                kib = [int(l.split()[1]) for l in f if l.startswith('VmPin:')]
        except FileNotFoundError:
            kib = [0]
        if kib and kib[0] > 0:
            wait_banner(p, deadline)
            # The guest and the DMA engine are running by now; their first transfers take
            # longer where guests run slower (nested under TCG a 1 s wait once saw none).
            time.sleep(1.0 * TIME_SCALE)
            return kib[0]
        time.sleep(0.05)
    raise Fail('daxvm never held pins (VmPin stayed 0)')


def wait_banner(p, deadline):
    """Until the guest's banner is on daxvm's stdout: its vCPUs run (on a slow nested machine
    pinning ends well before the guest starts)."""
    seen = b''
    fd = p.stdout.fileno()
    while b'daxvm guest' not in seen:
        left = deadline - time.time()
        if left <= 0:
            raise Fail('the guest never printed its banner')
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, 4096)
            if not chunk:
                raise Fail('daxvm closed its stdout before the guest started')
            seen += chunk


def case_sigint_releases_pins():
    before = pin_counters()
    p, d, path = spawn(['--mem', 'memfd', '--mem-size', '128M', '--duration', '60'])
    try:
        kib = wait_pinned(p)
        check(kib == 128 * 1024, 'VmPin %d KiB, want 131072' % kib)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        check(p.returncode == 1, 'exit %d after SIGINT, want 1' % p.returncode)
        rep = json.load(open(path))
        check(get(rep, 'verdict') == 'FAIL' and 'interrupted' in get(rep, 'reason'),
              'reason %s' % get(rep, 'reason'))
        check(get(rep, 'pinning.leaked_pins') == 0, 'leaked pins')
        check(get(rep, 'dma.transfers') > 0, 'the DMA stress had not run')
        acq, rel, net = wait_net_zero(before)
        check(net == 0, 'after SIGINT: %d acquired, %d released' % (acq, rel))
        print('SIGINT: %d pins acquired and %d released around the run' % (acq, rel))
    finally:
        if p.poll() is None:
            p.kill()
        shutil.rmtree(d)


def case_sigkill_leaves_no_pin():
    before = pin_counters()
    p, d, path = spawn(['--mem', 'memfd', '--mem-size', '128M', '--duration', '60'])
    try:
        wait_pinned(p)
        mid = pin_counters()
        held = (mid[0] - before[0]) - (mid[1] - before[1])
        check(held >= 32768, 'only %d pins held while running' % held)
        p.kill()
        p.wait()
        acq, rel, net = wait_net_zero(before)
        check(net == 0, 'after SIGKILL %d pins were never released (%d acquired, %d released)' % (net, acq, rel))
        print('SIGKILL: %d pins held while running; after the kill %d acquired, %d released' % (held, acq, rel))
    finally:
        if p.poll() is None:
            p.kill()
        shutil.rmtree(d)



if __name__ == '__main__':
    sys.exit(daxvm_check.main(globals(), __doc__, lambda name: True))
