/* SPDX-License-Identifier: MIT */
/* odeflow run --learn-every DURATION: the agent learns its site by itself.
 * Every DURATION the teacher writes what it holds into the site data set,
 * then `odeflow learn` runs on it (teach/learn.h) as a process of its own
 * at the idle scheduling class: it gets only CPU time nothing else wants,
 * never the classification threads', and stopping the agent stops it at
 * once. The running model is CURRENT; a better NEW (written into the site
 * data set's directory, LEARNER_KEEP of them kept) is loaded without a
 * restart (model_reload.h). Each run says what it found in a few lines. */
#ifndef ODEFLOW_LEARNER_H
#define ODEFLOW_LEARNER_H

#include <stddef.h>
#include <stdint.h>

#include "model_reload.h"
#include "teach/teacher.h"

/* Learnt models kept in the site directory, the running one among them. */
#define LEARNER_KEEP 2

struct learner;

/* Errors: -1 and one line in err. */
int learner_start(uint64_t every_ns, const char *site_dir, struct teacher *teacher,
		  struct model_reloader *reloader, struct learner **out, char *err, size_t errlen);
/* Stops the thread, and a learning process that runs (killed). */
void learner_stop(struct learner *l);

#endif
