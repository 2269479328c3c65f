// SPDX-License-Identifier: MIT
#include "thread_priority.h"

#include <errno.h>
#include <linux/sched.h>
#include <linux/sched/types.h> /* struct sched_attr (not with <sched.h>: both define sched_param) */
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The shortest slice the kernel grants (it clamps sched_runtime to at
 * least this): a window's work comes in bursts of about this length. */
#define LATENCY_SLICE_NS 100000ULL

int thread_priority_latency(void)
{
	struct sched_attr attr = { .size = sizeof(attr), .sched_policy = SCHED_NORMAL,
				   .sched_runtime = LATENCY_SLICE_NS };
	long policy = syscall(SYS_sched_getscheduler, 0);
	int nice;

	/* an operator's choice of policy (the unit's CPUSchedulingPolicy=) stays */
	if (policy != SCHED_NORMAL)
		return policy < 0 ? -1 : 0;
	/* and its nice (Nice=): sched_setattr sets both */
	errno = 0;
	nice = getpriority(PRIO_PROCESS, (id_t)gettid());
	if (nice == -1 && errno)
		return -1;
	attr.sched_nice = nice;
	/* glibc 2.36 has no wrapper; flags 0: this thread */
	return (int)syscall(SYS_sched_setattr, 0, &attr, 0);
}
