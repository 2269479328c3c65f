// SPDX-License-Identifier: MIT
/* Sessions live in one open-addressing hash table (linear probing, grown at
 * half full). A direction holds a buffer for its current window only while
 * it samples, so decided directions cost a few dozen bytes each. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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
	struct flow_key key;
	uint8_t used;
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
	int window;
	enum window_mode mode;
	size_t used, capacity; /* capacity: a power of two */
	struct session *table;
	uint64_t reordered;
};

#define INITIAL_CAPACITY 1024

static uint64_t key_hash(const struct flow_key *key)
{
	const uint8_t *p = (const uint8_t *)key;
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (size_t i = 0; i < sizeof(*key); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* The slot holding key, or the empty slot where it belongs. */
static struct session *find_slot(struct session *table, size_t capacity,
				 const struct flow_key *key)
{
	size_t i = key_hash(key) & (capacity - 1);

	while (table[i].used && memcmp(&table[i].key, key, sizeof(*key)))
		i = (i + 1) & (capacity - 1);
	return &table[i];
}

static int grow(struct sessions *s)
{
	size_t capacity = s->capacity * 2;
	struct session *table = calloc(capacity, sizeof(*table));

	if (!table)
		return -1;
	for (size_t i = 0; i < s->capacity; i++)
		if (s->table[i].used)
			*find_slot(table, capacity, &s->table[i].key) = s->table[i];
	free(s->table);
	s->table = table;
	s->capacity = capacity;
	return 0;
}

struct sessions *sessions_new(int window, enum window_mode mode)
{
	struct sessions *s;

	if (window < ODEFLOW_MIN_WINDOW || window > ODEFLOW_MAX_WINDOW)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->window = window;
	s->mode = mode;
	s->capacity = INITIAL_CAPACITY;
	s->table = calloc(s->capacity, sizeof(*s->table));
	if (!s->table) {
		free(s);
		return NULL;
	}
	return s;
}

void sessions_free(struct sessions *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->capacity; i++)
		free(s->table[i].buf);
	free(s->table);
	free(s);
}

static struct session *lookup(const struct sessions *s, const struct flow_key *key)
{
	struct session *e = find_slot(s->table, s->capacity, key);

	return e->used ? e : NULL;
}

static struct session *lookup_or_add(struct sessions *s, const struct flow_key *key,
				     uint64_t ts_ns)
{
	struct session *e;

	if (2 * (s->used + 1) > s->capacity && grow(s))
		return NULL;
	e = find_slot(s->table, s->capacity, key);
	if (!e->used) {
		*e = (struct session){ .key = *key, .used = 1, .phase = PHASE_SAMPLING,
				       .seq = s->used, .first_ns = ts_ns, .last_ns = ts_ns };
		s->used++;
	}
	return e;
}

static void emit(const struct sessions *s, const struct session *e, struct session_window *out)
{
	const struct window_buffer *b = e->buf;
	int n = s->window;
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
	switch (s->mode) {
	case WINDOWS_ALL:
		e->window++;
		return;
	case WINDOWS_KERNEL:
		e->phase = PHASE_WAITING;
		break;
	case WINDOWS_FIRST:
		e->phase = PHASE_DONE;
		break;
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
	if (e->phase == PHASE_DONE)
		return SESSION_PACKET_TAKEN;
	if (!e->buf) {
		e->buf = malloc(sizeof(*e->buf) + (size_t)s->window * (sizeof(uint64_t) +
									   sizeof(uint16_t)));
		if (!e->buf)
			return -1;
	}
	if (e->count == 0)
		e->buf->first_packet = e->packets - 1;
	buffer_sizes(e->buf, s->window)[e->count] = ip_len;
	e->buf->ts_ns[e->count] = ts_ns;
	if (++e->count < (uint32_t)s->window)
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
