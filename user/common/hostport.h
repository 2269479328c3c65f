/* SPDX-License-Identifier: MIT */
/* "HOST:PORT" as operators write an endpoint: 127.0.0.1:9464,
 * [::1]:9464 (an IPv6 address in brackets), collector.example:4739. */
#ifndef ODEFLOW_HOSTPORT_H
#define ODEFLOW_HOSTPORT_H

#include <netdb.h>
#include <stddef.h>

/* Resolves text into the first address getaddrinfo gives for it (flags:
 * AI_PASSIVE for a listener, 0 for a peer; socktype SOCK_STREAM or
 * SOCK_DGRAM). On success *out is getaddrinfo's list (freeaddrinfo it);
 * otherwise one line in err: a text that does not parse, a port out of
 * 1..65535, a name that does not resolve. */
int hostport_resolve(const char *text, int flags, int socktype, struct addrinfo **out, char *err,
		     size_t errlen);

/* Whether text parses as HOST:PORT (nothing resolved): 0, or -1 with the
 * line hostport_resolve would say. */
int hostport_check(const char *text, char *err, size_t errlen);

/* The address as text, "127.0.0.1:9464" or "[::1]:9464". */
void hostport_format(const struct sockaddr *sa, char *out, size_t len);

#endif
