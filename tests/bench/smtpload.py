#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""SMTP delivery load generator for Valv's benchmarks (Python 3 stdlib only).

Opens N parallel SMTP sessions to one server, waits until every session has
had its greeting and EHLO answered, then starts the clock and delivers
--messages messages of --size bytes, taken from one shared counter, each
session sending MAIL / RCPT / DATA / body in turn (no PIPELINING) over its
one connection.  Per message it records the latency from sending MAIL FROM to
receiving the 250 that answers the end of DATA.

After the last 250 it optionally polls the receiving store until every
message is there (end-to-end time):
  --count-maildir ROOT     count files in every new/ and cur/ below ROOT
  --count-imap PORT        for a server whose 250 means "committed": end-to-end
                           is taken as acceptance, and verified afterwards by
                           IMAP STATUS INBOX (MESSAGES) summed over a fresh
                           login of every recipient (--password; STARTTLS if
                           the server disables LOGIN in the clear)
  --poll-imap PORT         for mail that another server delivers later (relay
                           benchmarks): one IMAP session per recipient on
                           --count-host, logged in before the clock starts,
                           polls STATUS INBOX (MESSAGES) until every recipient
                           has its messages; then verified by fresh logins
                           (--password), which must count exactly as many
  --count-sink FILE        the same for Postfix's smtp-sink run with -c and its
                           stdout in FILE: polls the last "mesg=N" counter

Submission (MSA) sessions: --starttls sends STARTTLS after the first EHLO and
EHLOs again inside TLS (certificate not verified: loopback test servers);
--auth-user/--auth-password then AUTH PLAIN.  All of that happens before the
clock starts, like the EHLO.

