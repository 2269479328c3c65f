#!/usr/bin/env bash
# Runs every benchmark (each prints what it measured and how) and writes
# their output to BENCHMARKS.md. Needs root for the BPF benchmarks.
#   tools/bench/bench.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
out=BENCHMARKS.md
{
	echo "# Benchmarks"
	echo
	echo "Written by \`make bench\` on $(uname -srm), $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p')),"
	echo "$(date -u +%Y-%m-%d), load average at the start: $(cut -d' ' -f1-3 /proc/loadavg). The machine is a"
	echo "shared VM: compare rows of one run, and expect the numbers to move with its load."
	echo
	echo "## XDP program (\`$build/tools/bench_xdp\`)"
	echo
	"$build/tools/bench_xdp"
	echo
	echo "### libxdp's dispatcher on Debian 12's kernel (\`$build/tools/bench_xdp --dispatcher\`, three runs)"
	echo
	echo "Run in the qemu VM of \`tests/vm/kernel61_check.sh\` (6.1 runs the dispatcher); its CPU is"
	echo "emulated (nested KVM does not boot here), which moves the same program's cost between runs by"
	echo "tens of ns: these rows do not measure the dispatcher's cost on hardware."
	echo
	echo "| packet                                    |            hot |     many flows |"
	echo "|-------------------------------------------|----------------|----------------|"
	VM_RUN="for i in 1 2 3; do $build/tools/bench_xdp --dispatcher; done" bash tests/vm/kernel61_check.sh \
		2>/dev/null | grep -E '^\| (classified flow, PASS \(alone|\.\.\. in libxdp)' ||
		echo "(the VM did not run)"
	echo
	echo "## Classifier engine (\`odeflow bench\`)"
	echo
	echo '```'
	"$build/odeflow" bench
	echo '```'
	echo
	echo "## Agent end to end (\`tools/bench/bench_agent.sh\`)"
	echo
	echo "Synthetic UDP flows of N packets replayed with tcpreplay across a veth pair into"
	echo "\`odeflow run\` with the default model; latency is from a window's Nth packet in"
	echo "XDP to its verdict in the map. tcpreplay, the softirq work and the agent share"
	echo "the same $(nproc) CPUs. \"XDP ns per packet\" is the program's own average under"
	echo "this traffic, from the kernel's run-time statistics (kernel.bpf_stats_enabled)."
	echo
	tools/bench/bench_agent.sh "$build"
	echo
	echo "The same with \`odeflow run --busy-poll\` (the drain never sleeps, so no window"
	echo "wakes it; it spends a core):"
	echo
	AGENT_OPTS=--busy-poll tools/bench/bench_agent.sh "$build"
	echo
	echo "The same at 1,000 and 10,000 new flows/s while \`stress-ng --cpu 1\` shares the machine"
	echo "(in a session of its own, as another service would), and then while \`tcpdump -w\`"
	echo "records the agent's interface; the agent's CPU is in its column:"
	echo
	LOAD=stress RATES="1000 10000" tools/bench/bench_agent.sh "$build"
	echo
	LOAD=tcpdump RATES="1000 10000" tools/bench/bench_agent.sh "$build"
	echo
	echo "The same at 10,000 new flows/s with \`--metrics\` (scraped every second) and"
	echo "\`--ipfix\` (UDP, to a sink in the sending namespace):"
	echo
	EXPORT=1 RATES=10000 tools/bench/bench_agent.sh "$build"
	echo
	echo "Both directions of each connection (issue 22): 1,000 and 10,000 new connections/s,"
	echo "each of N packets each way, so twice the packets and windows of the rows above:"
	echo
	DIRECTIONS=both RATES="1000 10000" tools/bench/bench_agent.sh "$build"
	echo
	echo "## What a /metrics scrape's map census costs (\`$build/tools/bench_census\`)"
	echo
	echo "| walk | time |"
	echo "|------|------|"
	"$build/tools/bench_census"
	echo
	echo "## Offline tools (\`tools/bench/bench_offline.sh\`)"
	echo
	tools/bench/bench_offline.sh "$build"
} | tee "$out.tmp"
mv "$out.tmp" "$out"
