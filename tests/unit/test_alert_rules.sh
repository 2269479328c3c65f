#!/usr/bin/env bash
# The shipped Prometheus alert rules (tools/monitoring/odeflow-alerts.yml):
# promtool finds them well formed, and each fires on the series of
# odeflow-alerts.test.yml that should fire it, and only there. (That they
# and the Grafana dashboard name only metrics the agent serves is
# test_metrics's; that Prometheus evaluates them on a live agent's series is
# test_ops_live's.)
set -uo pipefail
cd "$(dirname "$0")/../../tools/monitoring"
if ! command -v promtool >/dev/null; then
	echo "SKIP alert_rules: promtool is not installed (make deps: prometheus)"
	exit 0
fi
if out=$(promtool check rules odeflow-alerts.yml 2>&1); then
	echo "PASS alert_rules_check"
else
	echo "FAIL alert_rules_check: $out"
fi
if out=$(promtool test rules odeflow-alerts.test.yml 2>&1); then
	echo "PASS alert_rules_fire_when_they_should"
else
	echo "FAIL alert_rules_fire_when_they_should: $out"
fi
