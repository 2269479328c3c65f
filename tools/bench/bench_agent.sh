#!/usr/bin/env bash
# End-to-end agent benchmark: replays synthetic flows (tools/bench/gen_flows.c) at
# known new-flow rates across a veth pair between two namespaces it creates,
# with `odeflow run` on the receiving end, and reports the agent's latency
# from a window's Nth packet in XDP to its verdict in the map (p50, p90, p99, p99.9),
# ring-buffer drops, windows classified against flows offered, the agent's
# CPU time, the share of windows that had to wake the sleeping agent, and
# the XDP program's own cost per packet under this real traffic
# (the kernel's run-time statistics, kernel.bpf_stats_enabled, on only while
# the benchmark runs). Needs root. Cleans up on every exit.
#   tools/bench/bench_agent.sh [BUILD_DIR] [MODEL] [SECONDS]
# Environment: RATES (new flows/s to offer), REPEAT (runs per rate, the table
# shows medians), AGENT_OPTS (more options for odeflow run, e.g. --threads 2),
# EXPORT=1 (the agent also serves --metrics, scraped every second, and
# exports --ipfix over UDP to a sink in the sending namespace), LOAD=stress
# (stress-ng --cpu 1 shares the machine during each replay, in a session of
# its own, as another service would) or LOAD=tcpdump (tcpdump -w records the
# agent's interface during each replay), DIRECTIONS=both (each connection
# sends N packets each way: RATES are new connections/s, twice the windows).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
model=${2:-$("$build/odeflow" info --path)}
seconds=${3:-3}
rates=${RATES:-"1000 5000 10000"}
directions=${DIRECTIONS:-one}
case $directions in one) ways=1;; both) ways=2;; *) echo "bench_agent: DIRECTIONS is one or both" >&2; exit 1;; esac
repeat=${REPEAT:-3}
[ -f "$model" ] || { echo "bench_agent: no model $model" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "bench_agent: needs root" >&2; exit 1; }

agent= helpers=
stats_before=$(sysctl -n kernel.bpf_stats_enabled)
stop_helpers() {
	[ -n "$helpers" ] && kill $helpers 2>/dev/null
	helpers=
	return 0
}
stop_agent() {
	sysctl -qw kernel.bpf_stats_enabled="$stats_before"
	stop_helpers
	[ -n "$agent" ] && kill -INT "$agent" 2>/dev/null && sleep 0.5
	return 0
}
# EXPORT=1: an IPFIX sink in tx, and the options that feed it and /metrics
export_opts=
if [ "${EXPORT:-0}" = 1 ]; then
	export_opts="--metrics 127.0.0.1:9464 --ipfix 10.200.0.1:4739"
fi
netns_before_down=stop_agent
. tools/netns.sh
netns_up bench
ip -n "$rx" link set lo up
# the model's window N
n=$("$build/odeflow" info "$model" | awk '$1 == "window" { print $2 }')

# "run_time_ns run_cnt" of the XDP program attached to the receiving end
xdp_run_stats() {
	local id
	id=$(ip -n "$rx" -d -j link show "$drx" | jq '.[0].xdp.prog.id')
	bpftool prog show id "$id" -j | jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"'
}

