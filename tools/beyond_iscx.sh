#!/usr/bin/env bash
# The candidates for a default trained beyond ISCX (issue 24), each judged
# only on what it has not seen, and the shipped default beside them:
#   tools/beyond_iscx.sh LAB ISCX NDPI_CAPTURES [NAME...]
# LAB: a lab data set with the app column in its index, e.g. made by
#   odeflow pcap2npy --labels labels.csv --max-windows 10 capture.pcap* -o lab1
# ISCX: the iscx-reg-20 folder; NDPI_CAPTURES: the folder of ../shared/pcaps.
# NAME: the variants to run (default all, the table below). For each:
# 1. held-out applications: odeflow cv --data LAB --also ISCX --split apps
#    --folds 2 (the ISCX windows in every fold's training windows, never
#    tested on): models/results/beyond/NAME-apps.json, with each fold's
#    Unknown threshold fitted on the other fold's applications;
# 2. ISCX blocked 5-fold CV, the lab's windows in every fold's training
#    windows: models/results/beyond/NAME-iscx.json;
# 3. trained on LAB and ISCX, calibrated on step 1's held-out predictions
#    (temperature, Unknown threshold), evaluated on the nDPI-labelled
#    directions of NDPI_CAPTURES (pcap2npy --label-ndpi: first windows,
#    every window): models/results/beyond/NAME-ndpi-first.json,
#    NAME-ndpi-all.json.
# The shipped default ("default-shipped") gets steps 3's evaluations and
# its evaluation on all of LAB (which it never saw): NAME-lab.json.
# One thread each (the machine is shared); the figures do not depend on
# timing. Then tools/model_card.sh writes the card's "beyond" table.
set -euo pipefail
cd "$(dirname "$0")/.."
lab=${1:?usage: tools/beyond_iscx.sh LAB ISCX NDPI_CAPTURES [NAME...]}
iscx=${2:?usage: tools/beyond_iscx.sh LAB ISCX NDPI_CAPTURES [NAME...]}
captures=${3:?usage: tools/beyond_iscx.sh LAB ISCX NDPI_CAPTURES [NAME...]}
shift 3
odeflow=${ODEFLOW:-build/odeflow}
out=models/results/beyond
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export OPENBLAS_NUM_THREADS=1

# NAME|training options (odeflow train and cv); the card shows them as written
variants=(
	"trees|--recipe trees --unknown confidence"
	"trees-balanced|--recipe trees --balance classes --unknown confidence"
)
names=("$@")
[ ${#names[@]} -gt 0 ] ||
	mapfile -t names < <(echo default-shipped; printf '%s\n' "${variants[@]}" | cut -d'|' -f1)
mkdir -p "$out"
"$odeflow" pcap2npy --label-ndpi --first-only "$captures"/*.pcap -o "$work/ndpi-first" >/dev/null 2>&1
"$odeflow" pcap2npy --label-ndpi "$captures"/*.pcap -o "$work/ndpi-all" >/dev/null 2>&1

evaluate() { # MODEL NAME
	for set in ndpi-first ndpi-all; do
		"$odeflow" eval --model "$1" --data "$work/$set" --json > "$out/$2-$set.json"
	done
}

for name in "${names[@]}"; do
	if [ "$name" = default-shipped ]; then
		model=$("$odeflow" info --path)
		echo "== $name ($model): the lab's windows, the nDPI-labelled directions"
		"$odeflow" eval --model "$model" --data "$lab" --json > "$out/$name-lab.json"
		evaluate "$model" "$name"
		continue
	fi
	line=$(printf '%s\n' "${variants[@]}" | grep "^$name|") ||
		{ echo "beyond_iscx: no variant '$name'" >&2; exit 1; }
	read -r -a opts <<< "${line#*|}"
	echo "== $name: held-out applications"
	"$odeflow" cv --data "$lab" --also "$iscx" --split apps --folds 2 --jobs 1 "${opts[@]}" \
		--json --predictions "$work/$name" > "$out/$name-apps.json"
	echo "== $name: ISCX blocked 5-fold cross-validation, the lab's windows beside"
	"$odeflow" cv --data "$iscx" --also "$lab" --folds 5 --jobs 1 "${opts[@]}" \
		--json > "$out/$name-iscx.json"
	echo "== $name: trained on both, evaluated on the nDPI-labelled directions"
	"$odeflow" train --data "$lab" --also "$iscx" "${opts[@]}" --quiet \
		--out "$work/$name.safetensors" > /dev/null
	"$odeflow" calibrate --model "$work/$name.safetensors" --predictions "$work/$name" > /dev/null
	evaluate "$work/$name.safetensors" "$name"
	printf '%s\n' "${line#*|}" > "$out/$name-options.txt"
done
bash tools/model_card.sh
