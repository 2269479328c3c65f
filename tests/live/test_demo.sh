#!/usr/bin/env bash
# `make run`'s demo (tools/demo.sh): it shows verdicts as they arrive, and it
# removes every namespace, mount and folder it made, both when it ends and
# when it is interrupted. Prints PASS/FAIL/SKIP lines like the C tests.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
model=$("$build/odeflow" info --path)

# What a demo run left behind, from the names it printed: namespaces, and
# its temporary folder (which holds its bpffs mount). Empty when clean.
leftovers() { # demo-output-file
	local tx rx tmp
	read -r tx rx tmp < <(sed -n 's/^demo: namespaces \([^ ]*\) and \([^,]*\),.* files in \(.*\)$/\1 \2 \3/p' "$1")
	[ -n "${tx:-}" ] || { echo "no namespaces announced"; return; }
	ip netns list | grep -E "^($tx|$rx)( |$)"
	[ -e "$tmp" ] && echo "$tmp"
	mount | grep -F "$tmp"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP test_demo: needs root (namespaces, XDP)"; exit 0
fi
if [ ! -f "$model" ]; then
	echo "SKIP test_demo: no shipped model $model"; exit 0
fi
out=$(mktemp)

DEMO_MAX_SECONDS=2 timeout 120 bash tools/demo.sh "$build" >"$out" 2>&1; rc=$?
left=$(leftovers "$out")
if [ $rc -eq 0 ] && grep -q 'FLOW DIRECTION' "$out" && grep -qE ' (final|provisional)' "$out" &&
	grep -q 'connection(s)' "$out" && [ -z "$left" ]; then
	echo "PASS test_demo_runs_and_cleans_up"
else
	tail -30 "$out"
	echo "FAIL test_demo_runs_and_cleans_up: exit $rc, or no verdicts, or left behind: $left"
fi

# Milliseconds until the command succeeds, polled every 0.1 s for at most
# $1 ms; prints the time, or -1 if it never did.
took_ms() { # bound-ms command...
	local bound=$1 start now; shift
	start=$(date +%s%N)
	while :; do
		now=$(date +%s%N)
		"$@" && { echo $(( (now - start) / 1000000 )); return; }
		[ $(( (now - start) / 1000000 )) -gt "$bound" ] && { echo -1; return; }
		sleep 0.1
	done
}

# Ctrl-C in a real terminal (tmux): a job started with & from a script
# would ignore SIGINT, which is not what a user's terminal does. Ctrl-C
# comes while it replays (its agent attached), however long the start took
# on a loaded machine; the demo must then be gone within a bound that holds
# with margin there.
session=odeflow-demo-test-$$
tmux new-session -d -s "$session" -x 120 -y 40 \
	"bash tools/demo.sh $build > $out 2>&1; echo demo-exit-\$? >> $out"
started=$(took_ms 30000 grep -q -- '--- replaying' "$out")
echo "  the demo replayed its first capture after $started ms (at most 30000)"
tmux send-keys -t "$session" C-c
stopped=$(took_ms 10000 grep -q demo-exit "$out")
echo "  the demo exited $stopped ms after Ctrl-C (at most 10000)"
left=$(leftovers "$out")
if [ "$started" -ge 0 ] && [ "$stopped" -ge 0 ] && grep -q 'demo-exit-130' "$out" && [ -z "$left" ]; then
	echo "PASS test_demo_interrupted_cleans_up"
else
	tail -20 "$out"
	echo "FAIL test_demo_interrupted_cleans_up: not replaying within 30 s, no exit 130 within 10 s of Ctrl-C, or left behind: $left"
fi
tmux kill-session -t "$session" 2>/dev/null
rm -f "$out"
