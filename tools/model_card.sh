#!/usr/bin/env bash
# Writes the generated tables of models/README.md from what
# tools/train_models.sh left in models/results/ (odeflow cv --json, odeflow
# eval --json, odeflow bench and odeflow train output):
#   tools/model_card.sh
# Each table replaces the lines between "<!-- BEGIN NAME -->" and
# "<!-- END NAME -->" in the card; the rest of the card is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
card=models/README.md
results=models/results
models=(default odernn lstm-ode lstm trees)
declare -A label=(
	[default]='`iscx-reg-20.safetensors` (default)'
	[odernn]='`iscx-reg-20-odernn.safetensors`'
	[lstm-ode]='`iscx-reg-20-lstm-ode.safetensors`'
	[lstm]='`iscx-reg-20-lstm.safetensors`'
	[trees]='`iscx-reg-20-trees.safetensors`'
)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# jq: a share as a percentage with two decimals, null as "-"
JQ_PCT='def pct: if . == null then "-" else (. * 10000 | round) as $n |
	"\($n / 100 | floor).\($n % 100 | tostring | if length < 2 then "0" + . else . end)%" end;'
pct() { jq -r "$JQ_PCT $1 | pct" "$2"; }
# 12345678 -> 12,345,678
commas() { sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'; }
# flows/s at a batch size, from odeflow bench's "batch   N:   F flows/s" lines
flows() { awk -v b="$1" '$1 == "batch" && $2 == b":" { print $3 }' "$2" | commas; }

{
	echo "| model | architecture | parameters | blocked 5-fold CV: mean | worst fold | macro F1 | held-out sessions (second yardstick) | flows/s, batch 1 | flows/s, batch 256 | training time |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for m in "${models[@]}"; do
		cv=$results/$m-cv.json bench=$results/$m-bench.txt
		[ -f "$cv" ] || continue
		arch=$(grep -m1 'parameters$' "$bench" | sed 's/^[^:]*: //; s/, [0-9]* parameters$//')
		params=$(grep -m1 -o '[0-9]* parameters$' "$bench" | awk '{ print $1 }' | commas)
		secs=$(grep -o '([0-9.]* s)' "$results/$m-train.txt" | tr -d '()')
		echo "| ${label[$m]} | $arch | $params | **$(pct .accuracy.mean "$cv")** | $(pct .accuracy.min "$cv") | $(jq -r '.macro_f1.mean * 1000 | round / 1000' "$cv") | $(pct .accuracy "$results/$m-heldout.json") | $(flows 1 "$bench") | $(flows 256 "$bench") | $secs |"
	done
} > "$work/models"

{
	echo "| model | fold 1 | fold 2 | fold 3 | fold 4 | fold 5 | all windows pooled |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	for m in "${models[@]}"; do
		cv=$results/$m-cv.json
		[ -f "$cv" ] || continue
		echo "| ${label[$m]} | $(jq -r "$JQ_PCT"' [.folds[].accuracy | pct] | join(" | ")' "$cv") | $(pct .pooled.accuracy "$cv") |"
	done
} > "$work/folds"

cv=$results/default-cv.json
{
	echo "| threshold | coverage | accuracy | coverage, calibrated | accuracy, calibrated |"
	echo "| ---: | ---: | ---: | ---: | ---: |"
	jq -r "$JQ_PCT"' [.pooled.coverage, .calibrated.coverage] | transpose[] |
		"| \(.[0].threshold) | \(.[0].coverage | pct) | \(.[0].accuracy | pct) | \(.[1].coverage | pct) | \(.[1].accuracy | pct) |"' "$cv"
	echo
	echo "Temperature $(jq -r '.calibrated.temperature * 1000 | round / 1000' "$cv") (stored in the shipped file); expected calibration error $(jq -r '.pooled.ece * 10000 | round / 10000' "$cv") before, $(jq -r '.calibrated.ece * 10000 | round / 10000' "$cv") after (15 bins); negative log-likelihood $(jq -r '.pooled.nll * 10000 | round / 10000' "$cv") before, $(jq -r '.calibrated.nll * 10000 | round / 10000' "$cv") after."
} > "$work/calibration"

{
	echo "| true \\ predicted | $(jq -r '.classes | join(" | ")' "$cv") | recall |"
	echo "| --- |$(jq -r '[.classes[] | " ---: "] | join("|")' "$cv")| ---: |"
	jq -r '.classes as $c | .pooled.confusion | to_entries[] | .key as $i | .value as $row |
		"| \($c[$i]) | \([$row | to_entries[] | if .key == $i then "**\(.value)**" else "\(.value)" end] | join(" | ")) | \($row[$i] / ($row | add) * 1000 | round / 1000) |"' "$cv"
} > "$work/confusion"

# The candidates trained beyond ISCX (tools/beyond_iscx.sh), on what each
# has not seen; the shipped default beside them.
beyond=$results/beyond
{
	echo "| variant | held-out applications: mean (worst) | their windows pooled | first windows | named (not Unknown): share, right | ISCX blocked CV, lab beside | nDPI first windows | nDPI every window: named, right |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	named() { jq -r "$JQ_PCT"' if .unknown == null then "every window" else
		"\(.unknown.share | pct), \(.unknown.accuracy | pct)" end' "$1"; }
	if [ -f "$beyond/default-shipped-lab.json" ]; then
		echo "| ${label[default]}, trained on ISCX alone | $(pct .accuracy "$beyond/default-shipped-lab.json") (every lab window: none seen) | - | - | $(named "$beyond/default-shipped-lab.json") | $(pct .accuracy.mean "$results/default-cv.json") (ISCX alone) | $(pct .accuracy "$beyond/default-shipped-ndpi-first.json") | $(pct .accuracy "$beyond/default-shipped-ndpi-all.json"); $(named "$beyond/default-shipped-ndpi-all.json") |"
	fi
	for apps in "$beyond"/*-apps.json; do
		[ -f "$apps" ] || continue
		v=$(basename "$apps" -apps.json)
		echo "| \`$v\`: \`$(cat "$beyond/$v-options.txt")\` | $(pct .apps.mean_accuracy "$apps") ($(jq -r "$JQ_PCT"' [.apps.each[].accuracy] | min | pct' "$apps")) | $(pct .pooled.accuracy "$apps") | $(pct .first_windows.accuracy "$apps") | $(named "$apps") | $(pct .accuracy.mean "$beyond/$v-iscx.json") (worst fold $(pct .accuracy.min "$beyond/$v-iscx.json")) | $(pct .accuracy "$beyond/$v-ndpi-first.json") | $(pct .accuracy "$beyond/$v-ndpi-all.json"); $(named "$beyond/$v-ndpi-all.json") |"
	done
} > "$work/beyond"

for section in models folds calibration confusion beyond; do
	grep -q "<!-- BEGIN $section -->" "$card" || { echo "model_card: $card has no '$section' section" >&2; exit 1; }
	awk -v name="$section" -v body="$work/$section" '
		$0 == "<!-- BEGIN " name " -->" { print; while ((getline line < body) > 0) print line; skip = 1; next }
		$0 == "<!-- END " name " -->" { skip = 0 }
		!skip' "$card" > "$work/card" && cp "$work/card" "$card"
done
echo "model_card: wrote the tables of $card"
