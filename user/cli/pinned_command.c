/* SPDX-License-Identifier: MIT */
#include "pinned_command.h"

#include <limits.h>

#include "cli.h"
#include "common/errmsg.h"
#include "loader/instances.h"

enum { OPT_JSON = 1 };

const struct cli_option pinned_where_options[] = {
	CLI_OPTION(PINNED_OPT_IFACE, "iface", 'i', "IF",
		   "the instance on this interface (found among the pin dirs /sys/fs/bpf/odeflow "
		   "and /sys/fs/bpf/odeflow-*)"),
	CLI_OPTION(PINNED_OPT_PIN_DIR, "pin-dir", 'd', "DIR", "where the agent pinned its maps",
		   .def = "the instance's, else " XDP_DEFAULT_PIN_DIR),
	{ 0 },
};

const struct cli_option pinned_command_options[] = {
	CLI_OPTION(OPT_JSON, "json", 'J', NULL, "print JSON instead of text"),
	{ 0 },
};

bool pinned_where_take(struct pinned_where *w, int id, const char *arg)
{
	if (id == PINNED_OPT_PIN_DIR)
		w->pin_dir = arg;
	else if (id == PINNED_OPT_IFACE)
		w->iface = arg;
	else
		return false;
	return true;
}

int pinned_where_open(const struct pinned_where *w, struct pinned *p)
{
	char err[ERRMSG_LEN], dir[PATH_MAX];

	if (instances_choose(w->pin_dir, w->iface, dir, sizeof(dir), err, sizeof(err)) ||
	    pinned_open(dir, p, err, sizeof(err)))
		return cli_fail("%s", err);
	return 0;
}

bool pinned_command_start(const struct cli_command *cmd, int argc, char **argv, bool *json,
			  struct pinned *p, int *exit_code)
{
	struct pinned_where w = { 0 };
	struct cli_parse cp;
	int id;

	*json = false;
	cli_parse_start(&cp, cmd, argc, argv);
	while ((id = cli_next(&cp)) > 0)
		if (id == OPT_JSON)
			*json = true;
		else
			pinned_where_take(&w, id, cp.arg);
	if (id < 0) {
		*exit_code = cp.exit;
		return false;
	}
	if (cp.operands != argc) {
		*exit_code = cli_usage_error(&cp, "takes no operands");
		return false;
	}
	*exit_code = pinned_where_open(&w, p);
	return *exit_code == 0;
}
