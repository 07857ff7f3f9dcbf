#!/usr/bin/env python3
"""Host test: 'daxvm pin-check' as an unprivileged user (nobody, via setpriv) on io_uring pins.

Control (as root): the frames are checked (validation.frames_checked true, nothing skipped).
As nobody: the run still PASSes on what it can check (pins held == expected, none leaked,
every page present), and the report names what it could not check without CAP_SYS_ADMIN
(validation.skipped: pagemap hides PFNs) instead of failing. Negative: asking nobody to pin
more than its memlock limit is exit 2 with one line naming RLIMIT_MEMLOCK.
usage: pin_check_nonroot.py DAXVM"""
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile

PASS, SKIP, FAIL = 0, 77, 1


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(FAIL)


def run(cmd, report):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    rep = None
    if os.path.exists(report):
        with open(report) as f:
            rep = json.load(f)
        os.unlink(report)
    return p, rep


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root to run daxvm as nobody (setpriv)")
        return SKIP
    if not shutil.which("setpriv"):
        print("SKIP: feature missing: setpriv (util-linux)")
        return SKIP
    soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    size_mib = 4  # fits the smallest default memlock limit here (8 MiB)
    if soft != resource.RLIM_INFINITY and soft < size_mib << 20:
        print("SKIP: feature missing: RLIMIT_MEMLOCK %d bytes is below %d MiB" % (soft, size_mib))
        return SKIP
    work = tempfile.mkdtemp(prefix="daxvm-nonroot-")
    try:
        os.chmod(work, 0o777)
        exe = os.path.join(work, "daxvm")
        shutil.copy(sys.argv[1], exe)
        os.chmod(exe, 0o755)
        report = os.path.join(work, "report.json")
        base = [exe, "pin-check", "--mem", "memfd", "--mem-size", "%dM" % size_mib, "--pin", "io_uring",
                "--hold", "1", "--report", report]
        nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all"]

        p, rep = run(base, report)
        if p.returncode != 0 or not rep:
            fail("root control run: exit %d: %s" % (p.returncode, p.stdout + p.stderr))
        if rep["validation"].get("frames_checked") is not True or "skipped" in rep["validation"]:
            fail("as root the frames must be checked: %s" % rep["validation"])

        p, rep = run(nobody + base, report)
        if p.returncode == 2 and "io_uring" in p.stderr and "disabled" in p.stderr:
            print("SKIP: feature missing: io_uring is restricted to privileged users here: " + p.stderr.strip())
            return SKIP
        if p.returncode != 0 or not rep:
            fail("as nobody: exit %d: %s" % (p.returncode, p.stdout + p.stderr))
        v, pin = rep["validation"], rep["pinning"]
        if rep["verdict"] != "PASS" or v.get("frames_checked") is not False:
            fail("as nobody: verdict %s, frames_checked %s" % (rep["verdict"], v.get("frames_checked")))
        if "CAP_SYS_ADMIN" not in v.get("skipped", ""):
            fail("as nobody the report must name the skipped check: %s" % v)
        if pin["pinned_pages"] != pin["expected_pages"] or pin["leaked_pins"] != 0 or v["not_present"] != 0:
            fail("as nobody: pins %s" % pin)
        if "not checked without privilege" not in p.stdout:
            fail("the summary must say what was not checked: %s" % p.stdout)
        print("nobody: PASS, %d pages pinned (%d expected), 0 leaked; skipped: %s"
              % (pin["pinned_pages"], pin["expected_pages"], v["skipped"]))

        # Negative: more than nobody's memlock limit: exit 2, one line naming the limit.
        big = "%dM" % max(64, (soft >> 20) * 2 if soft != resource.RLIM_INFINITY else 64)
        if soft == resource.RLIM_INFINITY:
            print("memlock unlimited: the over-limit case is not checked")
        else:
            cmd = nobody + [exe, "pin-check", "--mem", "memfd", "--mem-size", big, "--pin", "io_uring",
                            "--hold", "1"]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            if p.returncode != 2 or "memlock" not in p.stderr or len(p.stderr.strip().splitlines()) != 1:
                fail("nobody over its memlock limit: exit %d, stderr %r" % (p.returncode, p.stderr))
            print("nobody, %s over the memlock limit: exit 2: %s" % (big, p.stderr.strip()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return PASS


if __name__ == "__main__":
    sys.exit(main())