# One run at one rate; prints: pps windows drops p50 p90 p99 p99.9 cpu wakeups% xdp_ns
run_once() { # rate flows
	local rate=$1 flows=$2 cpu0 cpu1 start end xdp0 xdp1
	if [ -n "$export_opts" ]; then
		ip netns exec "$tx" timeout $((seconds * 4 + 30)) socat -u UDP-RECV:4739,bind=10.200.0.1 \
			/dev/null &
		helpers="$helpers $!"
	fi
	ip netns exec "$rx" "$build/odeflow" run --iface "$drx" --model "$model" --pin-dir "$pin" \
		--threshold 0 --flows 1048576 ${AGENT_OPTS:-} $export_opts -q 2>"$tmp/agent.err" &
	agent=$!
	# attached: its program on the link (a large --flows takes seconds to set up)
	for _ in $(seq 300); do
		[ "$(ip -n "$rx" -d -j link show "$drx" | jq '.[0].xdp.prog.id // 0')" != 0 ] && break
		kill -0 "$agent" 2>/dev/null || break
		sleep 0.1
	done
	if ! xdp_run_stats >/dev/null 2>&1; then
		echo "bench_agent: the agent did not attach within 30 s:" >&2
		cat "$tmp/agent.err" >&2
		kill -INT "$agent"; wait "$agent" # a subshell (of a pipe): no EXIT trap here
		exit 1
	fi
	sleep 0.5
	cpu0=$(awk '{print $14 + $15}' /proc/$agent/stat)
	sysctl -qw kernel.bpf_stats_enabled=1
	xdp0=$(xdp_run_stats)
	if [ -n "$export_opts" ]; then # a scrape every second, as a busy Prometheus would
		ip netns exec "$rx" timeout $((seconds * 4 + 30)) sh -c \
			'while :; do curl -s -o /dev/null http://127.0.0.1:9464/metrics; sleep 1; done' &
		helpers="$helpers $!"
	fi
	case "${LOAD:-}" in
	stress) setsid timeout $((seconds * 4 + 10)) stress-ng --cpu 1 >/dev/null 2>&1 &
		helpers="$helpers $!";;
	tcpdump) ip netns exec "$rx" timeout $((seconds * 4 + 10)) tcpdump -i "$drx" -w "$tmp/recorded.pcap" \
			>/dev/null 2>&1 &
		helpers="$helpers $!"; sleep 0.5;;
	esac
	start=$(date +%s.%N)
	ip netns exec "$tx" timeout $((seconds * 4 + 10)) tcpreplay -q --pps=$((rate * n * ways)) -i "$dtx" \
		"$tmp/flows.pcap" >/dev/null 2>&1 || true
	end=$(date +%s.%N)
	cpu1=$(awk '{print $14 + $15}' /proc/$agent/stat) # over the replay only, as its divisor
	xdp1=$(xdp_run_stats)
	sysctl -qw kernel.bpf_stats_enabled="$stats_before"
	sleep 0.3 # the agent publishes its latency every 100 ms
	"$build/odeflow" stats --json --pin-dir "$pin" >"$tmp/stats.json"
	kill -INT "$agent"; wait "$agent" || true; agent=
	stop_helpers
	jq -r --arg pps "$(echo "$flows * $n * $ways / ($end - $start)" | bc)" \
		--arg cpu "$(echo "scale=1; ($cpu1 - $cpu0) * 100 / $(getconf CLK_TCK) / ($end - $start)" | bc)" \
		--arg xdp "$(echo "$xdp0 $xdp1" | awk '{ printf "%.0f", ($4 > $2) ? ($3 - $1) / ($4 - $2) : 0 }')" \
		'"\($pps) \(.counters.windows) \(.counters.ring_drops) \(.agent.latency_p50_us) \(.agent.latency_p90_us) \(.agent.latency_p99_us) \(.agent.latency_p999_us) \($cpu) \(if .counters.windows > 0 then ((.counters.agent_wakeups // 0) * 100 / .counters.windows | floor) else 0 end) \($xdp)"' \
		"$tmp/stats.json"
}

# The median of each column over the runs (lines of numbers on stdin).
column_medians() {
	local runs cols out=()
	runs=$(cat)
	cols=$(head -1 <<<"$runs" | wc -w)
	for i in $(seq "$cols"); do
		out+=("$(cut -d' ' -f"$i" <<<"$runs" | sort -g | sed -n "$(( ($(wc -l <<<"$runs") + 1) / 2 ))p")")
	done
	echo "${out[*]}"
}

echo "Median of $repeat runs per rate (each column on its own)."
[ "$ways" = 2 ] && echo "Both directions: each new flow is a connection of $n packets each way (two windows)."
echo
printf '| new flows/s offered | flows | packets/s achieved | windows classified | ring drops | latency p50 (us) | p90 | p99 | p99.9 | agent CPU (%% of one core) | windows that woke the agent (%%) | XDP ns per packet |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for rate in $rates; do
	flows=$((rate * seconds))
	"$build/tools/gen_flows" "$tmp/flows.pcap" "$flows" "$n" 256 spread "$directions"
	for _ in $(seq "$repeat"); do run_once "$rate" "$flows"; done | column_medians |
		{ read -r pps windows drops p50 p90 p99 p999 cpu woke xdp
		  echo "| $rate | $flows | $pps | $windows | $drops | $p50 | $p90 | $p99 | $p999 | $cpu | $woke | $xdp |"; }
done
echo
echo "Reproduce: sudo${AGENT_OPTS:+ AGENT_OPTS=\"$AGENT_OPTS\"}${export_opts:+ EXPORT=1}${LOAD:+ LOAD=$LOAD}${DIRECTIONS:+ DIRECTIONS=$DIRECTIONS} tools/bench/bench_agent.sh $build $model $seconds  (RATES=\"$rates\" REPEAT=$repeat)"
