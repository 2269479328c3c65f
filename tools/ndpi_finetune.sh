#!/usr/bin/env bash
# Does fine-tuning on a site's own captures pay? Leave one capture out: for
# each capture with nDPI-labelled directions, MODEL is fine-tuned (odeflow
# train --init) on the labelled windows of all the OTHER captures, then
# classifies the capture it never saw; the counts are pooled over the
# captures.
#   tools/ndpi_finetune.sh CAPTURE_DIR [MODEL] [SEEDS]
# MODEL: default the shipped model (odeflow info --path); SEEDS: the
# fine-tuning seeds (default "1 2 3"); each row gives the median over them
# and the range. Labels: pcap2npy --label-ndpi with the default class map.
# Rows: MODEL as it is; the prior alone (always the largest class of the
# other captures); MODEL fine-tuned on the others' first windows (what the
# sampler feeds: pcap2npy --first-only), or on all their windows; the same
# network trained from scratch on the others' first windows (same options,
# no --init: what starting from MODEL adds). Columns: the first window of
# each labelled direction classified alone (odeflow eval); the same
# directions as the operator sees them, the connection's first verdict
# (classify --threshold 0, as tools/ndpi_measure.sh counts: a direction
# whose connection its other direction decided takes that verdict); every
# non-overlapping window (eval). Every model here reads a direction's window
# from its first packet (window_start "any" or "first": skip 0), so the
# first windows are also the windows at the default position.
# Prints markdown for models/README.md. Timings do not matter: none is shown.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: tools/ndpi_finetune.sh CAPTURE_DIR [MODEL] [SEEDS]}
odeflow=${ODEFLOW:-build/odeflow}
model=${2:-$("$odeflow" info --path)}
seeds=${3:-1 2 3}
# Fine-tuning options, fixed before measuring: a lower peak rate than the
# default's training (3e-3), small batches for a few hundred windows, no
# validation hold-out (too few windows to stop early on), the default's
# regularisation.
recipe=(--epochs 30 --batch 16 --lr 1e-3 --lr-min 1e-5 --val-frac 0 --weight-decay 0.01
	--label-smoothing 0.1 --dropout 0.2 --time-jitter 0.2)
