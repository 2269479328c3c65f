// SPDX-License-Identifier: MIT
/* The sampler's pin directory; see pin_dir.h. */
#include "pin_dir.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/errmsg.h"
#include "common/log.h"
#include "map_ops.h"
#include "map_ops.h"
#include "sampler.h"

/* bpffs refuses names with a dot (reserved for the kernel's own files)
 * with EPERM, which alone would read as a privilege problem. */
static int pin_name_error(const char *pin_dir, int errnum, const char *what, char *err,
			  size_t errlen)
{
	const char *base = strrchr(pin_dir, '/');

	if (errnum == EPERM && strchr(base ? base + 1 : pin_dir, '.'))
		return errmsg(err, errlen, "%s pin dir %s: bpffs does not allow '.' in names", what,
			      pin_dir);
	return errmsg(err, errlen, "%s pin dir %s: %s", what, pin_dir, strerror(errnum));
}

/* An existing pin dir: a real directory on bpffs, of this user, that no one
 * else may write to (whoever can would swap the maps the XDP program and
 * the agent share). A symlink is refused rather than followed. */
static int check_pin_dir(const char *pin_dir, char *err, size_t errlen)
{
	struct statfs fs;
	struct stat st;

	if (lstat(pin_dir, &st))
		return pin_name_error(pin_dir, errno, "checking", err, errlen);
	if (S_ISLNK(st.st_mode))
		return errmsg(err, errlen, "pin dir %s is a symlink: give the directory itself",
			      pin_dir);
	if (!S_ISDIR(st.st_mode))
		return errmsg(err, errlen, "pin dir %s is not a directory", pin_dir);
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return errmsg(err, errlen,
			      "pin dir %s belongs to uid %u with mode %03o: it must be this user's "
			      "(uid %u) and writable by no one else",
			      pin_dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777),
			      (unsigned)geteuid());
	if (statfs(pin_dir, &fs) || fs.f_type != BPF_FS_MAGIC)
		return errmsg(err, errlen, "pin dir %s is not on a bpffs (mount -t bpf bpf DIR)",
			      pin_dir);
	return 0;
}

/* Makes pin_dir, on a bpffs: mounts bpffs on /sys/fs/bpf when the pin dir is
 * below it and nothing is mounted there yet (some minimal systems). The
 * folder is created only inside a bpffs, so a wrong path leaves nothing
 * behind. */
int prepare_pin_dir(const char *pin_dir, bool *made, char *err, size_t errlen)
{
	char parent[PATH_MAX];
	struct statfs fs;
	char *slash;

	*made = false;
	if (!strncmp(pin_dir, BPFFS_ROOT "/", strlen(BPFFS_ROOT) + 1) &&
	    statfs(BPFFS_ROOT, &fs) == 0 && fs.f_type != BPF_FS_MAGIC &&
	    mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700"))
		return errmsg(err, errlen, "mounting bpffs on %s: %s", BPFFS_ROOT, strerror(errno));
	if (access(pin_dir, F_OK) == 0 || errno != ENOENT)
		return check_pin_dir(pin_dir, err, errlen);
	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (slash)
		*(slash == parent ? slash + 1 : slash) = '\0';
	else
		snprintf(parent, sizeof(parent), ".");
	if (statfs(parent, &fs) || fs.f_type != BPF_FS_MAGIC)
		return errmsg(err, errlen, "pin dir %s is not on a bpffs (mount -t bpf bpf DIR)",
			      pin_dir);
	if (mkdir(pin_dir, 0700))
		return pin_name_error(pin_dir, errno, "creating", err, errlen);
	*made = true;
	return 0;
}

/* The pid holding a lock on the inode dev:ino (from /proc/locks), 0 if
 * none is listed. */
static unsigned lock_holder(dev_t dev, ino_t ino)
{
	char line[256];
	unsigned pid = 0;
	FILE *f = fopen("/proc/locks", "re");

	while (f && !pid && fgets(line, sizeof(line), f)) {
		unsigned p, maj, min;
		unsigned long i;

		if (sscanf(line, "%*u: FLOCK %*s WRITE %u %x:%x:%lu", &p, &maj, &min, &i) == 4 &&
		    makedev(maj, min) == dev && i == ino)
			pid = p;
	}
	if (f)
		fclose(f);
	return pid;
}

/* Who holds pin_dir: "odeflow (pid N) runs on IF with these maps", from
 * what that agent published in map "agent" (until it has, from the lock's
 * holder in /proc/locks). */
static int refuse_held(const char *pin_dir, int dir_fd, char *err, size_t errlen)
{
	struct agent_info a = { 0 };
	char why[ERRMSG_LEN];
	struct stat st;
	unsigned pid = 0;
	int fd = xdp_open_pinned_map(pin_dir, XDP_MAP_AGENT, why, sizeof(why));

	if (fd >= 0 && xdp_read_agent(fd, &a) == 0 && xdp_agent_alive(&a))
		pid = a.pid;
	if (fd >= 0)
		close(fd);
	if (!pid && fstat(dir_fd, &st) == 0)
		pid = lock_holder(st.st_dev, st.st_ino);
	if (pid && pid == a.pid)
		return errmsg(err, errlen, "odeflow (pid %u) runs on %.16s with these maps (%s): stop "
			      "it, or give this one another --pin-dir", pid, a.iface, pin_dir);
	return errmsg(err, errlen, "odeflow (pid %u) is starting with these maps (%s): stop it, or "
		      "give this one another --pin-dir", pid, pin_dir);
}

int lock_pin_dir(const char *pin_dir, int *lock_fd, char *err, size_t errlen)
{
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	*lock_fd = -1;
	if (fd < 0)
		return pin_name_error(pin_dir, errno, "opening", err, errlen);
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			refuse_held(pin_dir, fd, err, errlen);
		else
			errmsg(err, errlen, "locking pin dir %s: %s", pin_dir, strerror(errno));
		close(fd);
		return -1;
	}
	*lock_fd = fd;
	return 0;
}

