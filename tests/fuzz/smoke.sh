#!/bin/sh
# The fuzz suite's smoke for one libFuzzer target: every seed of its committed corpus, then
# RUNS mutations from a fixed seed, into a scratch corpus (the committed one is never written).
# Usage: smoke.sh TARGET_BINARY CORPUS_DIR RUNS   (or --no-clang NAME: clang is missing)
if [ "$1" = --no-clang ]; then
	echo "FAIL: $2 needs clang (libFuzzer): run scripts/setup.sh, which installs clang and libclang-rt-dev"
	exit 1
fi
target=$1 corpus=$2 runs=$3
[ -d "$corpus" ] && [ -n "$(ls -A "$corpus")" ] || { echo "FAIL: no seed corpus in $corpus"; exit 1; }
scratch=$(mktemp -d) || exit 1
trap 'rm -rf "$scratch"' EXIT
artifacts=${DAXVM_FUZZ_ARTIFACTS:-$(dirname "$target")/artifacts}
mkdir -p "$artifacts"
# libFuzzer's default exit code for a crash is 77, meson's "skip": a broken invariant must fail.
"$target" -seed=1 -runs="$runs" -max_total_time=60 -print_final_stats=1 -error_exitcode=1 -timeout_exitcode=1 \
	-artifact_prefix="$artifacts/$(basename "$target")-" "$scratch" "$corpus"
rc=$?
[ $rc -eq 0 ] && echo "$(basename "$target"): corpus $(ls "$corpus" | wc -l) seeds + $runs runs, no crash, every invariant held"
exit $rc
