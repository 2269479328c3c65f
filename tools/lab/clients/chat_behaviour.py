"""How a person chats, shared by the XMPP and IRC clients: heavy-tailed gaps
between messages (log-normal, with a Pareto tail of long pauses), typing
time that follows the message's length, and away spells."""
import random
import re

_WORDS = None


def words(corpus):
    global _WORDS
    if _WORDS is None:
        try:
            with open(corpus, errors="ignore") as f:
                text = re.sub(r"<[^>]*>", " ", f.read())
            _WORDS = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]{0,14}", text)][:200000] or ["hello"]
        except OSError:
            _WORDS = ["hello", "there", "how", "are", "you", "ok", "sure", "later"]
    return _WORDS


class Person:
    def __init__(self, seed, corpus, pace):
        self.rng = random.Random(seed)
        self.words = words(corpus)
        self.pace = pace            # median seconds between own messages

    def gap(self):
        if self.rng.random() < 0.08:                   # went to do something else
            return min(600.0, self.pace * self.rng.paretovariate(1.2) * 3)
        return min(300.0, self.rng.lognormvariate(0, 1.0) * self.pace)

    def message(self):
        n = max(1, int(self.rng.lognormvariate(1.6, 0.9)))
        start = self.rng.randrange(len(self.words))
        text = " ".join(self.words[start:start + n])[:300] or "ok"
        if self.rng.random() < 0.05:                   # a pasted link or snippet
            text += " https://" + self.rng.choice(["bugs.debian.org/", "paste.debian.net/", "lwn.net/Articles/"]) + str(self.rng.randrange(10**6))
        return text

    def typing_seconds(self, text):
        return min(60.0, len(text) / self.rng.uniform(3.0, 8.0))

    def replies(self):
        return self.rng.random() < 0.6

    def reply_delay(self):
        return self.rng.lognormvariate(1.0, 0.8)

    def goes_away(self):
        return self.rng.random() < 0.05
