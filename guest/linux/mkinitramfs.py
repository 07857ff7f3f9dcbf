#!/usr/bin/env python3
"""Writes an uncompressed newc cpio archive for a Linux guest, from this tree only (no cpio
package needed at build time).

  mkinitramfs.py OUT [--init BINARY] [--modules MODDIR NAME...]

--init BINARY: the built-in initramfs: /init (BINARY, mode 0755), /dev/console (character
  device 5:1, so the kernel can open the console for init before anything is mounted), and the
  empty mount points /dev, /proc, /sys.
--modules MODDIR NAME...: the kernel modules NAME (and what they depend on, from
  MODDIR/modules.dep; built-in ones are skipped) as /lib/modules/NAME.ko, uncompressed, plus
  /lib/modules/daxvm-modules.order listing them in load order (the stress tool loads them).
  MODDIR is a kernel's lib/modules/RELEASE. An archive with only modules can be appended to the
  built-in one: the kernel unpacks concatenated archives in turn.
Entries are written in a fixed order with mtime 0, so the output depends only on the inputs."""
import lzma
import os
import shutil
import subprocess
import sys

ORDER_FILE = 'lib/modules/daxvm-modules.order'	# guest/linux/boot.h BOOT_MODULES_ORDER


class Newc:
    def __init__(self):
        self.out = bytearray()
        self.ino = 1

    def _entry(self, name, mode, data=b'', rdev=(0, 0), nlink=1):
        name_b = name.encode() + b'\0'
        fields = [self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0]
        self.ino += 1
        self.out += b'070701' + b''.join(b'%08x' % f for f in fields) + name_b
        self.out += b'\0' * (-len(self.out) % 4)
        self.out += data
        self.out += b'\0' * (-len(self.out) % 4)

    def dir(self, name):
        self._entry(name, 0o040755, nlink=2)

    def file(self, name, data, perm=0o644):
        self._entry(name, 0o100000 | perm, data)

    def chardev(self, name, major, minor, perm=0o600):
        self._entry(name, 0o020000 | perm, rdev=(major, minor))

    def finish(self):
        self._entry('TRAILER!!!', 0, nlink=1)
        # A whole number of 512-byte blocks, like cpio(1): the next archive appended starts
        # aligned (the kernel needs 4-byte alignment between archives).
        self.out += b'\0' * (-len(self.out) % 512)
        return bytes(self.out)


def norm(name):
    base = os.path.basename(name)
    for ext in ('.xz', '.zst', '.gz'):
        if base.endswith(ext):
            base = base[:-len(ext)]
    return base[:-3].replace('-', '_') if base.endswith('.ko') else base.replace('-', '_')


def module_order(moddir, names):
    """Paths (relative to moddir) of names and their dependencies, dependencies first."""
    deps = {}
    with open(os.path.join(moddir, 'modules.dep')) as f:
        for line in f:
            path, _, rest = line.partition(':')
            deps[path] = rest.split()
    by_name = {norm(p): p for p in deps}
    builtin = set()
    try:
        with open(os.path.join(moddir, 'modules.builtin')) as f:
            builtin = {norm(line.strip()) for line in f if line.strip()}
    except FileNotFoundError:
        pass
    order, seen = [], set()

    def add(path):
        if path in seen:
            return
        seen.add(path)
        for d in deps.get(path, []):
            add(d)
        order.append(path)

    for n in names:
        key = n.replace('-', '_')
        if key in builtin:
            continue
        if key not in by_name:
            sys.exit('mkinitramfs: module %s is neither in %s/modules.dep nor built in' % (n, moddir))
        add(by_name[key])
    return order


def module_bytes(path):
    if path.endswith('.xz'):
        return lzma.decompress(open(path, 'rb').read())
    if path.endswith('.zst'):
        if not shutil.which('zstd'):
            sys.exit('mkinitramfs: %s is zstd-compressed: install zstd' % path)
        return subprocess.run(['zstd', '-dcq', path], check=True, stdout=subprocess.PIPE).stdout
    return open(path, 'rb').read()


def main(argv):
    if len(argv) < 2 or argv[1].startswith('-'):
        sys.exit(__doc__)
    out, args = argv[1], argv[2:]
    init, moddir, names = None, None, []
    while args:
        if args[0] == '--init' and len(args) >= 2:
            init, args = args[1], args[2:]
        elif args[0] == '--modules' and len(args) >= 3:
            moddir, names, args = args[1], args[2:], []
        else:
            sys.exit('mkinitramfs: unexpected %r\n%s' % (args[0], __doc__))
    if not init and not moddir:
        sys.exit('mkinitramfs: nothing to write: give --init and/or --modules')
    a = Newc()
    if init:
        for d in ('dev', 'proc', 'sys'):
            a.dir(d)
        a.chardev('dev/console', 5, 1)
        a.file('init', open(init, 'rb').read(), 0o755)
    if moddir:
        a.dir('lib')
        a.dir('lib/modules')
        listed = []
        for rel in module_order(moddir, names):
            base = norm(rel) + '.ko'
            a.file('lib/modules/' + base, module_bytes(os.path.join(moddir, rel)))
            listed.append('/lib/modules/' + base)
        a.file(ORDER_FILE, ''.join(p + '\n' for p in listed).encode())
    tmp = out + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(a.finish())
    os.replace(tmp, out)


if __name__ == '__main__':
    main(sys.argv)
