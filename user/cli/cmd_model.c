/* SPDX-License-Identifier: MIT */
/* odeflow model: show the running agent's model, or have it take another
 * one without a restart. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/clock.h"
#include "common/errmsg.h"
#include "loader/map_ops.h"
#include "loader/pinned.h"

enum { OPT_PIN_DIR = 1 };

/* How long the agent may take to load, check and warm a model. */
#define MODEL_LOAD_WAIT_S 30

static const struct cli_option options[] = {
	CLI_OPTION(OPT_PIN_DIR, "pin-dir", 'd', "DIR", "where the agent pinned its maps",
		   .def = XDP_DEFAULT_PIN_DIR),
	{ 0 },
};

ODEFLOW_COMMAND(model,
	.summary = "show the running model, or load another without a restart",
	.description = "Shows the model the running agent classifies with (show, the default: "
		       "its id and file), or has it take FILE in its place (load FILE): the agent "
		       "reads FILE, checks it (it must pass its self-check and have the running "
		       "model's classes and window), warms it beside the running one and swaps it "
		       "in between two batches; verdicts, connections and the policy stay. A model "
		       "it refuses changes nothing, and the reason is printed. Waits up to "
		       CLI_STR(MODEL_LOAD_WAIT_S) " s for the agent's answer. SIGHUP to the agent "
		       "reads the running model's file again.",
	.operands = { "[show]", "load FILE" },
	.groups = { { NULL, options } });

static int load(const struct pinned *p, const char *file)
{
	struct model_request q;
	char abs[PATH_MAX];
	uint64_t deadline;

	if (!realpath(file, abs))
		return cli_fail("%s: %s", file, strerror(errno));
	if (strlen(abs) >= sizeof(q.path))
		return cli_fail("%s: a path of at most %zu characters", abs, sizeof(q.path) - 1);
	if (xdp_read_model_request(p->fd[XDP_MAP_MODEL_LOAD], &q))
		return cli_fail("cannot read the model_load map: %s", strerror(errno));
	q.asked = (q.asked > q.answered ? q.asked : q.answered) + 1;
	snprintf(q.path, sizeof(q.path), "%s", abs);
	if (xdp_write_model_request(p->fd[XDP_MAP_MODEL_LOAD], &q))
		return cli_fail("cannot write the model_load map: %s", strerror(errno));
	deadline = monotonic_ns() + MODEL_LOAD_WAIT_S * NSEC_PER_SEC;
	for (;;) {
		struct model_request a;

		if (!xdp_read_model_request(p->fd[XDP_MAP_MODEL_LOAD], &a) && a.answered >= q.asked) {
			a.message[sizeof(a.message) - 1] = '\0';
			if (a.status)
				return cli_fail("%s", a.message);
			printf("the agent runs %s now, model id %08x\n", abs, a.model_id);
			return 0;
		}
		if (monotonic_ns() > deadline)
			return cli_fail("the agent did not answer within %d s (is it stuck?)",
					MODEL_LOAD_WAIT_S);
		usleep(20000);
	}
}

int cmd_model(int argc, char **argv)
{
	const char *pin_dir = NULL;
	struct model_request q;
	struct cli_parse cp;
	struct pinned p;
	char err[ERRMSG_LEN];
	char **args;
	int id, n, rc;

	cli_parse_start(&cp, &command_model, argc, argv);
	while ((id = cli_next(&cp)) > 0)
		if (id == OPT_PIN_DIR)
			pin_dir = cp.arg;
	if (id < 0)
		return cp.exit;
	args = argv + cp.operands;
	n = argc - cp.operands;
	if (!(n == 0 || (n == 1 && !strcmp(args[0], "show")) || (n == 2 && !strcmp(args[0], "load"))))
		return cli_usage_error(&cp, "show, or load FILE");
	if (pinned_open(pin_dir, &p, err, sizeof(err)))
		return cli_fail("%s", err);
	if (!pinned_agent_alive(&p)) {
		pinned_close(&p);
		return cli_fail("no agent runs with the maps in %s", pin_dir ? pin_dir :
				XDP_DEFAULT_PIN_DIR);
	}
	if (n == 2) {
		rc = load(&p, args[1]);
	} else if (xdp_read_model_request(p.fd[XDP_MAP_MODEL_LOAD], &q)) {
		rc = cli_fail("cannot read the model_load map: %s", strerror(errno));
	} else {
		q.running[sizeof(q.running) - 1] = '\0';
		/* the reloader's own record, current once a load is answered (the
		 * agent map follows within its publishing period) */
		printf("model %08x from %s\n", q.model_id ? q.model_id : p.agent.model_id,
		       q.running[0] ? q.running : "?");
		rc = 0;
	}
	pinned_close(&p);
	return rc;
}
