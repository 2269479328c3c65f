/* SPDX-License-Identifier: MIT */
/* How many packets of each direction, and how many bytes of each packet,
 * nDPI needs to label a connection as it labels it from the whole capture:
 * what `odeflow run --teach` copies (bpf/odeflow.h, ODEFLOW_TEACH_PACKETS and
 * ODEFLOW_TEACH_BYTES) is chosen from this.
 *
 * The reference is nDPI fed every packet of the capture (pcap2npy
 * --label-ndpi). Then, for each packet count P and byte count B, every
 * connection is labelled again from the first P packets of each direction
 * only, each cut to its first B bytes from the IP header on (a packet cut
 * short is not inspected, exactly as the live teacher treats it). Printed:
 * the share of the reference's labelled connections that get the same class,
 * per P and B, the bytes a connection copies, and per nDPI protocol the
 * fewest packets that give its connections their reference class.
 *   ndpi_needs [--class-map FILE] CAPTURE... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/class_map.h"
#include "capture/flow_table.h"
#include "capture/ndpi_labeler.h"
#include "capture/ndpi_report.h"
#include "capture/pcap_source.h"
#include "common/errmsg.h"
#include "common/flow_key.h"

#define MAX_P 16
static const int packet_counts[] = { 1, 2, 3, 4, 5, 6, 8, 10, 12, 16 };
static const int byte_counts[] = { 128, 256, 512, 1024, 1280, 1500, 65535 };
#define NP (int)(sizeof(packet_counts) / sizeof(packet_counts[0]))
#define NB (int)(sizeof(byte_counts) / sizeof(byte_counts[0]))

struct kept_packet {
	struct packet_info info; /* info.ip points into bytes */
	uint64_t ts_ns;
	uint8_t *bytes;
};

/* A connection: the first MAX_P packets of each direction, in order. */
struct conn {
	struct flow_key key; /* canonical */
	struct flow_key first_dir;
	int n[2];            /* packets kept of each direction (0: first_dir) */
	int count;
	struct kept_packet packets[2 * MAX_P];
};

struct protocol_need {
	char name[64];
	int connections;
	int need[MAX_P + 1]; /* connections labelled right from the first P packets (by P) */
};

static int find_or_add_protocol(struct protocol_need *p, int *count, const char *name)
{
	for (int i = 0; i < *count; i++)
		if (!strcmp(p[i].name, name))
			return i;
	if (*count == 256)
		return -1;
	snprintf(p[*count].name, sizeof(p[*count].name), "%s", name);
	return (*count)++;
}

/* The class a connection gets from its first p packets of each direction,
 * each cut to b bytes. */
static int label_from(struct ndpi_labeler *l, const struct class_map *map, const struct conn *c,
		      int p, int b, uint64_t *copied)
{
	struct ndpi_inspection in = { 0 };
	int seen[2] = { 0, 0 };

	for (int i = 0; i < c->count; i++) {
		struct packet_info info = c->packets[i].info;
		int dir = memcmp(&info.key, &c->first_dir, sizeof(info.key)) != 0;

		if (seen[dir]++ >= p)
			continue;
		if (info.ip_captured > (uint32_t)b)
			info.ip_captured = (uint32_t)b;
		*copied += info.ip_captured; /* the sampler copies them all */
		if (!in.finished && ndpi_labeler_inspect(l, &in, &info, c->packets[i].ts_ns) < 0)
			break;
	}
	ndpi_labeler_conclude(l, &in);
	return ndpi_report_verdict(map, &in.result);
}

