#!/usr/bin/env bash
# Offline tools benchmark: a synthetic capture (tools/bench/gen_flows.c: FLOWS
# one-directional UDP flows of PACKETS packets, 256 interleaved at a time)
# read by `odeflow pcap2npy` (every window, then --first-only) and by
# `odeflow classify` with the default model. Reports the median wall time of
# RUNS runs and the packets and windows per second it means. Needs no root.
#   tools/bench/bench_offline.sh [BUILD_DIR] [MODEL]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
model=${2:-$("$build/odeflow" info --path)}
flows=${FLOWS:-5000} packets=${PACKETS:-40} runs=${RUNS:-5}
tmp=$(mktemp -d /tmp/odeflow-bench-offline-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$build/tools/gen_flows" "$tmp/flows.pcap" "$flows" "$packets" 256 >/dev/null
total=$((flows * packets))

# median wall seconds of $runs runs of the command
median() {
	for _ in $(seq "$runs"); do
		/usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -1
	done | sort -n | sed -n "$(((runs + 1) / 2))p"
}

row() { # name seconds windows
	awk -v name="$1" -v s="$2" -v p="$total" -v w="$3" 'BEGIN {
		printf "| %s | %.3f | %.2f M | %.0f k |\n", name, s, p / s / 1e6, w / s / 1e3 }'
}

echo "Capture: $flows UDP flows of $packets packets ($total packets, $(du -h "$tmp/flows.pcap" | cut -f1)), median of $runs runs."
echo
echo "| command | seconds | packets/s | windows/s |"
echo "|---|---|---|---|"
row "pcap2npy (every window of 20)" \
	"$(median "$build/odeflow" pcap2npy --label 0 "$tmp/flows.pcap" -o "$tmp/all")" \
	$((flows * (packets / 20)))
row "pcap2npy --first-only" \
	"$(median "$build/odeflow" pcap2npy --label 0 --first-only "$tmp/flows.pcap" -o "$tmp/first")" \
	"$flows"
if [ -f "$model" ]; then
	events=$("$build/odeflow" classify --model "$model" "$tmp/flows.pcap" 2>/dev/null | wc -l)
	row "classify ($events windows, default cascade)" \
		"$(median "$build/odeflow" classify --model "$model" "$tmp/flows.pcap")" "$events"
else
	echo
	echo "(classify not measured: no model $model)"
fi
