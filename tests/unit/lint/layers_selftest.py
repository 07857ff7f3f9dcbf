#!/usr/bin/env python3
"""Positive control of layers.py: a small fake tree with one of each violation (an include
cycle, upward includes, cli/ included from a library, a guest include, CLI flags in strings)
must be reported, each on its own file:line; what is allowed (comments, char literals,
same-folder and downward includes, system headers) must not be;
and a clean tree passes.

usage: layers_selftest.py LAYERS_PY   (exit 0 pass, 1 fail)"""
import os
import subprocess
import sys
import tempfile

BAD = {
    # (a) a cycle of three headers, and one .c that only joins it from outside
    'common/a.h': '#include "common/b.h"\n',
    'common/b.h': '#include "c.h"\n',		# resolved in the including folder
    'common/c.h': '#include <stdint.h>\n#include "common/a.h"\n',
    'common/user.c': '#include "common/a.h"\n',
    # (b) upward includes, cli/ from a library, the guest beyond its one device header
    'memory/m.c': '#include "memory/m.h"\n#include "common/a.h"\n#include "vmm/v.h"\n',
    'memory/m.h': '/* nothing */\n',
    'vmm/v.h': '#include "devices/d.h"\n#include "cli/opts.h"\n',
    'devices/d.h': '#include "pinning/p.h"\n',
    'devices/dma_abi.h': '#include <stdint.h>\n',
    'pinning/p.h': '#include "validate/val.h"\n',
    'validate/val.h': '#include "memory/m.h"\n',
    'cli/opts.h': '#include "vmm/v.h"\n',	# with vmm/v.h: a cycle across folders
    'guest/g.c': '#include "guest/g.h"\n#include "devices/dma_abi.h"\n#include "common/a.h"\n',
    'guest/g.h': '#include <stdint.h>\n',
    'guest/gen.c': '#include "guest/generated.h"\n',	# not in the tree (build output): fine
    # (c) flags in strings; none in comments or char literals
    'pinning/p.c': ('/* --pin in a comment is fine */\n'
                    '// so is --mem here\n'
                    'static const char q = \'"\';  /* not a string: --not-a-string */\n'
                    'const char *a = "use --pin io_uring";\n'
                    'const char *b = "first part "\n'
                    '                "then --vfio ADDR";\n'
                    'const char *c = "a \\"quoted\\" --mem-size";\n'
                    'const char *d = "a dash - and -- alone and -x are fine";\n'),
    'cli/ok.c': 'const char *u = "--mem is fine in cli/";\n#include "vmm/v.h"\n',
}

WANT = [
    ('common/a.h:1:', 'include cycle: common/a.h -> common/b.h -> common/c.h -> common/a.h'),
    ('cli/opts.h:1:', 'include cycle: cli/opts.h -> vmm/v.h -> cli/opts.h'),	# two folders
    ('memory/m.c:3:', 'upward include: memory/ includes vmm/v.h'),
    ('vmm/v.h:2:', 'vmm/ includes cli/opts.h: nothing outside cli/ includes cli/'),
    ('pinning/p.h:1:', 'upward include: pinning/ includes validate/val.h'),
    ('guest/g.c:2:', 'guest/ includes devices/dma_abi.h'),
    ('guest/g.c:3:', 'guest/ includes common/a.h'),
    ('pinning/p.c:4:', 'CLI flag --pin'),
    ('pinning/p.c:6:', 'CLI flag --vfio'),
    ('pinning/p.c:7:', 'CLI flag --mem-size'),
]


def write(root, files):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)


def run(lint, root):
    p = subprocess.run([sys.executable, lint, root], capture_output=True, text=True, timeout=60)
    lines = p.stdout.splitlines()
    return p.returncode, [l for l in lines if not l.startswith('layers: ')], p.stdout + p.stderr


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 1
    lint, fails = sys.argv[1], []
    with tempfile.TemporaryDirectory(prefix='daxvm-layers-') as root:
        write(root, BAD)
        rc, lines, out = run(lint, root)
        print(out, end='')
        if rc != 1:
            fails.append('exit %d on the bad tree, want 1' % rc)
        for where, what in WANT:
            hits = sum(1 for l in lines if l.startswith(where) and what in l)
            if hits != 1:
                fails.append('reported %d times, want once: %s %s' % (hits, where, what))
        extra = [l for l in lines if not any(l.startswith(w) and x in l for w, x in WANT)]
        for l in extra:
            fails.append('reported but allowed: %s' % l)
        if any('cycle' in l and 'user.c' in l for l in lines):
            fails.append('a file that only includes into a cycle was named in it')
    with tempfile.TemporaryDirectory(prefix='daxvm-layers-') as root:
        write(root, {'common/a.h': '#include <stdint.h>\n', 'common/a.c': '#include "common/a.h"\n',
                     'vmm/v.c': '#include "common/a.h"\n#include "guest/dma_abi.h"\n',
                     'guest/dma_abi.h': '', 'guest/g.c': '#include "guest/dma_abi.h"\n',
                     'cli/c.c': '#include "vmm/v.h"\nconst char *h = "--help";\n'})
        rc, lines, out = run(lint, root)
        if rc != 0 or lines:
            fails.append('clean tree: exit %d, reported %s' % (rc, lines))
    for f in fails:
        print('FAIL: %s' % f)
    if not fails:
        print('PASS: every planted violation reported once, nothing allowed reported, a clean tree passes')
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
