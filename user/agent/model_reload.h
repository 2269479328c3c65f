/* SPDX-License-Identifier: MIT */
/* A running agent takes another model without a restart: on SIGHUP (the
 * running model's file, read again), on `odeflow model load FILE` (a
 * request in map "model_load", looked at every MODEL_RELOAD_POLL_MS) and
 * from the learner (odeflow run --learn-every).
 *
 * On a thread of its own, since loading, checking and warming a model takes
 * tens of milliseconds that neither the drain nor the workers may wait: the
 * file is read as a root process must read it (a regular file, never a FIFO
 * waited on), the model must pass its self-check (model_self_check) and
 * have the running model's classes and window; its workspaces are then made
 * and warmed beside the running ones and replace them between two batches
 * (classify_pool_swap). Verdicts, the cascade's connections and the policy
 * stay. A model that fails is refused with one line, and the running one
 * goes on. */
#ifndef ODEFLOW_MODEL_RELOAD_H
#define ODEFLOW_MODEL_RELOAD_H

#include <stddef.h>

#include "classify_pool.h"
#include "engine/model.h"

#define MODEL_RELOAD_POLL_MS 100

/* A model now runs (on the reloader's thread): the caller takes it, and
 * frees the one it replaced (nothing uses it any more). */
typedef void (*model_loaded_fn)(void *ctx, struct model *now, struct model *before,
				const char *path);

struct model_reloader;

/* running: the model the pool runs, from path. request_fd: map "model_load"
 * (-1: no requests from the command line). Errors: -1 and one line. */
int model_reloader_start(struct classify_pool *pool, const struct model *running,
			 const char *path, int request_fd, model_loaded_fn on_loaded, void *ctx,
			 struct model_reloader **out, char *err, size_t errlen);
void model_reloader_stop(struct model_reloader *r);

/* SIGHUP: the running model's file again. Returns at once. */
void model_reloader_reread(struct model_reloader *r);
/* Loads path and waits: 0 when it runs, else -1 and the reason in err (the
 * running model goes on). why: who asked, for the log line ("learnt"). */
int model_reloader_load(struct model_reloader *r, const char *path, const char *why, char *err,
			size_t errlen);
/* The file of the model that runs now, copied into buf. */
void model_reloader_path(struct model_reloader *r, char *buf, size_t len);

#endif
