/* SPDX-License-Identifier: MIT */
/* odeflow run: the live agent on its interfaces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/classify_pool.h"
#include "agent/events_writer.h"
#include "agent/interfaces.h"
#include "cascade_args.h"
#include "cli.h"
#include "common/errmsg.h"
#include "common/hostport.h"
#include "common/log.h"
#include "engine/model_path.h"
#include "run_config.h"
#include "teach/site_dataset.h"

enum {
	OPT_IFACE = 1, OPT_HOOK, OPT_XDP_MODE, OPT_REPLACE, OPT_MODEL, OPT_POLICY, OPT_PIN_DIR,
	OPT_EVENTS, OPT_EVENTS_MODE, OPT_EVENTS_PIPE, OPT_SKIP, OPT_THREADS, OPT_FLOWS, OPT_VERDICT_IDLE, OPT_KEEP,
	OPT_BUSY_POLL, OPT_METRICS, OPT_IPFIX, OPT_IPFIX_TRANSPORT, OPT_IPFIX_DOMAIN, OPT_QUIET,
	OPT_CONFIG, OPT_PRINT_CONFIG, OPT_DIRECTION, OPT_TEACH, OPT_CLASS_MAP, OPT_SITE,
	OPT_SITE_CAP, OPT_LEARN_EVERY,
};

/* --iface arguments one agent takes (each a name or a glob). */
#define MAX_IFACE_ARGS 64

CLI_CHOICES(hook_choice, { "xdp", NULL },
	    { "tcx", "TC ingress through a tcx link, kernel 6.6 and later, chained with the "
		     "interface's other tc/tcx programs" })
CLI_CHOICES(direction_choice, { "both", "what arrives and what leaves" },
	    { "in", "what arrives, at --hook" },
	    { "out", "what leaves, at TC egress through a tcx link (kernel 6.6 and later)" })
CLI_CHOICES(xdp_mode_choice, { "auto", "native, else generic" }, { "native", NULL },
	    { "generic", NULL })
CLI_CHOICES(transport_choice, { "udp", NULL }, { "tcp", NULL })

static const struct cli_option options[] = {
	CLI_OPTION(OPT_IFACE, "iface", 'i', "IF",
		   "interface to attach to; again for more, or a glob ('ens*', quoted) for every "
		   "interface it names, now and when one appears", .required = true),
	CLI_OPTION(OPT_HOOK, "hook", 'H', "HOOK", "where to see what arrives", .def = "xdp",
		   .choice = hook_choice),
	CLI_OPTION(OPT_DIRECTION, "direction", 'D', "DIR",
		   "what to sample and enforce (without tcx, both is in, said in one line)",
		   .def = "both", .choice = direction_choice),
	CLI_OPTION(OPT_XDP_MODE, "xdp-mode", 'x', "MODE", "how to attach XDP", .def = "auto",
		   .choice = xdp_mode_choice),
	CLI_OPTION(OPT_REPLACE, "replace", 'r', NULL,
		   "detach the XDP program another tool attached, take its place"),
	CLI_OPTION(OPT_MODEL, "model", 'm', "FILE", "the model",
		   .def = MODEL_DEFAULT_FILE " of the shipped models",
		   .def_fn = model_default_path),
	CLI_OPTION(OPT_POLICY, "policy", 'p', "FILE", "per-class policy; SIGHUP reloads it",
		   .def = "every class passes"),
	CLI_OPTION(OPT_PIN_DIR, "pin-dir", 'd', "DIR", "where the maps are pinned",
		   .def = XDP_DEFAULT_PIN_DIR),
	CLI_OPTION(OPT_EVENTS, "events", 'e', "FILE|-",
		   "one JSON object per decision; an existing FILE must be a regular file of this "
		   "user (never a symlink followed)"),
	CLI_OPTION(OPT_EVENTS_MODE, "events-mode", 0, "MODE",
		   "octal mode of an events file the agent creates", .def = "0600"),
	CLI_OPTION(OPT_EVENTS_PIPE, "events-pipe", 0, NULL,
		   "the events path may be a FIFO or a Unix stream socket"),
	CLI_OPTION(OPT_SKIP, "skip", 's', "K", "packets of each direction before its first window",
		   .def = "what the model's window_start says; at most "
			  CLI_STR(ODEFLOW_MAX_SKIP)),
	CLI_OPTION(OPT_THREADS, "threads", 'j', "N", "classification threads",
		   .def = "number of CPUs - 1, at least 1"),
	CLI_OPTION(OPT_FLOWS, "flows", 'c', "N",
		   "flow directions sampled at once in the kernel; its verdicts map holds "
		   CLI_STR(ODEFLOW_VERDICTS_PER_FLOW) " times as many connections",
		   .def = CLI_STR(ODEFLOW_DEFAULT_FLOWS)),
	CLI_OPTION(OPT_VERDICT_IDLE, "verdict-idle", 0, "DURATION",
		   "a connection no packet has come for this long loses its verdict in the "
		   "kernel (and is classified again if it comes back), whether the agent runs or "
		   "not: a number and s, m, h or d; 0: never",
		   .def = CLI_STR(ODEFLOW_VERDICT_IDLE_S) "s"),
	CLI_OPTION(OPT_KEEP, "keep", 'k', NULL,
		   "on exit leave the program attached, enforcing, and the maps pinned: the next run "
		   "takes it over without a gap; odeflow detach removes it"),
	CLI_OPTION(OPT_BUSY_POLL, "busy-poll", 'b', NULL,
		   "read the ring without ever sleeping: spends a CPU so that no window waits for, "
		   "or pays for, waking the agent"),
	CLI_OPTION(OPT_METRICS, "metrics", 0, "ADDR:PORT",
		   "serve Prometheus metrics at http://ADDR:PORT/metrics (127.0.0.1:9464, "
		   "[::1]:9464)",
		   .def = "off"),
	CLI_OPTION(OPT_IPFIX, "ipfix", 0, "HOST:PORT",
		   "export one IPFIX record per decision to this collector"),
	CLI_OPTION(OPT_IPFIX_TRANSPORT, "ipfix-transport", 0, "P", "IPFIX over", .def = "udp",
		   .choice = transport_choice),
	CLI_OPTION(OPT_IPFIX_DOMAIN, "ipfix-domain", 0, "N",
		   "the IPFIX observation domain of the records (0..4294967295), which tells "
		   "instances apart at the collector",
		   .def = "the interface's index"),
	CLI_OPTION(OPT_QUIET, "quiet", 'q', NULL, "no status lines on standard error"),
	CLI_OPTION(OPT_CONFIG, "config", 'C', "FILE",
		   "the options in FILE (NAME VALUE lines, odeflow.conf) stand here: what comes "
		   "later wins; -/FILE: only if FILE exists"),
	CLI_OPTION(OPT_PRINT_CONFIG, "print-config", 0, NULL,
		   "print every option as a commented configuration file, and exit"),
	{ 0 },
};

