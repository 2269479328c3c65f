#!/usr/bin/env bash
# The live check: odeflow run watches the lab's link (r0, the router's end)
# while a lab run plays; then each class's accuracy of the agent's verdicts
# against labels.csv, next to odeflow classify on the same capture.
#   tools/lab/live_check.sh --out DIR --seed S [--model FILE] [--odeflow BIN]
#                           [--run-opts 'OPTIONS'] [run.sh options...]
# --run-opts go to odeflow run (e.g. '--hook tcx'); everything else to run.sh.
# The agent attaches at r0's ingress: it judges the directions that come
# from the servers (downloads, the far end of calls and chats).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
odeflow=$here/../../build/odeflow
model="" run_opts="" out="" args=()
while [ $# -gt 0 ]; do
	case $1 in
	--model) model=$2; shift 2;;
	--odeflow) odeflow=$2; shift 2;;
	--run-opts) run_opts=$2; shift 2;;
	--out) out=$2; args+=("$1" "$2"); shift 2;;
	*) args+=("$1"); shift;;
	esac
done
[ -n "$out" ] || { echo "live_check: --out DIR is required" >&2; exit 2; }
[ -x "$odeflow" ] || { echo "live_check: no $odeflow: run make first (or --odeflow BIN)" >&2; exit 2; }
odeflow=$(realpath "$odeflow")
mkdir -p "$out"
out=$(realpath "$out")
# the agent's pins live in a bpffs of this check's own
mkdir -p "$out/bpf"
mount -t bpf bpf "$out/bpf"
trap 'umount "$out/bpf" 2>/dev/null || true' EXIT
model_opt=${model:+--model $(realpath "$model")}
"$here/run.sh" "${args[@]}" --agent "exec $odeflow run --iface r0 --pin-dir $out/bpf/odeflow \
--events $out/events.json --quiet $model_opt $run_opts"
caps=$(ls "$out"/capture.pcap* | sort -V)
# shellcheck disable=SC2086
"$odeflow" classify $model_opt $caps > "$out/classify.json" 2> "$out/classify.log"
echo
echo "live check: seed ${args[*]}; model ${model:-the shipped default}"
/usr/bin/python3 "$here/score.py" "$out/labels.csv" "$out/events.json" "$out/classify.json"
