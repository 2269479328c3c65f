// SPDX-License-Identifier: MIT
/* libbpf's and libxdp's messages, kept; see lib_messages.h. */
#include "lib_messages.h"

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <xdp/libxdp.h>

static char first[256];
static libbpf_print_fn_t libbpf_before;
static libxdp_print_fn_t libxdp_before;
static int depth; /* captures nest: only the outermost swaps the hooks */

static void keep(const char *fmt, va_list ap)
{
	if (first[0])
		return;
	vsnprintf(first, sizeof(first), fmt, ap);
	first[strcspn(first, "\n")] = '\0';
}

static int from_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN)
		keep(fmt, ap);
	return 0;
}

/* libxdp says why it will not build its dispatcher at its info level
 * ("Compatibility check for dispatcher program failed: ..."). */
static int from_libxdp(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBXDP_DEBUG)
		keep(fmt, ap);
	return 0;
}

void lib_messages_capture(void)
{
	first[0] = '\0';
	if (depth++)
		return;
	libbpf_before = libbpf_set_print(from_libbpf);
	libxdp_before = libxdp_set_print(from_libxdp);
}

void lib_messages_clear(void)
{
	first[0] = '\0';
}

const char *lib_messages_first(void)
{
	return first;
}

void lib_messages_restore(void)
{
	if (--depth)
		return;
	libbpf_set_print(libbpf_before);
	libxdp_set_print(libxdp_before);
}