/* Where the labelled windows go by default, named by interface. */
#define SITE_DEFAULT_DIR "/var/lib/odeflow/site-"

static const struct cli_option teach_options[] = {
	CLI_OPTION(OPT_TEACH, "teach", 0, "RATE",
		   "nDPI labels this share (0 to 1) of new connections, chosen by a keyed hash no "
		   "sender can aim at, from copies of their first " CLI_STR(ODEFLOW_TEACH_PACKETS)
		   " packets each way (payloads stay in memory): a final verdict the model is unsure "
		   "of takes nDPI's class (stage dpi), stats and metrics count how often model and "
		   "nDPI agree per class, and the labelled windows go to the site data set "
		   "(odeflow learn)", .def = "0: off"),
	CLI_OPTION(OPT_CLASS_MAP, "class-map", 0, "FILE",
		   "which of the model's classes each nDPI protocol is (the syntax of pcap2npy "
		   "--label-ndpi)", .def = CLASS_MAP_DEFAULT_FILE " of the shipped models",
		   .def_fn = class_map_default_path),
	CLI_OPTION(OPT_SITE, "site", 0, "DIR",
		   "the site data set: labelled windows, mode 0600, in a directory of root's",
		   .def = SITE_DEFAULT_DIR "IF"),
	CLI_OPTION(OPT_SITE_CAP, "site-cap", 0, "MIB",
		   "the site data set's size on disk; the oldest windows go first",
		   .def = CLI_STR(SITE_DEFAULT_CAP_MIB)),
	CLI_OPTION(OPT_LEARN_EVERY, "learn-every", 0, "DURATION",
		   "with --teach, every DURATION (90s, 5m, 2h) fine-tune the running model on the "
		   "site data set (odeflow learn, at the idle scheduling class) and take the result "
		   "without a restart when it is better on the newest windows", .def = "never"),
	{ 0 },
};

