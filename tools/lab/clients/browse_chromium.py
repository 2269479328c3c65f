#!/usr/bin/python3
"""Headless Chromium driven by Selenium (chromedriver) through the lab's web
sites for SECONDS: see browse_behaviour.py.

  browse_chromium.py PROFILE_DIR SECONDS SEED THINK START_URL..."""
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from browse_behaviour import LINKS_JS, Reader


def main():
    profile, seconds, seed, think = sys.argv[1:5]
    reader = Reader(int(seed), sys.argv[5:], float(think))
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", f"--user-data-dir={profile}/chromium", "--window-size=1366,900"):
        o.add_argument(a)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_page_load_timeout(60)
    end = time.monotonic() + float(seconds)
    url = reader.starts[0]
    try:
        while time.monotonic() < end:
            try:
                d.get(url)
                links = d.execute_script(LINKS_JS)
            except Exception:
                links = []
            time.sleep(min(reader.think(), max(0.0, end - time.monotonic())))
            url = reader.next_url(links, url)
    finally:
        d.quit()


if __name__ == "__main__":
    main()
