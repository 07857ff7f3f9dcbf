#!/bin/bash
# Lab check "inspect_libvirt" (6.1 only: libvirt's first call alone costs 15-21 s here), inside
# the lab guest: daxvm inspect --domain on a libvirt domain. Debian's libvirtd runs from the
# host root (installed by tests/lab/run: libvirt-daemon, libvirt-daemon-driver-qemu,
# libvirt-clients, without recommends), its state on tmpfs, its configuration copied to a tmpfs
# and changed: namespaces = [ ] (libvirt's mount namespace escapes the lab's chroot), QEMU as root
# (no libvirt-qemu user without libvirt-daemon-system), QEMU's output to files (no virtlogd), no
# cgroups. The domain (q35, 256 MiB RAM, an <memory model='nvdimm'> on /dev/dax0.0 and a
# <hostdev managed='no'> for edu) is created paused (virsh create --paused: QEMU -S; VFIO maps
# and pins all RAM, the nvdimm included, at start). Then:
#   1. daxvm inspect --domain: must PASS: RAM and nvdimm found as the XML promised, every page
#      pinned (131,072), the nvdimm's PFNs inside the device.
#   2. daxvm inspect --domain --until-exit while virsh destroy stops it: must FAIL naming the leak
#      of the nvdimm's pins (the kernel's counters, measured here, must show at least that many).
# Usage: check_inspect_libvirt.sh BUILD_DIR EDU_BDF
set -uo pipefail
build=$1 edu=$2
daxvm=$build/daxvm
name=daxvm-inspect
fails=0
for b in libvirtd virsh qemu-system-x86_64; do
	command -v $b >/dev/null || { echo "FAIL: $b is not installed on the host (tests/lab/run installs libvirt)"; exit 1; }
done
[ -e /dev/dax0.0 ] && [ -e /dev/kvm ] || { echo "FAIL: no /dev/dax0.0 or /dev/kvm"; exit 1; }
pin_net() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '$1 == "nr_foll_pin_acquired" { a = $2 } $1 == "nr_foll_pin_released" { r = $2 } END { print a - r }' /proc/vmstat
}
# One value of daxvm's report (pretty-printed JSON, one key per line) without python3: Python
# starts in seconds here (its stdlib comes over 9p under TCG) and this runs a dozen times.
json() {	# FILE KEY
	awk -v want="$2" '
	/^ *"[^"]*": \{$/ { k = $0; sub(/^ *"/, "", k); sub(/".*/, "", k); st[++n] = k; next }
	/^ *\},?$/ { n--; next }
	/^ *"[^"]*": / {
		line = $0; sub(/^ *"/, "", line); key = line; sub(/".*/, "", key)
		val = line; sub(/^[^"]*": /, "", val); sub(/,$/, "", val); gsub(/^"|"$/, "", val)
		p = ""; for (i = 1; i <= n; i++) p = p st[i] "."
		if (p key == want) { print val; found = 1; exit }
	}
	END { if (!found) print "None" }' "$1"
}
up() { cut -d' ' -f1 /proc/uptime; }

# Waits (up to 60 s) until daxvm inspect, a child of timeout pid $1, reads QEMU $2's pagemap
# (it has attached), then 1 s more: starting daxvm over 9p under TCG takes seconds.
attached() {
	local i c
	for i in $(seq 600); do
		for c in $(pgrep -P "$1"); do
			ls -l /proc/$c/fd 2>/dev/null | grep -q "/proc/$2/pagemap" && { sleep 1; return 0; }
		done
		sleep 0.1
	done
	echo "inspect did not attach within 60 s"
}

# --- libvirtd with its state on tmpfs and a changed copy of its configuration ---
for d in /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
	[ -d $d ] && mount -t tmpfs tmpfs $d
done
mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/qemu /tmp/etc-libvirt
cp -a /etc/libvirt/. /tmp/etc-libvirt/
cat >>/tmp/etc-libvirt/qemu.conf <<'CONF'
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
mount --bind /tmp/etc-libvirt /etc/libvirt
# libvirt resolves its compiled-in QEMU user (libvirt-qemu) before reading qemu.conf; that user
# comes with libvirt-daemon-system, which the lab does not install: add it to a copy.
cp /etc/passwd /tmp/lv-passwd; cp /etc/group /tmp/lv-group
grep -q '^libvirt-qemu:' /tmp/lv-passwd || echo 'libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin' >>/tmp/lv-passwd
grep -q '^libvirt-qemu:' /tmp/lv-group || echo 'libvirt-qemu:x:64055:' >>/tmp/lv-group
mount --bind /tmp/lv-passwd /etc/passwd
mount --bind /tmp/lv-group /etc/group
t0=$(up)
libvirtd -d -p /run/daxvm-libvirtd.pid || { echo "FAIL: libvirtd did not start"; exit 1; }
for i in $(seq 100); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.1; done

