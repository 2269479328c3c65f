/* SPDX-License-Identifier: MIT */
/* Reading a capture file (pcap or pcapng, through libpcap) as a stream of
 * the packets the XDP sampler would sample; every other packet is skipped
 * and counted by reason, so a command can end with a summary. */
#ifndef ODEFLOW_PCAP_SOURCE_H
#define ODEFLOW_PCAP_SOURCE_H

#include <stdint.h>
#include <stdio.h>

#include "packet.h"

struct pcap_source;

struct pcap_counts {
	int linktype;                         /* DLT_* of the capture */
	int snaplen;                          /* bytes of each packet it keeps at most */
	uint64_t packets;                     /* records read */
	uint64_t by_result[PACKET_RESULT_COUNT]; /* [PACKET_SAMPLED] = packets returned */
	char read_error[256];                 /* why reading stopped early ("" = read to the end) */
};

/* Opens path. Errors (missing file, not a capture): -1 and one line in err. */
int pcap_source_open(const char *path, struct pcap_source **out, char *err, size_t errlen);
/* Reads a capture from an open stream (e.g. fmemopen for the fuzzer); takes
 * ownership of f, also on error. */
int pcap_source_open_stream(FILE *f, const char *name, struct pcap_source **out,
			    char *err, size_t errlen);
void pcap_source_close(struct pcap_source *s);

/* The next sampled packet: 1 with *info and its arrival time in nanoseconds
 * since the epoch, 0 at the end of the capture. A damaged record (truncated
 * file, impossible lengths) also ends the capture: it is recorded in
 * read_error, and the packets before it stay valid. */
int pcap_source_next(struct pcap_source *s, struct packet_info *info, uint64_t *ts_ns);

const struct pcap_counts *pcap_source_counts(const struct pcap_source *s);

/* Writes one summary line for a capture, e.g.
 * "x.pcap: 200 packets, 180 sampled; skipped 15 non-IP, 5 not TCP/UDP". */
void pcap_counts_print(FILE *out, const char *name, const struct pcap_counts *c);

#endif