Prints one JSON object (also written to --json) with the results.  Exits 1
if any message was refused or the store never reached the expected count.
Connects only to the --host given (and --count-host), which must be loopback
addresses.
"""

import argparse
import asyncio
import base64
import email.utils
import imaplib
import ipaddress
import json
import os
import re
import ssl
import sys
import time


class SmtpError(Exception):
    pass


def build_message(index, size, sender, rcpt, run_tag):
    """A plain 7-bit RFC 5322 message of exactly `size` bytes (CRLF lines),
    returned dot-stuffed and terminated for DATA."""
    headers = (
        f"From: Bench Sender <{sender}>\r\n"
        f"To: <{rcpt}>\r\n"
        f"Subject: bench message {index}\r\n"
        f"Date: {email.utils.formatdate(localtime=False)}\r\n"
        f"Message-ID: <bench-{run_tag}-{index}@load.bench.test>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
    ).encode("ascii")
    remaining = size - len(headers)
    if remaining < 2:
        raise SystemExit("--size too small for the headers")
    filler = "abcdefghijklmnopqrstuvwxyz0123456789" * 3
    full, rest = divmod(remaining, 78)  # 76 characters + CRLF per line
    lines = [(f"{index:08d}-{n:05d} " + filler)[:76] for n in range(full)]
    if rest == 1 and lines:
        lines[-1] += "x"               # one line of 77 characters
    elif rest >= 2:
        lines.append(filler[: rest - 2])
    msg = headers + "".join(l + "\r\n" for l in lines).encode("ascii")
    assert len(msg) == size, (len(msg), size)
    # dot-stuffing: no body line starts with "." here, but keep it correct
    msg = msg.replace(b"\r\n.", b"\r\n..")
    return msg + b".\r\n"


async def read_reply(reader):
    """Read one (possibly multi-line) SMTP reply; return (code, text)."""
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise SmtpError("connection closed by server")
        lines.append(line.decode("latin-1").rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            break
    try:
        code = int(lines[-1][:3])
    except ValueError:
        raise SmtpError(f"bad reply: {lines!r}")
    return code, "\n".join(lines)


async def expect(reader, want, what):
    code, text = await read_reply(reader)
    if code != want:
        raise SmtpError(f"{what}: expected {want}, got {text!r}")
    return text


class Load:
    def __init__(self, args):
        self.args = args
        self.next_index = 0
        self.latencies = []
        self.errors = []
        self.accepted = 0
        self.accepted_per_rcpt = {}
        self.last_accept = None
        self.messages = []
        run_tag = f"{os.getpid()}-{int(time.time())}"
        for i in range(args.messages):
            rcpt = args.rcpt[i % len(args.rcpt)]
            self.messages.append(
                (rcpt, build_message(i, args.size, args.sender, rcpt, run_tag)))

    async def session(self, sid, ready, go):
        a = self.args
        reader, writer = await asyncio.open_connection(a.host, a.port, limit=1 << 20)
        try:
            await expect(reader, 220, "greeting")
            writer.write(f"EHLO load{sid}.bench.test\r\n".encode())
            ehlo = await expect(reader, 250, "EHLO")
            if a.starttls:
                if "STARTTLS" not in ehlo.upper():
                    raise SmtpError(f"no STARTTLS offered: {ehlo!r}")
                writer.write(b"STARTTLS\r\n")
                await expect(reader, 220, "STARTTLS")
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                await writer.start_tls(ctx)
                writer.write(f"EHLO load{sid}.bench.test\r\n".encode())
                await expect(reader, 250, "EHLO after STARTTLS")
            if a.auth_user:
                token = base64.b64encode(
                    b"\0" + a.auth_user.encode() + b"\0" + a.auth_password.encode())
                writer.write(b"AUTH PLAIN " + token + b"\r\n")
                await expect(reader, 235, "AUTH PLAIN")
            ready()
            await go.wait()
            while True:
                i = self.next_index
                if i >= a.messages:
                    break
                self.next_index = i + 1
                rcpt, body = self.messages[i]
                t0 = time.perf_counter()
                try:
                    writer.write(f"MAIL FROM:<{a.sender}>\r\n".encode())
                    await expect(reader, 250, "MAIL")
                    writer.write(f"RCPT TO:<{rcpt}>\r\n".encode())
                    await expect(reader, 250, "RCPT")
                    writer.write(b"DATA\r\n")
                    await expect(reader, 354, "DATA")
                    writer.write(body)
                    await expect(reader, 250, "end of DATA")
                except SmtpError as e:
                    self.errors.append(f"session {sid} message {i}: {e}")
                    if "closed" in str(e):
                        return
                    writer.write(b"RSET\r\n")
                    await read_reply(reader)
                    continue
                t1 = time.perf_counter()
                self.latencies.append(t1 - t0)
                self.accepted += 1
                self.accepted_per_rcpt[rcpt] = self.accepted_per_rcpt.get(rcpt, 0) + 1
                self.last_accept = t1
            writer.write(b"QUIT\r\n")
            await writer.drain()
            try:
                await asyncio.wait_for(read_reply(reader), 5)
            except (SmtpError, asyncio.TimeoutError):
                pass
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    async def run(self):
        a = self.args
        go = asyncio.Event()
        n_ready = 0
        all_ready = asyncio.Event()

        def ready():
            nonlocal n_ready
            n_ready += 1
            if n_ready == a.concurrency:
                all_ready.set()

        tasks = [asyncio.create_task(self.session(s, ready, go))
                 for s in range(a.concurrency)]
        waiter = asyncio.create_task(all_ready.wait())
        done, _ = await asyncio.wait(tasks + [waiter], return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            # a session ended (failed) before all were ready
            for t in done:
                t.result()
        cpu0 = time.process_time()
        self.t_start = time.perf_counter()
        go.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        self.t_end = time.perf_counter()
        self.client_cpu = time.process_time() - cpu0
        for r in results:
            if isinstance(r, BaseException):
                self.errors.append(f"session failed: {r!r}")


def count_maildir(root):
    n = 0
    for dirpath, dirnames, filenames in os.walk(root):
        base = os.path.basename(dirpath)
        if base in ("new", "cur"):
            n += len(filenames)
            dirnames[:] = []
    return n


class ImapCounter:
    """Sums STATUS INBOX (MESSAGES) over the recipients.  Logs in afresh for
    every count (a session that stays logged in may legitimately be shown a
    snapshot; a new one must see everything committed)."""

    def __init__(self, host, port, users, password):
        self.host, self.port, self.users, self.password = host, port, users, password

    def _connect(self, user):
        c = imaplib.IMAP4(self.host, self.port, timeout=30)
        if "LOGINDISABLED" in c.capabilities and "STARTTLS" in c.capabilities:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            c.starttls(ctx)
        c.login(user, self.password)
        return c

    def count(self):
        total = 0
        for u in self.users:
            c = self._connect(u)
            try:
                typ, data = c.status("INBOX", "(MESSAGES)")
                if typ != "OK":
                    raise RuntimeError(f"STATUS failed for {u}: {data!r}")
                text = data[0].decode() if isinstance(data[0], bytes) else str(data[0])
                total += int(text.rsplit("MESSAGES", 1)[1].strip(" )"))
            finally:
                try:
                    c.logout()
                except Exception:
                    pass
        return total


class ImapPoller:
    """Polls STATUS INBOX (MESSAGES) over one session per recipient, logged
    in once (before the clock starts).  STATUS on a mailbox that is not
    selected reports its current state (RFC 9051 6.3.11)."""

    def __init__(self, counter):
        self.sessions = {u: counter._connect(u) for u in counter.users}

    def count_user(self, user):
        typ, data = self.sessions[user].status("INBOX", "(MESSAGES)")
        if typ != "OK":
            raise RuntimeError(f"STATUS failed for {user}: {data!r}")
        text = data[0].decode() if isinstance(data[0], bytes) else str(data[0])
        return int(text.rsplit("MESSAGES", 1)[1].strip(" )"))

    def close(self):
        for c in self.sessions.values():
            try:
                c.logout()
            except Exception:
                pass


def count_sink(path):
    """The last mesg=N that smtp-sink -c wrote (counters end in CR)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 256))
            tail = f.read().decode("latin-1")
    except FileNotFoundError:
        return 0
    found = re.findall(r"mesg=(\d+)", tail)
    return int(found[-1]) if found else 0


