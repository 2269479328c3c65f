#!/usr/bin/env bash
# odeflow train --arch trees, and the trees model through eval, classify and
# bench unchanged; options of the other kind refused; a trees file with a
# child index out of range or a cycle: one line, status 1, nothing written.
set -uo pipefail
build=${1:-build}
odeflow=${ODEFLOW:-$build/odeflow}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
model=$work/trees.safetensors

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

out=$("$odeflow" train --arch trees --data tests/data/iscx-small --rounds 10 --depth 3 --quiet \
	--out "$model" 2>&1)
if [ $? -eq 0 ] && [ -s "$model" ] && printf '%s' "$out" | grep -q '^trained 10 rounds, training accuracy'; then
	pass train_trees
else
	fail train_trees "$out"
fi

acc=$("$odeflow" eval --model "$model" --data tests/data/iscx-small --json 2>&1 | jq -r .accuracy)
events=$("$odeflow" classify --model "$model" tests/data/pcaps/youtube_quic.pcap 2>/dev/null |
	jq -r .class | grep -c .)
bench=$("$odeflow" bench --no-torch --runs 1 "$model" 2>&1 |
	grep -cE '^  batch +(1|16|256): +[1-9][0-9]* flows/s')
if awk -v a="$acc" 'BEGIN { exit !(a > 0.9) }' && [ "$events" -gt 0 ] && [ "$bench" -eq 3 ]; then
	pass trees_model_through_eval_classify_bench
else
	fail trees_model_through_eval_classify_bench "accuracy '$acc', $events events, $bench bench lines"
fi

err=$("$odeflow" train --arch trees --epochs 3 --data tests/data/iscx-small --out "$work/x" 2>&1)
rc=$?
err2=$("$odeflow" train --rounds 3 --data tests/data/iscx-small --out "$work/x" 2>&1)
rc2=$?
if [ $rc -eq 2 ] && [ "$err" = "odeflow train: --epochs does not apply to trees" ] && [ $rc2 -eq 2 ] &&
	[ "$err2" = "odeflow train: --rounds does not apply to odernn-emb" ] && [ ! -e "$work/x" ]; then
	pass train_refuses_options_of_the_other_kind
else
	fail train_refuses_options_of_the_other_kind "status $rc '$err', status $rc2 '$err2'"
fi

# Writes the int32 v over element 0 of tensor name of a copy of the model.
patch_i32() { # name value out
	local hlen off
	hlen=$(od -An -t u8 -N8 "$model" | tr -d ' ')
	off=$(dd if="$model" bs=1 skip=8 count="$hlen" 2>/dev/null | jq ".[\"$1\"].data_offsets[0]")
	cp "$model" "$3"
	printf "$2" | dd of="$3" bs=1 seek=$((8 + hlen + off)) conv=notrunc 2>/dev/null
}
patch_i32 trees.left '\x00\x00\x00\x00' "$work/cycle.safetensors"
patch_i32 trees.left '\xff\xff\xff\x7f' "$work/range.safetensors"
ok=1
for case in "cycle:a cycle" "range:outside the tree's nodes"; do
	file=$work/${case%%:*}.safetensors
	out=$("$odeflow" eval --model "$file" --data tests/data/iscx-small --plot "$work/plots" 2>"$work/err")
	rc=$?
	if [ $rc -ne 1 ] || [ -n "$out" ] || [ -e "$work/plots" ] || [ "$(wc -l < "$work/err")" -ne 1 ] ||
		! grep -q "${case#*:}" "$work/err"; then
		fail trees_file_errors "${case%%:*}: status $rc, stdout '$out', stderr '$(cat "$work/err")'"
		ok=0
	fi
done
[ $ok -eq 1 ] && pass trees_file_errors

err=$("$odeflow" bench --arch trees 2>&1)
rc=$?
if [ $rc -eq 1 ] && printf '%s' "$err" | grep -q 'trained, not initialised'; then
	pass bench_refuses_a_fresh_trees_model
else
	fail bench_refuses_a_fresh_trees_model "status $rc, '$err'"
fi
