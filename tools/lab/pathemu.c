// pathemu: the access links of the lab's sessions, emulated in user space.
//
// This machine's kernel has no netem (nor fq, which would honour departure
// times), so each session's link is a TUN device: the session namespace's
// eth0 is the device, and this process, in the router namespace, holds its
// file descriptor. Packets a session sends (uplink) are read from its
// device and written to the router's device up0 after the uplink's loss,
// rate, buffer, delay and jitter; packets the router routes to a session
// (downlink) are read from up0 and written to the session's device after the
// downlink's. Each way keeps its packets in order, like a link.
//
// Commands on standard input, one a line (answers "ok" or "err WHY"):
//   add INDEX ADDR DEV DELAY_UP JITTER_UP LOSS_UP RATE_UP DELAY_DOWN JITTER_DOWN LOSS_DOWN
//       RATE_DOWN DIST BUFFER_MS    (ms, ms, percent, kbit/s; DIST normal|pareto|paretonormal)
//   del INDEX
// It creates DEV in its own namespace; the caller moves it into the
// session's. End of input ends it.
//
//   pathemu UP0 CLIENT_BASE SEED
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_SESSIONS 32768
#define MAX_QUEUED 400000      // packets held at once, all links together
#define PKT_MAX 65536
#define EV_STDIN 0xfffffffeu
#define EV_TIMER 0xfffffffdu
#define EV_UP0 0xfffffffcu

enum dist { DIST_NORMAL, DIST_PARETO, DIST_PARETONORMAL };

struct way {
	double delay_ns, jitter_ns, loss, ns_per_byte;
	int64_t buffer_ns, next_free, last_out;
};

struct session {
	int fd;
	uint32_t gen;
	enum dist dist;
	struct way up, down;
};

struct held {
	int64_t t;
	uint32_t idx, gen;
	bool to_up0;
	uint16_t len;
	unsigned char *data;
};

