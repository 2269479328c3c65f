#!/usr/bin/env bash
# odeflow bench: measures every batch size of a fresh model, and refuses bad options.
set -uo pipefail
build=${1:-build}
out=$("$build/odeflow" bench --arch odernn --hidden 8 --runs 1 --no-torch 2>&1)
rc=$?
lines=$(printf '%s\n' "$out" | grep -cE '^  batch +(1|16|256): +[1-9][0-9]* flows/s +[1-9][0-9]* bytes/window$')
if [ $rc -eq 0 ] && [ "$lines" -eq 3 ]; then
	echo "PASS bench_measures_three_batch_sizes"
else
	printf '%s\n' "$out"; echo "FAIL bench_measures_three_batch_sizes: status $rc, $lines result lines"
fi
err=$("$build/odeflow" bench --arch odernn --rk4-steps 0 2>&1)
rc=$?
if [ $rc -eq 2 ] && printf '%s' "$err" | grep -q -- '--rk4-steps'; then
	echo "PASS bench_rejects_bad_options"
else
	echo "FAIL bench_rejects_bad_options: status $rc, '$err'"
fi
err=$("$build/odeflow" bench --no-torch /nonexistent/m.safetensors 2>&1)
rc=$?
if [ $rc -eq 1 ] && printf '%s' "$err" | grep -q '/nonexistent/m.safetensors: cannot open'; then
	echo "PASS bench_names_an_unreadable_model"
else
	echo "FAIL bench_names_an_unreadable_model: status $rc, '$err'"
fi
