// SPDX-License-Identifier: MIT
/* Which loaded programs use a map; see prog_maps.h. */
#include "prog_maps.h"

#include <bpf/bpf.h>

/* More maps than the sampler has: a program using more is not ours. */
#define MAX_PROG_MAPS 32

__u32 map_id_of(int map_fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(map_fd, &info, &len) ? 0 : info.id;
}

bool prog_uses_map(int prog_fd, __u32 map_id)
{
	struct bpf_prog_info info = { 0 };
	__u32 ids[MAX_PROG_MAPS], len = sizeof(info);

	info.nr_map_ids = MAX_PROG_MAPS;
	info.map_ids = (__u64)(unsigned long)ids;
	if (!map_id || bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return false;
	for (__u32 i = 0; i < info.nr_map_ids && i < MAX_PROG_MAPS; i++)
		if (ids[i] == map_id)
			return true;
	return false;
}