static struct session sessions[MAX_SESSIONS];
static struct held *heap;
static size_t held_count;
static uint64_t rng_state;
static uint32_t client_base;
static int up0_fd, timer_fd, ep_fd;
static uint64_t dropped_full;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static double uniform(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

static double normal(void)
{
	double u = uniform(), v = uniform();
	return sqrt(-2.0 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

// A jitter sample with spread SIGMA around 0, shaped like netem's tables:
// normal, pareto (heavy tail, shifted to mean 0), or netem's mix of both.
static double jitter(enum dist d, double sigma)
{
	if (sigma <= 0)
		return 0;
	const double alpha = 3.0;   // finite variance; mean alpha/(alpha-1)
	double p = pow(1.0 - uniform(), -1.0 / alpha) - alpha / (alpha - 1);
	switch (d) {
	case DIST_PARETO: return sigma * p / 0.866;    // sd of the shifted variable
	case DIST_PARETONORMAL: return sigma * (0.25 * normal() + 0.75 * p / 0.866);
	default: return sigma * normal();
	}
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void heap_swap(size_t a, size_t b)
{
	struct held t = heap[a];
	heap[a] = heap[b];
	heap[b] = t;
}

static void heap_push(struct held h)
{
	size_t i = held_count++;
	heap[i] = h;
	while (i && heap[(i - 1) / 2].t > heap[i].t) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct held heap_pop(void)
{
	struct held top = heap[0];
	heap[0] = heap[--held_count];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < held_count && heap[l].t < heap[m].t)
			m = l;
		if (r < held_count && heap[r].t < heap[m].t)
			m = r;
		if (m == i)
			break;
		heap_swap(i, m);
		i = m;
	}
	return top;
}

static void arm_timer(void)
{
	struct itimerspec its = { 0 };
	if (held_count) {
		int64_t t = heap[0].t;
		if (t <= 0)
			t = 1;
		its.it_value.tv_sec = t / 1000000000;
		its.it_value.tv_nsec = t % 1000000000;
	}
	timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

// One packet onto one way of a session's link: lost, dropped by a full
// buffer, or held until it has crossed the bottleneck and the path.
static void enqueue(uint32_t idx, struct way *w, bool to_up0, const unsigned char *pkt, size_t len)
{
	struct session *s = &sessions[idx];
	if (w->loss > 0 && uniform() * 100.0 < w->loss)
		return;
	int64_t now = now_ns();
	int64_t start = w->next_free > now ? w->next_free : now;
	if (start - now > w->buffer_ns)
		return;                          // the bottleneck's queue is full
	if (held_count >= MAX_QUEUED) {
		dropped_full++;
		return;
	}
	int64_t sent = start + (int64_t)(w->ns_per_byte * (double)len);
	w->next_free = sent;
	int64_t t = sent + (int64_t)(w->delay_ns + jitter(s->dist, w->jitter_ns));
	if (t < sent)
		t = sent;
	if (t < w->last_out)
		t = w->last_out;                 // a link does not reorder
	w->last_out = t;
	unsigned char *copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, pkt, len);
	heap_push((struct held){ .t = t, .idx = idx, .gen = s->gen, .to_up0 = to_up0,
				 .len = (uint16_t)len, .data = copy });
}

static void release_due(void)
{
	int64_t now = now_ns();
	while (held_count && heap[0].t <= now) {
		struct held h = heap_pop();
		struct session *s = &sessions[h.idx];
		if (h.gen == s->gen && s->fd >= 0) {
			int fd = h.to_up0 ? up0_fd : s->fd;
			if (write(fd, h.data, h.len) < 0) {
				// a full device queue drops, as a link would
			}
		}
		free(h.data);
	}
	arm_timer();
}

static int tun_open(const char *name)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct ifreq ifr = { 0 };
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void set_way(struct way *w, double delay, double jit, double loss, double kbit, double buffer_ms)
{
	*w = (struct way){ .delay_ns = delay * 1e6, .jitter_ns = jit * 1e6, .loss = loss,
			   .ns_per_byte = 8e6 / kbit, .buffer_ns = (int64_t)(buffer_ms * 1e6) };
}

static void command(char *line)
{
	unsigned idx;
	char addr[64], dev[IFNAMSIZ + 1], dist[32];
	double d_up, j_up, l_up, r_up, d_dn, j_dn, l_dn, r_dn, buf;
	if (sscanf(line, "add %u %63s %16s %lf %lf %lf %lf %lf %lf %lf %lf %31s %lf", &idx, addr, dev,
		   &d_up, &j_up, &l_up, &r_up, &d_dn, &j_dn, &l_dn, &r_dn, dist, &buf) == 13) {
		struct in_addr a;
		if (idx >= MAX_SESSIONS || sessions[idx].fd >= 0 || inet_pton(AF_INET, addr, &a) != 1 ||
		    ntohl(a.s_addr) != client_base + 2 * idx + 1 || r_up <= 0 || r_dn <= 0) {
			printf("err bad add\n");
			return;
		}
		struct session *s = &sessions[idx];
		s->fd = tun_open(dev);
		if (s->fd < 0) {
			printf("err %s: %s\n", dev, strerror(errno));
			return;
		}
		s->gen++;
		s->dist = !strcmp(dist, "pareto") ? DIST_PARETO
			  : !strcmp(dist, "paretonormal") ? DIST_PARETONORMAL : DIST_NORMAL;
		set_way(&s->up, d_up, j_up, l_up, r_up, buf);
		set_way(&s->down, d_dn, j_dn, l_dn, r_dn, buf);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = idx };
		epoll_ctl(ep_fd, EPOLL_CTL_ADD, s->fd, &ev);
		printf("ok\n");
	} else if (sscanf(line, "del %u", &idx) == 1 && idx < MAX_SESSIONS) {
		struct session *s = &sessions[idx];
		if (s->fd >= 0) {
			epoll_ctl(ep_fd, EPOLL_CTL_DEL, s->fd, NULL);
			close(s->fd);
			s->fd = -1;
			s->gen++;
		}
		printf("ok\n");
	} else if (!strncmp(line, "stats", 5)) {
		printf("ok held %zu dropped_full %llu\n", held_count, (unsigned long long)dropped_full);
	} else {
		printf("err unknown command\n");
	}
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: pathemu UP0 CLIENT_BASE SEED\n");
		return 2;
	}
	struct in_addr base;
	if (inet_pton(AF_INET, argv[2], &base) != 1) {
		fprintf(stderr, "pathemu: bad address %s\n", argv[2]);
		return 2;
	}
	client_base = ntohl(base.s_addr);
	rng_state = strtoull(argv[3], NULL, 10) * 0x9e3779b97f4a7c15ull + 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned i = 0; i < MAX_SESSIONS; i++)
		sessions[i].fd = -1;
	heap = calloc(MAX_QUEUED, sizeof(*heap));
	up0_fd = tun_open(argv[1]);
	timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (!heap || up0_fd < 0 || timer_fd < 0 || ep_fd < 0) {
		fprintf(stderr, "pathemu: setting up: %s\n", strerror(errno));
		return 1;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = EV_STDIN };
	epoll_ctl(ep_fd, EPOLL_CTL_ADD, 0, &ev);
	ev.data.u32 = EV_TIMER;
	epoll_ctl(ep_fd, EPOLL_CTL_ADD, timer_fd, &ev);
	ev.data.u32 = EV_UP0;
	epoll_ctl(ep_fd, EPOLL_CTL_ADD, up0_fd, &ev);
	printf("ok\n");

	static unsigned char pkt[PKT_MAX];
	static char line[512];
	size_t line_len = 0;
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep_fd, evs, 64, -1);
		if (n < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++) {
			uint32_t k = evs[i].data.u32;
			if (k == EV_STDIN) {
				ssize_t r = read(0, line + line_len, sizeof(line) - 1 - line_len);
				if (r <= 0)
					return 0;            // the lab is gone: so are its links
				line_len += (size_t)r;
				char *nl;
				while ((nl = memchr(line, '\n', line_len))) {
					*nl = 0;
					command(line);
					line_len -= (size_t)(nl + 1 - line);
					memmove(line, nl + 1, line_len);
				}
				if (line_len == sizeof(line) - 1)
					line_len = 0;        // no command is that long
			} else if (k == EV_TIMER) {
				uint64_t x;
				if (read(timer_fd, &x, sizeof(x)) < 0) {
					// nothing: release_due looks at the clock
				}
				release_due();
			} else if (k == EV_UP0) {
				for (int burst = 0; burst < 256; burst++) {
					ssize_t r = read(up0_fd, pkt, sizeof(pkt));
					if (r < 20)
						break;
					if ((pkt[0] >> 4) != 4)
						continue;
					uint32_t dst;
					memcpy(&dst, pkt + 16, 4);
					dst = ntohl(dst);
					if (dst <= client_base || ((dst - client_base) & 1) == 0)
						continue;
					uint32_t idx = (dst - client_base - 1) / 2;
					if (idx < MAX_SESSIONS && sessions[idx].fd >= 0)
						enqueue(idx, &sessions[idx].down, false, pkt, (size_t)r);
				}
				release_due();
			} else if (k < MAX_SESSIONS && sessions[k].fd >= 0) {
				for (int burst = 0; burst < 256; burst++) {
					ssize_t r = read(sessions[k].fd, pkt, sizeof(pkt));
					if (r < 20)
						break;
					if ((pkt[0] >> 4) == 4)
						enqueue(k, &sessions[k].up, true, pkt, (size_t)r);
				}
				release_due();
			}
		}
	}
}
