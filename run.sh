#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs the main job (daxvm run with defaults).
# Extra arguments go to 'daxvm run' (see ./build/daxvm run --help).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh build
exec ./build/daxvm run "$@"
