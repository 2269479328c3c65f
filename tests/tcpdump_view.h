/* SPDX-License-Identifier: MIT */
/* An independent reading of a capture for tests: tcpdump -v prints every
 * packet's IP length and 5-tuple; this groups them into directions, in order
 * of their first packet. Reads captures of plain IPv4/IPv6 TCP/UDP packets
 * (no fragments). */
#ifndef ODEFLOW_TCPDUMP_VIEW_H
#define ODEFLOW_TCPDUMP_VIEW_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_DIRS 64
#define MAX_PKTS 4096

/* One direction as tcpdump shows it: "a.port > b.port". */
struct direction {
	char name[128];
	int count;
	uint64_t first_us;
	uint16_t sizes[MAX_PKTS];
	uint64_t ts_us[MAX_PKTS];
};

static struct direction dirs[MAX_DIRS];
static int ndirs;

static inline void add_packet(const char *name, uint16_t len, uint64_t ts_us)
{
	struct direction *d = NULL;

	for (int i = 0; i < ndirs && !d; i++)
		if (!strcmp(dirs[i].name, name))
			d = &dirs[i];
	if (!d && ndirs < MAX_DIRS) {
		d = &dirs[ndirs++];
		snprintf(d->name, sizeof(d->name), "%s", name);
		d->count = 0;
		d->first_us = ts_us;
	}
	if (d && d->count < MAX_PKTS) {
		d->sizes[d->count] = len;
		d->ts_us[d->count++] = ts_us;
	}
}

/* "a.1 > b.2: ..." -> "a.1 > b.2" */
static inline void direction_of(const char *text, char *out, size_t len)
{
	const char *gt = strstr(text, " > "), *colon = gt ? strchr(gt, ':') : NULL;

	while (colon && colon[1] != ' ') /* IPv6 addresses hold colons too */
		colon = strchr(colon + 1, ':');
	snprintf(out, len, "%.*s", colon ? (int)(colon - text) : 0, text);
}

/* Reads tcpdump's view of a capture of plain IPv4/IPv6 TCP/UDP packets. */
static inline int tcpdump_read(const char *path)
{
	char cmd[600], line[2048], name[128];
	FILE *p;
	uint64_t sec, usec;
	unsigned len;

	ndirs = 0;
	snprintf(cmd, sizeof(cmd), "tcpdump -nn -tt -v -r %s 2>/dev/null", path);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		const char *s;

		if (sscanf(line, "%" SCNu64 ".%" SCNu64, &sec, &usec) != 2)
			continue;
		if ((s = strstr(line, "payload length: ")) && sscanf(s, "payload length: %u", &len) == 1) {
			direction_of(strchr(s, ')') + 2, name, sizeof(name));
			add_packet(name, (uint16_t)(len + 40), sec * 1000000 + usec);
		} else if ((s = strstr(line, ", length ")) && sscanf(s, ", length %u", &len) == 1 &&
			   fgets(line, sizeof(line), p)) {
			direction_of(line + strspn(line, " "), name, sizeof(name));
			add_packet(name, (uint16_t)len, sec * 1000000 + usec);
		}
	}
	return pclose(p) == 0 && ndirs > 0 ? 0 : -1;
}

#endif