def percentile(sorted_values, p):
    """Nearest-rank percentile."""
    if not sorted_values:
        return None
    k = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(k) - 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--concurrency", "-c", type=int, default=8)
    ap.add_argument("--messages", "-m", type=int, default=2000)
    ap.add_argument("--size", type=int, default=10240, help="message size in bytes")
    ap.add_argument("--sender", default="sender@load.bench.test")
    ap.add_argument("--rcpt", required=True,
                    help="comma-separated recipients, used round-robin")
    ap.add_argument("--count-maildir", metavar="ROOT")
    ap.add_argument("--count-imap", type=int, metavar="PORT")
    ap.add_argument("--poll-imap", type=int, metavar="PORT")
    ap.add_argument("--count-sink", metavar="FILE")
    ap.add_argument("--count-host", metavar="ADDR",
                    help="IMAP server of --count-imap/--poll-imap (default: --host)")
    ap.add_argument("--password", default="", help="IMAP password of the recipients")
    ap.add_argument("--starttls", action="store_true")
    ap.add_argument("--auth-user", default="")
    ap.add_argument("--auth-password", default="")
    ap.add_argument("--e2e-timeout", type=float, default=600.0)
    ap.add_argument("--poll-interval", type=float, default=0.02)
    ap.add_argument("--label", default="")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    args.rcpt = [r.strip() for r in args.rcpt.split(",") if r.strip()]

    if not ipaddress.ip_address(args.host).is_loopback:
        raise SystemExit(f"refusing non-loopback host {args.host}")
    count_host = args.count_host or args.host
    if not ipaddress.ip_address(count_host).is_loopback:
        raise SystemExit(f"refusing non-loopback host {count_host}")

    counter = None
    poller = None
    if args.poll_imap:
        verifier = ImapCounter(count_host, args.poll_imap, args.rcpt, args.password)
        poller = ImapPoller(verifier)
        baseline_per_rcpt = {u: poller.count_user(u) for u in args.rcpt}
    elif args.count_sink:
        sink_file = args.count_sink
        counter = lambda: count_sink(sink_file)
    if args.count_maildir:
        root = args.count_maildir
        counter = lambda: count_maildir(root)
    elif args.count_imap:
        imap = ImapCounter(count_host, args.count_imap, args.rcpt, args.password)
        counter = imap.count
    baseline = counter() if counter else 0

    load = Load(args)
    asyncio.run(load.run())

    result = {
        "label": args.label,
        "messages": args.messages,
        "size": args.size,
        "concurrency": args.concurrency,
        "accepted": load.accepted,
        "errors": len(load.errors),
        "error_samples": load.errors[:5],
        "client_cpu_s": round(load.client_cpu, 3),
    }
    ok = load.accepted == args.messages and not load.errors
    if load.accepted:
        elapsed = load.last_accept - load.t_start
        lat = sorted(load.latencies)
        result.update({
            "accept_elapsed_s": elapsed,
            "accept_rate": load.accepted / elapsed,
            "p50_ms": percentile(lat, 50) * 1000,
            "p99_ms": percentile(lat, 99) * 1000,
            "max_ms": lat[-1] * 1000,
        })
    if poller and load.accepted:
        # relayed mail arrives later: poll every recipient that still lacks some
        want = {u: baseline_per_rcpt[u] + load.accepted_per_rcpt.get(u, 0) for u in args.rcpt}
        pending = set(args.rcpt)
        deadline = time.perf_counter() + args.e2e_timeout
        polls = 0
        while True:
            for u in sorted(pending):
                if poller.count_user(u) >= want[u]:
                    pending.discard(u)
            polls += 1
            if not pending or time.perf_counter() >= deadline:
                break
            time.sleep(args.poll_interval)
        t_e2e = time.perf_counter()
        poller.close()
        # untimed: fresh logins must count exactly what was accepted (no loss, no duplicates)
        stored = verifier.count() - sum(baseline_per_rcpt.values())
        result.update({"e2e_method": "IMAP STATUS polled; verified by fresh logins",
                       "stored": stored, "e2e_polls": polls})
        if not pending:
            result["e2e_elapsed_s"] = t_e2e - load.t_start
            result["e2e_rate"] = load.accepted / (t_e2e - load.t_start)
        else:
            result["e2e_elapsed_s"] = result["e2e_rate"] = None
        if pending or stored != load.accepted:
            ok = False
    elif counter and load.accepted and (args.count_maildir or args.count_sink):
        # the store fills asynchronously: poll it until it holds everything
        want = baseline + load.accepted
        deadline = time.perf_counter() + args.e2e_timeout
        seen = counter()
        polls = 1
        while seen < want and time.perf_counter() < deadline:
            time.sleep(args.poll_interval)
            seen = counter()
            polls += 1
        t_e2e = time.perf_counter()
        result.update({"e2e_method": "maildir file count, polled" if args.count_maildir
                       else "smtp-sink message counter, polled",
                       "stored": seen - baseline, "e2e_polls": polls})
        if args.count_sink and seen > want:
            ok = False          # more than was accepted: duplicates
        if seen >= want:
            result["e2e_elapsed_s"] = t_e2e - load.t_start
            result["e2e_rate"] = load.accepted / (t_e2e - load.t_start)
        else:
            ok = False
            result["e2e_elapsed_s"] = result["e2e_rate"] = None
    elif counter and load.accepted:
        # the 250 means committed: end-to-end == acceptance, verified by
        # counting through IMAP afterwards (the count is not timed)
        t0 = time.perf_counter()
        seen = counter()
        result.update({"e2e_method": "250 = committed; verified by IMAP STATUS afterwards",
                       "stored": seen - baseline,
                       "verify_s": time.perf_counter() - t0})
        if seen - baseline == load.accepted:
            result["e2e_elapsed_s"] = result["accept_elapsed_s"]
            result["e2e_rate"] = result["accept_rate"]
        else:
            ok = False
            result["e2e_elapsed_s"] = result["e2e_rate"] = None
    result["ok"] = ok
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    for e in load.errors[:5]:
        print("error:", e, file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
