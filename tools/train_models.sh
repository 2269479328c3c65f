#!/usr/bin/env bash
# Reproduces the shipped models and the numbers in models/README.md:
#   tools/train_models.sh [DATA] [BUILD] [ARCH...]
# 1. splits DATA (default ../shared/data/iscx-reg-20, from the repository's
#    root) into a session-disjoint 85% "dev" and 15% "test" part (seed 2026);
# 2. for each architecture, trains on dev and evaluates on test (the held-out
#    accuracy in the model card, JSON in models/heldout-ARCH.json, plots of the
#    default in models/plots/);
# 3. trains the shipped model with the same recipe on all of DATA.
# Timings depend on the machine and on what else runs on it.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/iscx-reg-20}
odeflow=${2:-build}/odeflow
shift $(($# < 2 ? $# : 2))
archs=("${@:-odernn lstm-ode lstm trees}")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# The recipe of each shipped model: architecture and training options.
declare -A recipe=(
	[odernn]="--arch odernn --hidden 24 --rk4-steps 1 --epochs 60 --val-frac 0 --time-jitter 0.2 --threads 2"
	[lstm-ode]="--arch lstm-ode --epochs 60 --val-frac 0 --threads 2"
	[lstm]="--arch lstm --epochs 200 --val-frac 0 --lr 1e-2 --lr-min 1e-4 --threads 2"
	[trees]="--arch trees --rounds 300 --depth 4 --eta 0.1"
)
declare -A file=(
	[odernn]=models/iscx-reg-20.safetensors
	[lstm-ode]=models/iscx-reg-20-lstm-ode.safetensors
	[lstm]=models/iscx-reg-20-lstm.safetensors
	[trees]=models/iscx-reg-20-trees.safetensors
)

"$odeflow" split --data "$data" --frac 0.15 --seed 2026 --rest "$work/dev" --held "$work/test"
mkdir -p models/plots
# shellcheck disable=SC2068 # the default list splits into words
for arch in ${archs[@]}; do
	echo "== $arch: trained on dev, evaluated on the held-out sessions"
	# shellcheck disable=SC2086 # the recipe is a list of options
	"$odeflow" train --data "$work/dev" ${recipe[$arch]} --out "$work/$arch.safetensors" | tail -1
	"$odeflow" eval --model "$work/$arch.safetensors" --data "$work/test" --json \
		> "models/heldout-$arch.json"
	"$odeflow" eval --model "$work/$arch.safetensors" --data "$work/test" \
		$([ "$arch" = odernn ] && echo --plot models/plots)
	echo "== $arch: the shipped model, trained on all of $data"
	# shellcheck disable=SC2086
	"$odeflow" train --data "$data" ${recipe[$arch]} --out "${file[$arch]}" | tail -1
done
