#!/usr/bin/env bash
# Real captures labelled by nDPI: how many connections and directions each
# class gets from the default class map, and how a model does on them, on
# each direction's first window and on windows after K packets.
#   tools/ndpi_measure.sh CAPTURE_DIR [MODEL] [SKIPS]
# CAPTURE_DIR: full-payload captures (*.pcap); MODEL: default the shipped
# model (odeflow info --path); SKIPS: the K to try (default "0 5 10 20").
# For each K: pcap2npy --label-ndpi --first-only --skip K gives each
# direction's label (the label of its connection); odeflow classify
# --threshold 0 --skip K gives the model's class for the same window (the
# cascade's first, one-window decision). Accuracy counts directions. The
# time to a window is from a direction's first packet to its window's last
# packet (tcpdump's timestamps): what a later window costs before a verdict.
# Prints markdown for models/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: tools/ndpi_measure.sh CAPTURE_DIR [MODEL] [SKIPS]}
odeflow=${ODEFLOW:-build/odeflow}
model=${2:-$("$odeflow" info --path)}
skips=${3:-0 5 10 20}
N=$("$odeflow" info "$model" | awk '$1 == "window" { print $2 }')
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
captures=("$dir"/*.pcap)
classes="VoIP Video File_Transfer Chat Browsing"

echo "Captures: ${#captures[@]} files in $(basename "$dir")/ ($(cd "$dir" && ls *.pcap | tr '\n' ' '))"
echo "nDPI $("$odeflow" pcap2npy --help | sed -n 's/.*nDPI (\([0-9.]*\)).*/\1/p'), class map models/ndpi-classes.txt, model $(basename "$model")"
echo
echo "### Labels (every non-overlapping window, \`pcap2npy --label-ndpi --dry-run\`)"
echo
echo '```'
"$odeflow" pcap2npy --label-ndpi --dry-run "${captures[@]}" 2>/dev/null | sed -n '1,/^$/p;/^class/,/^$/p'
echo '```'

# Packet times of each direction, as "capture|src|dst|sport|dport t1 t2 ...".
for c in "${captures[@]}"; do
	tcpdump -nn -tt -q -r "$c" 2>/dev/null | awk -v f="$c" '
	$2 == "IP" || $2 == "IP6" {
		s = $3; d = $5; sub(/:$/, "", d)
		ns = split(s, a, "."); nd = split(d, b, ".")
		if (ns < 2 || nd < 2) next
		sp = a[ns]; dp = b[nd]
		sa = substr(s, 1, length(s) - length(sp) - 1); da = substr(d, 1, length(d) - length(dp) - 1)
		k = f "|" sa "|" da "|" sp "|" dp
		t[k] = t[k] " " $1
	}
	END { for (k in t) print k t[k] }'
done > "$tmp/times"

# One table row for skip K: the model's first-window class against the
# label, over the labelled directions (only those listed in $2, if given).
row() { # K [KEEP]
	local k=$1 keep=${2:-/dev/null}
	awk -F'[|,]' -v k="$k" -v n="$N" -v classes="$classes" -v keep="$keep" '
	FILENAME == keep { only[$0] = 1; filtered = 1; next }
	FILENAME ~ /events$/ { pred[$1 "|" $2 "|" $3 "|" $4 "|" $5] = $6; next }
	FILENAME ~ /times$/ {
		split($0, p, " "); key = p[1]; m = split($0, q, " ")
		if (m - 1 >= k + n) wait[key] = q[k + n + 1] - q[2]
		next
	}
	FNR > 1 {
		key = $2 "|" $3 "|" $4 "|" $5 "|" $6
		if (filtered && !(key in only)) next
		if (!(key in pred)) { missing++; next }
		total++; seen[$10]++; files[$2] = 1
		if (pred[key] == $10) { right++; hit[$10]++ }
		if (key in wait) waits[++nw] = wait[key]
	}
	END {
		nc = split(classes, cl, " ")
		nf = 0; for (f in files) nf++
		line = sprintf("| %d | %d (%d) | %.1f%% |", k, total, nf, total ? 100 * right / total : 0)
		for (i = 1; i <= nc; i++)
			line = line (seen[cl[i]] ? sprintf(" %.2f (%d) |", hit[cl[i]] / seen[cl[i]], seen[cl[i]]) : " - |")
		# median by insertion sort: a few hundred values
		for (i = 2; i <= nw; i++) { v = waits[i]; for (j = i - 1; j >= 1 && waits[j] > v; j--) waits[j + 1] = waits[j]; waits[j + 1] = v }
		med = nw ? (nw % 2 ? waits[(nw + 1) / 2] : (waits[nw / 2] + waits[nw / 2 + 1]) / 2) : 0
		print line sprintf(" %.2f s |", med)
		if (missing) printf "(%d labelled directions had no event)\n", missing > "/dev/stderr"
	}' "$keep" "$tmp/k$k.events" "$tmp/times" "$tmp/k${k}_index.csv"
}

header() {
	echo "| K | directions (captures) | accuracy | $(echo $classes | sed 's/ / recall | /g') recall | median time to the window |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
}

last=
for k in $skips; do
	"$odeflow" pcap2npy --label-ndpi --first-only --skip "$k" "${captures[@]}" \
		-o "$tmp/k$k" >/dev/null 2>"$tmp/k$k.err" || continue
	"$odeflow" classify --model "$model" --threshold 0 --skip "$k" "${captures[@]}" \
		2>/dev/null | jq -r '[.iface, .src, .dst, .sport, .dport, .class] | join("|")' \
		> "$tmp/k$k.events"
	last=$k
done
first=${skips%% *}
echo
echo "Labelled directions with a window after $first packets, by capture and nDPI protocol:"
echo
echo "| capture | class | nDPI protocol | directions |"
echo "| --- | --- | --- | --- |"
awk -F, 'FNR > 1 { n = split($2, a, "/"); c[a[n] " | " $10 " | " $11]++ }
	END { for (k in c) print "| " k " | " c[k] " |" }' "$tmp/k${first}_index.csv" | sort -t'|' -k3,3 -k2,2
echo
echo "### The model on each labelled direction's window after K packets (\`classify --threshold 0 --skip K\`)"
echo
header
for k in $skips; do [ -f "$tmp/k$k.events" ] && row "$k"; done
# The directions long enough for a window at the largest K have one at every K.
awk -F, 'FNR > 1 { print $2 "|" $3 "|" $4 "|" $5 "|" $6 }' "$tmp/k${last}_index.csv" > "$tmp/keep"
echo
echo "The same directions at every K (those with a window after $last packets):"
echo
header
for k in $skips; do [ -f "$tmp/k$k.events" ] && row "$k" "$tmp/keep"; done
echo
echo "Recall: the share of a class's directions the model called right (how many directions)."

# Every window, not only each direction's first: what the model was trained
# on ("any"), counted in windows.
echo
echo "### Every non-overlapping window (\`pcap2npy --label-ndpi [--skip $N]\`, \`odeflow eval\`)"
echo
echo "| windows | n | accuracy | $(echo $classes | sed 's/ / recall | /g') recall |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for s in 0 $N; do
	"$odeflow" pcap2npy --label-ndpi --skip "$s" "${captures[@]}" -o "$tmp/all$s" \
		>/dev/null 2>&1 || continue
	"$odeflow" eval --model "$model" --data "$tmp/all$s" --json | jq -r --arg c "$classes" \
		--arg what "$([ "$s" = 0 ] && echo "all" || echo "all but each direction's first")" '
		[$what, (.n | tostring), ((.accuracy * 1000 | round) / 10 | tostring) + "%"] +
		[($c | split(" "))[] as $k | .per_class[$k] |
		 if .support > 0 then "\((.recall * 100 | round) / 100) (\(.support))" else "-" end]
		| "| " + join(" | ") + " |"'
done
