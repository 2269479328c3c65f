/* SPDX-License-Identifier: MIT */
#include "instances.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/errmsg.h"
#include "map_ops.h"
#include "pin_dir.h"
#include "xdp_loader.h"

#define INSTANCE_PREFIX "odeflow"

bool instances_may_read(char *err, size_t errlen)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return true; /* cannot tell: let the kernel say */
	if ((d[0].effective & (1u << CAP_SYS_ADMIN)) || (d[1].effective & (1u << (CAP_BPF - 32))))
		return true;
	errmsg(err, errlen, "reading odeflow's pinned maps needs root (or CAP_BPF)");
	return false;
}

/* The bpffs folder holding the default pin dir: "/sys/fs/bpf". */
static void bpffs_root(char *out, size_t len)
{
	const char *slash = strrchr(XDP_DEFAULT_PIN_DIR, '/');

	snprintf(out, len, "%.*s", (int)(slash - XDP_DEFAULT_PIN_DIR), XDP_DEFAULT_PIN_DIR);
}

static bool instance_at(const char *dir, struct instance *out)
{
	char err[ERRMSG_LEN];
	struct agent_info a = { 0 };
	__u32 zero = 0;
	int fd = xdp_open_pinned_map(dir, XDP_MAP_AGENT, err, sizeof(err));

	if (fd < 0)
		return false;
	bpf_map_lookup_elem(fd, &zero, &a);
	close(fd);
	snprintf(out->pin_dir, sizeof(out->pin_dir), "%s", dir);
	snprintf(out->iface, sizeof(out->iface), "%.*s", (int)sizeof(a.iface), a.iface);
	out->pid = a.pid;
	out->running = xdp_agent_alive(&a);
	return true;
}

int instances_list(struct instance *out, int max, char *err, size_t errlen)
{
	char root[PATH_MAX / 2], dir[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int n = 0;

	if (!instances_may_read(err, errlen))
		return -1;
	bpffs_root(root, sizeof(root));
	d = opendir(root);
	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		if (e->d_type != DT_DIR || strncmp(e->d_name, INSTANCE_PREFIX, strlen(INSTANCE_PREFIX)) ||
		    (e->d_name[strlen(INSTANCE_PREFIX)] && e->d_name[strlen(INSTANCE_PREFIX)] != '-'))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", root, e->d_name);
		n += instance_at(dir, &out[n]);
	}
	closedir(d);
	return n;
}

/* "eth0 (pid 12, in /sys/fs/bpf/odeflow-eth0), ..." */
static void describe(const struct instance *in, int n, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s (%s%u, in %s)", i ? ", " : "",
					 in[i].iface[0] ? in[i].iface : "?",
					 in[i].running ? "pid " : "stopped, last pid ", in[i].pid,
					 in[i].pin_dir);
}

int instances_choose(const char *pin_dir, const char *iface, char *out, size_t outlen, char *err,
		     size_t errlen)
{
	static struct instance in[INSTANCES_MAX];
	char list[ERRMSG_LEN];
	int n, pick = -1, running = 0;

	if (pin_dir) {
		snprintf(out, outlen, "%s", pin_dir);
		return instances_may_read(err, errlen) ? 0 : -1;
	}
	n = instances_list(in, INSTANCES_MAX, err, errlen);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		running += in[i].running;
		if (iface && !strcmp(in[i].iface, iface) && (pick < 0 || in[i].running))
			pick = i;
	}
	describe(in, n, list, sizeof(list) / 2);
	if (iface && pick < 0)
		return errmsg(err, errlen, "no odeflow instance on %s%s%s", iface,
			      n ? "; there are: " : " (none runs here)", list);
	if (!iface && n == 0)
		return errmsg(err, errlen, "no odeflow instance here: no maps pinned in %s or %s-* "
			      "(start one with odeflow run or systemctl start odeflow@IF, or give "
			      "--pin-dir)", XDP_DEFAULT_PIN_DIR, XDP_DEFAULT_PIN_DIR);
	if (!iface && (running > 1 || (running == 0 && n > 1)))
		return errmsg(err, errlen, "%d odeflow instances: %s; say which with --iface IF", n,
			      list);
	for (int i = 0; !iface && i < n; i++)
		if (n == 1 || in[i].running)
			pick = i;
	snprintf(out, outlen, "%s", in[pick].pin_dir);
	return 0;
}
