// SPDX-License-Identifier: MIT
/* The agent's interfaces and their rtnetlink watch; see interfaces.h. */
#include "interfaces.h"

#include <errno.h>
#include <fnmatch.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/errmsg.h"
#include "common/log.h"

/* Names of interfaces that went away, remembered to say "is back". */
#define GONE_NAMES 64

struct interfaces {
	struct xdp_sampler *s;
	struct interfaces_options o;
	struct mnl_socket *nl;
	int stop_fd;
	pthread_t thread;
	bool watching;
	unsigned up[ODEFLOW_MAX_PORTS];  /* ifindex of each attached port seen up, in order */
	int n_up;
	char gone[GONE_NAMES][IF_NAMESIZE];
	int n_gone;
	bool said_egress; /* the sampler's notes, each said once: they are the kernel's */
	bool said_not_shared;
};

static bool is_glob(const char *pattern)
{
	return strpbrk(pattern, "*?[") != NULL;
}

static bool wanted(const struct interfaces *ifs, const char *name)
{
	for (int i = 0; i < ifs->o.n_patterns; i++)
		if (!fnmatch(ifs->o.patterns[i], name, 0))
			return true;
	return false;
}

static int attached_ports(const struct interfaces *ifs, struct xdp_port_info *out)
{
	return xdp_sampler_ports(ifs->s, out, ODEFLOW_MAX_PORTS);
}

static bool has_port(const struct interfaces *ifs, int ifindex, char *name)
{
	struct xdp_port_info p[ODEFLOW_MAX_PORTS];
	int n = attached_ports(ifs, p);

	for (int i = 0; i < n; i++)
		if (p[i].ifindex == ifindex) {
			if (name)
				snprintf(name, IF_NAMESIZE, "%s", p[i].name);
			return true;
		}
	return false;
}

static void publish_attached(struct interfaces *ifs)
{
	struct xdp_port_info p[ODEFLOW_MAX_PORTS];

	if (ifs->o.attached)
		__atomic_store_n(ifs->o.attached, attached_ports(ifs, p) > 0, __ATOMIC_RELAXED);
}

static bool was_up(const struct interfaces *ifs, int ifindex)
{
	for (int i = 0; i < ifs->n_up; i++)
		if (ifs->up[i] == (unsigned)ifindex)
			return true;
	return false;
}

static void set_up(struct interfaces *ifs, int ifindex, bool up)
{
	for (int i = 0; i < ifs->n_up; i++)
		if (ifs->up[i] == (unsigned)ifindex) {
			if (!up)
				ifs->up[i] = ifs->up[--ifs->n_up];
			return;
		}
	if (up && ifs->n_up < ODEFLOW_MAX_PORTS)
		ifs->up[ifs->n_up++] = (unsigned)ifindex;
}

/* Asked of the kernel in the agent's network namespace (/sys may show
 * another one's). */
static bool is_up(const char *name)
{
	struct ifreq req = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool up;

	snprintf(req.ifr_name, sizeof(req.ifr_name), "%s", name);
	up = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &req) == 0 && (req.ifr_flags & IFF_UP);
	if (fd >= 0)
		close(fd);
	return up;
}

/* Whether name went away before (then it "is back"), forgetting it. */
static bool take_gone(struct interfaces *ifs, const char *name)
{
	for (int i = 0; i < ifs->n_gone; i++)
		if (!strcmp(ifs->gone[i], name)) {
			memcpy(ifs->gone[i], ifs->gone[--ifs->n_gone], IF_NAMESIZE);
			return true;
		}
	return false;
}

static void remember_gone(struct interfaces *ifs, const char *name)
{
	if (take_gone(ifs, name) || ifs->n_gone < GONE_NAMES)
		snprintf(ifs->gone[ifs->n_gone++], IF_NAMESIZE, "%s", name);
}

/* Attaches to one interface; says so unless quiet. */
static int attach_one(struct interfaces *ifs, int ifindex, const char *name, const char *why,
		      char *err, size_t errlen)
{
	char where[128];
	enum xdp_mode got;

	if (xdp_sampler_attach(ifs->s, ifindex, ifs->o.mode, ifs->o.attach_flags, &got, err,
			       errlen))
		return -1;
	set_up(ifs, ifindex, is_up(name));
	publish_attached(ifs);
	if (xdp_sampler_note(ifs->s)[0] && !ifs->said_not_shared && !ifs->o.quiet) {
		log_line(LOG_LEVEL_WARNING, "%s", xdp_sampler_note(ifs->s));
		ifs->said_not_shared = true;
	}
	if (xdp_sampler_egress_note(ifs->s)[0] && !ifs->said_egress && !ifs->o.quiet) {
		log_line(LOG_LEVEL_WARNING, "%s", xdp_sampler_egress_note(ifs->s));
		ifs->said_egress = true;
	}
	xdp_sampler_describe(ifs->s, where, sizeof(where));
	if (why && !ifs->o.quiet)
		log_line(LOG_LEVEL_INFO, "%s %s: attached %s", name, why, where);
	return 0;
}

