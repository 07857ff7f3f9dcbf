#!/usr/bin/env bash
# Installs the Debian packages daxvm needs (only those missing) and builds it with meson.
# Usage: scripts/setup.sh [BUILD_DIR [MESON_OPTION...]]
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build}
shift || true

packages=(gcc meson ninja-build pkg-config liburing-dev libdaxctl-dev libndctl-dev linux-libc-dev
          libcap-dev python3
          clang libclang-rt-dev libseccomp-dev	# clang + libclang-rt: libFuzzer targets (tests/fuzz); libseccomp: thread filters
          libvirt-dev libxml2-dev)	# daxvm inspect: libvirt's C API (read-only) and the domain XML
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing missing Debian packages: ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: installing packages needs root: run as root or install them yourself: apt-get install -y ${missing[*]}" >&2
		exit 2
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -f "$build_dir/build.ninja" ]; then
	meson setup "$build_dir" "$@" >/dev/null
elif [ $# -gt 0 ]; then
	meson configure "$build_dir" "$@" >/dev/null	# options added since the directory was made
fi
ninja -C "$build_dir" >/dev/null || { echo "setup: build failed; rerun 'ninja -C $build_dir' to see the errors" >&2; ninja -C "$build_dir"; exit 2; }
