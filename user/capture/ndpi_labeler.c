// SPDX-License-Identifier: MIT
/* One nDPI flow per connection, fed every whole packet of both directions
 * until nDPI has identified the connection and needs no more, or until as
 * many packets as ndpiReader gives it; at the end (of the capture, or when
 * the caller stops following it) nDPI gives up, guessing from ports and
 * addresses, which we keep apart from what it found by inspection (its
 * confidence). A capture's connections live in a table keyed by the
 * canonical key. */
#include <malloc.h>
#include <ndpi_api.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errmsg.h"
#include "common/flow_key.h"
#include "flow_table.h"
#include "ndpi_labeler.h"

/* Packets of a connection nDPI inspects at most, as ndpiReader's defaults:
 * telnet needs many TCP packets, most UDP protocols a handful. */
#define NDPI_MAX_TCP_PACKETS 80
#define NDPI_MAX_UDP_PACKETS 24

struct connection {
	struct flow_key key; /* canonical, first as the table needs */
	struct ndpi_inspection inspection;
};

struct ndpi_labeler {
	struct ndpi_detection_module_struct *ndpi;
	struct flow_table *connections;
};

/* nDPI allocates through these, so its memory can be told (the live
 * teacher reports it). Sizes come from malloc_usable_size, not a header of
 * ours: a block nDPI frees some other way leaves a count off, never a
 * crash. */
static size_t ndpi_bytes;

static void *counted_malloc(size_t size)
{
	void *p = malloc(size);

	if (p)
		__atomic_fetch_add(&ndpi_bytes, malloc_usable_size(p), __ATOMIC_RELAXED);
	return p;
}

static void counted_free(void *p)
{
	if (p)
		__atomic_fetch_sub(&ndpi_bytes, malloc_usable_size(p), __ATOMIC_RELAXED);
	free(p);
}

static void count_ndpi_memory(void)
{
	set_ndpi_malloc(counted_malloc);
	set_ndpi_free(counted_free);
}

size_t ndpi_labeler_memory(void)
{
	return __atomic_load_n(&ndpi_bytes, __ATOMIC_RELAXED);
}

const char *ndpi_labeler_version(void)
{
	return ndpi_revision();
}

struct ndpi_labeler *ndpi_labeler_new(char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct ndpi_labeler *l = calloc(1, sizeof(*l));
	NDPI_PROTOCOL_BITMASK all;

	pthread_once(&once, count_ndpi_memory); /* before nDPI allocates anything */
	if (!l) {
		errmsg(err, errlen, "out of memory");
		return NULL;
	}
	l->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
	l->connections = flow_table_new(sizeof(struct connection), NULL);
	if (!l->ndpi || !l->connections) {
		errmsg(err, errlen, "%s", l->ndpi ? "out of memory"
			       : "nDPI did not start (ndpi_init_detection_module failed)");
		ndpi_labeler_free(l);
		return NULL;
	}
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(l->ndpi, &all);
	ndpi_finalize_initialization(l->ndpi);
	return l;
}

void ndpi_labeler_reset(struct ndpi_labeler *l)
{
	struct connection *c;
	size_t pos = 0;

	while ((c = flow_table_next(l->connections, &pos)))
		ndpi_inspection_free(&c->inspection);
	flow_table_free(l->connections);
	l->connections = flow_table_new(sizeof(struct connection), NULL);
}

void ndpi_labeler_free(struct ndpi_labeler *l)
{
	if (!l)
		return;
	if (l->connections)
		ndpi_labeler_reset(l);
	flow_table_free(l->connections);
	if (l->ndpi)
		ndpi_exit_detection_module(l->ndpi);
	free(l);
}

bool ndpi_labeler_knows(enum class_field field, const char *name, void *ctx)
{
	const struct ndpi_labeler *l = ctx;
	char copy[64]; /* nDPI's lookups take a char * */

	snprintf(copy, sizeof(copy), "%s", name);
	if (field == CLASS_FIELD_CATEGORY)
		return ndpi_get_category_id(l->ndpi, copy) >= 0;
	return ndpi_get_protocol_id(l->ndpi, copy) >= 0;
}

static bool identified(ndpi_protocol p)
{
	return p.app_protocol != NDPI_PROTOCOL_UNKNOWN || p.master_protocol != NDPI_PROTOCOL_UNKNOWN;
}

static ndpi_protocol protocol_of(const struct ndpi_inspection *c)
{
	return (ndpi_protocol){ .master_protocol = c->master, .app_protocol = c->app,
				.category = (ndpi_protocol_category_t)c->category };
}

void ndpi_inspection_free(struct ndpi_inspection *c)
{
	if (c->flow)
		ndpi_flow_free(c->flow);
	c->flow = NULL;
}