unsigned pins_present(const struct xdp_sampler *s)
{
	char path[PATH_MAX];
	unsigned bits = 0;

	for (int m = 0; m < XDP_MAP_COUNT && s->pin_dir[0]; m++)
		if (snprintf(path, sizeof(path), "%s/%s", s->pin_dir, map_descs[m].name) <
			    (int)sizeof(path) &&
		    access(path, F_OK) == 0)
			bits |= 1u << m;
	return bits;
}

/* Unlinks the pins of the maps in `which` (bit m: map m), by their names:
 * nothing else a pin dir may hold is touched. */
static int unpin_maps(const char *pin_dir, unsigned which, char *err, size_t errlen)
{
	char path[PATH_MAX];

	for (int m = 0; m < XDP_MAP_COUNT; m++) {
		if (!(which & (1u << m)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, map_descs[m].name);
		if (unlink(path) && errno != ENOENT)
			return errmsg(err, errlen, "removing %s: %s", path, strerror(errno));
	}
	return 0;
}

/* The pin dir goes only when empty: another tool's pins keep it, and a
 * bpffs mount point cannot go (EBUSY). */
static void remove_dir_if_empty(const char *pin_dir)
{
	if (rmdir(pin_dir) && errno != ENOTEMPTY && errno != EEXIST && errno != EBUSY &&
	    errno != ENOENT)
		log_line(LOG_LEVEL_WARNING, "removing %s: %s", pin_dir, strerror(errno));
}

int xdp_sampler_unpin(struct xdp_sampler *s, bool all, char *err, size_t errlen)
{
	if (!s->pin_dir[0])
		return 0;
	if (unpin_maps(s->pin_dir, all ? (1u << XDP_MAP_COUNT) - 1 : s->pinned_here, err, errlen))
		return -1;
	if (s->made_pin_dir)
		remove_dir_if_empty(s->pin_dir);
	return 0;
}

int xdp_link_pin_path(const char *pin_dir, const char *ifname, bool egress, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/link_%s%s", pin_dir, ifname, egress ? ":egress" : "");

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int xdp_unpin(const char *pin_dir, const char *ifname, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (unpin_maps(pin_dir, (1u << XDP_MAP_COUNT) - 1, err, errlen))
		return -1;
	for (int egress = 0; ifname && egress < 2; egress++)
		if (!xdp_link_pin_path(pin_dir, ifname, egress, path, sizeof(path)) && unlink(path) &&
		    errno != ENOENT)
			return errmsg(err, errlen, "removing %s: %s", path, strerror(errno));
	remove_dir_if_empty(pin_dir);
	return 0;
}

static int check_map_layout(int fd, enum xdp_map map, const char *path, char *err, size_t errlen)
{
	const struct map_desc *want = &map_descs[map];
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return errmsg(err, errlen, "reading what map %s is: %s", path, strerror(errno));
	if (info.type != want->type || info.key_size != want->key_size ||
	    info.value_size < want->value_min || info.value_size > want->value_max)
		return errmsg(err, errlen,
			      "map %s has map type %u, %u-byte keys and %u-byte values, where this "
			      "odeflow expects type %u, %u-byte keys and %u to %u-byte values: "
			      "another version of odeflow made it (query it with that version, or "
			      "restart the agent with this one)",
			      path, info.type, info.key_size, info.value_size, want->type,
			      want->key_size, want->value_min, want->value_max);
	return 0;
}

int xdp_open_pinned_map(const char *pin_dir, enum xdp_map map, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd;

	if ((unsigned)map >= XDP_MAP_COUNT)
		return errmsg(err, errlen, "no such map");
	snprintf(path, sizeof(path), "%s/%s", pin_dir, xdp_map_name(map));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errmsg(err, errlen, "opening map %s: %s (is the agent running?)", path,
			      strerror(errno));
	if (check_map_layout(fd, map, path, err, errlen)) {
		close(fd);
		return -1;
	}
	return fd;
}
