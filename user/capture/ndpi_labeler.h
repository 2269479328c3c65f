/* SPDX-License-Identifier: MIT */
/* nDPI (ntop's deep packet inspection library, Debian's libndpi) as the
 * teacher: it follows each connection through its payloads, both directions
 * in one nDPI flow, and says which application it found. A packet cut short
 * (by a capture's snaplen, or by the bytes the live sampler copies) is not
 * inspected.
 *
 * Two ways to use it: a capture's connections all at once (ndpi_labeler_add,
 * then ndpi_labeler_finish and the results: pcap2npy), or one connection at
 * a time in a table of the caller's (struct ndpi_inspection: the live
 * teacher, which bounds how many it follows). */
#ifndef ODEFLOW_NDPI_LABELER_H
#define ODEFLOW_NDPI_LABELER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "class_map.h"
#include "packet.h"

/* What nDPI made of a connection. Only DETECTED is a label. */
enum ndpi_outcome {
	NDPI_DETECTED,    /* by inspecting its payload, or a related connection's */
	NDPI_GUESSED,     /* by port or address only */
	NDPI_UNKNOWN,     /* nothing */
	NDPI_NO_PAYLOAD,  /* not detected, and packets were cut by the snaplen */
	NDPI_OUTCOME_COUNT
};

struct ndpi_result {
	enum ndpi_outcome outcome;
	uint8_t transport;  /* IP protocol number */
	char protocol[32];  /* the most specific protocol: YouTube in TLS.YouTube */
	char master[32];    /* the one under it (TLS), or the protocol itself if alone */
	char category[32];  /* nDPI's category: Media, VoIP, Web... */
	char name[64];      /* as nDPI prints it: "TLS.YouTube", "DNS" */
};

struct ndpi_labeler;

/* One connection as nDPI follows it: zero it before its first packet. */
struct ndpi_inspection {
	void *flow;                /* nDPI's flow state while it inspects */
	uint16_t app, master;      /* what it identified so far (nDPI's protocol ids) */
	uint32_t category;
	uint32_t inspected;        /* packets given to nDPI */
	uint32_t cut;              /* packets cut short, not given */
	uint8_t transport;
	bool finished;
	struct ndpi_result result; /* once finished */
};

/* Errors: NULL and one line in err. */
struct ndpi_labeler *ndpi_labeler_new(char *err, size_t errlen);
void ndpi_labeler_free(struct ndpi_labeler *l);
/* Bytes nDPI holds now, all labellers of the process together. */
size_t ndpi_labeler_memory(void);
/* The nDPI version, e.g. "4.2.0". */
const char *ndpi_labeler_version(void);

/* Does nDPI know a protocol (protocol, master) or category of this name
 * (any case)? The shape class_map_check_names wants; ctx is the labeller. */
bool ndpi_labeler_knows(enum class_field field, const char *name, void *ctx);

/* Forgets every connection: a capture is its own world. */
void ndpi_labeler_reset(struct ndpi_labeler *l);
/* One packet (info as packet_parse filled it, arrival time in ns). -1 when
 * out of memory. */
int ndpi_labeler_add(struct ndpi_labeler *l, const struct packet_info *info, uint64_t ts_ns);
/* The end of the capture: nDPI's last word on connections it has not
 * identified yet. Call before reading results. */
void ndpi_labeler_finish(struct ndpi_labeler *l);

/* One packet of the connection (either direction). 1 when nDPI is done
 * with the connection (c->result is its verdict), 0 while it wants more, -1
 * when out of memory. Packets after it is done are ignored. */
int ndpi_labeler_inspect(struct ndpi_labeler *l, struct ndpi_inspection *c,
			 const struct packet_info *info, uint64_t ts_ns);
/* nDPI's last word on a connection it is not done with (it guesses from
 * ports and addresses, which the result's outcome keeps apart). */
void ndpi_labeler_conclude(struct ndpi_labeler *l, struct ndpi_inspection *c);
/* Frees nDPI's state of a connection it is not done with, without a word. */
void ndpi_inspection_free(struct ndpi_inspection *c);

/* The result for the connection of key (either direction), NULL if none of
 * its packets was seen. */
const struct ndpi_result *ndpi_labeler_result(const struct ndpi_labeler *l,
					      const struct flow_key *key);
/* Every connection in no particular order: *pos = 0 first; NULL at the end. */
const struct ndpi_result *ndpi_labeler_next(const struct ndpi_labeler *l, size_t *pos);

/* The fields a class map matches, pointing into r. */
void ndpi_result_flow(const struct ndpi_result *r, struct class_map_flow *out);
const char *ndpi_outcome_name(enum ndpi_outcome o);

#endif
