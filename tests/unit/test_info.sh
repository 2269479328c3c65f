#!/usr/bin/env bash
# odeflow info: a model's description (the default's without an argument),
# --path for scripts, one line and exit 1 for a file that is not a model.
set -uo pipefail
build=${1:-build}
out=$("$build/odeflow" info 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q '^arch ' <<<"$out" && grep -q '^window 20$' <<<"$out" &&
   grep -q '^classes VoIP Video File_Transfer Chat Browsing$' <<<"$out"; then
	echo "PASS info_describes_the_default_model"
else
	printf '%s\n' "$out"; echo "FAIL info_describes_the_default_model: status $rc"
fi
path=$("$build/odeflow" info --path)
if [ -f "$path" ] && [ "$("$build/odeflow" info "$path" | sed -n 's/^path //p')" = "$path" ]; then
	echo "PASS info_path_is_the_model_it_describes"
else
	echo "FAIL info_path_is_the_model_it_describes: '$path'"
fi
err=$("$build/odeflow" info /nonexistent.safetensors 2>&1); rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q 'nonexistent.safetensors' <<<"$err"; then
	echo "PASS info_refuses_a_missing_model"
else
	echo "FAIL info_refuses_a_missing_model: status $rc, '$err'"
fi
# --recipes: one line per shipped model, the default's first, each naming a
# file of models/ and the options of its architecture
out=$("$build/odeflow" info --recipes 2>&1); rc=$?
first=$(head -1 <<<"$out")
if [ $rc -eq 0 ] && [[ $first == "default iscx-reg-20.safetensors --arch odernn-emb "* ]] &&
   awk '!/ --arch / { bad = 1 } END { exit bad }' <<<"$out" &&
   while read -r _ file _; do [ -f "models/$file" ] || exit 1; done <<<"$out"; then
	echo "PASS info_recipes_name_the_shipped_models"
else
	printf '%s\n' "$out"; echo "FAIL info_recipes_name_the_shipped_models: status $rc"
fi
