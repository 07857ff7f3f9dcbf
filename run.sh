#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs the main job (daxvm run with defaults).
# Extra arguments go to 'daxvm run' (see ./build/daxvm run --help).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh build
# Not exec: daxvm times its launch from its own process start, which exec would move back
# to this script's start (the build above).
./build/daxvm run "$@"
