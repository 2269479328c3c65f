/* SPDX-License-Identifier: MIT */
#include "events_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/errmsg.h"
#include "common/log.h"
#include "event_json.h"

/* How long a line may wait for a slow reader once the agent stops. */
#define STOP_GRACE_NS (500 * NSEC_PER_MSEC)
/* How long one poll waits before it looks at the stop flag again. */
#define POLL_SLICE_MS 100
/* Write errors are reported at most this often. */
#define ERROR_REPORT_NS (60 * NSEC_PER_SEC)

struct events_writer {
	int fd;
	bool own_fd;
	const struct model_config *model;
	char iface[64];
	uint64_t stop_deadline_ns; /* 0 while running */
	uint64_t lost;
	uint64_t lost_unreported, last_report_ns;
};

/* A Unix stream socket someone listens on, connected to. */
static int connect_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return errmsg(err, errlen, "%s: socket path too long", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		errmsg(err, errlen, "%s: connecting to the socket: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* An existing path, opened without following a symlink, then checked. */
static int open_existing(const char *path, bool allow_pipe, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (lstat(path, &st))
		return errmsg(err, errlen, "%s: %s", path, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return errmsg(err, errlen, "%s is a symlink: refusing to follow it as root", path);
	if ((S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) && !allow_pipe)
		return errmsg(err, errlen, "%s is a %s: pass --events-pipe to write events to it", path,
			      S_ISFIFO(st.st_mode) ? "FIFO" : "socket");
	if (S_ISSOCK(st.st_mode))
		return connect_unix(path, err, errlen);
	/* O_NONBLOCK: a FIFO with no reader fails (ENXIO) instead of waiting */
	fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errmsg(err, errlen, "%s: %s", path,
			      errno == ENXIO ? "no process reads this FIFO" : strerror(errno));
	/* a device node (/dev/null) only root can have made */
	if (fstat(fd, &st) || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode) ||
				(allow_pipe && S_ISFIFO(st.st_mode)))) {
		close(fd);
		return errmsg(err, errlen, "%s: not a regular file", path);
	}
	if (S_ISREG(st.st_mode) && (st.st_uid != geteuid() || st.st_nlink != 1)) {
		close(fd);
		return errmsg(err, errlen,
			      "%s exists and %s: refusing to overwrite it (remove it, or choose another path)",
			      path, st.st_uid != geteuid() ? "belongs to another user" : "has other hard links");
	}
	if (S_ISREG(st.st_mode) && ftruncate(fd, 0)) {
		errmsg(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int open_output(const struct events_writer_options *o, char *err, size_t errlen)
{
	int fd;

	/* O_EXCL: a new file, never whatever was planted at the path */
	fd = open(o->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, o->mode);
	if (fd >= 0) {
		if (fchmod(fd, o->mode)) { /* the umask may have taken bits the operator asked for */
			errmsg(err, errlen, "%s: %s", o->path, strerror(errno));
			close(fd);
			unlink(o->path);
			return -1;
		}
		return fd;
	}
	if (errno != EEXIST)
		return errmsg(err, errlen, "%s: %s", o->path, strerror(errno));
	return open_existing(o->path, o->allow_pipe, err, errlen);
}

int events_writer_open(const struct events_writer_options *o, struct events_writer **out,
		       char *err, size_t errlen)
{
	struct events_writer *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w)
		return errmsg(err, errlen, "out of memory");
	w->model = o->model;
	snprintf(w->iface, sizeof(w->iface), "%s", o->iface);
	if (!strcmp(o->path, "-")) {
		w->fd = STDOUT_FILENO;
	} else {
		w->fd = open_output(o, err, errlen);
		w->own_fd = true;
		if (w->fd < 0) {
			free(w);
			return -1;
		}
	}
	*out = w;
	return 0;
}

static void count_lost(struct events_writer *w, int errnum)
{
	uint64_t now = monotonic_ns();

	__atomic_fetch_add(&w->lost, 1, __ATOMIC_RELAXED);
	w->lost_unreported++;
	if (errnum && (!w->last_report_ns || now - w->last_report_ns >= ERROR_REPORT_NS)) {
		log_line(LOG_LEVEL_ERR, "events: %llu event(s) lost: writing: %s",
			 (unsigned long long)w->lost_unreported, strerror(errnum));
		w->lost_unreported = 0;
		w->last_report_ns = now;
	}
}

/* Writes the whole line, waiting for room in slices; 0, or an errno (and
 * ETIMEDOUT when the agent stopped and the reader did not make room). */
static int write_line(struct events_writer *w, const char *line, size_t len)
{
	struct pollfd p = { .fd = w->fd, .events = POLLOUT };
	size_t done = 0;

	while (done < len) {
		uint64_t deadline = __atomic_load_n(&w->stop_deadline_ns, __ATOMIC_ACQUIRE);
		ssize_t n;

		if (deadline && monotonic_ns() >= deadline)
			return ETIMEDOUT;
		if (poll(&p, 1, POLL_SLICE_MS) < 0 && errno != EINTR)
			return errno;
		if (!(p.revents & (POLLOUT | POLLERR | POLLHUP)))
			continue;
		n = send(w->fd, line + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = write(w->fd, line + done, len - done);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		done += (size_t)n;
	}
	return 0;
}

void events_writer_consume(void *ctx, const struct queued_decision *q)
{
	struct events_writer *w = ctx;
	char *line = event_json(&q->d, w->model, w->iface, q->wall_s, q->latency_us);
	size_t len;
	int rc;

	if (!line) {
		count_lost(w, ENOMEM);
		return;
	}
	len = strlen(line);
	line[len] = '\n'; /* the NUL becomes the line's end; len + 1 bytes go out */
	rc = write_line(w, line, len + 1);
	free(line);
	if (rc)
		count_lost(w, rc == ETIMEDOUT ? 0 : rc);
}

void events_writer_stopping(struct events_writer *w)
{
	if (w)
		__atomic_store_n(&w->stop_deadline_ns, monotonic_ns() + STOP_GRACE_NS, __ATOMIC_RELEASE);
}

uint64_t events_writer_lost(const struct events_writer *w)
{
	return w ? __atomic_load_n(&w->lost, __ATOMIC_RELAXED) : 0;
}

void events_writer_close(struct events_writer *w)
{
	if (!w)
		return;
	if (w->lost_unreported)
		log_line(LOG_LEVEL_WARNING, "events: %llu event(s) not written",
			 (unsigned long long)w->lost_unreported);
	if (w->own_fd)
		close(w->fd);
	free(w);
}
