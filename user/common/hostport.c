// SPDX-License-Identifier: MIT
#include "hostport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"

/* Splits text into host and port: the port after the last ':', an IPv6
 * host inside brackets. */
static int split(const char *text, char *host, size_t hostlen, long *port, char *err,
		 size_t errlen)
{
	const char *colon, *end;
	char *stop;
	size_t n;

	if (text[0] == '[') {
		end = strchr(text, ']');
		if (!end || end[1] != ':')
			return errmsg(err, errlen, "'%s' is not [IPv6]:PORT", text);
		colon = end + 1;
		text++;
		n = (size_t)(end - text);
	} else {
		colon = strrchr(text, ':');
		if (!colon || memchr(text, ':', (size_t)(colon - text)))
			return errmsg(err, errlen, "'%s' is not HOST:PORT (an IPv6 address goes in"
				      " brackets: [::1]:PORT)", text);
		n = (size_t)(colon - text);
	}
	if (n == 0 || n >= hostlen)
		return errmsg(err, errlen, "'%s' has no host", text);
	memcpy(host, text, n);
	host[n] = '\0';
	*port = strtol(colon + 1, &stop, 10);
	if (colon[1] == '\0' || *stop || *port < 1 || *port > 65535)
		return errmsg(err, errlen, "'%s': the port must be 1..65535", colon + 1);
	return 0;
}

int hostport_check(const char *text, char *err, size_t errlen)
{
	char host[256];
	long port;

	return split(text, host, sizeof(host), &port, err, errlen);
}

int hostport_resolve(const char *text, int flags, int socktype, struct addrinfo **out, char *err,
		     size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = socktype,
				  .ai_flags = flags | AI_NUMERICSERV };
	char host[256], service[8];
	long port = 0;
	int rc;

	*out = NULL;
	if (split(text, host, sizeof(host), &port, err, errlen))
		return -1;
	snprintf(service, sizeof(service), "%ld", port);
	rc = getaddrinfo(host, service, &hints, out);
	if (rc)
		return errmsg(err, errlen, "'%s' does not resolve: %s", host, gai_strerror(rc));
	return 0;
}

void hostport_format(const struct sockaddr *sa, char *out, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof(addr));
		snprintf(out, len, "[%s]:%u", addr, ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &a->sin_addr, addr, sizeof(addr));
		snprintf(out, len, "%s:%u", addr, ntohs(a->sin_port));
	}
}
