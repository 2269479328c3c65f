/* SPDX-License-Identifier: MIT */
/* The event the agent prints for each decision, and `odeflow classify`
 * prints for each window of a capture: one JSON object per line.
 *   time        seconds since the epoch (float, microseconds)
 *   iface       the interface the window came from (classify: the capture file)
 *   hook        "ingress" (it arrived there) or "egress" (it left there);
 *               null for a capture's
 *   src, dst    addresses (IPv4 dotted, IPv6 text); sport, dport; proto (6, 17)
 *   window      which window of this direction (0 = its first N packets)
 *   sizes       the N IP total lengths; ts_us: the N arrival times in
 *               microseconds from the window's first packet
 *   class       the connection's class so far (model's class name)
 *   confidence  its averaged probability; stage: windows averaged into it
 *   provisional true while the cascade waits for more windows
 *   latency_us  from the window's last packet to the decision, or null when
 *               there is none to measure (classify) */
#ifndef ODEFLOW_EVENT_JSON_H
#define ODEFLOW_EVENT_JSON_H

#include "cascade.h"

/* The object on one line, without a newline; malloc'd (free it), NULL when
 * out of memory. latency_us < 0 is written as null. */
char *event_json(const struct decision *d, const struct model_config *cfg, const char *iface,
		 double time, double latency_us);

#endif
