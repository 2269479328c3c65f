// SPDX-License-Identifier: MIT
/* The event object: every field, read back with jansson. */
#include <jansson.h>

#include "agent/event_json.h"
#include "common/flow_key.h"
#include "harness.h"

static struct model_config config(void)
{
	struct model_config cfg = { .num_classes = 5, .window = 3 };
	const char *names[] = { "VoIP", "Video", "File_Transfer", "Chat", "Browsing" };

	for (int k = 0; k < 5; k++)
		snprintf(cfg.class_names[k], sizeof(cfg.class_names[k]), "%s", names[k]);
	return cfg;
}

static void test_ipv4_event(void)
{
	struct model_config cfg = config();
	struct decision d = { .class_id = 1, .confidence = 0.8125f, .stage = 2, .provisional = true };
	json_t *o, *sizes, *ts;
	char *text;

	CHECK(!flow_key_make(&d.window.key, "10.200.0.1", 443, "10.200.0.2", 50000, 17));
	d.window.n = 3;
	d.window.window = 1;
	memcpy(d.window.sizes, (__u16[]){ 1200, 80, 1500 }, 6);
	memcpy(d.window.offset_us, (__u32[]){ 0, 15, 2000001 }, 12);
	text = event_json(&d, &cfg, "capture.pcap", 1700000000.123456, -1);
	CHECK(text && !strchr(text, '\n'));
	o = json_loads(text, 0, NULL);
	CHECK(o != NULL);
	CHECK_NEAR(json_real_value(json_object_get(o, "time")), 1700000000.123456, 1e-6);
	CHECK(!strcmp(json_string_value(json_object_get(o, "iface")), "capture.pcap"));
	CHECK(!strcmp(json_string_value(json_object_get(o, "src")), "10.200.0.1"));
	CHECK(!strcmp(json_string_value(json_object_get(o, "dst")), "10.200.0.2"));
	CHECK(json_integer_value(json_object_get(o, "sport")) == 443);
	CHECK(json_integer_value(json_object_get(o, "dport")) == 50000);
	CHECK(json_integer_value(json_object_get(o, "proto")) == 17);
	CHECK(json_integer_value(json_object_get(o, "window")) == 1);
	sizes = json_object_get(o, "sizes");
	ts = json_object_get(o, "ts_us");
	CHECK(json_array_size(sizes) == 3 && json_array_size(ts) == 3);
	CHECK(json_integer_value(json_array_get(sizes, 2)) == 1500);
	CHECK(json_integer_value(json_array_get(ts, 2)) == 2000001);
	CHECK(!strcmp(json_string_value(json_object_get(o, "class")), "Video"));
	CHECK_NEAR(json_real_value(json_object_get(o, "confidence")), 0.8125, 1e-9);
	CHECK(json_integer_value(json_object_get(o, "stage")) == 2);
	CHECK(json_is_true(json_object_get(o, "provisional")));
	CHECK(json_is_null(json_object_get(o, "latency_us")));
	json_decref(o);
	free(text);
}

static void test_ipv6_event_with_latency(void)
{
	struct model_config cfg = config();
	struct decision d = { .class_id = 4, .confidence = 0.99f, .stage = 1 };
	json_t *o;
	char *text;

	CHECK(!flow_key_make(&d.window.key, "2001:db8::1", 1, "2001:db8::2", 2, 6));
	d.window.n = 3;
	text = event_json(&d, &cfg, "veth0", 1.5, 250.5);
	o = text ? json_loads(text, 0, NULL) : NULL;
	CHECK(o != NULL);
	CHECK(!strcmp(json_string_value(json_object_get(o, "src")), "2001:db8::1"));
	CHECK(!strcmp(json_string_value(json_object_get(o, "class")), "Browsing"));
	CHECK(json_is_false(json_object_get(o, "provisional")));
	CHECK_NEAR(json_real_value(json_object_get(o, "latency_us")), 250.5, 1e-9);
	json_decref(o);
	free(text);
}

/* A capture whose file name is not UTF-8 still gets its events. */
static void test_non_utf8_name(void)
{
	struct model_config cfg = config();
	struct decision d = { .class_id = 0, .confidence = 0.5f, .stage = 1 };
	json_t *o;
	char *text;

	CHECK(!flow_key_make(&d.window.key, "10.0.0.1", 1, "10.0.0.2", 2, 17));
	text = event_json(&d, &cfg, "caf\xe9.pcap", 1.0, -1);
	o = text ? json_loads(text, 0, NULL) : NULL;
	CHECK(o && !strcmp(json_string_value(json_object_get(o, "iface")), "caf?.pcap"));
	json_decref(o);
	free(text);
}

/* The outcome Unknown is named as such; an id past it as "?". */
static void test_unknown_event(void)
{
	struct model_config cfg = config();
	struct decision d = { .class_id = 5, .unknown = true, .confidence = 1, .stage = 3 };
	char *text;
	json_t *o;

	CHECK(!flow_key_make(&d.window.key, "10.200.0.1", 443, "10.200.0.2", 50000, 6));
	d.window.n = 3;
	text = event_json(&d, &cfg, "eth0", 1, 5);
	o = text ? json_loads(text, 0, NULL) : NULL;
	CHECK(o && !strcmp(json_string_value(json_object_get(o, "class")), "Unknown"));
	json_decref(o);
	free(text);
	d.class_id = 6;
	text = event_json(&d, &cfg, "eth0", 1, 5);
	o = text ? json_loads(text, 0, NULL) : NULL;
	CHECK(o && !strcmp(json_string_value(json_object_get(o, "class")), "?"));
	json_decref(o);
	free(text);
}

int main(void)
{
	RUN(test_unknown_event);
	RUN(test_ipv4_event);
	RUN(test_ipv6_event_with_latency);
	RUN(test_non_utf8_name);
	return harness_done();
}
