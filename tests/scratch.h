/* SPDX-License-Identifier: MIT */
/* A test binary's scratch folder: scratch_create("npy") makes
 * /tmp/odeflow-test-npy-XXXXXX, tmp_path("x.npy") names a file in it (four
 * rotating buffers, so a call may take two or three paths), and
 * scratch_remove() deletes the folder with the files in it
 * (scratch_remove_tree() with its folders too). */
#ifndef ODEFLOW_TEST_SCRATCH_H
#define ODEFLOW_TEST_SCRATCH_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char scratch_dir[96];

static inline const char *tmp_path(const char *name)
{
	static char path[4][sizeof(scratch_dir) + 256];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", scratch_dir, name);
	return p;
}

static inline int scratch_create(const char *tag)
{
	snprintf(scratch_dir, sizeof(scratch_dir), "/tmp/odeflow-test-%s-XXXXXX", tag);
	if (!mkdtemp(scratch_dir)) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

/* The number of files in the scratch folder. */
static inline int scratch_count(void)
{
	DIR *d = opendir(scratch_dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* Deletes the files in the scratch folder. */
static inline void scratch_empty(void)
{
	DIR *d = opendir(scratch_dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlink(tmp_path(e->d_name));
	if (d)
		closedir(d);
}

static inline void scratch_remove(void)
{
	scratch_empty();
	rmdir(scratch_dir);
}

/* -1 when some of it stays. */
static inline int scratch_remove_tree(void)
{
	char cmd[sizeof(scratch_dir) + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch_dir);
	return system(cmd) ? -1 : 0;
}

#endif
