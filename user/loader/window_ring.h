/* SPDX-License-Identifier: MIT */
/* Reading the XDP program's "windows" ring buffer. The program submits
 * windows without waking the reader, and wakes it only after it has raised
 * the "wakeup" flag to say it is about to sleep (wake_agent_if_asleep in
 * bpf/odeflow.bpf.c says why). This is the reader's half of that
 * handshake: a libbpf ring_buffer plus the flag, mapped into memory. */
#ifndef ODEFLOW_WINDOW_RING_H
#define ODEFLOW_WINDOW_RING_H

#include <bpf/libbpf.h>
#include <stddef.h>

struct window_ring;

/* windows_fd, wakeup_fd: the maps "windows" and "wakeup". on_record gets
 * each window's raw record (decode it with window_record_decode). */
struct window_ring *window_ring_new(int windows_fd, int wakeup_fd, ring_buffer_sample_fn on_record,
				    void *ctx, char *err, size_t errlen);
void window_ring_free(struct window_ring *r);

/* Readable when windows wait; add it to an epoll set of your own to wait
 * for more than the ring. */
int window_ring_epoll_fd(const struct window_ring *r);

/* Like libbpf's ring_buffer__poll: hands waiting windows to on_record, at
 * most `budget` of them, so a caller behind a ring that never empties still
 * gets control back; when none waits, raises the flag, looks once more, and
 * sleeps on epoll_fd (window_ring_epoll_fd, or a set that holds it) for up
 * to timeout_ms. Returns the windows handed over, or a negative errno
 * (-EINTR when a signal cut the sleep short). */
int window_ring_poll(struct window_ring *r, int epoll_fd, int timeout_ms, int budget);

#endif
