// SPDX-License-Identifier: MIT
/* Sessions live in one flow table. A direction holds a buffer for its
 * current window only while it samples, so decided directions cost a few
 * dozen bytes each. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "flow_table.h"
#include "sessions.h"

enum session_phase {
	PHASE_SAMPLING,
	PHASE_WAITING, /* window emitted, no decision yet (WINDOWS_KERNEL) */
	PHASE_DONE,
};

/* The packets of the window being sampled: N arrival times, then N sizes,
 * sized for N only (a capture may hold millions of directions). */
struct window_buffer {
	uint64_t first_packet;
	uint64_t ts_ns[];
};

static uint16_t *buffer_sizes(const struct window_buffer *b, int n)
{
	return (uint16_t *)(b->ts_ns + n);
}

struct session {
	struct flow_key key; /* first, as the table needs */
	uint8_t phase;
	uint16_t window;   /* number of the window being sampled */
	uint32_t count;    /* packets in it so far */
	uint64_t seq;      /* directions seen before this one */
	uint64_t packets;  /* packets of this direction so far */
	uint64_t first_ns; /* arrival of its first packet */
	uint64_t last_ns;  /* arrival of its latest packet */
	struct window_buffer *buf;
};

struct sessions {
	struct window_cut cut;
	struct flow_table *table;
	uint64_t reordered;
};

struct sessions *sessions_new(const struct window_cut *cut)
{
	struct sessions *s;

	if (cut->window < ODEFLOW_MIN_WINDOW || cut->window > ODEFLOW_MAX_WINDOW ||
	    cut->skip < 0 || cut->skip > ODEFLOW_MAX_SKIP || cut->max_windows < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cut = *cut;
	s->table = flow_table_new(sizeof(struct session), NULL);
	if (!s->table) {
		free(s);
		return NULL;
	}
	return s;
}

void sessions_free(struct sessions *s)
{
	struct session *e;
	size_t pos = 0;

	if (!s)
		return;
	while ((e = flow_table_next(s->table, &pos)))
		free(e->buf);
	flow_table_free(s->table);
	free(s);
}

static struct session *lookup(const struct sessions *s, const struct flow_key *key)
{
	return flow_table_find(s->table, key);
}

static struct session *lookup_or_add(struct sessions *s, const struct flow_key *key,
				     uint64_t ts_ns)
{
	size_t seq = flow_table_count(s->table);
	bool added;
	struct session *e = flow_table_add(s->table, key, &added);

	if (e && added)
		*e = (struct session){ .key = *key, .phase = PHASE_SAMPLING, .seq = seq,
				       .first_ns = ts_ns, .last_ns = ts_ns };
	return e;
}

static void emit(const struct sessions *s, const struct session *e, struct session_window *out)
{
	const struct window_buffer *b = e->buf;
	int n = s->cut.window;
	const uint16_t *sizes = buffer_sizes(b, n);

	memset(out, 0, sizeof(*out));
	out->rec.key = e->key;
	out->rec.window = e->window;
	out->rec.n = (uint16_t)n;
	out->rec.first_ns = b->ts_ns[0];
	out->rec.last_ns = b->ts_ns[n - 1];
	for (int i = 0; i < n; i++) {
		out->rec.sizes[i] = sizes[i];
		uint64_t offset = (b->ts_ns[i] - b->ts_ns[0]) / 1000;

		/* held at the top after 71 minutes, as the kernel holds it */
		out->rec.offset_us[i] = offset > UINT32_MAX ? UINT32_MAX : (uint32_t)offset;
		out->ts_ns[i] = b->ts_ns[i];
	}
	out->session = e->seq;
	out->session_first_ns = e->first_ns;
	out->first_packet = b->first_packet;
}

/* After a window completed: what the mode says comes next. */
static void after_window(struct sessions *s, struct session *e)
{
	e->count = 0;
	if (s->cut.mode == WINDOWS_KERNEL) {
		e->phase = PHASE_WAITING;
	} else {
		e->window++;
		if (!s->cut.max_windows || e->window < s->cut.max_windows)
			return;
		e->phase = PHASE_DONE;
	}
	free(e->buf);
	e->buf = NULL;
}

int sessions_add(struct sessions *s, const struct flow_key *key, uint16_t ip_len,
		 uint64_t ts_ns, struct session_window *out)
{
	struct session *e = lookup_or_add(s, key, ts_ns);

	if (!e)
		return -1;
	if (e->phase == PHASE_WAITING)
		return SESSION_AWAITING_DECISION;
	if (ts_ns < e->last_ns) {
		ts_ns = e->last_ns;
		s->reordered++;
	}
	e->last_ns = ts_ns;
	e->packets++;
	if (e->phase == PHASE_DONE || e->packets <= (uint64_t)s->cut.skip)
		return SESSION_PACKET_TAKEN;
	if (!e->buf) {
		e->buf = malloc(sizeof(*e->buf) + (size_t)s->cut.window * (sizeof(uint64_t) +
									   sizeof(uint16_t)));
		if (!e->buf)
			return -1;
	}
	if (e->count == 0)
		e->buf->first_packet = e->packets - 1;
	buffer_sizes(e->buf, s->cut.window)[e->count] = ip_len;
	e->buf->ts_ns[e->count] = ts_ns;
	if (++e->count < (uint32_t)s->cut.window)
		return SESSION_PACKET_TAKEN;
	emit(s, e, out);
	after_window(s, e);
	return SESSION_WINDOW_DONE;
}

bool sessions_awaiting(const struct sessions *s, const struct flow_key *key)
{
	const struct session *e = lookup(s, key);

	return e && e->phase == PHASE_WAITING;
}

void sessions_rearm(struct sessions *s, const struct flow_key *key)
{
	struct session *e = lookup(s, key);

	if (e && e->phase == PHASE_WAITING) {
		e->phase = PHASE_SAMPLING;
		e->window++;
	}
}

void sessions_close(struct sessions *s, const struct flow_key *key)
{
	struct session *e = lookup(s, key);

	if (!e)
		return;
	e->phase = PHASE_DONE;
	free(e->buf);
	e->buf = NULL;
}

uint64_t sessions_reordered(const struct sessions *s)
{
	return s->reordered;
}

void sessions_report(FILE *out, const char *name, const struct sessions *s)
{
	if (s->reordered)
		fprintf(out, "%s: %" PRIu64 " packets earlier than their direction's previous "
			"packet: times held at the previous packet's\n", name, s->reordered);
}
