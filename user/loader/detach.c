/* SPDX-License-Identifier: MIT */
#include "detach.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/errmsg.h"
#include "map_ops.h"
#include "pin_dir.h"
#include "prog_maps.h"
#include "xdp_dispatcher.h"

/* Members of ifindex's dispatcher that use the map with map_id. */
#define MAX_MEMBERS 8

int xdp_detach_kept(const char *pin_dir, const char *ifname, char *said, size_t saidlen, char *err,
		    size_t errlen)
{
	struct agent_info a = { 0 };
	char iface[sizeof(a.iface) + 1], link[PATH_MAX];
	__u32 zero = 0, ids[MAX_MEMBERS], map_id;
	int agent_fd, verdicts_fd, members = 0, ifindex;
	bool had_link;

	agent_fd = xdp_open_pinned_map(pin_dir, XDP_MAP_AGENT, err, errlen);
	if (agent_fd < 0)
		return -1;
	bpf_map_lookup_elem(agent_fd, &zero, &a);
	close(agent_fd);
	snprintf(iface, sizeof(iface), "%s", ifname ? ifname : a.iface);
	if (xdp_agent_alive(&a))
		return errmsg(err, errlen, "odeflow (pid %u) runs on %s with the maps in %s: stop it "
			      "(systemctl stop odeflow@%s, or kill -TERM %u), which detaches it", a.pid,
			      iface, pin_dir, iface, a.pid);
	if (!iface[0])
		return errmsg(err, errlen, "no interface published in %s: say which with --iface IF",
			      pin_dir);
	ifindex = (int)if_nametoindex(iface);
	verdicts_fd = xdp_open_pinned_map(pin_dir, XDP_MAP_VERDICTS, err, errlen);
	if (verdicts_fd < 0)
		return -1;
	map_id = map_id_of(verdicts_fd);
	close(verdicts_fd);
	if (ifindex && map_id)
		members = dispatcher_members_using(ifindex, map_id, ids, MAX_MEMBERS);
	for (int i = 0; i < members; i++)
		if (dispatcher_remove_id(ifindex, ids[i], err, errlen))
			return -1;
	snprintf(link, sizeof(link), "%s/link_%s", pin_dir, iface);
	had_link = access(link, F_OK) == 0;
	/* a pinned link no process holds detaches when its pin goes */
	if (xdp_unpin(pin_dir, iface, err, errlen))
		return -1;
	snprintf(said, saidlen, "detached from %s: %s%s%sits maps in %s removed; nothing of "
		 "odeflow's enforces there now", iface, had_link ? "its link " : "",
		 members ? "its place in libxdp's dispatcher, " : had_link ? "and " : "",
		 had_link || members ? "" : "no sampler was attached; ", pin_dir);
	return 0;
}