/* nDPI's verdict into c->result; the nDPI flow is freed. */
void ndpi_labeler_conclude(struct ndpi_labeler *l, struct ndpi_inspection *c)
{
	struct ndpi_result *r = &c->result;
	ndpi_confidence_t confidence = NDPI_CONFIDENCE_UNKNOWN;
	ndpi_protocol proto = protocol_of(c);
	uint8_t guessed = 0;

	if (c->finished)
		return;
	if (c->flow) {
		struct ndpi_flow_struct *flow = c->flow;

		if (!identified(proto))
			proto = ndpi_detection_giveup(l->ndpi, flow, 1, &guessed);
		confidence = flow->confidence;
		ndpi_inspection_free(c);
	}
	c->finished = true;
	r->transport = c->transport;
	if (identified(proto) && !guessed && (confidence == NDPI_CONFIDENCE_DPI ||
					       confidence == NDPI_CONFIDENCE_DPI_CACHE))
		r->outcome = NDPI_DETECTED;
	else if (c->cut) /* the likely reason nDPI found nothing */
		r->outcome = NDPI_NO_PAYLOAD;
	else
		r->outcome = identified(proto) ? NDPI_GUESSED : NDPI_UNKNOWN;
	snprintf(r->protocol, sizeof(r->protocol), "%s",
		 ndpi_get_proto_name(l->ndpi, ndpi_get_upper_proto(proto)));
	snprintf(r->master, sizeof(r->master), "%s",
		 ndpi_get_proto_name(l->ndpi, ndpi_get_lower_proto(proto)));
	snprintf(r->category, sizeof(r->category), "%s",
		 ndpi_category_get_name(l->ndpi, ndpi_get_proto_category(l->ndpi, proto)));
	ndpi_protocol2name(l->ndpi, proto, r->name, sizeof(r->name));
}

int ndpi_labeler_inspect(struct ndpi_labeler *l, struct ndpi_inspection *c,
			 const struct packet_info *info, uint64_t ts_ns)
{
	ndpi_protocol p;

	if (c->finished)
		return 0;
	if (!c->flow && !c->inspected && !c->cut) { /* its first packet */
		c->flow = ndpi_flow_malloc(ndpi_detection_get_sizeof_ndpi_flow_struct());
		if (!c->flow)
			return -1;
		memset(c->flow, 0, ndpi_detection_get_sizeof_ndpi_flow_struct());
		c->transport = info->key.proto;
	}
	if (info->ip_captured < info->ip_len) {
		c->cut++;
		return 0;
	}
	c->inspected++;
	p = ndpi_detection_process_packet(l->ndpi, c->flow, info->ip, (unsigned short)info->ip_captured,
					  ts_ns / 1000000);
	if (identified(p)) {
		c->app = p.app_protocol;
		c->master = p.master_protocol;
		c->category = p.category;
	}
	if ((identified(p) && !ndpi_extra_dissection_possible(l->ndpi, c->flow)) ||
	    c->inspected >= (c->transport == IPPROTO_TCP ? NDPI_MAX_TCP_PACKETS : NDPI_MAX_UDP_PACKETS)) {
		ndpi_labeler_conclude(l, c);
		return 1;
	}
	return 0;
}

int ndpi_labeler_add(struct ndpi_labeler *l, const struct packet_info *info, uint64_t ts_ns)
{
	struct flow_key key;
	struct connection *c;
	bool added;

	if (!l->connections)
		return -1; /* a reset ran out of memory */
	flow_key_canonical(&info->key, &key);
	c = flow_table_add(l->connections, &key, &added);
	if (!c)
		return -1;
	return ndpi_labeler_inspect(l, &c->inspection, info, ts_ns) < 0 ? -1 : 0;
}

void ndpi_labeler_finish(struct ndpi_labeler *l)
{
	struct connection *c;
	size_t pos = 0;

	while (l->connections && (c = flow_table_next(l->connections, &pos)))
		ndpi_labeler_conclude(l, &c->inspection);
}

const struct ndpi_result *ndpi_labeler_result(const struct ndpi_labeler *l,
					      const struct flow_key *key)
{
	struct flow_key canon;
	const struct connection *c;

	flow_key_canonical(key, &canon);
	c = l->connections ? flow_table_find(l->connections, &canon) : NULL;
	return c && c->inspection.finished ? &c->inspection.result : NULL;
}

const struct ndpi_result *ndpi_labeler_next(const struct ndpi_labeler *l, size_t *pos)
{
	const struct connection *c;

	while (l->connections && (c = flow_table_next(l->connections, pos)))
		if (c->inspection.finished)
			return &c->inspection.result;
	return NULL;
}

void ndpi_result_flow(const struct ndpi_result *r, struct class_map_flow *out)
{
	out->field[CLASS_FIELD_PROTOCOL] = r->protocol;
	out->field[CLASS_FIELD_MASTER] = r->master;
	out->field[CLASS_FIELD_CATEGORY] = r->category;
	out->transport = r->transport;
}

const char *ndpi_outcome_name(enum ndpi_outcome o)
{
	static const char *const names[NDPI_OUTCOME_COUNT] = {
		[NDPI_DETECTED] = "detected",
		[NDPI_GUESSED] = "guessed by port or address",
		[NDPI_UNKNOWN] = "unknown",
		[NDPI_NO_PAYLOAD] = "payloads cut by the snaplen",
	};

	return (unsigned)o < NDPI_OUTCOME_COUNT ? names[o] : "?";
}
