// SPDX-License-Identifier: MIT
/* libpcap reads the file format (pcap, pcapng, byte orders, nanosecond
 * timestamps); packet.c reads the headers inside. */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "pcap_source.h"
#include "common/errmsg.h"

struct pcap_source {
	pcap_t *pcap;
	struct pcap_counts counts;
};

static int finish_open(pcap_t *p, const char *name, const char *errbuf,
		       struct pcap_source **out, char *err, size_t errlen)
{
	struct pcap_source *s;

	if (!p) {
		/* libpcap names the file itself in some messages */
		if (!strncmp(errbuf, name, strlen(name)))
			errmsg(err, errlen, "%s", errbuf);
		else
			errmsg(err, errlen, "%s: %s", name, errbuf);
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		pcap_close(p);
		return errmsg(err, errlen, "%s: out of memory", name);
	}
	s->pcap = p;
	s->counts.linktype = pcap_datalink(p);
	s->counts.snaplen = pcap_snapshot(p);
	*out = s;
	return 0;
}

/* Nanosecond precision: libpcap scales microsecond files up exactly, and
 * the window offsets are then cut to microseconds the way the kernel does. */
int pcap_source_open(const char *path, struct pcap_source **out, char *err, size_t errlen)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO,
							    errbuf);

	return finish_open(p, path, errbuf, out, err, errlen);
}

int pcap_source_open_stream(FILE *f, const char *name, struct pcap_source **out,
			    char *err, size_t errlen)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO,
							     errbuf);

	if (!p)
		fclose(f); /* on success pcap_close closes it */
	return finish_open(p, name, errbuf, out, err, errlen);
}

void pcap_source_close(struct pcap_source *s)
{
	if (!s)
		return;
	pcap_close(s->pcap);
	free(s);
}

int pcap_source_next(struct pcap_source *s, struct packet_info *info, uint64_t *ts_ns)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;
	int rc;

	while ((rc = pcap_next_ex(s->pcap, &hdr, &data)) == 1) {
		enum packet_result r;

		s->counts.packets++;
		r = packet_parse(s->counts.linktype, data, hdr->caplen, hdr->len, info);
		s->counts.by_result[r]++;
		if (r == PACKET_SAMPLED) {
			/* tv_usec holds nanoseconds at PCAP_TSTAMP_PRECISION_NANO */
			*ts_ns = (uint64_t)hdr->ts.tv_sec * 1000000000u + (uint64_t)hdr->ts.tv_usec;
			return 1;
		}
	}
	if (rc == PCAP_ERROR && !s->counts.read_error[0])
		snprintf(s->counts.read_error, sizeof(s->counts.read_error), "%s",
			 pcap_geterr(s->pcap));
	return 0;
}

const struct pcap_counts *pcap_source_counts(const struct pcap_source *s)
{
	return &s->counts;
}

void pcap_counts_print(FILE *out, const char *name, const struct pcap_counts *c)
{
	const char *sep = "; skipped ";

	fprintf(out, "%s: %" PRIu64 " packets, %" PRIu64 " sampled", name, c->packets,
		c->by_result[PACKET_SAMPLED]);
	for (int r = 0; r < PACKET_RESULT_COUNT; r++) {
		if (r == PACKET_SAMPLED || !c->by_result[r])
			continue;
		fprintf(out, "%s%" PRIu64 " %s", sep, c->by_result[r],
			packet_result_name((enum packet_result)r));
		if (r == PACKET_UNKNOWN_LINK)
			fprintf(out, " %d (%s)", c->linktype,
				pcap_datalink_val_to_name(c->linktype) ?: "unnamed");
		sep = ", ";
	}
	if (c->read_error[0])
		fprintf(out, "; stopped early: %s", c->read_error);
	fprintf(out, "\n");
}
