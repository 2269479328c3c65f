/* SPDX-License-Identifier: MIT */
/* odeflow detach: removes what a kept agent left on an interface. */
#include <limits.h>

#include "cli.h"
#include "common/errmsg.h"
#include "loader/detach.h"
#include "loader/instances.h"
#include "pinned_command.h"

ODEFLOW_COMMAND(detach,
	.summary = "detach what an agent run with --keep left on an interface",
	.description = "Stops odeflow enforcing on an interface after its agent has gone: an "
		       "agent run with --keep (or killed) leaves its sampler attached, enforcing "
		       "the verdicts it wrote, and its maps pinned. detach removes the sampler's "
		       "link (PIN_DIR/link_IF, at the XDP hook or at tcx), its place in libxdp's "
		       "dispatcher, and the pinned maps. On kernels where xdp-loader unload and "
		       "ip link set dev IF xdp off refuse (\"Can't replace active BPF XDP link\"), "
		       "removing PIN_DIR/link_IF is what detaches, and this does it. A running "
		       "agent is not touched: stop it, which detaches it.",
	.section = 8,
	.groups = { PINNED_WHERE_GROUP });

int cmd_detach(int argc, char **argv)
{
	struct pinned_where where = { 0 };
	char err[ERRMSG_LEN], said[ERRMSG_LEN], dir[PATH_MAX];
	struct cli_parse cp;
	int id;

	cli_parse_start(&cp, &command_detach, argc, argv);
	while ((id = cli_next(&cp)) > 0)
		pinned_where_take(&where, id, cp.arg);
	if (id < 0)
		return cp.exit;
	if (cp.operands != argc)
		return cli_usage_error(&cp, "takes no operands");
	if (instances_choose(where.pin_dir, where.iface, dir, sizeof(dir), err, sizeof(err)) ||
	    xdp_detach_kept(dir, where.iface, said, sizeof(said), err, sizeof(err)))
		return cli_fail("%s", err);
	printf("odeflow: %s\n", said);
	return 0;
}
