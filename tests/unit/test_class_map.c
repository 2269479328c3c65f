// SPDX-License-Identifier: MIT
/* Class maps (nDPI protocol/category -> class): rules, first match, ignore,
 * the classes line, and one line of file:line for each kind of mistake. */
#include <netinet/in.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/class_map.h"
#include "harness.h"

static struct class_map *parse(const char *text, char *err, size_t errlen)
{
	struct class_map *m = NULL;

	if (class_map_parse(text, strlen(text), "map", &m, err, errlen))
		return NULL;
	return m;
}

static int match(const struct class_map *m, const char *protocol, const char *master,
		 const char *category, uint8_t transport)
{
	struct class_map_flow f = { .field = { protocol, master, category },
				    .transport = transport };

	return class_map_match(m, &f);
}

static void test_rules_and_first_match(void)
{
	const char *text =
		"# a site's own classes\n"
		"ignore   master=DNS            # plumbing\n"
		"Gaming   category=Game transport=udp\n"
		"Backup   protocol=RSYNC,*Backup*\n"
		"\n"
		"Calls    protocol=telegram transport=UDP\n"
		"Chat     category=Chat\n"
		"Other\n";
	char err[256] = "";
	struct class_map *m = parse(text, err, sizeof(err));

	CHECKF(m != NULL, "%s", err);
	if (!m)
		return;
	/* classes in the order the rules first name them */
	CHECK(class_map_classes(m) == 5);
	CHECK(!strcmp(class_map_class_name(m, 0), "Gaming"));
	CHECK(!strcmp(class_map_class_name(m, 4), "Other"));
	CHECK(class_map_class_name(m, 5) == NULL && class_map_class_name(m, -1) == NULL);
	CHECK(match(m, "Google", "DNS", "Web", IPPROTO_UDP) == CLASS_MAP_IGNORE);
	CHECK(match(m, "Steam", "Steam", "Game", IPPROTO_UDP) == 0);
	CHECK(match(m, "Steam", "Steam", "Game", IPPROTO_TCP) == 4); /* transport differs */
	CHECK(match(m, "rsync", "rsync", "DataTransfer", IPPROTO_TCP) == 1); /* any case */
	CHECK(match(m, "AcmeBackupCloud", "TLS", "Cloud", IPPROTO_TCP) == 1); /* a glob */
	/* first match wins: Telegram over UDP is a call, over TCP a chat */
	CHECK(match(m, "Telegram", "Telegram", "Chat", IPPROTO_UDP) == 2);
	CHECK(match(m, "Telegram", "Telegram", "Chat", IPPROTO_TCP) == 3);
	CHECK(match(m, "YouTube", "QUIC", "Media", IPPROTO_UDP) == 4);
	class_map_free(m);
}

static void test_classes_line_and_no_rule(void)
{
	const char *text = "classes VoIP Video File_Transfer Chat Browsing\n"
			   "Video protocol=YouTube\nVoIP category=VoIP\n";
	char err[256] = "";
	struct class_map *m = parse(text, err, sizeof(err));

	CHECKF(m != NULL, "%s", err);
	if (!m)
		return;
	/* the classes line fixes the ids, whatever order the rules use */
	CHECK(class_map_classes(m) == 5);
	CHECK(match(m, "YouTube", "QUIC", "Media", IPPROTO_UDP) == 1);
	CHECK(match(m, "SkypeCall", "STUN", "VoIP", IPPROTO_UDP) == 0);
	CHECK(match(m, "Spotify", "Spotify", "Music", IPPROTO_TCP) == CLASS_MAP_NO_RULE);
	class_map_free(m);
}