int main(int argc, char **argv)
{
	const char *map_path = "models/ndpi-classes.txt";
	struct class_map *map;
	struct ndpi_labeler *l;
	static int same[NP][NB];
	static uint64_t bytes[NP][NB];
	static struct protocol_need protocols[256];
	int nprotocols = 0, labelled = 0, total = 0, first = 1;
	char err[ERRMSG_LEN];

	if (argc > 2 && !strcmp(argv[1], "--class-map")) {
		map_path = argv[2];
		first = 3;
	}
	if (first >= argc) {
		fprintf(stderr, "usage: ndpi_needs [--class-map FILE] CAPTURE...\n");
		return 2;
	}
	if (class_map_load(map_path, &map, err, sizeof(err)) ||
	    !(l = ndpi_labeler_new(err, sizeof(err)))) {
		fprintf(stderr, "ndpi_needs: %s\n", err);
		return 1;
	}
	for (int f = first; f < argc; f++) {
		struct flow_table *conns = flow_table_new(sizeof(struct conn), NULL);
		struct pcap_source *src;
		struct packet_info info;
		uint64_t ts;
		struct conn *c;
		size_t pos = 0;
		bool added;

		if (!conns || pcap_source_open(argv[f], &src, err, sizeof(err))) {
			fprintf(stderr, "ndpi_needs: %s\n", conns ? err : "out of memory");
			return 1;
		}
		ndpi_labeler_reset(l);
		while (pcap_source_next(src, &info, &ts) == 1) {
			struct flow_key key;
			int dir;

			if (ndpi_labeler_add(l, &info, ts))
				return 1;
			flow_key_canonical(&info.key, &key);
			c = flow_table_add(conns, &key, &added);
			if (!c)
				return 1;
			if (added)
				c->first_dir = info.key;
			dir = memcmp(&info.key, &c->first_dir, sizeof(info.key)) != 0;
			if (c->n[dir] < MAX_P) {
				struct kept_packet *k = &c->packets[c->count++];

				c->n[dir]++;
				k->info = info;
				k->ts_ns = ts;
				k->bytes = malloc(info.ip_captured ? info.ip_captured : 1);
				if (!k->bytes)
					return 1;
				memcpy(k->bytes, info.ip, info.ip_captured);
				k->info.ip = k->bytes;
			}
		}
		pcap_source_close(src);
		ndpi_labeler_finish(l);
		while ((c = flow_table_next(conns, &pos))) {
			const struct ndpi_result *ref = ndpi_labeler_result(l, &c->key);
			int want = ref ? ndpi_report_verdict(map, ref) : NDPI_LEFT_OUT, pr;
			struct ndpi_labeler *fresh;

			total++;
			if (want < 0)
				goto next; /* only connections with a class teach */
			labelled++;
			pr = find_or_add_protocol(protocols, &nprotocols, ref->name);
			if (pr >= 0)
				protocols[pr].connections++;
			/* A fresh nDPI for each connection, whose caches (DPI_CACHE:
			 * STUN, BitTorrent... by address) must not carry what the
			 * whole capture taught it; its runs go from the least data
			 * to the most, so no run learns from one that saw more. */
			fresh = ndpi_labeler_new(err, sizeof(err));
			if (!fresh)
				return 1;
			for (int i = 0; i < NP; i++)
				for (int j = 0; j < NB; j++)
					same[i][j] += label_from(fresh, map, c, packet_counts[i],
								 byte_counts[j], &bytes[i][j]) == want;
			ndpi_labeler_free(fresh);
			fresh = ndpi_labeler_new(err, sizeof(err));
			if (!fresh)
				return 1;
			for (int p = 1; pr >= 0 && p <= MAX_P; p++) {
				uint64_t ignored = 0;

				protocols[pr].need[p] +=
					label_from(fresh, map, c, p, 65535, &ignored) == want;
			}
			ndpi_labeler_free(fresh);
next:
			for (int i = 0; i < c->count; i++)
				free(c->packets[i].bytes);
		}
		flow_table_free(conns);
	}
	printf("%d connections, %d of them labelled with a class from every packet\n\n", total,
	       labelled);
	printf("same class from the first P packets of each direction, each cut to B bytes "
	       "(%% of %d; mean bytes copied per connection)\n%-4s", labelled, "P");
	for (int j = 0; j < NB; j++)
		printf(" %14s", byte_counts[j] == 65535 ? "B=all" : ({
			static char b[16];
			snprintf(b, sizeof(b), "B=%d", byte_counts[j]);
			b;
		}));
	printf("\n");
	for (int i = 0; i < NP; i++) {
		printf("%-4d", packet_counts[i]);
		for (int j = 0; j < NB; j++)
			printf(" %6.1f%% %6.0f", labelled ? 100.0 * same[i][j] / labelled : 0,
			       labelled ? (double)bytes[i][j] / labelled : 0);
		printf("\n");
	}
	printf("\nper nDPI protocol (whole packets): connections labelled right from the first P "
	       "packets of each direction\n%-28s %5s", "protocol", "conns");
	for (int p = 1; p <= MAX_P; p++)
		printf(" %3d", p);
	printf("\n");
	for (int i = 0; i < nprotocols; i++) {
		printf("%-28s %5d", protocols[i].name, protocols[i].connections);
		for (int p = 1; p <= MAX_P; p++)
			printf(" %3d", protocols[i].need[p]);
		printf("\n");
	}
	ndpi_labeler_free(l);
	class_map_free(map);
	return 0;
}
