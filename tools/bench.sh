#!/usr/bin/env bash
# Runs every benchmark (each prints what it measured and how) and writes
# their output to BENCHMARKS.md. Needs root for the BPF benchmarks.
#   tools/bench.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=BENCHMARKS.md
{
	echo "# Benchmarks"
	echo
	echo "Written by \`make bench\` on $(uname -srm), $(nproc) CPUs, $(date -u +%Y-%m-%d)."
	echo
	echo "## XDP program (\`$build/tools/bench_xdp\`)"
	echo
	"$build/tools/bench_xdp"
} | tee "$out.tmp"
mv "$out.tmp" "$out"
