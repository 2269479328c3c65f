// SPDX-License-Identifier: MIT
#include "ipfix_export.h"

#include <errno.h>
#include <fixbuf/public.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* The odeflow elements, numbered under IPFIX_ODEFLOW_PEN (1, a class
 * name, is retired: the standard applicationName carries it). */
static fbInfoElement_t odeflow_elements[] = {
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
	uint64_t octets, packets;
	char class_name[ODEFLOW_CLASS_NAME_LEN]; /* NUL-padded */
	uint8_t src6[16], dst6[16];
	uint32_t src4, dst4; /* host order */
	uint32_t confidence_ppm, model_id, ingress_ifindex, egress_ifindex;
	uint16_t sport, dport, window;
	uint8_t proto, class_id, stage, provisional, direction;
	uint8_t pad[5];
};
_Static_assert(sizeof(struct ipfix_record) == 136, "struct ipfix_record must be unpadded");

static fbInfoElementSpec_t internal_spec[] = {
	{ "flowStartMilliseconds", 8, 0 },     { "flowEndMilliseconds", 8, 0 },
	{ "octetDeltaCount", 8, 0 },           { "packetDeltaCount", 8, 0 },
	{ "applicationName", ODEFLOW_CLASS_NAME_LEN, 0 }, { "sourceIPv6Address", 16, 0 },
	{ "destinationIPv6Address", 16, 0 },   { "sourceIPv4Address", 4, 0 },
	{ "destinationIPv4Address", 4, 0 },    { "odeflowConfidencePpm", 4, 0 },
	{ "odeflowModelId", 4, 0 },            { "ingressInterface", 4, 0 },
	{ "egressInterface", 4, 0 },           { "sourceTransportPort", 2, 0 },
	{ "destinationTransportPort", 2, 0 },  { "odeflowWindow", 2, 0 },
	{ "protocolIdentifier", 1, 0 },        { "odeflowClassId", 1, 0 },
	{ "odeflowStage", 1, 0 },              { "odeflowProvisional", 1, 0 },
	{ "flowDirection", 1, 0 },             { "paddingOctets", 5, 0 },
	FB_IESPEC_NULL
};

/* What goes on the wire, in this order (README of user/agent): the
 * standard elements first, so a collector that knows only IANA's registry
 * shows the connection, its window's counts and its class. */
static fbInfoElementSpec_t export_spec[] = {
	{ "sourceIPv4Address", 4, SPEC_IPV4 },      { "destinationIPv4Address", 4, SPEC_IPV4 },
	{ "sourceIPv6Address", 16, SPEC_IPV6 },     { "destinationIPv6Address", 16, SPEC_IPV6 },
	{ "sourceTransportPort", 2, 0 },            { "destinationTransportPort", 2, 0 },
	{ "protocolIdentifier", 1, 0 },             { "ingressInterface", 4, 0 },
	{ "egressInterface", 4, 0 },                { "flowDirection", 1, 0 },
	{ "flowStartMilliseconds", 8, 0 },
	{ "flowEndMilliseconds", 8, 0 },            { "octetDeltaCount", 8, 0 },
	{ "packetDeltaCount", 8, 0 },               { "applicationName", ODEFLOW_CLASS_NAME_LEN, 0 },
	{ "odeflowClassId", 1, 0 },                 { "odeflowConfidencePpm", 4, 0 },
	{ "odeflowStage", 1, 0 },                   { "odeflowModelId", 4, 0 },
	{ "odeflowWindow", 2, 0 },                  { "odeflowProvisional", 1, 0 },
	FB_IESPEC_NULL
};

struct ipfix_exporter {
	const struct model_config *model;
	enum ipfix_transport transport;
	struct sockaddr_storage collector;
	socklen_t collector_len;
	char address[NI_MAXHOST + NI_MAXSERV + 4]; /* for log lines */
	uint32_t ifindex, domain;
	fbInfoModel_t *info;
	struct decision_queue *queue;
	/* the consumer thread's own */
	fBuf_t *fbuf;                /* NULL while not connected */
	FILE *stream;                /* what fixbuf writes messages to: sock */
	int sock;
	uint64_t retry_ns, templates_ns;
	unsigned backoff_ms;
	uint64_t pending;            /* appended since the last emit */
	/* read by others */
	uint64_t exported, dropped;  /* dropped here: collector down or lost */
	uint64_t send_failures;
};