/* An interface the watch learnt is gone: let go of what is left. */
static void forget(struct interfaces *ifs, int ifindex, const char *name)
{
	char err[ERRMSG_LEN];

	xdp_sampler_detach_port(ifs->s, ifindex, err, sizeof(err)); /* mostly gone with it */
	set_up(ifs, ifindex, false);
	remember_gone(ifs, name);
	publish_attached(ifs);
	log_line(LOG_LEVEL_WARNING, "%s went away: nothing of it is sampled or enforced until it "
		 "comes back", name);
}

/* A name that may take the sampler now (a new interface, or one back). */
static void consider(struct interfaces *ifs, int ifindex, const char *name)
{
	char err[ERRMSG_LEN];
	bool back = take_gone(ifs, name);

	if (!wanted(ifs, name))
		return;
	if (attach_one(ifs, ifindex, name, back ? "is back" : "appeared", err, sizeof(err)))
		log_line(LOG_LEVEL_WARNING, "%s %s, but the sampler is not on it: %s", name,
			 back ? "is back" : "appeared", err);
}

/* After a lost notification (ENOBUFS): what is there now against what is
 * attached. */
static void resync(struct interfaces *ifs)
{
	struct xdp_port_info p[ODEFLOW_MAX_PORTS];
	struct if_nameindex *all = if_nameindex();
	int n = attached_ports(ifs, p);

	if (!all)
		return;
	for (int i = 0; i < n; i++) {
		bool present = false;

		for (struct if_nameindex *e = all; e->if_index; e++)
			present |= (int)e->if_index == p[i].ifindex;
		if (!present)
			forget(ifs, p[i].ifindex, p[i].name);
	}
	for (struct if_nameindex *e = all; e->if_index; e++)
		if (!has_port(ifs, (int)e->if_index, NULL))
			consider(ifs, (int)e->if_index, e->if_name);
	if_freenameindex(all);
}

static int link_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, IFLA_MAX) >= 0 && mnl_attr_get_type(attr) == IFLA_IFNAME &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
		tb[IFLA_IFNAME] = attr;
	return MNL_CB_OK;
}

