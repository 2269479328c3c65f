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
