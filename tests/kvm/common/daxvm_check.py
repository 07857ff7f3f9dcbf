"""What every Python check of 'daxvm' through its CLI and JSON report shares: the exit codes,
the failure type, the report getter, the /dev/kvm requirement and the case runner.

A check script defines case_NAME() functions and ends with
    sys.exit(daxvm_check.main(globals(), __doc__, needs_kvm=...))
where a case returns None (pass) or T_SKIP after printing why, and raises Fail to fail."""
import os
import subprocess
import sys

T_PASS, T_SKIP, T_FAIL = 0, 77, 1
# How much slower than hardware KVM this machine runs guests (the lab's nested KVM under TCG: 4).
TIME_SCALE = float(os.environ.get('DAXVM_TEST_TIME_SCALE', '1'))


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def get(rep, key):
    """The report value at a dotted KEY; a missing key fails the check."""
    v = rep
    for part in key.split('.'):
        check(isinstance(v, dict) and part in v, 'report lacks %s' % key)
        v = v[part]
    return v


def kvm_missing(daxvm):
    """None when /dev/kvm opens read-write, else the skip line naming what this machine lacks:
    daxvm's own sentence for it (vmm/kvm_flavor.c), from the smallest run that reaches KVM."""
    try:
        os.close(os.open('/dev/kvm', os.O_RDWR))
        return None
    except OSError as e:
        why = '/dev/kvm cannot be opened (%s)' % e.strerror
    p = subprocess.run([daxvm, 'run', '--cpus', '1', '--mem', 'anon', '--mem-size', '4M', '--pin', 'none',
                        '--dma', 'off', '--duration', '0.001'], capture_output=True, text=True, timeout=60)
    said = [l[len('daxvm: '):] for l in p.stderr.splitlines() if l.startswith('daxvm: ') and 'kvm' in l]
    return 'SKIP: feature missing: %s' % (said[0] if p.returncode == 2 and said else why)


def main(cases, doc, needs_kvm):
    """Runs the case named by argv[2] from CASES (a module's globals()); argv[1] is daxvm.
    NEEDS_KVM(name) says whether that case needs /dev/kvm (it skips, naming why, without it)."""
    if len(sys.argv) != 3:
        print(doc)
        return T_FAIL
    name = sys.argv[2]
    case = cases.get('case_' + name)
    if not case:
        print('unknown case %s' % name)
        return T_FAIL
    if needs_kvm(name):
        missing = kvm_missing(sys.argv[1])
        if missing:
            print(missing)
            return T_SKIP
    try:
        if case() == T_SKIP:
            return T_SKIP
    except Fail as e:
        print('FAIL %s: %s' % (name, e))
        return T_FAIL
    print('PASS %s' % name)
    return T_PASS
