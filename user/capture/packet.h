/* SPDX-License-Identifier: MIT */
/* Parsing one captured frame the way the XDP sampler does: link layer (plus
 * the link types the kernel never sees in XDP: Linux cooked SLL/SLL2 and raw
 * IP), up to two VLAN tags, IPv4 with options or IPv6 with a bounded walk
 * over its extension headers, then the TCP/UDP ports. Only what the kernel
 * samples comes back as PACKET_SAMPLED; everything else says why not. */
#ifndef ODEFLOW_PACKET_H
#define ODEFLOW_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "odeflow.h"

/* Why a packet is, or is not, sampled. */
enum packet_result {
	PACKET_SAMPLED,        /* TCP or UDP, first (or only) fragment */
	PACKET_NON_IP,         /* neither IPv4 nor IPv6 (ARP, LLDP...) */
	PACKET_OTHER_L4,       /* IP but neither TCP nor UDP (ICMP, tunnels...) */
	PACKET_FRAGMENT,       /* non-first IP fragment: carries no ports */
	PACKET_MALFORMED,      /* inconsistent headers (bad IHL, version, lengths), or a
	                        * frame shorter on the wire than its IP datagram */
	PACKET_SNAPLEN_CUT,    /* the capture ends before the ports */
	PACKET_UNKNOWN_LINK,   /* a link type this parser does not read */
	PACKET_RESULT_COUNT
};

struct packet_info {
	struct flow_key key;   /* this direction: addresses, ports (host order), proto */
	uint16_t ip_len;       /* IPv4 total length, or IPv6 payload length + 40 */
	uint8_t first_fragment;/* 1 if this is fragment 0 of a fragmented datagram */
	const uint8_t *ip;     /* the IP header inside the frame given to packet_parse */
	uint32_t ip_captured;  /* bytes of the datagram captured: ip_len unless cut by the
				* snaplen (payload inspection needs them all) */
};

/* Parses one frame of the given libpcap link type (DLT_*). data holds caplen
 * captured bytes of a frame that was wirelen bytes long: headers missing
 * because caplen < wirelen are PACKET_SNAPLEN_CUT, headers missing from a
 * frame captured whole are PACKET_MALFORMED. Fills info only when it
 * returns PACKET_SAMPLED. */
enum packet_result packet_parse(int linktype, const uint8_t *data, size_t caplen,
				size_t wirelen, struct packet_info *info);

/* A short name for a result, used in skip summaries ("non-IP", ...). */
const char *packet_result_name(enum packet_result r);

#endif
