// SPDX-License-Identifier: MIT
#include "ipfix_export.h"

#include <fixbuf/public.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounded_queue.h"
#include "common/errmsg.h"
#include "common/hostport.h"

#define TID_INTERNAL 0x9000 /* how a record sits in memory (struct ipfix_record) */
#define TID_IPV4 256        /* the templates sent: IPv4 connections */
#define TID_IPV6 257        /* and IPv6 ones */
#define TID_ELEMENTS 258    /* RFC 5610 type records of the odeflow elements */
#define SPEC_IPV4 1         /* fbInfoElementSpec flags: in the IPv4 template only */
#define SPEC_IPV6 2
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000
#define UDP_TEMPLATE_REFRESH_NS (10 * 1000000000ULL) /* RFC 7011: resent over UDP */
#define STOP_FLUSH_NS 1000000000ULL
#define POP_BATCH 256

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

/* A decision waiting in the queue: what its record needs. */
struct pending {
	struct flow_key key;
	uint64_t first_ns, last_ns; /* CLOCK_MONOTONIC */
	uint32_t confidence_ppm;
	uint16_t window;
	uint8_t class_id, stage, provisional;
};

struct ipfix_exporter {
	const struct model_config *model;
	enum ipfix_transport transport;
	char host[NI_MAXHOST], port[NI_MAXSERV];
	fbInfoModel_t *info;
	fBuf_t *fbuf;      /* NULL while not connected */
	struct bounded_queue *queue;
	pthread_t thread;
	bool running;
	uint64_t exported, dropped;
};

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

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
		fprintf(stderr, "odeflow: IPFIX templates: %s\n", e ? e->message : "?");
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

static void fill_record(const struct ipfix_exporter *x, const struct pending *p,
			uint64_t wall_minus_mono_ns, struct ipfix_record *r)
{
	const char *name = p->class_id < x->model->num_classes ? x->model->class_names[p->class_id]
							       : "?";
	static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(r, 0, sizeof(*r));
	r->start_ms = (p->first_ns + wall_minus_mono_ns) / 1000000ULL;
	r->end_ms = (p->last_ns + wall_minus_mono_ns) / 1000000ULL;
	r->class_name.buf = (uint8_t *)name;
	r->class_name.len = strlen(name);
	if (!memcmp(p->key.saddr, v4_mapped, sizeof(v4_mapped))) {
		r->src4 = (uint32_t)p->key.saddr[12] << 24 | p->key.saddr[13] << 16 |
			  p->key.saddr[14] << 8 | p->key.saddr[15];
		r->dst4 = (uint32_t)p->key.daddr[12] << 24 | p->key.daddr[13] << 16 |
			  p->key.daddr[14] << 8 | p->key.daddr[15];
	}
	memcpy(r->src6, p->key.saddr, 16);
	memcpy(r->dst6, p->key.daddr, 16);
	r->confidence_ppm = p->confidence_ppm;
	r->model_id = x->model->model_id;
	r->sport = p->key.sport;
	r->dport = p->key.dport;
	r->window = p->window;
	r->proto = p->key.proto;
	r->class_id = p->class_id;
	r->stage = p->stage;
	r->provisional = p->provisional;
}

/* Writes n records and emits them; false (connection dropped, the records
 * counted as dropped) if the collector went away. */
static bool send_records(struct ipfix_exporter *x, const struct pending *p, size_t n)
{
	uint64_t offset = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	GError *e = NULL;
	bool ok = true;

	for (size_t i = 0; ok && i < n; i++) {
		struct ipfix_record r;
		bool v4 = !memcmp(p[i].key.saddr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);

		fill_record(x, &p[i], offset, &r);
		ok = fBufSetExportTemplate(x->fbuf, v4 ? TID_IPV4 : TID_IPV6, &e) &&
		     fBufAppend(x->fbuf, (uint8_t *)&r, sizeof(r), &e);
	}
	ok = ok && fBufEmit(x->fbuf, &e);
	g_clear_error(&e);
	if (!ok) {
		count(&x->dropped, n);
		disconnect(x);
		return false;
	}
	count(&x->exported, n);
	return true;
}

