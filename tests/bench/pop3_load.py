#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""POP3 download load generator for tests/bench/pop3_bench.sh (Python stdlib only).

Subcommands
  maildir DIR --user-index I   write user I's mailbox as Maildir files (Dovecot's side)
  smtp --port P --users L      deliver every user's mailbox through SMTP (Valv's side)
  load --port P --users L      N clients in parallel (one process and one user each):
                               USER/PASS, STAT, RETR 1..n in order (keep mode, as a
                               fetchmail "keep" run does), QUIT; prints JSON with
                               messages/s and MB/s over the wall time of all clients

The mailbox contents depend only on --seed, --messages and the user index, so both
servers hold the same messages. Sizes are spread from 1 KB to ~100 KB (median ~6 KB),
with lines that start with "." so byte-stuffing is exercised.
"""

import argparse
import json
import multiprocessing
import os
import random
import smtplib
import socket
import sys
import time


def messages_for(seed, user_index, count):
    rnd = random.Random(seed * 1000003 + user_index)
    for i in range(1, count + 1):
        # log-uniform-ish sizes: many small, some large
        size = int(1000 * (100 ** (rnd.random() ** 2)))
        lines = []
        total = 0
        k = 0
        while total < size:
            line = (b"." if k % 13 == 0 else b"") + b"%06d " % k + bytes(
                rnd.choice(b"abcdefghijklmnopqrstuvwxyz ") for _ in range(rnd.randint(20, 76)))
            lines.append(line)
            total += len(line) + 2
            k += 1
        yield (b"From: Bench Sender <sender@outside.test>\r\n"
               b"To: u%d@bench.test\r\n" % user_index +
               b"Subject: bench message %d for user %d\r\n" % (i, user_index) +
               b"Message-ID: <bench-%d-%d-%d@outside.test>\r\n" % (seed, user_index, i) +
               b"Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" +
               b"\r\n".join(lines) + b"\r\n")


def cmd_maildir(a):
    new = os.path.join(a.dir, "new")
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(a.dir, sub), exist_ok=True)
    base = int(time.time()) - a.messages
    for i, m in enumerate(messages_for(a.seed, a.user_index, a.messages)):
        # Unique, ordered names: Dovecot sorts new mail by name for its UIDs.
        with open(os.path.join(new, "%d.M%dP%d.bench" % (base + i, i, a.user_index)), "wb") as f:
            f.write(m.replace(b"\r\n", b"\n"))  # Maildir files hold LF line ends


def cmd_smtp(a):
    users = a.users.split(",")
    for idx, user in enumerate(users, start=1):
        s = smtplib.SMTP("127.0.0.1", a.port, timeout=300)
        s.ehlo("bench.client")
        for m in messages_for(a.seed, idx, a.messages):
            refused = s.sendmail("sender@outside.test", [user], m)
            assert not refused, refused
        s.quit()


class Pop3:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=300)
        self.buf = bytearray()
        self.line()

    def _fill(self):
        data = self.sock.recv(262144)
        if not data:
            raise EOFError("server closed the connection")
        self.buf += data

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return out
            self._fill()

    def cmd(self, text):
        self.sock.sendall(text + b"\r\n")
        r = self.line()
        if not r.startswith(b"+OK"):
            raise RuntimeError(f"{text!r} -> {r!r}")
        return r

    def multiline(self):
        """The data of a multi-line reply (still stuffed) up to its terminator."""
        start = 0
        while True:
            if self.buf.startswith(b".\r\n"):
                del self.buf[:3]
                return 0
            i = self.buf.find(b"\r\n.\r\n", max(0, start - 4))
            if i >= 0:
                n = i + 2
                del self.buf[:i + 5]
                return n
            start = len(self.buf)
            self._fill()


def client(args):
    port, user, password, q = args
    p = Pop3(port)
    p.cmd(b"USER " + user.encode())
    p.cmd(b"PASS " + password.encode())
    count = int(p.cmd(b"STAT").split()[1])
    start = time.monotonic()
    octets = 0
    for i in range(1, count + 1):
        p.cmd(b"RETR %d" % i)
        octets += p.multiline()
    end = time.monotonic()
    p.cmd(b"QUIT")
    return {"user": user, "messages": count, "octets": octets, "start": start, "end": end}


def cmd_load(a):
    users = a.users.split(",")
    if a.warmup:
        # One untimed session per user: both servers build their caches and indexes
        # (Dovecot its uidlist and index files) before the timed runs.
        for u in users:
            p = Pop3(a.port)
            p.cmd(b"USER " + u.encode())
            p.cmd(b"PASS " + a.password.encode())
            p.cmd(b"UIDL")
            p.multiline()
            p.cmd(b"QUIT")
        return
    with multiprocessing.Pool(len(users)) as pool:
        results = pool.map(client, [(a.port, u, a.password, None) for u in users])
    # From the first client's first RETR to the last client's last reply (CLOCK_MONOTONIC
    # is system-wide); logins and process start-up are not counted.
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    msgs = sum(r["messages"] for r in results)
    octets = sum(r["octets"] for r in results)
    out = {"label": a.label, "clients": len(users), "messages": msgs, "octets": octets,
           "seconds": wall, "msgs_per_s": msgs / wall, "mb_per_s": octets / wall / 1e6}
    with open(a.json, "w") as f:
        json.dump(out, f)
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("maildir", "smtp", "load"):
        s = sub.add_parser(name)
        s.add_argument("--seed", type=int, default=1)
        s.add_argument("--messages", type=int, default=1000)
    sub.choices["maildir"].add_argument("dir")
    sub.choices["maildir"].add_argument("--user-index", type=int, required=True)
    sub.choices["smtp"].add_argument("--port", type=int, required=True)
    sub.choices["smtp"].add_argument("--users", required=True)
    sub.choices["load"].add_argument("--port", type=int, required=True)
    sub.choices["load"].add_argument("--users", required=True)
    sub.choices["load"].add_argument("--password", required=True)
    sub.choices["load"].add_argument("--label", default="")
    sub.choices["load"].add_argument("--json", default="/dev/null")
    sub.choices["load"].add_argument("--warmup", action="store_true")
    a = ap.parse_args()
    {"maildir": cmd_maildir, "smtp": cmd_smtp, "load": cmd_load}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