xml=/tmp/$name.xml
cat >$xml <<XML
<domain type='kvm'>
  <name>$name</name>
  <memory unit='MiB'>256</memory>
  <maxMemory slots='2' unit='MiB'>2048</maxMemory>
  <vcpu>1</vcpu>
  <cpu mode='host-passthrough'><numa><cell id='0' cpus='0' memory='256' unit='MiB'/></numa></cpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <memory model='nvdimm' access='shared'>
      <source><path>/dev/dax0.0</path><alignsize unit='KiB'>2048</alignsize><pmem/></source>
      <target><size unit='MiB'>256</size><node>0</node></target>
    </memory>
    <hostdev mode='subsystem' type='pci' managed='no'>
      <source><address domain='0x${edu:0:4}' bus='0x${edu:5:2}' slot='0x${edu:8:2}' function='0x${edu:11:1}'/></source>
    </hostdev>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
XML
before=$(pin_net)
timeout -k 5 120 virsh -c qemu:///system create --paused $xml
st=$?
echo "libvirtd start to domain created: $(awk -v a="$t0" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }') s (exit $st)"
if [ $st -ne 0 ]; then
	tail -20 /var/log/libvirt/qemu/$name.log 2>/dev/null
	echo "FAIL: virsh create failed"
	kill "$(cat /run/daxvm-libvirtd.pid 2>/dev/null)" 2>/dev/null
	exit 1
fi
qpid=$(cat /run/libvirt/qemu/$name.pid 2>/dev/null)
echo "QEMU pid $qpid; pins held since before create: $(( $(pin_net) - before ))"
tr '\0' ' ' </proc/$qpid/cmdline; echo

echo "\$ daxvm inspect --domain $name --duration 2"
timeout -k 5 60 "$daxvm" inspect --domain $name --duration 2 --report /tmp/inspect-lv1.json
st=$?
echo "MEASURE inspect_domain_verdict $([ $st -eq 0 ] && echo PASS || echo "exit_$st")"
[ $st -eq 0 ] || fails=$((fails + 1))
if [ -f /tmp/inspect-lv1.json ]; then
	for k in target.pid target.domain.name target.mappings.ram0.found.kind target.mappings.nvdimm0.found.kind \
		 target.mappings.nvdimm0.found.devmap target.mismatches pinning.expected_pages pinning.evidence \
		 validation.outside_devmap validation.pfn_changes timing.first_verdict_ms; do
		echo "report $k = $(json /tmp/inspect-lv1.json $k)"
	done
	echo "MEASURE inspect_domain_nvdimm $(json /tmp/inspect-lv1.json target.mappings.nvdimm0.found.kind)"
	echo "MEASURE inspect_domain_pins_expected $(json /tmp/inspect-lv1.json pinning.expected_pages)"
	[ "$(json /tmp/inspect-lv1.json target.pid)" = "$qpid" ] || { echo "inspect found another pid"; fails=$((fails + 1)); }
else
	fails=$((fails + 1))
fi

echo "\$ daxvm inspect --domain $name --until-exit --duration 60 (virsh destroy once inspect has attached)"
timeout -k 5 90 "$daxvm" inspect --domain $name --until-exit --duration 60 --report /tmp/inspect-lv2.json &
ipid=$!
attached "$ipid" "$qpid"
timeout -k 5 60 virsh -c qemu:///system destroy $name
wait $ipid
st=$?
for i in $(seq 50); do [ -d /proc/$qpid ] || break; sleep 0.1; done
leaked=$(( $(pin_net) - before ))
reported=$(json /tmp/inspect-lv2.json pinning.leaked_pins 2>/dev/null)
said=exit_$st
[ $st -eq 1 ] && grep -q '"reason": "pin leak' /tmp/inspect-lv2.json 2>/dev/null && said=FAIL_leak
[ $st -eq 0 ] && said=PASS
echo "exit status $st; inspect: $reported pins not released; the kernel's counters over the domain's life: $leaked"
echo "MEASURE inspect_domain_exit_verdict $said"
echo "MEASURE inspect_domain_exit_leaked $reported"
right=no
if [ "$leaked" -gt 0 ] && [ $said = FAIL_leak ] && [ "$reported" -gt 0 ] && [ "$reported" -le "$leaked" ]; then right=yes
elif [ "$leaked" -le 0 ] && [ $said = PASS ]; then right=yes
fi
echo "MEASURE inspect_domain_exit_verdict_right $right"
[ $right = yes ] || fails=$((fails + 1))
kill "$(cat /run/daxvm-libvirtd.pid 2>/dev/null)" 2>/dev/null
sleep 0.5
umount /etc/libvirt /etc/passwd /etc/group 2>/dev/null
if [ $fails -eq 0 ]; then echo "PASS: inspect --domain found the nvdimm on devdax and the VFIO pins, and judged the exit as the kernel's counters did"; exit 0; fi
echo "FAIL: $fails problem(s)"
exit 1
