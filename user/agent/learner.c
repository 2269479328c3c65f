/* SPDX-License-Identifier: MIT */
#include "learner.h"

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/errmsg.h"
#include "common/log.h"

#define LEARNT_PREFIX "learnt-"
#define LEARNT_SUFFIX ".safetensors"
/* `odeflow learn`'s exit status when NEW is no better (cmd_learn.c). */
#define LEARN_NOT_BETTER 3

struct learner {
	uint64_t every_ns;
	char dir[PATH_MAX];
	struct teacher *teacher;
	struct model_reloader *reloader;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	pid_t child;  /* a learning process that runs, or 0 (lock) */
};

/* Runs `odeflow learn` (this binary) as a process at the idle scheduling
 * class; its lines go to the log. Its exit status, or -1. */
static int run_learn(struct learner *l, const char *current, const char *out)
{
	char *argv[] = { "odeflow", "learn", "--quiet", "--data", l->dir, "--model",
			 (char *)current, "--out", (char *)out, NULL };
	char line[1024];
	int fds[2], status = -1;
	FILE *f;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pthread_mutex_lock(&l->lock);
	pid = l->stopping ? -1 : fork();
	if (pid == 0) { /* the child: async-signal-safe calls only until exec */
		struct sched_param none = { 0 };

		sched_setscheduler(0, SCHED_IDLE, &none);
		setpriority(PRIO_PROCESS, 0, 19);
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	if (pid > 0)
		l->child = pid;
	pthread_mutex_unlock(&l->lock);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return -1;
	}
	f = fdopen(fds[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		log_line(LOG_LEVEL_INFO, "learn: %s", line);
	}
	if (f)
		fclose(f);
	else
		close(fds[0]);
	waitpid(pid, &status, 0);
	pthread_mutex_lock(&l->lock);
	l->child = 0;
	pthread_mutex_unlock(&l->lock);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The learnt models but the newest LEARNER_KEEP and the running one go. */
static void tidy(struct learner *l, const char *running)
{
	DIR *d = opendir(l->dir);
	char *names[256], path[PATH_MAX + 64];
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)) && n < 256)
		/* a name strdup could not copy is left for the next tidy */
		if (!strncmp(e->d_name, LEARNT_PREFIX, strlen(LEARNT_PREFIX)) &&
		    strlen(e->d_name) > strlen(LEARNT_SUFFIX) &&
		    !strcmp(e->d_name + strlen(e->d_name) - strlen(LEARNT_SUFFIX), LEARNT_SUFFIX) &&
		    (names[n] = strdup(e->d_name)))
			n++;
	if (d)
		closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), by_name);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", l->dir, names[i]);
		if (i < n - LEARNER_KEEP && strcmp(path, running))
			unlink(path);
		free(names[i]);
	}
}

static void learn_once(struct learner *l)
{
	char current[PATH_MAX], out[PATH_MAX + 64], stamp[32], err[ERRMSG_LEN];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	if (teacher_flush(l->teacher, err, sizeof(err)))
		log_line(LOG_LEVEL_WARNING, "learn: %s (learning from what was written before)", err);
	model_reloader_path(l->reloader, current, sizeof(current));
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out, sizeof(out), "%s/" LEARNT_PREFIX "%s" LEARNT_SUFFIX, l->dir, stamp);
	rc = run_learn(l, current, out);
	if (rc == 0 && model_reloader_load(l->reloader, out, "learnt", err, sizeof(err)))
		rc = 1; /* said by the reloader */
	if (rc != 0 && rc != LEARN_NOT_BETTER)
		log_line(LOG_LEVEL_WARNING, "learn: no new model this time (classification goes on "
			 "with the running one)");
	teacher_count_learn(l->teacher, rc == 0);
	model_reloader_path(l->reloader, current, sizeof(current));
	tidy(l, current);
}

static void *learner_main(void *arg)
{
	struct learner *l = arg;

	pthread_mutex_lock(&l->lock);
	while (!l->stopping) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)(l->every_ns / NSEC_PER_SEC);
		until.tv_nsec += (long)(l->every_ns % NSEC_PER_SEC);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!l->stopping &&
		       pthread_cond_timedwait(&l->wake, &l->lock, &until) != ETIMEDOUT)
			;
		if (l->stopping)
			break;
		pthread_mutex_unlock(&l->lock);
		learn_once(l);
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

int learner_start(uint64_t every_ns, const char *site_dir, struct teacher *teacher,
		  struct model_reloader *reloader, struct learner **out, char *err, size_t errlen)
{
	struct learner *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (!l)
		return errmsg(err, errlen, "out of memory");
	*l = (struct learner){ .every_ns = every_ns, .teacher = teacher, .reloader = reloader };
	snprintf(l->dir, sizeof(l->dir), "%s", site_dir);
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->wake, NULL);
	if (pthread_create(&l->thread, NULL, learner_main, l)) {
		pthread_mutex_destroy(&l->lock);
		pthread_cond_destroy(&l->wake);
		free(l);
		return errmsg(err, errlen, "cannot start the learner's thread");
	}
	*out = l;
	return 0;
}

void learner_stop(struct learner *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	if (l->child > 0)
		kill(l->child, SIGKILL);
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->wake);
	free(l);
}
