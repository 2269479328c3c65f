// SPDX-License-Identifier: MIT
/* One-directional sessions and the ways of cutting windows: every window,
 * at most K, the kernel's, each after a skip of the first packets. */
#include "harness.h"
#include "capture/sessions.h"

#define N 4

static struct flow_key key(uint16_t sport)
{
	struct flow_key k = { .sport = sport, .dport = 443, .proto = 6 };

	k.saddr[15] = 1;
	k.daddr[15] = 2;
	return k;
}

static struct sessions *new_sessions(int window, enum window_mode mode, int skip, int max)
{
	return sessions_new(&(struct window_cut){ .window = window, .mode = mode, .skip = skip,
						  .max_windows = max });
}

/* Adds packet i of direction sport: size 100 + i, time 1 s + i ms + 999 ns. */
static int add(struct sessions *s, uint16_t sport, int i, struct session_window *w)
{
	struct flow_key k = key(sport);

	return sessions_add(s, &k, (uint16_t)(100 + i),
			    1000000000ull + (uint64_t)i * 1000000 + 999, w);
}

static void test_all_windows(void)
{
	struct sessions *s = new_sessions(N, WINDOWS_ALL, 0, 0);
	struct session_window w;
	int windows = 0;

	for (int i = 0; i < 3 * N + 2; i++) {
		CHECK(add(s, 2000, i, &w) == (i % N == N - 1 ? SESSION_WINDOW_DONE
							      : SESSION_PACKET_TAKEN));
		if (i % N != N - 1)
			continue;
		CHECK(w.rec.window == windows);
		CHECK(w.first_packet == (uint64_t)windows * N);
		CHECK(w.rec.n == N);
		CHECK(w.rec.sizes[0] == 100 + windows * N && w.rec.sizes[N - 1] == 100 + i);
		CHECK(w.session_first_ns == 1000000999ull);
		CHECK(w.ts_ns[N - 1] == 1000000999ull + (uint64_t)i * 1000000);
		/* offsets from the window's own first packet, whole microseconds */
		CHECK(w.rec.offset_us[0] == 0 && w.rec.offset_us[N - 1] == (N - 1) * 1000);
		windows++;
	}
	CHECK(windows == 3);
	sessions_free(s);
}

static void test_first_only_and_directions(void)
{
	struct sessions *s = new_sessions(N, WINDOWS_ALL, 0, 1);
	struct session_window w;
	int done = 0;

	for (int i = 0; i < 3 * N; i++) {
		done += add(s, 2000, i, &w) == SESSION_WINDOW_DONE;
		if (add(s, 2001, i, &w) == SESSION_WINDOW_DONE) {
			CHECK(w.session == 1 && w.rec.key.sport == 2001);
			done++;
		}
	}
	CHECK(done == 2);
	sessions_free(s);
}

static void test_kernel_rearm_and_close(void)
{
	struct sessions *s = new_sessions(N, WINDOWS_KERNEL, 0, 0);
	struct flow_key k = key(2000);
	struct session_window w;
	int i = 0;

	for (; i < N - 1; i++)
		CHECK(add(s, 2000, i, &w) == SESSION_PACKET_TAKEN);
	CHECK(add(s, 2000, i++, &w) == SESSION_WINDOW_DONE);
	CHECK(sessions_awaiting(s, &k));
	/* no decision yet: the packet is refused until one comes */
	CHECK(add(s, 2000, i, &w) == SESSION_AWAITING_DECISION);
	CHECK(add(s, 2001, 0, &w) == SESSION_PACKET_TAKEN); /* other directions go on */
	sessions_rearm(s, &k);
	CHECK(!sessions_awaiting(s, &k));
	for (int j = 0; j < N - 1; j++)
		CHECK(add(s, 2000, i++, &w) == SESSION_PACKET_TAKEN);
	CHECK(add(s, 2000, i++, &w) == SESSION_WINDOW_DONE);
	CHECK(w.rec.window == 1);
	CHECK(w.first_packet == N); /* starts with the packet after the request */
	CHECK(w.rec.sizes[0] == 100 + N);
	sessions_close(s, &k);
	for (int j = 0; j < 2 * N; j++)
		CHECK(add(s, 2000, i++, &w) == SESSION_PACKET_TAKEN);

	/* stopped in the middle of a window (a final verdict from the other
	 * direction): that window never completes */
	k = key(2001);
	sessions_close(s, &k);
	for (int j = 1; j < 2 * N; j++)
		CHECK(add(s, 2001, j, &w) == SESSION_PACKET_TAKEN);
	sessions_free(s);
}

