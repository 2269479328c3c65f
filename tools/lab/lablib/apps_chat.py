"""Chat: conversations of two to five people, each a client in a namespace of
its own (people sit behind different links): XMPP over TLS (prosody and
slixmpp: presence, chat states, messages) and IRC over TLS (ngIRCd and bots
on python3-irc: channels, away). Each person has a pace of their own."""
from . import services
from .session import PY


def _people(s):
    return s.rng.choice([2, 2, 2, 3, 3, 4, 5])


def _pace(s):
    # median seconds between one person's messages: some chat fast, some slowly
    return round(s.rng.lognormvariate(2.5, 0.7), 1)


def xmpp(s):
    n = _people(s)
    secs = s.seconds(60, 480)
    host = services.name("xmpp")
    users = [(f"u{s.sid}x{i}", f"pw{s.rng.randrange(10**9)}") for i in range(n)]
    jids = [f"{u}@{host}" for u, _ in users]
    rosters = {u: [j for j in jids if not j.startswith(u + "@")] for u, _ in users}
    s.ctx.servers.xmpp_accounts(users, rosters)
    procs, tls = [], []
    for (u, pw), jid in zip(users, jids):
        ep = s.endpoint()
        mode = s.rng.choice(["starttls", "starttls", "direct"])
        tls.append(mode)
        procs.append(s.spawn(ep, [PY, s.tool("chat_xmpp.py"), jid, pw, host, mode, s.ctx.root_ca,
                                  str(secs * s.rng.uniform(0.7, 1.0)), str(s.rng.randrange(10**9)),
                                  str(_pace(s)), s.ctx.corpus, *rosters[u]]))
        s.pause(s.rng.uniform(0, 5))
    s.wait(procs, secs + 90)
    s.scenario = f"xmpp {n} people {int(secs)}s " + ",".join(sorted(set(tls)))


def irc(s):
    n = _people(s)
    secs = s.seconds(60, 480)
    channel = f"#lab{s.sid}" if s.rng.random() < 0.7 else s.rng.choice(["#debian", "#python", "#networking"])
    procs = []
    for i in range(n):
        ep = s.endpoint()
        nick = f"{s.rng.choice(['ana', 'bo', 'cyd', 'dee', 'eli', 'fox', 'gus', 'hal'])}{s.sid}x{i}"
        procs.append(s.spawn(ep, [PY, s.tool("chat_irc.py"), nick, services.name("irc"), s.ctx.root_ca,
                                  channel, str(secs * s.rng.uniform(0.7, 1.0)), str(s.rng.randrange(10**9)),
                                  str(_pace(s)), s.ctx.corpus]))
        s.pause(s.rng.uniform(0, 5))
    s.wait(procs, secs + 90)
    s.scenario = f"irc {n} people {int(secs)}s {'own' if channel.startswith('#lab') else 'shared'} channel"


APPS = {"xmpp-slixmpp": xmpp, "irc-bot": irc}
