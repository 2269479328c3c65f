#!/usr/bin/env bash
# `make run`'s demo (tools/demo.sh): it shows verdicts as they arrive, and it
# removes every namespace, mount and folder it made, both when it ends and
# when it is interrupted. Prints PASS/FAIL/SKIP lines like the C tests.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
model=models/iscx-reg-20.safetensors

leftovers() { # what a demo could leave behind
	ip netns list | grep -c 'oddemo-' || true
	ls -d /tmp/odeflow-demo-* 2>/dev/null | wc -l
}

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP test_demo: needs root (namespaces, XDP)"; exit 0
fi
if [ ! -f "$model" ]; then
	echo "SKIP test_demo: no shipped model $model"; exit 0
fi
before=$(leftovers | paste -sd+ | bc)
out_file=$(mktemp)

out=$(DEMO_MAX_SECONDS=2 timeout 120 bash tools/demo.sh "$build" 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q 'FLOW DIRECTION' <<<"$out" && grep -qE ' (final|provisional)' <<<"$out" &&
	grep -q 'connection(s)' <<<"$out" && [ "$(leftovers | paste -sd+ | bc)" = "$before" ]; then
	echo "PASS test_demo_runs_and_cleans_up"
else
	echo "$out" | tail -30
	echo "FAIL test_demo_runs_and_cleans_up: exit $rc, or no verdicts, or leftovers"
fi

# Ctrl-C in a real terminal (tmux): a job started with & from a script
# would ignore SIGINT, which is not what a user's terminal does.
session=odeflow-demo-test-$$
tmux new-session -d -s "$session" -x 120 -y 40 \
	"bash tools/demo.sh $build > $out_file 2>&1; echo demo-exit-\$? >> $out_file"
sleep 4
tmux send-keys -t "$session" C-c
for _ in $(seq 50); do grep -q demo-exit "$out_file" && break; sleep 0.1; done
if grep -q 'demo-exit-130' "$out_file" && [ "$(leftovers | paste -sd+ | bc)" = "$before" ]; then
	echo "PASS test_demo_interrupted_cleans_up"
else
	tail -20 "$out_file"
	echo "FAIL test_demo_interrupted_cleans_up: no exit 130 within 5 s of Ctrl-C, or leftovers"
fi
tmux kill-session -t "$session" 2>/dev/null
rm -f "$out_file"