ODEFLOW_COMMAND(run,
	.summary = "attach to an interface, classify its flows, enforce the policy",
	.description = "The agent: attaches the XDP sampler to interfaces, classifies the "
		       "first packets of each flow direction in batches with the model, writes "
		       "each verdict into the pinned verdict map and enforces the policy of its "
		       "class in the kernel. A verdict is final once its confidence reaches "
		       "--threshold, or after --max-windows windows. It runs until SIGINT or "
		       "SIGTERM; SIGHUP reloads the policy file and the model's (odeflow model load "
		       "FILE takes another model). Status lines go to standard error, "
		       "with journald's level prefixes when that is the journal.\n"
		       "It needs root (CAP_BPF and CAP_NET_ADMIN). odeflow flows, stats, top and "
		       "policy read and change what it left in the pinned maps; odeflow detach "
		       "removes what a --keep run left.\n"
		       "Options may also come from files (--config): odeflow@IF.service reads "
		       "/etc/odeflow/odeflow.conf, then /etc/odeflow/odeflow-IF.conf, each line an "
		       "option's long name and its value; --print-config prints them all. An error "
		       "in the setup is one line, said before anything else: exit status 2 for an "
		       "option or value that cannot do, 1 for a start that fails.\n"
		       "Under a flood: one-packet flows (scans, spoofed sources) take no state in "
		       "the kernel. More live connections than the maps hold (--flows directions, "
		       CLI_STR(ODEFLOW_VERDICTS_PER_FLOW) " times as many verdicts) evict the state used longest ago: a connection "
		       "whose verdict is evicted stays enforced from its direction's state while "
		       "that lasts; one that lost both passes at most one window of N packets (and "
		       "what arrives while the agent answers) before it is enforced again, never "
		       "more. Every such eviction is counted (enforced_evicted in odeflow stats, "
		       "odeflow_enforced_evicted_total in the metrics): raise --flows when it "
		       "grows.",
	.section = 8,
	.groups = { { NULL, options }, CASCADE_ARGS_GROUP,
		    { "learning the site (user/teach/README.md)", teach_options } });

