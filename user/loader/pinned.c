/* SPDX-License-Identifier: MIT */
#include "pinned.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/errmsg.h"

int pinned_open(const char *pin_dir, struct pinned *p, char *err, size_t errlen)
{
	char why[ERRMSG_LEN];

	memset(p, 0, sizeof(*p));
	for (int m = 0; m < XDP_MAP_COUNT; m++)
		p->fd[m] = -1;
	for (int m = 0; m < XDP_MAP_COUNT; m++) {
		p->fd[m] = xdp_open_pinned_map(pin_dir ? pin_dir : XDP_DEFAULT_PIN_DIR, m, why, sizeof(why));
		if (p->fd[m] < 0) {
			errmsg(err, errlen, "%s", why); /* the loader says to start the agent */
			pinned_close(p);
			return -1;
		}
	}
	pinned_refresh_agent(p);
	return 0;
}

void pinned_close(struct pinned *p)
{
	for (int m = 0; m < XDP_MAP_COUNT; m++)
		if (p->fd[m] >= 0) {
			close(p->fd[m]);
			p->fd[m] = -1;
		}
}

int pinned_refresh_agent(struct pinned *p)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(p->fd[XDP_MAP_AGENT], &zero, &p->agent);
}

const char *pinned_class_name(const struct pinned *p, unsigned id, char *buf, size_t len)
{
	if (id < p->agent.num_classes && id < ODEFLOW_MAX_CLASSES && p->agent.class_names[id][0]) {
		snprintf(buf, len, "%.31s", p->agent.class_names[id]);
		return buf;
	}
	snprintf(buf, len, "class%u", id);
	return buf;
}

int pinned_class_id(const struct pinned *p, const char *name)
{
	char buf[40];

	for (unsigned k = 0; k < p->agent.num_classes && k < ODEFLOW_MAX_CLASSES; k++)
		if (!strcasecmp(name, pinned_class_name(p, k, buf, sizeof(buf))))
			return (int)k;
	return -1;
}

bool pinned_sampler_loaded(const struct pinned *p)
{
	struct bpf_map_info map = { 0 };
	__u32 len = sizeof(map), id = 0;

	if (bpf_obj_get_info_by_fd(p->fd[XDP_MAP_VERDICTS], &map, &len))
		return false;
	while (bpf_prog_get_next_id(id, &id) == 0) {
		struct bpf_prog_info info = { 0 };
		__u32 ids[16], n = sizeof(ids) / sizeof(ids[0]);
		int fd = bpf_prog_get_fd_by_id(id);
		bool ours = false;

		if (fd < 0)
			continue;
		info.nr_map_ids = n;
		info.map_ids = (__u64)(unsigned long)ids;
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			for (__u32 i = 0; i < info.nr_map_ids && i < n; i++)
				ours |= ids[i] == map.id;
		close(fd);
		if (ours)
			return true;
	}
	return false;
}

bool pinned_agent_alive(const struct pinned *p)
{
	return p->agent.pid && (kill((pid_t)p->agent.pid, 0) == 0 || errno == EPERM);
}
