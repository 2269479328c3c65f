#!/usr/bin/env bash
# Reproduces every shipped model and every number of models/README.md:
#   tools/train_models.sh [DATA] [BUILD] [NAME...]
# DATA: the iscx-reg-20 folder (default ../shared/data/iscx-reg-20, beside
# this checkout); BUILD: the build folder (default build); NAME: the models
# to redo (default all of them: the recipes of odeflow info --recipes). For each:
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
names=("$@")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# The recipe of each shipped model and its file, written once in C
# (user/train/recipe.c): "NAME FILE OPTIONS..." lines.
declare -A file=()
while read -r name model _; do
	file[$name]=models/$model
done < <("$odeflow" info --recipes)

[ ${#names[@]} -gt 0 ] || mapfile -t names < <("$odeflow" info --recipes | awk '{ print $1 }')
mkdir -p models/results
"$odeflow" split --data "$data" --frac 0.15 --seed 2026 --rest "$work/dev" --held "$work/test"
for name in "${names[@]}"; do
	[ -n "${file[$name]:-}" ] || { echo "train_models: no recipe '$name'" >&2; exit 1; }
	echo "== $name: blocked 5-fold cross-validation"
	"$odeflow" cv --data "$data" --folds 5 --jobs 2 --recipe "$name" --json \
		--predictions "$work/$name" > "models/results/$name-cv.json"
	echo "== $name: trained on dev, evaluated on the held-out sessions"
	"$odeflow" train --data "$work/dev" --recipe "$name" --quiet --out "$work/$name.safetensors"
	"$odeflow" eval --model "$work/$name.safetensors" --data "$work/test" --json \
		> "models/results/$name-heldout.json"
	echo "== $name: the shipped model, trained on all of $data"
	"$odeflow" train --data "$data" --recipe "$name" --quiet --out "${file[$name]}" |
		tee "models/results/$name-train.txt"
	"$odeflow" calibrate --model "${file[$name]}" --predictions "$work/$name"
	"$odeflow" bench --no-torch "${file[$name]}" | tee "models/results/$name-bench.txt"
done
bash tools/model_card.sh
