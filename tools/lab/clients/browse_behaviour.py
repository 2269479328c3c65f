"""How a person browses, shared by the Chromium and Firefox clients: start
at a site's first page, read for a while (log-normal think times), follow a
link of the page, now and then go back or open another site."""
import random
from urllib.parse import urlsplit


class Reader:
    def __init__(self, seed, starts, think):
        self.rng = random.Random(seed)
        self.starts, self.think_median = starts, think

    def think(self):
        return min(120.0, self.rng.lognormvariate(0, 0.9) * self.think_median)

    def next_url(self, links, current):
        r = self.rng.random()
        if r < 0.08 or not links:
            return self.rng.choice(self.starts)
        host = urlsplit(current).netloc
        same = [l for l in links if urlsplit(l).netloc == host and "#" not in l[len(current):]] or links
        return self.rng.choice(same)


LINKS_JS = ("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"
            ".filter(h => h.startsWith('https://'));")