int cmd_run(int argc, char **argv)
{
	static const enum xdp_mode modes[] = { XDP_MODE_AUTO, XDP_MODE_NATIVE, XDP_MODE_GENERIC };
	static const unsigned directions[] = { PORT_INGRESS | PORT_EGRESS, PORT_INGRESS,
					       PORT_EGRESS };
	static const char *ifaces[MAX_IFACE_ARGS];
	static char label[256];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct agent_options o = {
		.mode = XDP_MODE_AUTO, .model_path = model_default_path(),
		.pin_dir = XDP_DEFAULT_PIN_DIR,
		.threads = cpus > POOL_MAX_THREADS ? POOL_MAX_THREADS : cpus > 1 ? (int)cpus - 1 : 1,
		.flow_capacity = ODEFLOW_DEFAULT_FLOWS, .verdict_idle_ns = ODEFLOW_VERDICT_IDLE_NS,
		.events_mode = EVENTS_DEFAULT_MODE, .skip = -1, .ifaces = ifaces,
		.directions = PORT_INGRESS | PORT_EGRESS,
		.class_map = class_map_default_path(), .site_cap = SITE_DEFAULT_CAP_MIB << 20,
	};
	static char site[4096];
	bool mode_given = false;
	struct cli_parse p;
	char err[ERRMSG_LEN];
	long flows, mib;
	double v;
	int id, choice;

	cascade_args_defaults(&o.cascade, 0); /* remembers --flows connections */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--print-config")) {
			run_config_template(stdout, &command_run, "config", "print-config");
			return 0;
		}
	cli_parse_start(&p, &command_run, argc, argv); /* names the command in log lines */
	if (run_config_expand(&command_run, "config", argc, argv, &argc, &argv, err, sizeof(err))) {
		log_line(LOG_LEVEL_ERR, "%s", err); /* a value that does not do: one line */
		return CLI_EXIT_USAGE;
	}
	cli_parse_start(&p, &command_run, argc, argv);
	while ((id = cli_next(&p)) > 0) {
		if (cascade_args_option(&p, id, &o.cascade))
			continue;
		switch (id) {
		case OPT_IFACE:
			if (o.n_ifaces == MAX_IFACE_ARGS)
				cli_bad_value(&p, "one --iface too many: give a glob");
			else if (!*p.arg || strlen(p.arg) >= IF_NAMESIZE)
				cli_bad_value(&p, "an interface name or glob (at most 15 characters)");
			else
				ifaces[o.n_ifaces++] = p.arg;
			break;
		case OPT_DIRECTION:
			if (!cli_choice(&p, &choice))
				o.directions = directions[choice];
			break;
		case OPT_XDP_MODE:
			mode_given = true;
			if (!cli_choice(&p, &choice))
				o.mode = modes[choice];
			break;
		case OPT_HOOK:
			if (!cli_choice(&p, &choice))
				o.hook = choice ? XDP_HOOK_TCX : XDP_HOOK_XDP;
			break;
		case OPT_REPLACE: o.replace = true; break;
		case OPT_METRICS:
		case OPT_IPFIX: /* what does not parse is a bad value; what does not resolve fails later */
			if (hostport_check(p.arg, err, sizeof(err))) {
				char what[ERRMSG_LEN + 16];

				snprintf(what, sizeof(what), "HOST:PORT (%s)", err);
				cli_bad_value(&p, what);
			}
			else if (id == OPT_METRICS)
				o.metrics_listen = p.arg;
			else
				o.ipfix_collector = p.arg;
			break;
		case OPT_IPFIX_TRANSPORT:
			if (!cli_choice(&p, &choice))
				o.ipfix_transport = choice ? IPFIX_TCP : IPFIX_UDP;
			break;
		case OPT_IPFIX_DOMAIN: {
			long domain;

			if (!cli_long(&p, 0, UINT32_MAX, &domain)) {
				o.ipfix_domain = (uint32_t)domain;
				o.ipfix_domain_given = true;
			}
			break;
		}
		case OPT_MODEL: o.model_path = p.arg; break;
		case OPT_POLICY: o.policy_path = p.arg; break;
		case OPT_PIN_DIR: /* its place and its file system are checked when the maps are pinned */
			if (p.arg[0] != '/' || strlen(p.arg) >= XDP_PIN_DIR_MAX)
				cli_bad_value(&p, "an absolute path of fewer than " CLI_STR(XDP_PIN_DIR_MAX)
					      " characters on bpffs");
			o.pin_dir = p.arg;
			break;
		case OPT_EVENTS: o.events_path = p.arg; break;
		case OPT_EVENTS_MODE: {
			char *end;
			unsigned long mode = strtoul(p.arg, &end, 8);

			if (!*p.arg || *end || mode > 0777)
				cli_bad_value(&p, "an octal mode from 0 to 0777");
			o.events_mode = (unsigned)mode;
			break;
		}
		case OPT_EVENTS_PIPE: o.events_pipe = true; break;
		case OPT_SKIP: cli_int(&p, 0, ODEFLOW_MAX_SKIP, &o.skip); break;
		case OPT_THREADS: cli_int(&p, 1, POOL_MAX_THREADS, &o.threads); break;
		case OPT_FLOWS:
			if (!cli_long(&p, 1024, 1L << 26, &flows))
				o.flow_capacity = (unsigned)flows;
			break;
		case OPT_VERDICT_IDLE:
			if (!cli_duration(&p, 0, (double)(XDP_MAX_VERDICT_IDLE_NS / NSEC_PER_SEC), &v)) {
				if (v > 0 && v < 1)
					cli_bad_value(&p, "0 (never) or a second or more");
				o.verdict_idle_ns = (uint64_t)(v * NSEC_PER_SEC);
			}
			break;
		case OPT_KEEP: o.keep = true; break;
		case OPT_CONFIG: break; /* expanded above */
		case OPT_PRINT_CONFIG: break;
		case OPT_BUSY_POLL: o.busy_poll = true; break;
		case OPT_QUIET: o.quiet = true; break;
		case OPT_TEACH: cli_double(&p, 0, 1, false, &o.teach_rate); break;
		case OPT_CLASS_MAP: o.class_map = p.arg; break;
		case OPT_SITE: o.site_dir = p.arg; break;
		case OPT_SITE_CAP:
			if (!cli_long(&p, SITE_MIN_CAP_BYTES >> 20, 1L << 30, &mib))
				o.site_cap = (uint64_t)mib << 20;
			break;
		case OPT_LEARN_EVERY:
			if (!cli_duration(&p, 10, 30 * 86400, &v))
				o.learn_every_ns = (uint64_t)(v * NSEC_PER_SEC);
			break;
		}
	}
	if (id < 0)
		return p.exit;
	interfaces_label(ifaces, o.n_ifaces, label, sizeof(label));
	o.iface = label;
	if (o.hook == XDP_HOOK_TCX && (mode_given || o.replace))
		return cli_usage_error(&p, "--%s applies to --hook xdp only",
				       mode_given ? "xdp-mode" : "replace");
	if (o.learn_every_ns && !(o.teach_rate > 0))
		return cli_usage_error(&p, "--learn-every learns from what --teach labels: give both");
	if (geteuid() != 0)
		return cli_fail("needs root (CAP_BPF and CAP_NET_ADMIN) to load XDP programs");
	if (o.teach_rate > 0 && !o.site_dir) {
		snprintf(site, sizeof(site), SITE_DEFAULT_DIR "%s", o.iface);
		o.site_dir = site;
	}
	return agent_run(&o);
}
