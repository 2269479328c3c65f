/* SPDX-License-Identifier: MIT */
/* What the agent asks of the scheduler for the threads a window waits on
 * (the drain, the classification workers), with nothing an unprivileged
 * process may not ask: the unit gives the agent no CAP_SYS_NICE, and no
 * priority that outranks the rest of the machine is needed. */
#ifndef ODEFLOW_THREAD_PRIORITY_H
#define ODEFLOW_THREAD_PRIORITY_H

/* The calling thread runs short bursts that a verdict waits on: it asks
 * the EEVDF scheduler (Linux 6.12 and later) for the shortest time slice,
 * so that when it wakes it preempts a task that runs long (a CPU hog, a
 * compiler) rather than waiting for that task's slice to end; its share of
 * the CPU is unchanged. Older kernels ignore the request. -1 with errno
 * when the kernel refuses it. */
int thread_priority_latency(void);

#endif
