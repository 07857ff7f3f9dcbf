#!/bin/bash
# Runs inside a private mount namespace (unshare -m --propagation private): a libvirtd of this
# host's packages with its state on tmpfs and a changed copy of its configuration (QEMU as root,
# no namespaces, no cgroups, output to files), so the host's /etc, /run and /var stay untouched;
# creates a paused TCG domain (memfd RAM, shared), runs daxvm inspect --domain on it, then
# destroys it and stops libvirtd. Results go to DIR (inspect.out, inspect.json, inspect.rc).
# Usage: libvirt_ns.sh DAXVM DIR
set -u
daxvm=$1 dir=$2
name=daxvm-inspect-host
pidfile=$dir/libvirtd.pid
cleanup() {
	virsh -c qemu:///system destroy $name >/dev/null 2>&1
	[ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
	for i in $(seq 50); do [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
}
trap cleanup EXIT
# /run whole (libvirtd also writes /run/libvirtd.pid-style files there); the rest exist once
# libvirt-daemon is installed.
mount -t tmpfs tmpfs /run || exit 1
for d in /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
	[ -d $d ] || { echo "no $d (libvirt-daemon is not installed)"; exit 77; }
	mount -t tmpfs tmpfs $d || exit 1
done
rm -rf "$dir/etc" && mkdir -p "$dir/etc" && cp -a /etc/libvirt/. "$dir/etc/"
cat >>"$dir/etc/qemu.conf" <<'CONF'
namespaces = [ ]
user = "root"
group = "root"
swtpm_user = "root"
swtpm_group = "root"
dynamic_ownership = 0
remember_owner = 0
stdio_handler = "file"
cgroup_controllers = [ ]
security_driver = "none"
CONF
mount --bind "$dir/etc" /etc/libvirt
# libvirt resolves its compiled-in QEMU user before reading qemu.conf (libvirt-daemon-system adds it).
cp /etc/passwd "$dir/passwd"; cp /etc/group "$dir/group"
grep -q '^libvirt-qemu:' "$dir/passwd" || echo 'libvirt-qemu:x:64055:64055::/var/lib/libvirt:/usr/sbin/nologin' >>"$dir/passwd"
grep -q '^libvirt-qemu:' "$dir/group" || echo 'libvirt-qemu:x:64055:' >>"$dir/group"
mount --bind "$dir/passwd" /etc/passwd && mount --bind "$dir/group" /etc/group
libvirtd -d -p "$pidfile" || exit 1
for i in $(seq 100); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.1; done
cat >"$dir/dom.xml" <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>128</memory>
  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>$(command -v qemu-system-x86_64)</emulator><controller type='usb' model='none'/><memballoon model='none'/></devices>
</domain>
XML
timeout -k 5 120 virsh -c qemu:///system create --paused "$dir/dom.xml" || exit 1
tr '\0' ' ' </proc/"$(cat /run/libvirt/qemu/$name.pid)"/cmdline; echo
timeout -k 5 60 "$daxvm" inspect --domain $name --duration 1 --report "$dir/inspect.json" >"$dir/inspect.out" 2>&1
echo $? >"$dir/inspect.rc"
cat "$dir/inspect.out"
timeout -k 5 60 "$daxvm" inspect --domain no-such-$name >"$dir/missing.out" 2>&1
echo $? >"$dir/missing.rc"
cat "$dir/missing.out"
exit 0
