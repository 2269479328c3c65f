/* SPDX-License-Identifier: MIT */
/* Reading and writing the sampler's maps at run time: every write the agent
 * and the operator tools make goes through here. Maps are given by their
 * file descriptors (xdp_sampler_map_fd, or pin_dir.h's
 * xdp_open_pinned_map). Functions return 0, or -1 with errno set. */
#ifndef ODEFLOW_MAP_OPS_H
#define ODEFLOW_MAP_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "odeflow.h"

/* Is the agent that published this agent_info (its pid) still running? */
bool xdp_agent_alive(const struct agent_info *a);

/* Sums each per-CPU counter over the CPUs. */
int xdp_read_counters(int counters_fd, uint64_t out[CNT_MAX]);

/* Packets and bytes of classified connections by class and what the policy
 * did (map "class_actions"), summed over the CPUs:
 * out[class * OUTCOME_COUNT + outcome]. */
int xdp_read_class_actions(int class_actions_fd, struct class_traffic out[ODEFLOW_CLASS_ACTIONS]);

/* Reads every class's policy (map "policy"). */
int xdp_read_policy(int policy_fd, struct policy out[ODEFLOW_MAX_CLASSES]);

/* Writes one class's policy and removes its rate-limit buckets (the next
 * packet starts a full one). */
int xdp_set_policy(int policy_fd, int rate_buckets_fd, unsigned class_id, const struct policy *p);

/* What the agent decided on one direction's window, kept in the
 * direction's "flows" entry (struct flow_state) with the connection's
 * class: the direction stays enforced if "verdicts" loses the connection. */
struct direction_decision {
	struct flow_key direction;
	uint64_t emitted_ns;    /* the window's last packet, when it was emitted */
	uint16_t window;        /* the window's number */
	uint8_t class_id;
	bool provisional;
	bool unknown;           /* the outcome Unknown: enforced as a guess */
	bool rearm;             /* sample the direction's next window (the cascade's "not
				 * sure yet"): count 0, window + 1 */
};

/* Writes the n decisions into the "flows" entries (values of window_n
 * slots) of their directions, whole, in batches: one system call for many.
 * A direction the LRU evicted since its window comes back with its decision
 * (and, re-armed, samples its next window). */
int xdp_settle_directions(int flows_fd, unsigned window_n, const struct direction_decision *d,
			  unsigned n);

/* Writes n verdicts, keyed by the connections' canonical keys. */
int xdp_write_verdicts(int verdicts_fd, const struct flow_key *connections,
		       const struct verdict *values, unsigned n);

/* Reads what the agent published about itself (map "agent"). */
int xdp_read_agent(int agent_fd, struct agent_info *info);

/* Publishes what the running agent says about itself (map "agent"). */
int xdp_publish_agent(int agent_fd, const struct agent_info *info);

/* Publishes and reads what the teacher says about itself (map "teach_info"). */
int xdp_publish_teach(int teach_info_fd, const struct teach_info *info);
int xdp_read_teach(int teach_info_fd, struct teach_info *info);

/* Reads and writes the one entry of map "model_load". */
int xdp_read_model_request(int model_load_fd, struct model_request *r);
int xdp_write_model_request(int model_load_fd, const struct model_request *r);

#endif
