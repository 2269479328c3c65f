/* SPDX-License-Identifier: MIT */
/* A small test harness. Each test binary prints one line per test:
 *   PASS name | FAIL name: why | SKIP name: why
 * and tests/run.sh adds them up into "N passed, N failed, N skipped".
 *
 *   static void test_something(void) { CHECK(1 + 1 == 2); }
 *   int main(void) { RUN(test_something); return harness_done(); }
 */
#ifndef ODEFLOW_HARNESS_H
#define ODEFLOW_HARNESS_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int harness_failed_tests;
static int harness_current_failed;
static const char *harness_skip_reason;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			if (!harness_current_failed)                           \
				printf("  %s:%d: CHECK(%s) failed\n", __FILE__, \
				       __LINE__, #cond);                       \
			harness_current_failed++;                              \
		}                                                              \
	} while (0)

/* Like CHECK, with a printf-style explanation. */
#define CHECKF(cond, ...)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			if (!harness_current_failed) {                         \
				printf("  %s:%d: ", __FILE__, __LINE__);       \
				printf(__VA_ARGS__);                           \
				printf("\n");                                  \
			}                                                      \
			harness_current_failed++;                              \
		}                                                              \
	} while (0)

#define CHECK_NEAR(a, b, tol)                                                  \
	CHECKF(fabs((double)(a) - (double)(b)) <= (tol), "%s = %.9g, %s = %.9g, tolerance %g", \
	       #a, (double)(a), #b, (double)(b), (double)(tol))

/* Call from inside a test to skip it; the test should return right after. */
#define SKIP(reason) (harness_skip_reason = (reason))

#define RUN(fn)                                                                \
	do {                                                                   \
		harness_current_failed = 0;                                    \
		harness_skip_reason = NULL;                                    \
		fflush(stdout);                                                \
		fn();                                                          \
		if (harness_current_failed) {                                  \
			printf("FAIL %s: %d check(s) failed\n", #fn, harness_current_failed); \
			harness_failed_tests++;                                \
		} else if (harness_skip_reason) {                              \
			printf("SKIP %s: %s\n", #fn, harness_skip_reason);     \
		} else {                                                       \
			printf("PASS %s\n", #fn);                              \
		}                                                              \
		fflush(stdout);                                                \
	} while (0)

static inline int harness_done(void)
{
	return harness_failed_tests ? 1 : 0;
}

/* CPU seconds this thread has run: what a piece of work costs, however
 * busy the machine is (wall time is not, on a shared 2-vCPU machine). */
static inline double harness_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Time in tests. A test that bounds how long something takes measures it,
 * prints it, and judges it against a bound that holds with margin on a
 * loaded 2-vCPU machine for the build under test: harness_ms(PLAIN) is
 * PLAIN milliseconds in the plain build and HARNESS_SANITIZED_SLOWDOWN times
 * as many under ASan+UBSan (tests/run.sh sets ODEFLOW_SANITIZED=1 there). */
#define HARNESS_SANITIZED_SLOWDOWN 3

static inline bool harness_sanitized(void)
{
	return getenv("ODEFLOW_SANITIZED") != NULL;
}

static inline int harness_ms(int plain_ms)
{
	return harness_sanitized() ? plain_ms * HARNESS_SANITIZED_SLOWDOWN : plain_ms;
}

/* CLOCK_MONOTONIC in milliseconds. */
static inline double harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* Polls COND every 10 ms until it holds, for at most harness_ms(PLAIN_MS):
 * the milliseconds it took to hold, or -1 if it never did. */
#define WAIT_UNTIL(cond, plain_ms)                                             	({                                                                     		double start_ = harness_now_ms(), took_ = -1;                  		for (;;) {                                                     			if (cond) {                                            				took_ = harness_now_ms() - start_;             				break;                                         			}                                                      			if (harness_now_ms() - start_ > harness_ms(plain_ms))  				break;                                         			usleep(10000);                                         		}                                                              		took_;                                                         	})

/* Prints how long WHAT took (took_ms; < 0: it never happened) against its
 * bound, harness_ms(PLAIN_MS), and checks it is within. */
#define CHECK_TOOK(what, took_ms, plain_ms)                                    	do {                                                                   		double t_ = (took_ms);                                         		int b_ = harness_ms(plain_ms);                                 		if (t_ >= 0)                                                   			printf("  %s: %.0f ms (at most %d)\n", (what), t_, b_); 		CHECKF(t_ >= 0 && t_ <= b_, "%s: %s %d ms", (what),           		       t_ < 0 ? "not within" : "over", b_);                   	} while (0)

/* Tests that load BPF programs or create namespaces need root. */
static inline int harness_is_root(void)
{
	return geteuid() == 0;
}

#endif
