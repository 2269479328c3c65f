/* SPDX-License-Identifier: MIT */
/* Runs a subcommand function (cmd_NAME) in a child process, as `odeflow`
 * would, capturing what it prints: each run gets fresh getopt and
 * OpenBLAS state, and a crash fails the test instead of the test binary. */
#ifndef ODEFLOW_TEST_SUBPROCESS_H
#define ODEFLOW_TEST_SUBPROCESS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Output of the last run_command: stdout and stderr, interleaved. */
static char command_output[1 << 16];

/* The same as run_command with its arguments in an array (argv[argc] NULL). */
static inline int run_command_argv(int (*fn)(int, char **), int argc, char **argv)
{
	char path[] = "/tmp/odeflow-test-output-XXXXXX";
	int fd = mkstemp(path), status = -1;
	pid_t pid;
	FILE *f;
	size_t n = 0;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		exit(fn(argc, argv)); /* exit, not _exit: flush what it printed */
	}
	waitpid(pid, &status, 0);
	f = fdopen(fd, "r");
	if (f) {
		rewind(f);
		n = fread(command_output, 1, sizeof(command_output) - 1, f);
		fclose(f);
	}
	command_output[n] = '\0';
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* run_command(cmd_train, "train", "--data", "x", NULL): the exit status, or
 * 128 + signal if the command crashed. */
static int run_command(int (*fn)(int, char **), ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;

	va_start(ap, fn);
	while (argc < 63 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	return run_command_argv(fn, argc, argv);
}

#endif
