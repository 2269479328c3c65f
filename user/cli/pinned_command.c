/* SPDX-License-Identifier: MIT */
#include "pinned_command.h"

#include "cli.h"
#include "common/errmsg.h"

enum { OPT_JSON = 1, OPT_PIN_DIR };

const struct cli_option pinned_command_options[] = {
	CLI_OPTION(OPT_JSON, "json", 'J', NULL, "print JSON instead of text"),
	CLI_OPTION(OPT_PIN_DIR, "pin-dir", 'd', "DIR", "where the agent pinned its maps",
		   .def = XDP_DEFAULT_PIN_DIR),
	{ 0 },
};

bool pinned_command_start(const struct cli_command *cmd, int argc, char **argv, bool *json,
			  struct pinned *p, int *exit_code)
{
	const char *pin_dir = NULL;
	struct cli_parse cp;
	char err[ERRMSG_LEN];
	int id;

	*json = false;
	cli_parse_start(&cp, cmd, argc, argv);
	while ((id = cli_next(&cp)) > 0) {
		if (id == OPT_JSON)
			*json = true;
		else if (id == OPT_PIN_DIR)
			pin_dir = cp.arg;
	}
	if (id < 0) {
		*exit_code = cp.exit;
		return false;
	}
	if (pinned_open(pin_dir, p, err, sizeof(err))) {
		*exit_code = cli_fail("%s", err);
		return false;
	}
	return true;
}