static void *exporter_thread(void *arg)
{
	struct ipfix_exporter *x = arg;
	struct pending *batch = malloc(POP_BATCH * sizeof(*batch));
	uint64_t retry_ns = 0, templates_ns = 0, stop_by = 0;
	unsigned backoff_ms = BACKOFF_FIRST_MS;
	GError *e = NULL;

	while (batch) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		size_t n;

		if (!stop_by && bounded_queue_closed(x->queue))
			stop_by = now + STOP_FLUSH_NS;
		if (!x->fbuf && now >= retry_ns) {
			if (connect_collector(x)) {
				backoff_ms = BACKOFF_FIRST_MS;
				templates_ns = now;
			} else {
				retry_ns = now + backoff_ms * 1000000ULL;
				backoff_ms = backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
			}
		}
		if (x->fbuf && x->transport == IPFIX_UDP && now - templates_ns >= UDP_TEMPLATE_REFRESH_NS) {
			if (!fbSessionExportTemplates(fBufGetSession(x->fbuf), &e) || !fBufEmit(x->fbuf, &e))
				disconnect(x);
			g_clear_error(&e);
			templates_ns = now;
		}
		if (!x->fbuf) { /* the queue holds what comes meanwhile, up to its size */
			if (stop_by && now >= stop_by)
				break;
			struct timespec pause = { .tv_nsec = 50000000L };

			nanosleep(&pause, NULL);
			continue;
		}
		n = bounded_queue_pop(x->queue, batch, POP_BATCH, 100);
		if (n)
			send_records(x, batch, n);
		else if (stop_by)
			break; /* closed and empty */
		if (stop_by && clock_ns(CLOCK_MONOTONIC) >= stop_by)
			break;
	}
	/* what is still queued will never be sent */
	while (batch) {
		size_t n = bounded_queue_pop(x->queue, batch, POP_BATCH, 0);

		if (!n)
			break;
		count(&x->dropped, n);
	}
	free(batch);
	disconnect(x);
	return NULL;
}

int ipfix_exporter_start(const char *collector, enum ipfix_transport transport,
			 const struct model_config *model, struct ipfix_exporter **out, char *err,
			 size_t errlen)
{
	struct ipfix_exporter *x;
	struct addrinfo *ai;
	sigset_t all, old;
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
	x->info = fbInfoModelAlloc();
	x->queue = bounded_queue_new(sizeof(struct pending), IPFIX_DEFAULT_QUEUE);
	if (rc || !x->queue) {
		ipfix_exporter_stop(x);
		return errmsg(err, errlen, "setting up the IPFIX exporter: %s",
			      rc ? gai_strerror(rc) : "out of memory");
	}
	fbInfoModelAddElementArray(x->info, odeflow_elements);
	sigfillset(&all); /* the thread takes no signals: they go to the agent's */
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&x->thread, NULL, exporter_thread, x);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		ipfix_exporter_stop(x);
		return errmsg(err, errlen, "starting the IPFIX exporter: %s", strerror(rc));
	}
	x->running = true;
	*out = x;
	return 0;
}

void ipfix_exporter_add(struct ipfix_exporter *x, const struct decision *d, int n)
{
	struct pending p[POP_BATCH];

	while (n > 0) {
		int m = n < POP_BATCH ? n : POP_BATCH;

		for (int i = 0; i < m; i++)
			p[i] = (struct pending){
				.key = d[i].window.key,
				.first_ns = d[i].window.first_ns,
				.last_ns = d[i].window.last_ns,
				.confidence_ppm = (uint32_t)(d[i].confidence * 1e6f + 0.5f),
				.window = d[i].window.window,
				.class_id = (uint8_t)d[i].class_id,
				.stage = (uint8_t)(d[i].stage > 255 ? 255 : d[i].stage),
				.provisional = d[i].provisional,
			};
		count(&x->dropped, (uint64_t)m - bounded_queue_push(x->queue, p, (size_t)m));
		d += m;
		n -= m;
	}
}

const uint64_t *ipfix_exporter_exported(const struct ipfix_exporter *x)
{
	return &x->exported;
}

const uint64_t *ipfix_exporter_dropped(const struct ipfix_exporter *x)
{
	return &x->dropped;
}

void ipfix_exporter_finish(struct ipfix_exporter *x)
{
	if (!x || !x->running)
		return;
	bounded_queue_close(x->queue);
	pthread_join(x->thread, NULL);
	x->running = false;
}

void ipfix_exporter_stop(struct ipfix_exporter *x)
{
	if (!x)
		return;
	ipfix_exporter_finish(x);
	bounded_queue_free(x->queue);
	if (x->info)
		fbInfoModelFree(x->info);
	free(x);
}
