#!/usr/bin/python3
"""mpv (null video and audio outputs) plays a stream for SECONDS; through its
IPC socket it seeks and switches renditions at the times given.

  mpv_play.py URL CAFILE SECONDS SOCKET ACTIONS MPV_OPTION...
ACTIONS: comma-separated T:seek:POS or T:vid:N (or "-")."""
import json
import socket
import subprocess
import sys
import time


def main():
    url, cafile, seconds, sock, actions = sys.argv[1:6]
    argv = ["mpv", "--no-config", "--vo=null", "--ao=null", "--really-quiet", "--tls-verify=yes",
            f"--tls-ca-file={cafile}", f"--input-ipc-server={sock}", *sys.argv[6:], url]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    start = time.monotonic()
    todo = []
    for a in actions.split(","):
        if a and a != "-":
            t, what, arg = a.split(":")
            todo.append((float(t), what, arg))
    todo.sort()
    conn = None
    while time.monotonic() - start < float(seconds) and p.poll() is None:
        time.sleep(0.2)
        now = time.monotonic() - start
        while todo and todo[0][0] <= now:
            _, what, arg = todo.pop(0)
            cmd = ["seek", arg, "absolute"] if what == "seek" else ["set_property", "vid", int(arg)]
            try:
                if conn is None:
                    conn = socket.socket(socket.AF_UNIX)
                    conn.connect(sock)
                conn.sendall((json.dumps({"command": cmd}) + "\n").encode())
            except OSError:
                conn = None
    p.terminate()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()


if __name__ == "__main__":
    main()
