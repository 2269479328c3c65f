/* SPDX-License-Identifier: MIT */
/* Which loaded programs use a map: how the loader and the operator
 * commands recognise odeflow's sampler among the kernel's programs (the
 * one that uses the maps of a pin dir), whatever attached it. */
#ifndef ODEFLOW_PROG_MAPS_H
#define ODEFLOW_PROG_MAPS_H

#include <linux/types.h>
#include <stdbool.h>

/* The kernel's id of the map behind fd (0 if it cannot say). */
__u32 map_id_of(int map_fd);

/* Does the program behind prog_fd use the map with this id? */
bool prog_uses_map(int prog_fd, __u32 map_id);

#endif