/* GLib's log levels as the agent's (common/log.h): libfixbuf and GLib
 * speak through g_warning and friends, which would otherwise print
 * "** (process:N): WARNING **" lines without a journald level. */
static enum log_level agent_level(GLogLevelFlags level)
{
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
		return LOG_LEVEL_ERR;
	if (level & G_LOG_LEVEL_WARNING)
		return LOG_LEVEL_WARNING;
	return LOG_LEVEL_INFO;
}

static void glib_log_line(const gchar *domain, GLogLevelFlags level, const gchar *message,
			  gpointer unused)
{
	(void)unused;
	if (level & G_LOG_LEVEL_DEBUG)
		return;
	log_line(agent_level(level), "IPFIX: %s%s%s", domain ? domain : "", domain ? ": " : "",
		 message);
}

static GLogWriterOutput glib_log_write(GLogLevelFlags level, const GLogField *fields,
				       gsize n_fields, gpointer unused)
{
	const char *message = NULL, *domain = NULL;

	for (gsize i = 0; i < n_fields; i++) {
		if (!strcmp(fields[i].key, "MESSAGE") && fields[i].length < 0)
			message = fields[i].value;
		else if (!strcmp(fields[i].key, "GLIB_DOMAIN") && fields[i].length < 0)
			domain = fields[i].value;
	}
	glib_log_line(domain, level, message ? message : "?", unused);
	return G_LOG_WRITER_HANDLED;
}

/* Both of GLib's paths: g_log (classic) and g_log_structured (which a
 * library built with G_LOG_USE_STRUCTURED takes); the writer can be set
 * once per process. */
static void glib_log_routes(void)
{
	g_log_set_default_handler(glib_log_line, NULL);
	g_log_set_writer_func(glib_log_write, NULL, NULL);
}

void glib_log_to_agent_log(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, glib_log_routes);
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
		fBufFree(x->fbuf); /* and its session and exporter, which leaves the stream */
	x->fbuf = NULL;
	if (x->stream)
		fclose(x->stream); /* and sock */
	else if (x->sock >= 0)
		close(x->sock);
	x->stream = NULL;
	x->sock = -1;
}

/* fixbuf's exporter writes each message with one fwrite to an unbuffered
 * stream, which hands it here whole: one datagram over UDP. The socket is
 * the exporter's own rather than fixbuf's, whose UDP sends report success
 * whatever send() said (a collector that is down refuses the datagrams:
 * ECONNREFUSED from the second send on); here a failed send fails the
 * emit, and is counted. */
