# SPDX-License-Identifier: AGPL-3.0-or-later
"""Resident memory per idle IMAP connection of a running valvd.

Usage: idle_memory_probe.py READY_FILE CONNECTIONS MESSAGES USER PASSWORD

valvd must run with --allow-plaintext-auth and a high --max-connections-per-ip. The
script APPENDs MESSAGES messages of 40 KB to the user's INBOX, then opens CONNECTIONS
connections that log in, SELECT INBOX and IDLE, and prints valvd's RSS growth per
connection. Loopback only. For the full comparison with Dovecot see imap_bench.sh.
"""
import json
import socket
import sys
import time

if len(sys.argv) != 6:
    sys.exit(__doc__)
ready = json.load(open(sys.argv[1]))
pid = ready["pid"]
count = int(sys.argv[2])
messages = int(sys.argv[3])
user, password = sys.argv[4], sys.argv[5]


def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def until(f, tag):
    while True:
        line = f.readline()
        if not line:
            raise RuntimeError("connection closed")
        if line.startswith(tag + b" "):
            return line


def connect():
    s = socket.create_connection(("127.0.0.1", ready["imap"]), timeout=60)
    f = s.makefile("rb")
    f.readline()
    s.sendall(f"a LOGIN {user} {password}\r\n".encode())
    if not until(f, b"a").startswith(b"a OK"):
        raise RuntimeError("login failed")
    return s, f


s, f = connect()
body = b"Subject: x\r\n\r\n" + b"y" * 40000 + b"\r\n"
for _ in range(messages):
    s.sendall(b"p APPEND INBOX {%d+}\r\n" % len(body) + body + b"\r\n")
    until(f, b"p")
time.sleep(1)
before = rss_kib()
held = []
for _ in range(count):
    c, cf = connect()
    c.sendall(b"s SELECT INBOX\r\n")
    until(cf, b"s")
    c.sendall(b"i IDLE\r\n")
    cf.readline()
    held.append((c, cf))
time.sleep(1)
after = rss_kib()
print(f"rss before {before / 1024:.1f} MB, after {after / 1024:.1f} MB, "
      f"per idle connection {(after - before) / count:.0f} KiB")
