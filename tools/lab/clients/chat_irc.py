#!/usr/bin/python3
"""One person on IRC over TLS (python3-irc): registers, joins a channel,
talks with human gaps, answers now and then, marks itself away, for SECONDS.

  chat_irc.py NICK SERVER CAFILE CHANNEL SECONDS SEED PACE CORPUS"""
import ssl
import sys
import time

import irc.client
import irc.connection

from chat_behaviour import Person


def main():
    nick, server, cafile, channel, seconds, seed, pace, corpus = sys.argv[1:9]
    person = Person(int(seed), corpus, float(pace))
    ctx = ssl.create_default_context(cafile=cafile)
    reactor = irc.client.IRC()
    factory = irc.connection.Factory(wrapper=lambda s: ctx.wrap_socket(s, server_hostname=server))
    conn = reactor.server().connect(server, 6697, nick, username=nick.lower(),
                                    ircname=f"{nick} (lab)", connect_factory=factory)
    pending = []   # (time, text) of replies to send

    def on_welcome(c, e):
        c.join(channel)

    def on_pubmsg(c, e):
        # one reply at a time: a person answers, not every line at once
        if not pending and person.replies():
            text = person.message()
            pending.append((time.monotonic() + person.reply_delay() + person.typing_seconds(text), text))

    conn.add_global_handler("welcome", on_welcome)
    conn.add_global_handler("pubmsg", on_pubmsg)
    end = time.monotonic() + float(seconds)
    next_msg = time.monotonic() + person.gap()
    away_until = 0.0
    while time.monotonic() < end:
        reactor.process_once(0.2)
        now = time.monotonic()
        if away_until and now >= away_until:
            conn.send_raw("AWAY")
            away_until = 0.0
        for item in [p for p in pending if p[0] <= now]:
            pending.remove(item)
            conn.privmsg(channel, item[1])
        if now >= next_msg and not away_until:
            if person.goes_away():
                conn.send_raw("AWAY :back soon")
                away_until = now + person.gap() * 2
            else:
                text = person.message()
                # typing happens off the wire on IRC: the message leaves when written
                next_send = person.typing_seconds(text)
                pending.append((now + next_send, text))
            next_msg = now + person.gap()
    conn.part(channel, "bye")
    conn.quit("leaving")
    reactor.process_once(0.5)


if __name__ == "__main__":
    main()
