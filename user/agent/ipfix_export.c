// SPDX-License-Identifier: MIT
#include "ipfix_export.h"

#include <fixbuf/public.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/errmsg.h"
#include "common/flow_key.h"
#include "decision_queue.h"
#include "common/hostport.h"
#include "common/log.h"

#define TID_INTERNAL 0x9000 /* how a record sits in memory (struct ipfix_record) */
#define TID_IPV4 256        /* the templates sent: IPv4 connections */
#define TID_IPV6 257        /* and IPv6 ones */
#define TID_ELEMENTS 258    /* RFC 5610 type records of the odeflow elements */
#define SPEC_IPV4 1         /* fbInfoElementSpec flags: in the IPv4 template only */
#define SPEC_IPV6 2
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000
#define UDP_TEMPLATE_REFRESH_NS (10 * 1000000000ULL) /* RFC 7011: resent over UDP */
#define FLUSH_EVERY 64 /* records per message at most, when the queue never runs dry */

/* The odeflow elements, numbered under IPFIX_ODEFLOW_PEN. */
static fbInfoElement_t odeflow_elements[] = {
	FB_IE_INIT_FULL("odeflowClassName", IPFIX_ODEFLOW_PEN, 1, FB_IE_VARLEN, FB_IE_DEFAULT, 0, 0,
			FB_STRING, "class of the connection so far, as the model names it"),
	FB_IE_INIT_FULL("odeflowClassId", IPFIX_ODEFLOW_PEN, 2, 1, FB_IE_IDENTIFIER, 0, 0, FB_UINT_8,
			"index of the class in the model"),
	FB_IE_INIT_FULL("odeflowConfidencePpm", IPFIX_ODEFLOW_PEN, 3, 4,
			FB_IE_F_ENDIAN | FB_IE_QUANTITY, 0, 1000000, FB_UINT_32,
			"the class's averaged probability, parts per million"),
	FB_IE_INIT_FULL("odeflowStage", IPFIX_ODEFLOW_PEN, 4, 1, FB_IE_QUANTITY, 0, 0, FB_UINT_8,
			"windows averaged into the decision (1: the first)"),
	FB_IE_INIT_FULL("odeflowModelId", IPFIX_ODEFLOW_PEN, 5, 4, FB_IE_F_ENDIAN | FB_IE_IDENTIFIER,
			0, 0, FB_UINT_32, "id of the model that decided"),
	FB_IE_INIT_FULL("odeflowWindow", IPFIX_ODEFLOW_PEN, 6, 2, FB_IE_F_ENDIAN | FB_IE_QUANTITY, 0,
			0, FB_UINT_16, "which window of its direction (0: its first N packets)"),
	FB_IE_INIT_FULL("odeflowProvisional", IPFIX_ODEFLOW_PEN, 7, 1, FB_IE_DEFAULT, 0, 1, FB_UINT_8,
			"1 while the cascade waits for more windows, 0 once final"),
	FB_IE_NULL
};

/* A record as fixbuf reads it from memory: the fields of internal_spec,
 * in its order, with no padding between them. */
struct ipfix_record {
	uint64_t start_ms, end_ms;
	fbVarfield_t class_name;
	uint8_t src6[16], dst6[16];
	uint32_t src4, dst4; /* host order */
	uint32_t confidence_ppm, model_id;
	uint16_t sport, dport, window;
	uint8_t proto, class_id, stage, provisional;
	uint8_t pad[6];
};
_Static_assert(sizeof(struct ipfix_record) == 96, "struct ipfix_record must be unpadded");

