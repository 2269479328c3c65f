/* SPDX-License-Identifier: MIT */
/* odeflow run: the live agent on one interface. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/cascade.h"
#include "agent/events_writer.h"
#include "cli.h"
#include "command.h"
#include "engine/model_path.h"

ODEFLOW_COMMAND(run, "attach to an interface, classify its flows, enforce the policy")

static void usage(FILE *out)
{
	fprintf(out,
		"usage: odeflow run --iface IF [options]\n"
		"  -i, --iface IF          interface to attach to (required)\n"
		"  -H, --hook HOOK         xdp, or tcx: TC ingress through a tcx link (kernel 6.6+),\n"
		"                          chained with the interface's other tc/tcx programs [xdp]\n"
		"  -x, --xdp-mode MODE     auto (native, else generic), native or generic [auto]\n"
		"  -r, --replace           detach the XDP program another tool attached, take its place\n"
		"  -m, --model FILE        model [%s]\n"
		"  -p, --policy FILE       per-class policy; SIGHUP reloads it [every class passes]\n"
		"  -d, --pin-dir DIR       where the maps are pinned [" XDP_DEFAULT_PIN_DIR "]\n"
		"  -e, --events FILE|-     one JSON object per decision; an existing FILE must be a\n"
		"                          regular file of this user (never a symlink followed)\n"
		"      --events-mode MODE  octal mode of an events file the agent creates [0600]\n"
		"      --events-pipe       the events path may be a FIFO or a Unix stream socket\n"
		"  -s, --skip K            packets of each direction before its first window\n"
		"                          (0..%d) [what the model's window_start says]\n"
		"  -t, --threshold T       confidence a verdict needs to be final [%.2g]\n"
		"  -w, --max-windows K     windows a connection may take to get there [%d]\n"
		"  -j, --threads N         classification threads [number of CPUs - 1, at least 1]\n"
		"  -c, --flows N           flow directions tracked in the kernel [%u]\n"
		"  -k, --keep              on exit leave the program attached and the maps pinned\n"
		"  -b, --busy-poll         read the ring without ever sleeping: spends a CPU so that\n"
		"                          no window waits for, or pays for, waking the agent\n"
		"      --metrics ADDR:PORT serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		"                          (127.0.0.1:9464, [::1]:9464) [off]\n"
		"      --ipfix HOST:PORT   export one IPFIX record per decision to this collector\n"
		"      --ipfix-transport P udp or tcp [udp]\n"
		"  -q, --quiet             no status lines on standard error\n",
		model_default_path(), ODEFLOW_MAX_SKIP, (double)CASCADE_DEFAULT_THRESHOLD,
		CASCADE_DEFAULT_MAX_WINDOWS, ODEFLOW_DEFAULT_FLOWS);
}

static int parse_mode(const char *s, enum xdp_mode *mode)
{
	if (!strcmp(s, "auto"))
		*mode = XDP_MODE_AUTO;
	else if (!strcmp(s, "native"))
		*mode = XDP_MODE_NATIVE;
	else if (!strcmp(s, "generic"))
		*mode = XDP_MODE_GENERIC;
	else
		return -1;
	return 0;
}

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "iface", required_argument, NULL, 'i' },   { "xdp-mode", required_argument, NULL, 'x' },
		{ "hook", required_argument, NULL, 'H' },    { "replace", no_argument, NULL, 'r' },
		{ "metrics", required_argument, NULL, 'S' },
		{ "ipfix", required_argument, NULL, 'X' },
		{ "ipfix-transport", required_argument, NULL, 'T' },
		{ "model", required_argument, NULL, 'm' },   { "policy", required_argument, NULL, 'p' },
		{ "pin-dir", required_argument, NULL, 'd' }, { "events", required_argument, NULL, 'e' },
		{ "threshold", required_argument, NULL, 't' },
		{ "max-windows", required_argument, NULL, 'w' },
		{ "threads", required_argument, NULL, 'j' }, { "flows", required_argument, NULL, 'c' },
		{ "keep", no_argument, NULL, 'k' },          { "quiet", no_argument, NULL, 'q' },
		{ "busy-poll", no_argument, NULL, 'b' },     { "help", no_argument, NULL, 'h' },
		{ "events-mode", required_argument, NULL, 'M' },
		{ "events-pipe", no_argument, NULL, 'P' },
		{ "skip", required_argument, NULL, 's' },
		{ 0 },
	};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct agent_options o = {
		.mode = XDP_MODE_AUTO, .model_path = model_default_path(),
		.pin_dir = XDP_DEFAULT_PIN_DIR, .threshold = CASCADE_DEFAULT_THRESHOLD,
		.max_windows = CASCADE_DEFAULT_MAX_WINDOWS,
		.threads = cpus > 1 ? (int)cpus - 1 : 1, .flow_capacity = ODEFLOW_DEFAULT_FLOWS,
		.events_mode = EVENTS_DEFAULT_MODE, .skip = -1,
	};
	bool mode_given = false;
	double v;
	long flows;
	int c;

	while ((c = getopt_long(argc, argv, "i:H:x:rm:p:d:e:s:t:w:j:c:kbqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': o.iface = optarg; break;
		case 'x':
			mode_given = true;
			if (parse_mode(optarg, &o.mode)) {
				fprintf(stderr, "odeflow run: --xdp-mode must be auto, native or generic, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'H':
			if (strcmp(optarg, "xdp") && strcmp(optarg, "tcx")) {
				fprintf(stderr, "odeflow run: --hook must be xdp or tcx, not '%s'\n", optarg);
				return 2;
			}
			o.hook = strcmp(optarg, "tcx") ? XDP_HOOK_XDP : XDP_HOOK_TCX;
			break;
		case 'r': o.replace = true; break;
		case 'S': o.metrics_listen = optarg; break;
		case 'X': o.ipfix_collector = optarg; break;
		case 'T':
			if (strcmp(optarg, "udp") && strcmp(optarg, "tcp")) {
				fprintf(stderr, "odeflow run: --ipfix-transport must be udp or tcp, not '%s'\n",
					optarg);
				return 2;
			}
			o.ipfix_transport = strcmp(optarg, "tcp") ? IPFIX_UDP : IPFIX_TCP;
			break;
		case 'm': o.model_path = optarg; break;
		case 'p': o.policy_path = optarg; break;
		case 'd': o.pin_dir = optarg; break;
		case 'e': o.events_path = optarg; break;
		case 'M': {
			char *end;
			unsigned long mode = strtoul(optarg, &end, 8);

			if (!*optarg || *end || mode > 0777) {
				fprintf(stderr, "odeflow run: --events-mode '%s' is not an octal mode from 0 to 0777\n",
					optarg);
				return 2;
			}
			o.events_mode = (unsigned)mode;
			break;
		}
		case 'P': o.events_pipe = true; break;
		case 's':
			if (cli_int("odeflow run", "skip", optarg, 0, ODEFLOW_MAX_SKIP, &o.skip))
				return 2;
			break;
		case 't':
			if (cli_double("odeflow run", "threshold", optarg, 0, 1, false, &v))
				return 2;
			o.threshold = (float)v;
			break;
		case 'w':
			if (cli_int("odeflow run", "max-windows", optarg, 1, 64, &o.max_windows))
				return 2;
			break;
		case 'j':
			if (cli_int("odeflow run", "threads", optarg, 1, 64, &o.threads))
				return 2;
			break;
		case 'c':
			if (cli_long("odeflow run", "flows", optarg, 1024, 1L << 26, &flows))
				return 2;
			o.flow_capacity = (unsigned)flows;
			break;
		case 'k': o.keep = true; break;
		case 'b': o.busy_poll = true; break;
		case 'q': o.quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o.iface || optind != argc) {
		fprintf(stderr, "odeflow run: %s\n", o.iface ? "unexpected argument" : "--iface is required");
		usage(stderr);
		return 2;
	}
	if (o.hook == XDP_HOOK_TCX && (mode_given || o.replace)) {
		fprintf(stderr, "odeflow run: --%s applies to --hook xdp only\n",
			mode_given ? "xdp-mode" : "replace");
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "odeflow run: needs root (CAP_BPF and CAP_NET_ADMIN) to load XDP programs\n");
		return 1;
	}
	return agent_run(&o);
}
