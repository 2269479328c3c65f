// SPDX-License-Identifier: MIT
/* Reading and writing the sampler's maps at run time; see map_ops.h. */
#include "map_ops.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

bool xdp_agent_alive(const struct agent_info *a)
{
	return a->pid && (kill((pid_t)a->pid, 0) == 0 || errno == EPERM);
}


_Static_assert(sizeof(struct counters) == CNT_MAX * sizeof(__u64),
	       "struct counters must read as __u64[CNT_MAX]");

/* Adds up, over the CPUs, the per-CPU value at key of a map whose values
 * are `words` __u64s, into out[0..words). */
static int sum_percpu(int fd, __u32 key, int words, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *percpu;

	if (ncpu < 1)
		return -1;
	percpu = calloc((size_t)ncpu * words, sizeof(*percpu));
	if (!percpu)
		return -1;
	if (bpf_map_lookup_elem(fd, &key, percpu)) {
		free(percpu);
		return -1;
	}
	for (int cpu = 0; cpu < ncpu; cpu++)
		for (int i = 0; i < words; i++)
			out[i] += percpu[(size_t)cpu * words + i];
	free(percpu);
	return 0;
}

int xdp_read_counters(int counters_fd, uint64_t out[CNT_MAX])
{
	memset(out, 0, CNT_MAX * sizeof(out[0]));
	return sum_percpu(counters_fd, 0, CNT_MAX, out);
}

_Static_assert(sizeof(struct class_traffic) == 2 * sizeof(__u64),
	       "struct class_traffic must read as __u64[2]");

int xdp_read_class_actions(int class_actions_fd, struct class_traffic out[ODEFLOW_CLASS_ACTIONS])
{
	memset(out, 0, ODEFLOW_CLASS_ACTIONS * sizeof(out[0]));
	for (__u32 k = 0; k < ODEFLOW_CLASS_ACTIONS; k++)
		if (sum_percpu(class_actions_fd, k, 2, (uint64_t *)&out[k]))
			return -1;
	return 0;
}

int xdp_read_policy(int policy_fd, struct policy out[ODEFLOW_MAX_CLASSES])
{
	for (__u32 k = 0; k < ODEFLOW_MAX_CLASSES; k++)
		if (bpf_map_lookup_elem(policy_fd, &k, &out[k]))
			return -1;
	return 0;
}

/* Removes the class's buckets (the program makes a full one on the next
 * packet that needs it). Keys are gathered first: a deleted key would send
 * the walk back to the start. */
static int remove_buckets(int rate_buckets_fd, unsigned class_id)
{
	struct rate_key *found = malloc(sizeof(*found) * ODEFLOW_RATE_BUCKETS), key, at;
	unsigned n = 0;
	int ret = 0;

	if (!found)
		return -1;
	for (bool more = bpf_map_get_next_key(rate_buckets_fd, NULL, &key) == 0; more;
	     more = bpf_map_get_next_key(rate_buckets_fd, &at, &key) == 0) {
		if (key.class_id == class_id && n < ODEFLOW_RATE_BUCKETS)
			found[n++] = key;
		at = key;
	}
	for (unsigned i = 0; i < n && !ret; i++)
		if (bpf_map_delete_elem(rate_buckets_fd, &found[i]) && errno != ENOENT)
			ret = -1;
	free(found);
	return ret;
}

int xdp_set_policy(int policy_fd, int rate_buckets_fd, unsigned class_id, const struct policy *p)
{
	if (class_id >= ODEFLOW_MAX_CLASSES || p->action >= ACTION_COUNT || p->dscp > 63) {
		errno = EINVAL;
		return -1;
	}
	if (bpf_map_update_elem(policy_fd, &class_id, p, BPF_ANY))
		return -1;
	return remove_buckets(rate_buckets_fd, class_id);
}

int xdp_write_verdicts(int verdicts_fd, const struct flow_key *connections,
		       const struct verdict *values, unsigned n)
{
	__u32 count = n;

	return bpf_map_update_batch(verdicts_fd, connections, values, &count, NULL);
}

/* Decisions written per batch: their values go on the stack. */
#define SETTLE_BATCH 64

/* One direction's "flows" entry as the decision leaves it: the window it
 * emitted waits for no one (final), or the next one fills (rearm); either
 * way its slots are empty, as the kernel leaves them after an emission. */
static void settled_state(const struct direction_decision *d, struct flow_state *st)
{
	*st = (struct flow_state){
		.first_ns = d->emitted_ns,
		.window = (__u16)(d->window + (d->rearm ? 1 : 0)),
		.phase = d->rearm ? FLOW_SAMPLING : FLOW_EMITTED,
		.class_id = d->class_id,
		.decision = FLOW_DECIDED | (d->provisional ? FLOW_PROVISIONAL : 0) |
			    (d->unknown ? FLOW_UNKNOWN : 0),
	};
}

int xdp_settle_directions(int flows_fd, unsigned window_n, const struct direction_decision *d,
			  unsigned n)
{
	size_t value_bytes = FLOW_STATE_BYTES(window_n);
	struct flow_key keys[SETTLE_BATCH];
	unsigned char values[SETTLE_BATCH * FLOW_STATE_BYTES(ODEFLOW_MAX_WINDOW)];

	if (window_n < ODEFLOW_MIN_WINDOW || window_n > ODEFLOW_MAX_WINDOW) {
		errno = EINVAL;
		return -1;
	}
	for (unsigned done = 0; done < n;) {
		unsigned chunk = n - done < SETTLE_BATCH ? n - done : SETTLE_BATCH;
		__u32 count = chunk;

		memset(values, 0, chunk * value_bytes);
		for (unsigned i = 0; i < chunk; i++) {
			keys[i] = d[done + i].direction;
			settled_state(&d[done + i], (struct flow_state *)(values + i * value_bytes));
		}
		if (bpf_map_update_batch(flows_fd, keys, values, &count, NULL))
			return -1;
		done += chunk;
	}
	return 0;
}

int xdp_read_agent(int agent_fd, struct agent_info *info)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(agent_fd, &zero, info);
}

int xdp_publish_agent(int agent_fd, const struct agent_info *info)
{
	__u32 zero = 0;

	return bpf_map_update_elem(agent_fd, &zero, info, BPF_ANY);
}

int xdp_publish_teach(int teach_info_fd, const struct teach_info *info)
{
	__u32 zero = 0;

	return bpf_map_update_elem(teach_info_fd, &zero, info, BPF_ANY);
}

int xdp_read_teach(int teach_info_fd, struct teach_info *info)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(teach_info_fd, &zero, info);
}

int xdp_read_model_request(int model_load_fd, struct model_request *r)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(model_load_fd, &zero, r);
}

int xdp_write_model_request(int model_load_fd, const struct model_request *r)
{
	__u32 zero = 0;

	return bpf_map_update_elem(model_load_fd, &zero, r, BPF_ANY);
}
