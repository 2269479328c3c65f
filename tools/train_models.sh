#!/usr/bin/env bash
# Reproduces every shipped model and every number of models/README.md:
#   tools/train_models.sh [DATA] [BUILD] [NAME...]
# DATA: the iscx-reg-20 folder (default ../shared/data/iscx-reg-20, beside
# this checkout); BUILD: the build folder (default build); NAME: the models
# to redo (default all of them: default odernn lstm-ode lstm trees). For each:
# 1. blocked 5-fold cross-validation of its recipe (odeflow cv):
#    models/results/NAME-cv.json, its held-out predictions kept for step 3;
# 2. the second yardstick: trained on a session-disjoint 85% of DATA (seed
#    2026), evaluated on the other 15%: models/results/NAME-heldout.json;
# 3. the shipped file: the recipe on all of DATA, then calibrated with the
#    temperature that fits step 1's held-out predictions (odeflow calibrate);
#    training time in models/results/NAME-train.txt;
# 4. its speed (odeflow bench, one thread): models/results/NAME-bench.txt.
# Then tools/model_card.sh writes the card's tables from those files.
# Timings depend on the machine and on what else runs on it.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/iscx-reg-20}
odeflow=${2:-build}/odeflow
shift $(($# < 2 ? $# : 2))
names=("${@:-default odernn lstm-ode lstm trees}")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# The recipe of each shipped model: architecture and training options.
declare -A recipe=(
	[default]="--arch odernn-emb --hidden 24 --ode-hidden 16 --rk4-steps 1 --members 2 --epochs 40 --val-frac 0 --schedule onecycle --warmup 12 --lr 3e-3 --lr-min 1e-8 --weight-decay 0.01 --label-smoothing 0.1 --dropout 0.2 --time-jitter 0.2"
	[odernn]="--arch odernn --hidden 24 --rk4-steps 1 --epochs 60 --val-frac 0 --time-jitter 0.2"
	[lstm-ode]="--arch lstm-ode --epochs 60 --val-frac 0"
	[lstm]="--arch lstm --epochs 200 --val-frac 0 --lr 1e-2 --lr-min 1e-4"
	[trees]="--arch trees --rounds 300 --depth 4 --eta 0.1"
)
declare -A file=(
	[default]=models/iscx-reg-20.safetensors
	[odernn]=models/iscx-reg-20-odernn.safetensors
	[lstm-ode]=models/iscx-reg-20-lstm-ode.safetensors
	[lstm]=models/iscx-reg-20-lstm.safetensors
	[trees]=models/iscx-reg-20-trees.safetensors
)

mkdir -p models/results
"$odeflow" split --data "$data" --frac 0.15 --seed 2026 --rest "$work/dev" --held "$work/test"
# shellcheck disable=SC2068 # the default list splits into words
for name in ${names[@]}; do
	[ -n "${recipe[$name]:-}" ] || { echo "train_models: no model '$name'" >&2; exit 1; }
	echo "== $name: blocked 5-fold cross-validation"
	# shellcheck disable=SC2086 # the recipe is a list of options
	"$odeflow" cv --data "$data" --folds 5 --jobs 2 ${recipe[$name]} --json \
		--predictions "$work/$name" > "models/results/$name-cv.json"
	echo "== $name: trained on dev, evaluated on the held-out sessions"
	# shellcheck disable=SC2086
	"$odeflow" train --data "$work/dev" ${recipe[$name]} --quiet --out "$work/$name.safetensors"
	"$odeflow" eval --model "$work/$name.safetensors" --data "$work/test" --json \
		> "models/results/$name-heldout.json"
	echo "== $name: the shipped model, trained on all of $data"
	# shellcheck disable=SC2086
	"$odeflow" train --data "$data" ${recipe[$name]} --quiet --out "${file[$name]}" |
		tee "models/results/$name-train.txt"
	"$odeflow" calibrate --model "${file[$name]}" --predictions "$work/$name"
	"$odeflow" bench --no-torch "${file[$name]}" | tee "models/results/$name-bench.txt"
done
bash tools/model_card.sh
