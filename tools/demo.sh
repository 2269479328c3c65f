#!/usr/bin/env bash
# The demo behind `make run` without IFACE: two namespaces of its own joined
# by a veth pair, the agent with the shipped model on the receiving end, the
# bundled captures (tests/data/pcaps, rewritten into 10.200.0.0/16) replayed
# across, and each verdict printed as it arrives. Removes everything it
# created when it ends or is interrupted. Needs root.
#   tools/demo.sh [BUILD_DIR] [MODEL]
# Captures replay at their recorded pace (the model reads the timing), at most DEMO_MAX_SECONDS
# (default 10) each, with gaps cut to 0.5 s: some span minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
model=${2:-$("$build/odeflow" info --path)}
max_seconds=${DEMO_MAX_SECONDS:-10}
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (sudo make run)" >&2; exit 1; }
[ -f "$model" ] || { echo "demo: no model $model" >&2; exit 1; }

agent= viewer=
stop_all() {
	[ -n "$agent" ] && kill -INT "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	[ -n "$viewer" ] && kill "$viewer" 2>/dev/null
	return 0
}
netns_before_down=stop_all
. tools/netns.sh
netns_up demo

echo "demo: namespaces $tx and $rx, veth $dtx <-> $drx, the agent on $drx, files in $tmp"
touch "$tmp/events.jsonl"
ip netns exec "$rx" "$build/odeflow" run --iface "$drx" --model "$model" --pin-dir "$pin" \
	--events "$tmp/events.jsonl" &
agent=$!
for _ in $(seq 50); do [ -e "$pin/agent" ] && break; sleep 0.1; done

printf '\n%-46s %-5s %-14s %6s %5s %s\n' "FLOW DIRECTION" "PROTO" "CLASS" "CONF" "STAGE" "STATE"
tail -n +1 --pid="$agent" -f "$tmp/events.jsonl" | jq -r --unbuffered '
	"\(.src):\(.sport) -> \(.dst):\(.dport)" as $ends
	| "\($ends | .[0:46] | . + " " * (46 - length)) \(if .proto == 6 then "tcp  " else "udp  " end) \(.class | . + " " * (14 - length)) \(.confidence * 1000 | round / 1000 | tostring | .[0:5] | . + " " * (6 - length)) \(.stage | tostring | . + " " * (5 - length)) \(if .provisional then "provisional (asks for the next window)" else "final" end)"' &
viewer=$!

# captures of real applications (the others in tests/data exercise parsers)
for capture in tests/data/pcaps/{skype-conference-call,youtube_quic,ftp,whatsapp_voice_and_message}.pcap; do
	echo "--- replaying $(basename "$capture")"
	netns_replay "$capture" --maxsleep=500 --duration="$max_seconds" || true
	sleep 0.5
done
sleep 1
echo
"$build/odeflow" flows --pin-dir "$pin"
echo
"$build/odeflow" stats --pin-dir "$pin"