static int on_link_message(const struct nlmsghdr *nlh, void *data)
{
	struct interfaces *ifs = data;
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	char name[IF_NAMESIZE] = "", known[IF_NAMESIZE];
	bool up;

	if ((nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifm) ||
	    mnl_attr_parse(nlh, sizeof(*ifm), link_attr, tb) < 0 || !tb[IFLA_IFNAME])
		return MNL_CB_OK;
	snprintf(name, sizeof(name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (!has_port(ifs, ifm->ifi_index, known)) {
		if (nlh->nlmsg_type == RTM_NEWLINK)
			consider(ifs, ifm->ifi_index, name);
		return MNL_CB_OK;
	}
	if (nlh->nlmsg_type == RTM_DELLINK) {
		forget(ifs, ifm->ifi_index, known);
		return MNL_CB_OK;
	}
	up = ifm->ifi_flags & IFF_UP;
	if (up != was_up(ifs, ifm->ifi_index)) {
		set_up(ifs, ifm->ifi_index, up);
		log_line(up ? LOG_LEVEL_INFO : LOG_LEVEL_WARNING, "%s is %s%s", name,
			 up ? "up again" : "down", up ? ": the sampler is still on it" :
			 ": the sampler stays on it, for when it is up again");
	}
	return MNL_CB_OK;
}

static void *watch(void *arg)
{
	struct interfaces *ifs = arg;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct pollfd fds[2] = { { .fd = mnl_socket_get_fd(ifs->nl), .events = POLLIN },
				 { .fd = ifs->stop_fd, .events = POLLIN } };

	for (;;) {
		ssize_t n;

		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		if (!(fds[0].revents & POLLIN))
			continue;
		n = mnl_socket_recvfrom(ifs->nl, buf, sizeof(buf));
		if (n < 0 && errno == ENOBUFS) {
			log_line(LOG_LEVEL_WARNING, "missed interface notifications: looking again");
			resync(ifs);
			continue;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_line(LOG_LEVEL_ERR, "reading interface notifications: %s; interfaces that "
				 "go away or come back are no longer followed", strerror(errno));
			break;
		}
		mnl_cb_run(buf, (size_t)n, 0, 0, on_link_message, ifs);
	}
	return NULL;
}

/* The interfaces the patterns name now, attached. */
static int attach_named(struct interfaces *ifs, char *err, size_t errlen)
{
	struct if_nameindex *all = if_nameindex();
	char why[ERRMSG_LEN];
	int ret = 0;

	if (!all)
		return errmsg(err, errlen, "listing the interfaces: %s", strerror(errno));
	ret = interfaces_check(ifs->o.patterns, ifs->o.n_patterns, err, errlen); /* still there */
	for (int i = 0; i < ifs->o.n_patterns && !ret; i++) {
		const char *pattern = ifs->o.patterns[i];
		int ifindex = 0;

		if (!is_glob(pattern)) {
			ifindex = (int)if_nametoindex(pattern);
			if (!ifindex)
				ret = errmsg(err, errlen, "no interface '%s': %s", pattern,
					     strerror(errno));
			else if (!has_port(ifs, ifindex, NULL))
				ret = attach_one(ifs, ifindex, pattern, NULL, err, errlen);
			continue;
		}
		for (struct if_nameindex *e = all; e->if_index; e++) {
			if (fnmatch(pattern, e->if_name, 0) || has_port(ifs, (int)e->if_index, NULL))
				continue;
			ifindex = (int)e->if_index;
			if (attach_one(ifs, ifindex, e->if_name, NULL, why, sizeof(why)))
				log_line(LOG_LEVEL_WARNING, "%s (named by '%s') is left out: %s",
					 e->if_name, pattern, why);
		}
		if (!ifindex && !ifs->o.quiet)
			log_line(LOG_LEVEL_INFO, "no interface matches '%s' yet: the sampler goes on "
				 "those that appear", pattern);
	}
	if_freenameindex(all);
	return ret;
}

int interfaces_check(const char *const *patterns, int n, char *err, size_t errlen)
{
	for (int i = 0; i < n; i++)
		if (!is_glob(patterns[i]) && !if_nametoindex(patterns[i]))
			return errmsg(err, errlen, "no interface '%s': %s%s", patterns[i],
				      strerror(errno),
				      strchr(patterns[i], '/') ? " (a unit started as odeflow@br-lan? "
				      "systemd reads '-' as '/': start odeflow@$(systemd-escape br-lan))"
							       : "");
	return 0;
}

int interfaces_start(struct xdp_sampler *s, const struct interfaces_options *o,
		     struct interfaces **out, char *err, size_t errlen)
{
	struct interfaces *ifs = calloc(1, sizeof(*ifs));
	sigset_t all, old;

	*out = ifs;
	if (!ifs)
		return errmsg(err, errlen, "out of memory");
	ifs->s = s;
	ifs->o = *o;
	ifs->stop_fd = eventfd(0, EFD_CLOEXEC);
	/* listening before the interfaces are listed: none appears unseen between */
	ifs->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (ifs->stop_fd < 0 || !ifs->nl || mnl_socket_bind(ifs->nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID))
		return errmsg(err, errlen, "watching the interfaces (rtnetlink): %s", strerror(errno));
	if (attach_named(ifs, err, errlen))
		return -1;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old); /* signals are the drain thread's */
	ifs->watching = !pthread_create(&ifs->thread, NULL, watch, ifs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ifs->watching)
		return errmsg(err, errlen, "cannot start the interface watch");
	return 0;
}

void interfaces_stop(struct interfaces *ifs)
{
	uint64_t one = 1;

	if (!ifs)
		return;
	if (ifs->watching && write(ifs->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(ifs->thread, NULL);
	if (ifs->nl)
		mnl_socket_close(ifs->nl);
	if (ifs->stop_fd >= 0)
		close(ifs->stop_fd);
	free(ifs);
}

void interfaces_describe(const struct interfaces *ifs, char *buf, size_t len)
{
	struct xdp_port_info p[ODEFLOW_MAX_PORTS];
	int n = attached_ports(ifs, p);
	size_t used = 0;

	buf[0] = '\0';
	if (!n)
		snprintf(buf, len, "no interface yet");
	for (int i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 !i ? "" : i == n - 1 ? " and " : ", ", p[i].name);
}

void interfaces_label(const char *const *patterns, int n, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "", patterns[i]);
}