static fbInfoElementSpec_t internal_spec[] = {
	{ "flowStartMilliseconds", 8, 0 },     { "flowEndMilliseconds", 8, 0 },
	{ "odeflowClassName", FB_IE_VARLEN, 0 }, { "sourceIPv6Address", 16, 0 },
	{ "destinationIPv6Address", 16, 0 },   { "sourceIPv4Address", 4, 0 },
	{ "destinationIPv4Address", 4, 0 },    { "odeflowConfidencePpm", 4, 0 },
	{ "odeflowModelId", 4, 0 },            { "sourceTransportPort", 2, 0 },
	{ "destinationTransportPort", 2, 0 },  { "odeflowWindow", 2, 0 },
	{ "protocolIdentifier", 1, 0 },        { "odeflowClassId", 1, 0 },
	{ "odeflowStage", 1, 0 },              { "odeflowProvisional", 1, 0 },
	{ "paddingOctets", 6, 0 },             FB_IESPEC_NULL
};

/* What goes on the wire, in this order (README of user/agent). */
static fbInfoElementSpec_t export_spec[] = {
	{ "sourceIPv4Address", 4, SPEC_IPV4 },      { "destinationIPv4Address", 4, SPEC_IPV4 },
	{ "sourceIPv6Address", 16, SPEC_IPV6 },     { "destinationIPv6Address", 16, SPEC_IPV6 },
	{ "sourceTransportPort", 2, 0 },            { "destinationTransportPort", 2, 0 },
	{ "protocolIdentifier", 1, 0 },             { "flowStartMilliseconds", 8, 0 },
	{ "flowEndMilliseconds", 8, 0 },            { "odeflowClassName", FB_IE_VARLEN, 0 },
	{ "odeflowClassId", 1, 0 },                 { "odeflowConfidencePpm", 4, 0 },
	{ "odeflowStage", 1, 0 },                   { "odeflowModelId", 4, 0 },
	{ "odeflowWindow", 2, 0 },                  { "odeflowProvisional", 1, 0 },
	FB_IESPEC_NULL
};

struct ipfix_exporter {
	const struct model_config *model;
	enum ipfix_transport transport;
	char host[NI_MAXHOST], port[NI_MAXSERV];
	fbInfoModel_t *info;
	struct decision_queue *queue;
	/* the consumer thread's own */
	fBuf_t *fbuf;                /* NULL while not connected */
	uint64_t retry_ns, templates_ns;
	unsigned backoff_ms;
	uint64_t pending;            /* appended since the last emit */
	/* read by others */
	uint64_t exported, dropped;  /* dropped here: collector down or lost */
	uint64_t send_failures;
};

