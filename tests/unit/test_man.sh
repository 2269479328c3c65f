#!/usr/bin/env bash
# The manual pages (odeflow man): every command has one, in the section
# `odeflow man --list` names, its OPTIONS list the options of its --help in
# the same order, and groff renders every page without a warning.
set -uo pipefail
build=${1:-build}
odeflow="$build/odeflow"

# Option names in order: "--help" lines "  -x, --name ARG  text" and man
# lines ".TP" followed by "\fB\-x\fR, \fB\-\-name\fR ...".
help_options() { "$odeflow" "$1" --help | sed -n 's/^  \(-[a-zA-Z], \|    \)--\([a-z0-9-]*\).*/\2/p'; }
man_options() { "$odeflow" man "$1" | sed -n '/^\.TP$/{n;s/.*\\fB\\-\\-\([a-z0-9\\-]*\)\\fR.*/\1/p}' | sed 's/\\-/-/g'; }

commands=$("$odeflow" --help | sed -n 's/^  \([a-z0-9]*\)  .*/\1/p')
bad=
for c in $commands; do
	h=$(help_options "$c"); m=$(man_options "$c")
	if [ -z "$h" ] || [ "$h" != "$m" ]; then
		bad="$bad $c"; printf '%s --help: %s\nman: %s\n' "$c" "$(echo $h)" "$(echo $m)"
	fi
done
if [ -n "$commands" ] && [ -z "$bad" ]; then echo "PASS man_options_match_help"
else echo "FAIL man_options_match_help: $bad"; fi

want=$(printf 'odeflow 1\n'; for c in $commands; do
	case $c in run|detach) echo "odeflow-$c 8";; *) echo "odeflow-$c 1";; esac; done)
if [ "$("$odeflow" man --list)" = "$want" ]; then echo "PASS man_lists_a_page_per_command"
else echo "FAIL man_lists_a_page_per_command: $("$odeflow" man --list | tr '\n' ' ')"; fi

warned=
for c in "" $commands; do
	w=$("$odeflow" man $c | groff -man -Tutf8 -ww -z 2>&1)
	[ -n "$w" ] && warned="$warned ${c:-odeflow}: $w"
done
page=$("$odeflow" man run | groff -man -Tutf8 2>/dev/null | col -b)
if [ -z "$warned" ] && grep -q '^NAME' <<<"$page" && grep -q -- '-i, --iface IF' <<<"$page" &&
   grep -q '^EXIT STATUS' <<<"$page"; then
	echo "PASS man_pages_render_without_warnings"
else
	echo "FAIL man_pages_render_without_warnings:$warned"
fi

"$odeflow" man nosuch >/dev/null 2>&1; rc=$?
if [ $rc -eq 2 ]; then echo "PASS man_refuses_an_unknown_command"
else echo "FAIL man_refuses_an_unknown_command: status $rc"; fi