/* A capture whose clock steps back: times are held, never decrease. */
static void test_reordered_times(void)
{
	struct sessions *s = new_sessions(N, WINDOWS_ALL, 0, 1);
	struct flow_key k = key(7);
	struct session_window w;
	const uint64_t t[N] = { 5000000, 4000000, 6000000, 6001999 };
	int ev = 0;

	for (int i = 0; i < N; i++)
		ev = sessions_add(s, &k, 60, t[i], &w);
	CHECK(ev == SESSION_WINDOW_DONE);
	CHECK(w.rec.offset_us[1] == 0 && w.rec.offset_us[2] == 1000 && w.rec.offset_us[3] == 1001);
	CHECK(sessions_reordered(s) == 1);
	{
		char line[256] = "";
		FILE *mem = fmemopen(line, sizeof(line) - 1, "w");

		sessions_report(mem, "x.pcap", s);
		fclose(mem);
		CHECKF(!strncmp(line, "x.pcap: 1 packets earlier", 25), "report '%s'", line);
	}
	sessions_free(s);
}

/* Enough directions to grow the table several times, each found again. */
static void test_many_directions(void)
{
	struct sessions *s = new_sessions(2, WINDOWS_ALL, 0, 1);
	struct session_window w;
	int done = 0;

	for (int i = 0; i < 20000; i++)
		CHECK(add(s, (uint16_t)i, 0, &w) == SESSION_PACKET_TAKEN);
	for (int i = 0; i < 20000; i++)
		done += add(s, (uint16_t)i, 1, &w) == SESSION_WINDOW_DONE;
	CHECK(done == 20000);
	sessions_free(s);
}

/* --skip K: packets K..K+N-1 (from 0) form window 0, in every mode; later
 * windows follow on consecutively, up to max_windows. */
static void test_skip_all_modes(void)
{
	const int skip = 5;

	for (int max = 0; max <= 2; max++) {
		struct sessions *s = new_sessions(N, WINDOWS_ALL, skip, max);
		struct session_window w;
		int windows = 0;

		for (int i = 0; i < skip + 4 * N; i++) {
			if (add(s, 2000, i, &w) != SESSION_WINDOW_DONE)
				continue;
			CHECK(w.rec.window == windows);
			CHECK(w.first_packet == (uint64_t)(skip + windows * N));
			CHECK(w.rec.sizes[0] == 100 + skip + windows * N);
			CHECK(i == skip + (windows + 1) * N - 1);
			/* session times still count from the direction's first packet */
			CHECK(w.session_first_ns == 1000000999ull);
			windows++;
		}
		CHECKF(windows == (max ? max : 4), "max %d: %d windows", max, windows);
		sessions_free(s);
	}
	{
		struct sessions *s = new_sessions(N, WINDOWS_KERNEL, skip, 0);
		struct flow_key k = key(2000);
		struct session_window w;
		int i = 0;

		for (; i < skip + N - 1; i++)
			CHECK(add(s, 2000, i, &w) == SESSION_PACKET_TAKEN);
		CHECK(add(s, 2000, i++, &w) == SESSION_WINDOW_DONE);
		CHECK(w.rec.window == 0 && w.first_packet == (uint64_t)skip);
		CHECK(w.rec.sizes[0] == 100 + skip && w.rec.sizes[N - 1] == 100 + skip + N - 1);
		sessions_rearm(s, &k);
		for (int j = 0; j < N - 1; j++)
			CHECK(add(s, 2000, i++, &w) == SESSION_PACKET_TAKEN);
		CHECK(add(s, 2000, i++, &w) == SESSION_WINDOW_DONE);
		/* the re-armed window follows on at once */
		CHECK(w.rec.window == 1 && w.first_packet == (uint64_t)(skip + N));
		sessions_free(s);
	}
	{
		/* a direction no longer than the skip gives nothing */
		struct sessions *s = new_sessions(N, WINDOWS_KERNEL, ODEFLOW_MAX_SKIP, 0);
		struct session_window w;
		int done = 0;

		for (int i = 0; i < ODEFLOW_MAX_SKIP + N - 1; i++)
			done += add(s, 2000, i, &w) == SESSION_WINDOW_DONE;
		CHECK(done == 0);
		CHECK(add(s, 2000, ODEFLOW_MAX_SKIP + N - 1, &w) == SESSION_WINDOW_DONE);
		CHECK(w.first_packet == ODEFLOW_MAX_SKIP);
		sessions_free(s);
	}
}

static void test_bad_cut(void)
{
	CHECK(new_sessions(1, WINDOWS_ALL, 0, 0) == NULL);
	CHECK(new_sessions(ODEFLOW_MAX_WINDOW + 1, WINDOWS_ALL, 0, 0) == NULL);
	CHECK(new_sessions(N, WINDOWS_ALL, -1, 0) == NULL);
	CHECK(new_sessions(N, WINDOWS_KERNEL, ODEFLOW_MAX_SKIP + 1, 0) == NULL);
	CHECK(new_sessions(N, WINDOWS_ALL, 0, -1) == NULL);
}

int main(void)
{
	RUN(test_all_windows);
	RUN(test_first_only_and_directions);
	RUN(test_kernel_rearm_and_close);
	RUN(test_reordered_times);
	RUN(test_many_directions);
	RUN(test_skip_all_modes);
	RUN(test_bad_cut);
	return harness_done();
}
