/* SPDX-License-Identifier: MIT */
/* A class map: which class a flow belongs to, from what nDPI detected in it.
 * One rule a line, `#` starts a comment, the first matching rule wins:
 *
 *     classes VoIP Video File_Transfer Chat Browsing   # optional: the class ids
 *     Video     protocol=YouTube,Netflix               # globs, case-insensitive
 *     VoIP      category=VoIP transport=udp            # every condition must hold
 *     ignore    master=DNS                             # left out of the dataset
 *     Browsing                                         # no condition: every flow
 *
 * A rule is an action (a class name, or `ignore`) and conditions on:
 *   protocol   nDPI's most specific protocol (YouTube in TLS.YouTube)
 *   master     the protocol under it (TLS), or the protocol itself if alone
 *   category   nDPI's category of the flow (Media, VoIP, Web...)
 *   transport  tcp or udp
 * A condition's values are comma-separated fnmatch globs, compared without
 * regard to case. Class ids follow the `classes` line when there is one
 * (every action must then be one of its names), else the order in which
 * the rules first name them. */
#ifndef ODEFLOW_CLASS_MAP_H
#define ODEFLOW_CLASS_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Rules that match a flow with no class: */
#define CLASS_MAP_IGNORE (-1)   /* an ignore rule */
#define CLASS_MAP_NO_RULE (-2)  /* none */

enum class_field { CLASS_FIELD_PROTOCOL, CLASS_FIELD_MASTER, CLASS_FIELD_CATEGORY,
		   CLASS_FIELD_TRANSPORT, CLASS_FIELD_COUNT };

/* What a flow is matched on; transport is an IP protocol number. */
struct class_map_flow {
	const char *field[CLASS_FIELD_TRANSPORT]; /* protocol, master, category names */
	uint8_t transport;
};

struct class_map;

/* Errors: -1 and one line in err, "NAME:LINE: what is wrong". */
int class_map_load(const char *path, struct class_map **out, char *err, size_t errlen);
int class_map_parse(const char *text, size_t len, const char *name, struct class_map **out,
		    char *err, size_t errlen);
void class_map_free(struct class_map *m);

/* Checks every value of a protocol, master or category condition that is
 * not a glob against known(field, value, ctx): a misspelt name would
 * silently match nothing. The first unknown one is an error (file:line). */
int class_map_check_names(const struct class_map *m,
			  bool (*known)(enum class_field field, const char *value, void *ctx),
			  void *ctx, char *err, size_t errlen);

/* The class id of a flow, or CLASS_MAP_IGNORE / CLASS_MAP_NO_RULE. */
int class_map_match(const struct class_map *m, const struct class_map_flow *flow);

int class_map_classes(const struct class_map *m);
const char *class_map_class_name(const struct class_map *m, int id);
/* The name of a field as rules write it ("protocol"...). */
const char *class_field_name(enum class_field field);

#endif
