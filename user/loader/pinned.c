/* SPDX-License-Identifier: MIT */
#include "pinned.h"

#include <bpf/bpf.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/errmsg.h"
#include "prog_maps.h"

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
	return xdp_read_agent(p->fd[XDP_MAP_AGENT], &p->agent);
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

/* The sampler's attachment, from the type of the programs that use these
 * maps: an extension only runs inside libxdp's dispatcher. */
const char *pinned_sampler_hook(const struct pinned *p)
{
	__u32 map_id = map_id_of(p->fd[XDP_MAP_VERDICTS]), id = 0;
	bool xdp = false, tcx = false, ext = false;

	while (map_id && bpf_prog_get_next_id(id, &id) == 0) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (prog_uses_map(fd, map_id) && !bpf_obj_get_info_by_fd(fd, &info, &len)) {
			ext |= info.type == BPF_PROG_TYPE_EXT;
			tcx |= info.type == BPF_PROG_TYPE_SCHED_CLS;
			xdp |= info.type == BPF_PROG_TYPE_XDP;
		}
		close(fd);
	}
	/* the ingress hook's name; tcx alone also when only egress is seen */
	return ext ? xdp_attachment_name(XDP_VIA_DISPATCHER)
	       : xdp ? xdp_attachment_name(XDP_VIA_LINK)
	       : tcx ? xdp_attachment_name(XDP_VIA_TCX)
		     : NULL;
}

bool pinned_sampler_loaded(const struct pinned *p)
{
	return pinned_sampler_hook(p) != NULL;
}

bool pinned_agent_alive(const struct pinned *p)
{
	return xdp_agent_alive(&p->agent);
}
