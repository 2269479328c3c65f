// SPDX-License-Identifier: MIT
/* The N-sized "flows" map; see flows_map.h. */
#include "flows_map.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <errno.h>
#include <unistd.h>

#include "odeflow.h"

/* Adds to btf (a copy of the object's BTF) a struct with the head's fields
 * and the arrays offset_us[n] and sizes[n] after them. Returns its type id
 * or a negative error. */
static int add_value_type(struct btf *btf, int head_id, unsigned n)
{
	const struct btf_type *head = btf__type_by_id(btf, head_id);
	int u32_id = btf__find_by_name_kind(btf, "__u32", BTF_KIND_TYPEDEF);
	int u16_id = btf__find_by_name_kind(btf, "__u16", BTF_KIND_TYPEDEF);
	int offsets_id, sizes_id, value_id;
	const struct btf_member *m;
	__u32 head_bits = sizeof(struct flow_state) * 8;

	if (!head || !btf_is_struct(head) || head->size != sizeof(struct flow_state) ||
	    u32_id < 0 || u16_id < 0)
		return -EINVAL;
	offsets_id = btf__add_array(btf, u32_id, u32_id, n);
	sizes_id = btf__add_array(btf, u32_id, u16_id, n);
	value_id = btf__add_struct(btf, "flow_state_slots", FLOW_STATE_BYTES(n));
	if (offsets_id < 0 || sizes_id < 0 || value_id < 0)
		return -EINVAL;
	/* btf__add_struct invalidated head: look it up again for each member */
	for (int i = 0; i < btf_vlen(btf__type_by_id(btf, head_id)); i++) {
		m = btf_members(btf__type_by_id(btf, head_id)) + i;
		if (btf__add_field(btf, btf__name_by_offset(btf, m->name_off), m->type,
				   btf_member_bit_offset(btf__type_by_id(btf, head_id), i), 0))
			return -EINVAL;
	}
	if (btf__add_field(btf, "offset_us", offsets_id, head_bits, 0) ||
	    btf__add_field(btf, "sizes", sizes_id, head_bits + 32 * n, 0))
		return -EINVAL;
	return value_id;
}

int flows_map_replace(struct bpf_object *obj, struct bpf_map *flows, unsigned window_n,
		      unsigned capacity)
{
	const struct btf *obj_btf = bpf_object__btf(obj);
	struct btf *btf = btf__new_empty();
	int first, shift, value_id, fd, err;

	if (!obj_btf || !btf) {
		btf__free(btf);
		return -EINVAL;
	}
	first = btf__add_btf(btf, obj_btf); /* the object's type 1 becomes `first` */
	if (first < 0) {
		btf__free(btf);
		return first;
	}
	shift = first - 1;
	value_id = add_value_type(btf, bpf_map__btf_value_type_id(flows) + shift, window_n);
	err = value_id < 0 ? value_id : btf__load_into_kernel(btf);
	if (err) {
		btf__free(btf);
		return err < 0 ? err : -EINVAL;
	}
	LIBBPF_OPTS(bpf_map_create_opts, opts, .btf_fd = btf__fd(btf),
		    .btf_key_type_id = bpf_map__btf_key_type_id(flows) + shift,
		    .btf_value_type_id = value_id);
	fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "flows", sizeof(struct flow_key),
			    FLOW_STATE_BYTES(window_n), capacity, &opts);
	err = fd < 0 ? -errno : bpf_map__reuse_fd(flows, fd);
	if (fd >= 0)
		close(fd); /* the object holds its own copy; the map holds the BTF */
	btf__free(btf);
	return err;
}
