/* SPDX-License-Identifier: MIT */
#include "file_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"

int file_read_regular(const char *path, size_t max, uint8_t **buf, size_t *len, char *err,
		      size_t errlen)
{
	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	size_t got = 0;

	*buf = NULL;
	*len = 0;
	if (fd < 0)
		return errmsg(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return errmsg(err, errlen, "%s: cannot open: not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return errmsg(err, errlen, "%s: %lld bytes, more than the %zu this file may have",
			      path, (long long)st.st_size, max);
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		close(fd);
		return errmsg(err, errlen, "%s: out of memory", path);
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, *buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : 0;

			close(fd);
			free(*buf);
			*buf = NULL;
			return errmsg(err, errlen, "%s: cannot read: %s", path,
				      e ? strerror(e) : "it shrank while being read");
		}
		got += (size_t)n;
	}
	close(fd);
	(*buf)[got] = '\0';
	*len = got;
	return 0;
}