/* Each mistake stops the parse with the file, the line and what is wrong. */
static void test_bad_rules(void)
{
	static const struct {
		const char *text, *expect;
	} bad[] = {
		{ "A protocol=x\nB\nC category=y\n", "map:3: never reached: the rule on line 2" },
		{ "A protocol\n", "map:1: 'protocol' is not FIELD=VALUE" },
		{ "A host=x\n", "map:1: unknown field 'host'" },
		{ "A protocol=x protocol=y\nB\n", "map:1: protocol given twice" },
		{ "A protocol=x,\nB\n", "map:1: protocol has an empty value" },
		{ "A transport=sctp\nB\n", "map:1: transport 'sctp' is not tcp or udp" },
		{ "A x=1\n", "map:1: unknown field 'x'" },
		{ "Vid$o protocol=x\n", "map:1: class name 'Vid$o' may hold only" },
		{ "classes A B\nC protocol=x\n", "map:2: class 'C' is not on the 'classes' line" },
		{ "A protocol=x\nclasses A B\n", "map:2: the 'classes' line must come before" },
		{ "classes A B\nclasses A B\n", "map:2: a second 'classes' line" },
		{ "classes A A\n", "map:1: class 'A' named twice" },
		{ "classes A\n", "map:1: 'classes' names fewer than 2 classes" },
		{ "ignore protocol=x\n", "map: the rules name no class" },
		{ "A protocol=x\n", "map: the rules name one class" },
		{ "# nothing\n\n", "map: no rules" },
		{ "ignore protocol=x\nignore category=y\nclasses A B\n", "map:3: the 'classes' line" },
		{ "classes A ignore\n", "map:1: 'ignore' is a keyword" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct class_map *m;

		err[0] = 0;
		m = parse(bad[i].text, err, sizeof(err));
		CHECKF(m == NULL && strstr(err, bad[i].expect), "rule %zu: '%s'", i, err);
		class_map_free(m);
	}
	{
		struct class_map *m;
		char text[] = "A protocol=x\nB\0\n";

		CHECK(class_map_parse(text, sizeof(text) - 1, "map", &m, err, sizeof(err)) == -1);
		CHECKF(strstr(err, "map: contains a NUL byte") != NULL, "%s", err);
	}
	{
		/* 17 classes: one more than a model can have */
		char text[1024] = "";

		for (int i = 0; i < 17; i++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text), "C%d protocol=p%d\n",
				 i, i);
		CHECK(parse(text, err, sizeof(err)) == NULL);
		CHECKF(strstr(err, "map:17: more than 16 classes") != NULL, "%s", err);
	}
}

/* A name nDPI does not know is a mistake the rules would never show. */
static bool knows(enum class_field field, const char *value, void *ctx)
{
	(void)ctx;
	if (field == CLASS_FIELD_CATEGORY)
		return !strcasecmp(value, "VoIP");
	return !strcasecmp(value, "YouTube") || !strcasecmp(value, "QUIC");
}

static void test_names_checked(void)
{
	char err[256] = "";
	struct class_map *m = parse("A protocol=YouTube master=quic\nB category=VoIP\n"
				    "C protocol=You*,Youtbe\n", err, sizeof(err));

	CHECKF(m != NULL, "%s", err);
	if (!m)
		return;
	CHECK(class_map_check_names(m, knows, NULL, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "map:3: nDPI knows no protocol called 'Youtbe'") != NULL, "%s", err);
	class_map_free(m);
	m = parse("A protocol=YouTube transport=udp\nB category=V*\n", err, sizeof(err));
	CHECK(m && class_map_check_names(m, knows, NULL, err, sizeof(err)) == 0);
	class_map_free(m);
}

static void test_shipped_map_parses(void)
{
	struct class_map *m = NULL;
	char err[256] = "";

	CHECKF(!class_map_load("models/ndpi-classes.txt", &m, err, sizeof(err)), "%s", err);
	if (!m)
		return;
	/* the shipped models' class ids */
	CHECK(class_map_classes(m) == 5);
	CHECK(!strcmp(class_map_class_name(m, 0), "VoIP") &&
	      !strcmp(class_map_class_name(m, 4), "Browsing"));
	/* TLS to a name nDPI knows is the web; bare TLS (a download, FTPS, IRC
	 * or XMPP over TLS in the traffic lab) pins nothing; XMPP is chat */
	CHECK(match(m, "Google", "TLS", "Web", IPPROTO_TCP) == 4);
	CHECK(match(m, "Facebook", "TLS", "SocialNetwork", IPPROTO_TCP) == 4);
	CHECK(match(m, "TLS", "TLS", "Web", IPPROTO_TCP) == CLASS_MAP_IGNORE);
	CHECK(match(m, "QUIC", "QUIC", "Web", IPPROTO_UDP) == CLASS_MAP_IGNORE);
	CHECK(match(m, "HTTP", "HTTP", "Web", IPPROTO_TCP) == CLASS_MAP_IGNORE);
	CHECK(match(m, "Jabber", "Jabber", "Web", IPPROTO_TCP) == 3);
	CHECK(match(m, "YouTube", "TLS", "Media", IPPROTO_TCP) == 1);
	class_map_free(m);
	CHECK(class_map_load("no/such/map.txt", &m, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "no/such/map.txt: cannot open: No such file") != NULL, "%s", err);
	/* a FIFO is refused at once, not waited on */
	unlink("/tmp/odeflow-test-class-map.fifo");
	if (!mkfifo("/tmp/odeflow-test-class-map.fifo", 0600)) {
		CHECK(class_map_load("/tmp/odeflow-test-class-map.fifo", &m, err, sizeof(err)) == -1);
		CHECKF(strstr(err, "not a regular file") != NULL, "%s", err);
		unlink("/tmp/odeflow-test-class-map.fifo");
	}
}

int main(void)
{
	RUN(test_rules_and_first_match);
	RUN(test_classes_line_and_no_rule);
	RUN(test_bad_rules);
	RUN(test_names_checked);
	RUN(test_shipped_map_parses);
	return harness_done();
}