# From scratch: the shipped default's shape (its recipe, odeflow info --recipes).
scratch=(--recipe default)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
captures=("$dir"/*.pcap)

# Correct and total of `odeflow eval` (the confusion matrix's diagonal),
# then the correct and total of each class.
eval_counts() { # MODEL DATA
	"$odeflow" eval --model "$1" --data "$2" --json |
		jq -r '.confusion as $c | [range($c | length) as $i | $c[$i][$i]] as $d |
			[($d | add), .n] + ([range($c | length) as $i | $d[$i], ($c[$i] | add)])
			| map(tostring) | join(" ")'
}

# Directions whose first verdict is right: classify's events against the
# labels of the index (keys capture|src|dst|sport|dport).
verdict_counts() { # EVENTS INDEX
	awk -F'[|,]' 'FILENAME == ARGV[1] { pred[$1 "|" $2 "|" $3 "|" $4 "|" $5] = $6; next }
		FNR > 1 { n++; right += pred[$2 "|" $3 "|" $4 "|" $5 "|" $6] == $10 }
		END { print right + 0, n + 0 }' "$1" "$2"
}

classify_events() { # MODEL CAPTURE...
	local m=$1; shift
	"$odeflow" classify --model "$m" --threshold 0 "$@" 2>/dev/null |
		jq -r '[.iface, .src, .dst, .sport, .dport, .class] | join("|")'
}

# The prior: the largest class of the training index, right on how many
# rows of the test index (then by class, as eval_counts).
prior_counts() { # TRAIN_INDEX TEST_INDEX
	awk -F, -v classes="$classes" 'FILENAME == ARGV[1] { if (FNR > 1) c[$10]++; next }
		FNR == 1 { for (k in c) if (c[k] > best) { best = c[k]; top = k } }
		FNR > 1 { n++; right += $10 == top; seen[$10]++; hit[$10] += $10 == top }
		END { line = (right + 0) " " (n + 0); m = split(classes, cl, " ")
		      for (i = 1; i <= m; i++) line = line " " (hit[cl[i]] + 0) " " (seen[cl[i]] + 0)
		      print line }' "$1" "$2"
}

"$odeflow" pcap2npy --label-ndpi --first-only "${captures[@]}" -o "$tmp/first" >/dev/null 2>&1
"$odeflow" pcap2npy --label-ndpi "${captures[@]}" -o "$tmp/all" >/dev/null 2>&1
classes=$(jq -r '.classes | join(" ")' "$tmp/first_dataset.json")
mapfile -t labelled < <(awk -F, 'FNR > 1 && !seen[$2]++ { print $2 }' "$tmp/first_index.csv")

# Each held-out capture: its test sets, the others' training sets, the prior.
for c in "${labelled[@]}"; do
	b=$(basename "$c" .pcap)
	others=()
	for o in "${captures[@]}"; do [ "$o" = "$c" ] || others+=("$o"); done
	for w in first all; do
		opt=(); [ $w = first ] && opt=(--first-only)
		"$odeflow" pcap2npy --label-ndpi "${opt[@]}" "$c" -o "$tmp/$b.test.$w" >/dev/null 2>&1
		"$odeflow" pcap2npy --label-ndpi "${opt[@]}" "${others[@]}" -o "$tmp/$b.train.$w" \
			>/dev/null 2>&1
		prior_counts "$tmp/$b.train.${w}_index.csv" "$tmp/$b.test.${w}_index.csv" \
			>> "$tmp/prior.$w"
	done
done

# MODEL as it is, on every capture at once.
eval_counts "$model" "$tmp/first" > "$tmp/shipped.first"
eval_counts "$model" "$tmp/all" > "$tmp/shipped.all"
classify_events "$model" "${captures[@]}" > "$tmp/shipped.events"
verdict_counts "$tmp/shipped.events" "$tmp/first_index.csv" > "$tmp/shipped.verdict"

# The fine-tuned and scratch models, one per held-out capture and seed.
for s in $seeds; do
	for c in "${labelled[@]}"; do
		b=$(basename "$c" .pcap)
		for kind in ft-first ft-all scratch; do
			case $kind in
			ft-first) opt=(--init "$model"); data=first;;
			ft-all) opt=(--init "$model"); data=all;;
			scratch) opt=("${scratch[@]}"); data=first;;
			esac
			m=$tmp/$b.$kind.$s.safetensors
			nice -n 10 "$odeflow" train --data "$tmp/$b.train.$data" "${opt[@]}" "${recipe[@]}" \
				--seed "$s" --quiet --out "$m" >/dev/null
			eval_counts "$m" "$tmp/$b.test.first" >> "$tmp/$kind.$s.first"
			eval_counts "$m" "$tmp/$b.test.all" >> "$tmp/$kind.$s.all"
			classify_events "$m" "$c" >> "$tmp/$kind.$s.events"
			rm -f "$m"
		done
	done
	for kind in ft-first ft-all scratch; do
		verdict_counts "$tmp/$kind.$s.events" "$tmp/first_index.csv" > "$tmp/$kind.$s.verdict"
	done
done

# "right/n (pct%)" of a counts file (one "right n" line per capture).
pooled() { awk '{ r += $1; n += $2 } END { printf "%d/%d (%.1f%%)", r, n, n ? 100 * r / n : 0 }' "$1"; }
# The median and range over the seeds of a column.
over_seeds() { # KIND COLUMN
	for s in $seeds; do
		awk '{ r += $1; n += $2 } END { printf "%.4f %d %d\n", n ? r / n : 0, r, n }' "$tmp/$1.$s.$2"
	done | sort -n | awk '{ p[NR] = 100 * $1; r[NR] = $2; n = $3 }
		END { m = NR % 2 ? p[(NR + 1) / 2] : (p[NR / 2] + p[NR / 2 + 1]) / 2
		      if (NR == 1) printf "%d/%d (%.1f%%)", r[1], n, p[1]
		      else printf "%.1f%% (%.1f-%.1f)", m, p[1], p[NR] }'
}

nfirst=$(awk 'END { print NR - 1 }' "$tmp/first_index.csv")
nall=$(awk 'END { print NR - 1 }' "$tmp/all_index.csv")
echo "Leave one capture out over the ${#labelled[@]} captures of $(basename "$dir")/ with labelled"
echo "directions; $(basename "$model") fine-tuned with \`${recipe[*]}\`;"
echo "fine-tuned rows: median over seeds $seeds (range)."
echo
echo "| model | first windows, each alone ($nfirst) | first verdict of each direction ($nfirst) | every window ($nall) |"
echo "| --- | ---: | ---: | ---: |"
echo "| $(basename "$model") as shipped | $(pooled "$tmp/shipped.first") | $(pooled "$tmp/shipped.verdict") | $(pooled "$tmp/shipped.all") |"
echo "| the prior: the others' largest class | $(pooled "$tmp/prior.first") | $(pooled "$tmp/prior.first") | $(pooled "$tmp/prior.all") |"
for kind in ft-first ft-all scratch; do
	case $kind in
	ft-first) what="fine-tuned on the others' first windows";;
	ft-all) what="fine-tuned on all the others' windows";;
	scratch) what="from scratch on the others' first windows (no --init)";;
	esac
	echo "| $what | $(over_seeds $kind first) | $(over_seeds $kind verdict) | $(over_seeds $kind all) |"
done

# Each class's first windows: right of how many (sums over the captures).
by_class() { # COUNTS_FILE CLASS_INDEX
	awk -v k="$2" '{ r += $(2 * k + 3); n += $(2 * k + 4) } END { printf "%d/%d", r, n }' "$1"
}
echo
echo "First windows right, by class (fine-tuned: seeds $seeds):"
echo
echo "| class | shipped | prior | fine-tuned on first windows | on all windows | from scratch |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
k=0
for class in $classes; do
	row="| $class | $(by_class "$tmp/shipped.first" $k) | $(by_class "$tmp/prior.first" $k) |"
	for kind in ft-first ft-all scratch; do
		row="$row $(for s in $seeds; do by_class "$tmp/$kind.$s.first" $k; echo; done | paste -sd' ') |"
	done
	echo "$row"
	k=$((k + 1))
done

# Where it is right: each held-out capture's first windows.
echo
echo "First windows right, by held-out capture (fine-tuned: seeds $seeds):"
echo
echo "| held-out capture | classes (directions) | shipped | prior | fine-tuned on first windows | on all windows | from scratch |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
i=0
for c in "${labelled[@]}"; do
	i=$((i + 1))
	b=$(basename "$c" .pcap)
	held=$(awk -F, 'FNR > 1 { n[$10]++ } END { for (k in n) printf "%s%s %d", sep, k, n[k]; sep = ", " }' \
		"$tmp/$b.test.first_index.csv")
	shipped=$(eval_counts "$model" "$tmp/$b.test.first" | awk '{ print $1 }')
	row="| $b | $held | $shipped | $(sed -n "${i}p" "$tmp/prior.first" | awk '{ print $1 }') |"
	for kind in ft-first ft-all scratch; do
		row="$row $(for s in $seeds; do sed -n "${i}p" "$tmp/$kind.$s.first" | awk '{ print $1 }'; done | paste -sd/) |"
	done
	echo "$row"
done