static ssize_t stream_write(void *cookie, const char *buf, size_t len)
{
	struct ipfix_exporter *x = cookie;
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(x->sock, buf + done, len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return done ? (ssize_t)done : -1;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* A socket connected to the collector, wrapped in the stream fixbuf
 * writes to. */
static bool open_stream(struct ipfix_exporter *x, char *why, size_t len)
{
	cookie_io_functions_t io = { .write = stream_write };

	x->sock = socket(x->collector.ss_family,
			 (x->transport == IPFIX_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (x->sock < 0 ||
	    connect(x->sock, (struct sockaddr *)&x->collector, x->collector_len)) {
		snprintf(why, len, "connecting: %s", strerror(errno));
		return false;
	}
	x->stream = fopencookie(x, "w", io);
	if (!x->stream || setvbuf(x->stream, NULL, _IONBF, 0)) {
		snprintf(why, len, "out of memory");
		return false;
	}
	return true;
}

/* A session with the three templates, an exporter to the collector, and
 * the templates sent; why not in why. */
static bool connect_collector(struct ipfix_exporter *x, char *why, size_t len)
{
	fbSession_t *session = fbSessionAlloc(x->info);
	fbTemplate_t *in, *v4, *v6;
	GError *e = NULL;
	bool ok;

	fbSessionSetDomain(session, x->domain); /* templates belong to a domain: first */
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
	if (!open_stream(x, why, len)) {
		fbSessionFree(session);
		disconnect(x);
		return false;
	}
	x->fbuf = fBufAllocForExport(session, fbExporterAllocFP(x->stream));
	ok = fbSessionExportTemplates(session, &e) && fBufSetInternalTemplate(x->fbuf, TID_INTERNAL, &e) &&
	     fBufEmit(x->fbuf, &e);
	if (!ok) {
		snprintf(why, len, "sending the templates: %s", e ? e->message : "?");
		disconnect(x);
	}
	g_clear_error(&e);
	return ok;
}

static void fill_record(const struct ipfix_exporter *x, const struct decision *d,
			uint64_t wall_minus_mono_ns, struct ipfix_record *r)
{
	const struct flow_key *k = &d->window.key;
	const char *name = model_outcome_name(x->model, d->class_id);

	memset(r, 0, sizeof(*r));
	r->start_ms = (d->window.first_ns + wall_minus_mono_ns) / 1000000ULL;
	r->end_ms = (d->window.last_ns + wall_minus_mono_ns) / 1000000ULL;
	r->packets = d->window.n;
	for (int i = 0; i < d->window.n && i < ODEFLOW_MAX_WINDOW; i++)
		r->octets += d->window.sizes[i];
	/* where the window was seen: it arrived there, or left through it */
	if (d->window.egress) {
		r->egress_ifindex = d->window.ifindex;
		r->direction = IPFIX_FLOW_DIRECTION_EGRESS;
	} else {
		r->ingress_ifindex = d->window.ifindex ? d->window.ifindex : x->ifindex;
		r->direction = IPFIX_FLOW_DIRECTION_INGRESS;
	}
	strncpy(r->class_name, name, sizeof(r->class_name) - 1);
	if (flow_addr_is_ipv4(k->saddr)) {
		r->src4 = (uint32_t)k->saddr[12] << 24 | k->saddr[13] << 16 | k->saddr[14] << 8 |
			  k->saddr[15];
		r->dst4 = (uint32_t)k->daddr[12] << 24 | k->daddr[13] << 16 | k->daddr[14] << 8 |
			  k->daddr[15];
	}
	memcpy(r->src6, k->saddr, 16);
	memcpy(r->dst6, k->daddr, 16);
	r->confidence_ppm = (uint32_t)(d->confidence * 1e6f + 0.5f);
	r->model_id = d->model_id;
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
		char why[256];

		if (connect_collector(x, why, sizeof(why))) {
			x->backoff_ms = BACKOFF_FIRST_MS;
			x->templates_ns = now;
		} else {
			log_line(LOG_LEVEL_WARNING, "IPFIX collector %s: %s; next try in %u s",
				 x->address, why, x->backoff_ms / 1000);
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

int ipfix_exporter_start(const struct ipfix_options *o, const struct model_config *model,
			 struct ipfix_exporter **out, char *err, size_t errlen)
{
	struct ipfix_exporter *x;
	struct addrinfo *ai;

	*out = NULL;
	if (hostport_resolve(o->collector, 0, o->transport == IPFIX_TCP ? SOCK_STREAM : SOCK_DGRAM,
			     &ai, err, errlen))
		return -1;
	x = calloc(1, sizeof(*x));
	if (!x) {
		freeaddrinfo(ai);
		return errmsg(err, errlen, "out of memory");
	}
	x->sock = -1;
	/* the exporter connects to the address resolved here, not to a later answer */
	memcpy(&x->collector, ai->ai_addr, ai->ai_addrlen);
	x->collector_len = ai->ai_addrlen;
	hostport_format(ai->ai_addr, x->address, sizeof(x->address));
	freeaddrinfo(ai);
	x->model = model;
	x->transport = o->transport;
	x->ifindex = o->ifindex;
	x->domain = o->domain_given ? o->domain : o->ifindex;
	x->backoff_ms = BACKOFF_FIRST_MS;
	x->info = fbInfoModelAlloc();
	fbInfoModelAddElementArray(x->info, odeflow_elements);
	glib_log_to_agent_log();
	x->queue = decision_queue_new(IPFIX_QUEUE_DEPTH, consume, x);
	if (!x->queue) {
		ipfix_exporter_stop(x);
		return errmsg(err, errlen, "out of memory for the IPFIX queue");
	}
	decision_queue_set_idle(x->queue, flush);
	*out = x;
	return 0;
}

uint32_t ipfix_exporter_domain(const struct ipfix_exporter *x)
{
	return x->domain;
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
