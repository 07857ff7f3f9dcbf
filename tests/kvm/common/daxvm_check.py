"""What every Python check of 'daxvm' through its CLI and JSON report shares: the exit codes,
the failure type, the report getter, the /dev/kvm requirement and the case runner.

A check script defines case_NAME() functions and ends with
    sys.exit(daxvm_check.main(globals(), __doc__, needs_kvm=...))
where a case returns None (pass) or T_SKIP after printing why, and raises Fail to fail."""
import os
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


def kvm_missing():
    """None when /dev/kvm opens read-write, else the skip line naming what this machine lacks."""
    try:
        os.close(os.open('/dev/kvm', os.O_RDWR))
        return None
    except OSError as e:
        why = e.strerror
    try:
        with open('/proc/misc') as f:
            registered = any(line.split()[1:] == ['kvm'] for line in f)
    except OSError:
        registered = False
    return 'SKIP: feature missing: /dev/kvm cannot be opened (%s)%s' % (
        why, '' if registered else '; the kernel registered no KVM device (no kvm in /proc/misc)')


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
        missing = kvm_missing()
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
