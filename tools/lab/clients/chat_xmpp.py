#!/usr/bin/python3
"""One person on XMPP (slixmpp): TLS (STARTTLS or direct), roster and
presence, chat states (composing, paused, active), messages to contacts with
human gaps, replies to what arrives, away spells, for SECONDS.

  chat_xmpp.py JID PASSWORD SERVER TLS(starttls|direct) CAFILE SECONDS SEED PACE CORPUS PEER..."""
import asyncio
import logging
import os
import sys

import slixmpp

from chat_behaviour import Person


class Chatter(slixmpp.ClientXMPP):
    def __init__(self, jid, password, peers, person, seconds):
        super().__init__(jid, password)
        self.peers, self.person, self.seconds = peers, person, seconds
        for p in ("xep_0030", "xep_0085", "xep_0199", "xep_0280", "xep_0115"):
            self.register_plugin(p)
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.on_message)
        self.finished = asyncio.get_event_loop().create_future()
        self.replying = False

    async def type_and_send(self, to, text):
        msg = self.make_message(mto=to, mtype="chat")
        msg["chat_state"] = "composing"
        msg.send()
        t = self.person.typing_seconds(text)
        if t > 6 and self.person.rng.random() < 0.4:   # stops typing for a while
            await asyncio.sleep(t / 2)
            msg = self.make_message(mto=to, mtype="chat")
            msg["chat_state"] = "paused"
            msg.send()
        await asyncio.sleep(t)
        msg = self.make_message(mto=to, mbody=text, mtype="chat")
        msg["chat_state"] = "active"
        msg.send()

    async def on_message(self, msg):
        # one reply at a time: a person answers, not every message at once
        if msg["type"] == "chat" and msg["body"] and not self.replying and self.person.replies():
            self.replying = True
            await asyncio.sleep(self.person.reply_delay())
            await self.type_and_send(msg["from"].bare, self.person.message())
            self.replying = False

    async def start(self, event):
        self.send_presence()
        await self.get_roster()
        loop = asyncio.get_event_loop()
        end = loop.time() + self.seconds
        while loop.time() < end:
            await asyncio.sleep(min(self.person.gap(), max(0.0, end - loop.time())))
            if loop.time() >= end:
                break
            if self.person.goes_away():
                self.send_presence(pshow="away", pstatus="back soon")
                await asyncio.sleep(min(self.person.gap() * 2, max(0.0, end - loop.time())))
                self.send_presence()
                continue
            await self.type_and_send(self.person.rng.choice(self.peers), self.person.message())
        self.send_presence(ptype="unavailable")
        self.disconnect()
        self.finished.set_result(True)


def main():
    jid, pw, server, tls, cafile, seconds, seed, pace, corpus = sys.argv[1:10]
    peers = sys.argv[10:]
    logging.basicConfig(level=logging.DEBUG if os.environ.get("LAB_DEBUG") else logging.ERROR)
    c = Chatter(jid, pw, peers, Person(int(seed), corpus, float(pace)), float(seconds))
    c.ca_certs = cafile
    if tls == "direct":
        c.default_port = 5223     # slixmpp 1.8 takes the port from here
        c.connect((server, 5223), use_ssl=True, disable_starttls=True)
    else:
        c.connect((server, 5222))
    c.loop.run_until_complete(asyncio.wait_for(c.finished, float(seconds) + 60))


if __name__ == "__main__":
    main()
