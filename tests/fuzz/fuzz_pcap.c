// SPDX-License-Identifier: MIT
/* libFuzzer target: a whole capture file (pcap or pcapng bytes) through the
 * reader and the kernel-style windowing, re-arming every other window. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "capture/pcap_source.h"
#include "capture/sessions.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcap_source *src;
	struct sessions *sessions;
	struct session_window w;
	struct packet_info info;
	uint64_t ts_ns;
	char err[256];
	FILE *f;

	f = fmemopen((void *)data, size, "rb");
	if (!f || pcap_source_open_stream(f, "fuzz", &src, err, sizeof(err)))
		return 0;
	sessions = sessions_new(&(struct window_cut){ .window = 4, .mode = WINDOWS_KERNEL, .skip = 1 });
	while (pcap_source_next(src, &info, &ts_ns) == 1) {
		int ev;

		while ((ev = sessions_add(sessions, &info.key, info.ip_len, ts_ns, &w)) ==
		       SESSION_AWAITING_DECISION)
			sessions_rearm(sessions, &info.key);
		if (ev == SESSION_WINDOW_DONE &&
		    (w.rec.n != 4 || w.rec.offset_us[3] < w.rec.offset_us[0]))
			abort();
		if (ev == SESSION_WINDOW_DONE && (w.rec.window & 1))
			sessions_close(sessions, &info.key);
	}
	sessions_free(sessions);
	pcap_source_close(src);
	return 0;
}