static void count(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static fbTemplate_t *template_of(fbInfoModel_t *info, fbInfoElementSpec_t *spec, uint32_t flags,
				 GError **e)
{
	fbTemplate_t *t = fbTemplateAlloc(info);

	if (!fbTemplateAppendSpecArray(t, spec, flags, e)) {
		fbTemplateFreeUnused(t);
		return NULL;
	}
	return t;
}

static void disconnect(struct ipfix_exporter *x)
{
	if (x->fbuf)
		fBufFree(x->fbuf); /* and its session and exporter */
	x->fbuf = NULL;
}

/* A session with the three templates, an exporter to the collector, and
 * the templates sent (over TCP this connects). */
static bool connect_collector(struct ipfix_exporter *x)
{
	fbConnSpec_t spec = FB_CONNSPEC_INIT;
	fbSession_t *session = fbSessionAlloc(x->info);
	fbTemplate_t *in, *v4, *v6;
	GError *e = NULL;
	bool ok;

	spec.transport = x->transport == IPFIX_TCP ? FB_TCP : FB_UDP;
	spec.host = x->host;
	spec.svc = x->port;
	in = template_of(x->info, internal_spec, UINT32_MAX, &e);
	v4 = in ? template_of(x->info, export_spec, SPEC_IPV4, &e) : NULL;
	v6 = v4 ? template_of(x->info, export_spec, SPEC_IPV6, &e) : NULL;
	/* RFC 5610 type records of the odeflow elements go with the templates:
	 * collectors that read them (ipfixDump --rfc5610) learn their names and
	 * types from the stream itself */
	ok = v6 && fbSessionSetMetadataExportElements(session, TRUE, TID_ELEMENTS, &e) &&
	     fbSessionAddTemplate(session, TRUE, TID_INTERNAL, in, &e) &&
	     fbSessionAddTemplate(session, FALSE, TID_IPV4, v4, &e) &&
	     fbSessionAddTemplate(session, FALSE, TID_IPV6, v6, &e);
	if (!ok) { /* a bug in the specs above, not the collector */
		log_line(LOG_LEVEL_ERR, "IPFIX templates: %s", e ? e->message : "?");
		g_clear_error(&e);
		fbSessionFree(session);
		return false;
	}
	x->fbuf = fBufAllocForExport(session, fbExporterAllocNet(&spec));
	ok = fbSessionExportTemplates(session, &e) && fBufSetInternalTemplate(x->fbuf, TID_INTERNAL, &e);
	g_clear_error(&e);
	if (!ok)
		disconnect(x);
	return ok;
}

static void fill_record(const struct ipfix_exporter *x, const struct decision *d,
			uint64_t wall_minus_mono_ns, struct ipfix_record *r)
{
	const struct flow_key *k = &d->window.key;
	const char *name = d->class_id >= 0 && d->class_id < x->model->num_classes
				   ? x->model->class_names[d->class_id] : "?";

	memset(r, 0, sizeof(*r));
	r->start_ms = (d->window.first_ns + wall_minus_mono_ns) / 1000000ULL;
	r->end_ms = (d->window.last_ns + wall_minus_mono_ns) / 1000000ULL;
	r->class_name.buf = (uint8_t *)name;
	r->class_name.len = strlen(name);
	if (flow_addr_is_ipv4(k->saddr)) {
		r->src4 = (uint32_t)k->saddr[12] << 24 | k->saddr[13] << 16 | k->saddr[14] << 8 |
			  k->saddr[15];
		r->dst4 = (uint32_t)k->daddr[12] << 24 | k->daddr[13] << 16 | k->daddr[14] << 8 |
			  k->daddr[15];
	}
	memcpy(r->src6, k->saddr, 16);
	memcpy(r->dst6, k->daddr, 16);
	r->confidence_ppm = (uint32_t)(d->confidence * 1e6f + 0.5f);
	r->model_id = x->model->model_id;
	r->sport = k->sport;
	r->dport = k->dport;
	r->window = d->window.window;
	r->proto = k->proto;
	r->class_id = (uint8_t)d->class_id;
	r->stage = (uint8_t)(d->stage > 255 ? 255 : d->stage);
	r->provisional = d->provisional;
}

/* The connection failed or went away: what was appended and not yet sent
 * is lost with it; the next try waits for the backoff. */
static void lose_connection(struct ipfix_exporter *x, uint64_t now)
{
	count(&x->send_failures, 1);
	count(&x->dropped, x->pending);
	x->pending = 0;
	disconnect(x);
	x->retry_ns = now + x->backoff_ms * 1000000ULL;
	x->backoff_ms = x->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : x->backoff_ms * 2;
}

/* Sends what was appended. */
static void flush(void *ctx)
{
	struct ipfix_exporter *x = ctx;
	GError *e = NULL;

	if (!x->fbuf || !x->pending)
		return;
	if (fBufEmit(x->fbuf, &e)) {
		count(&x->exported, x->pending);
		x->pending = 0;
	} else {
		lose_connection(x, monotonic_ns());
	}
	g_clear_error(&e);
}

/* The decision queue's consumer: one record per decision. While the
 * collector is down, decisions are dropped and counted, and a connection
 * is tried again once the backoff has passed. */
static void consume(void *ctx, const struct queued_decision *q)
{
	struct ipfix_exporter *x = ctx;
	uint64_t now = monotonic_ns();
	struct ipfix_record r;
	GError *e = NULL;

	if (!x->fbuf && now >= x->retry_ns) {
		if (connect_collector(x)) {
			x->backoff_ms = BACKOFF_FIRST_MS;
			x->templates_ns = now;
		} else {
			lose_connection(x, now);
		}
	}
	if (!x->fbuf) {
		count(&x->dropped, 1);
		return;
	}
	if (x->transport == IPFIX_UDP && now - x->templates_ns >= UDP_TEMPLATE_REFRESH_NS) {
		x->templates_ns = now;
		if (!fbSessionExportTemplates(fBufGetSession(x->fbuf), &e)) {
			g_clear_error(&e);
			lose_connection(x, now);
			count(&x->dropped, 1);
			return;
		}
	}
	fill_record(x, &q->d, (uint64_t)(q->wall_s * 1e9) - now, &r);
	if (!fBufSetExportTemplate(x->fbuf, flow_addr_is_ipv4(q->d.window.key.saddr) ? TID_IPV4 : TID_IPV6,
				   &e) ||
	    !fBufAppend(x->fbuf, (uint8_t *)&r, sizeof(r), &e)) {
		g_clear_error(&e);
		lose_connection(x, now);
		count(&x->dropped, 1);
		return;
	}
	if (++x->pending >= FLUSH_EVERY)
		flush(x);
}

int ipfix_exporter_start(const char *collector, enum ipfix_transport transport,
			 const struct model_config *model, struct ipfix_exporter **out, char *err,
			 size_t errlen)
{
	struct ipfix_exporter *x;
	struct addrinfo *ai;
	int rc;

	*out = NULL;
	if (hostport_resolve(collector, 0, transport == IPFIX_TCP ? SOCK_STREAM : SOCK_DGRAM, &ai,
			     err, errlen))
		return -1;
	x = calloc(1, sizeof(*x));
	if (!x) {
		freeaddrinfo(ai);
		return errmsg(err, errlen, "out of memory");
	}
	/* fixbuf connects to the address resolved here, not to a later answer */
	rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, x->host, sizeof(x->host), x->port,
			 sizeof(x->port), NI_NUMERICHOST | NI_NUMERICSERV);
	freeaddrinfo(ai);
	x->model = model;
	x->transport = transport;
	x->backoff_ms = BACKOFF_FIRST_MS;
	x->info = fbInfoModelAlloc();
	if (rc) {
		ipfix_exporter_stop(x);
		return errmsg(err, errlen, "the collector's address: %s", gai_strerror(rc));
	}
	fbInfoModelAddElementArray(x->info, odeflow_elements);
	x->queue = decision_queue_new(IPFIX_QUEUE_DEPTH, consume, x);
	if (!x->queue) {
		ipfix_exporter_stop(x);
		return errmsg(err, errlen, "out of memory for the IPFIX queue");
	}
	decision_queue_set_idle(x->queue, flush);
	*out = x;
	return 0;
}

void ipfix_exporter_add(struct ipfix_exporter *x, const struct decision *d, int n, double wall_s)
{
	decision_queue_push(x->queue, d, n, wall_s, NULL);
}

uint64_t ipfix_exporter_exported(const struct ipfix_exporter *x)
{
	return __atomic_load_n(&x->exported, __ATOMIC_RELAXED);
}

uint64_t ipfix_exporter_send_failures(const struct ipfix_exporter *x)
{
	return __atomic_load_n(&x->send_failures, __ATOMIC_RELAXED);
}

uint64_t ipfix_exporter_dropped(const struct ipfix_exporter *x)
{
	return __atomic_load_n(&x->dropped, __ATOMIC_RELAXED) +
	       (x->queue ? decision_queue_dropped(x->queue) : 0);
}

void ipfix_exporter_finish(struct ipfix_exporter *x)
{
	if (!x)
		return;
	decision_queue_free(x->queue); /* hands over what is queued; the idle call flushes */
	x->queue = NULL;
	disconnect(x);
}

void ipfix_exporter_stop(struct ipfix_exporter *x)
{
	if (!x)
		return;
	ipfix_exporter_finish(x);
	if (x->info)
		fbInfoModelFree(x->info);
	free(x);
}
