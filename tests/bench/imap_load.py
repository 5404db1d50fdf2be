#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""IMAP load generator for Valv's benchmarks (Python 3 stdlib only).

One invocation does three phases against one IMAP server on loopback
(plaintext, LOGIN; the server must allow it):

1. populate (not timed into the results, reported as "load s"): APPEND
   --messages messages, generated deterministically from --seed (a realistic
   size mix, see make_message), into the INBOX of every user, one connection
   per user, in order, with fixed flags and INTERNALDATE.  Afterwards every
   INBOX must hold exactly that many messages with UIDs 1..M (STATUS MESSAGES
   and UIDNEXT), so that the timed phase can address them by UID.

2. mix (timed): --clients sessions (client i logs in as user i mod U),
   each LOGIN + SELECT INBOX before the clock starts; then --ops operations,
   pre-generated from the seed and handed out from one shared counter, are
   run back to back (closed loop, one command at a time per session).
   Operation types and their default weights:
     select      5  SELECT INBOX (again)
     fetch_hdr  25  UID FETCH a:a+49 (UID FLAGS INTERNALDATE RFC822.SIZE
                    BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID)])
     fetch_body 20  UID FETCH u BODY.PEEK[]
     store      15  UID STORE u +FLAGS.SILENT / -FLAGS.SILENT (\\Flagged or \\Seen)
     search     10  UID SEARCH, keys in rotation: UNSEEN, FLAGGED, FROM "name",
                    SUBJECT "word", SINCE date, LARGER 100000, BODY "word"
     append     10  APPEND INBOX (synchronizing literal) of a generated message
     expunge     5  UID STORE +FLAGS.SILENT (\\Deleted) on the UIDs this
                    session appended (from APPENDUID), then EXPUNGE
     idle       10  IDLE, wait for the continuation, DONE, wait for the OK
   Latency of an operation: from writing its first command to reading its
   tagged response (for append including the continuation round trip; for
   expunge both commands).  ops/s = ops / (last completion - start).

3. idle memory (--idle-conns N, 0 to skip): server memory is sampled
   (--mem-pid: that process and all its descendants: VmRSS from
   /proc/PID/status and Pss from /proc/PID/smaps_rollup, summed), then N
   connections log in (user i mod U), SELECT INBOX and IDLE; once every one
   has its IDLE continuation and a settle time has passed, memory is sampled
   again.  Per connection = (after - before) / N.

Prints one JSON object (also written to --json).  Exits 1 if any command
failed.  Connects only to --host, which must be a loopback address.
"""

import argparse
import asyncio
import base64
import ipaddress
import json
import os
import random
import re
import sys
import time

OP_WEIGHTS = [("select", 5), ("fetch_hdr", 25), ("fetch_body", 20), ("store", 15),
              ("search", 10), ("append", 10), ("expunge", 5), ("idle", 10)]
OP_TYPES = [t for t, _ in OP_WEIGHTS]
HDR_ITEMS = (b"(UID FLAGS INTERNALDATE RFC822.SIZE "
             b"BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID)])")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


class ImapError(Exception):
    pass


# ------------------------------------------------------------ mailbox content
class Corpus:
    """Deterministic pseudo-English: words from syllables, a few people."""

    def __init__(self, seed):
        rng = random.Random(seed)
        syl = ["ka", "lo", "mi", "ren", "ta", "sol", "ve", "dan", "or", "pe", "qui", "ra",
               "ne", "stu", "ba", "gel", "fi", "mon", "tro", "ex", "al", "ur", "po", "zen"]
        words = set()
        while len(words) < 3000:
            words.add("".join(rng.choice(syl) for _ in range(rng.choice([1, 2, 2, 3, 3, 4]))))
        self.words = sorted(words)
        first = ["Anna", "Ben", "Clara", "David", "Eva", "Farid", "Greta", "Hugo", "Ines",
                 "Jonas", "Kira", "Lars", "Mona", "Nils", "Olga", "Paul", "Rosa", "Sven",
                 "Tara", "Udo", "Vera", "Wim", "Xenia", "Yusuf", "Zoe"]
        last = ["Berg", "Costa", "Dahl", "Eriksen", "Fischer", "Garcia", "Holm", "Ivanov",
                "Jansen", "Klein", "Lindqvist", "Moreau", "Novak", "Olsen", "Petrov"]
        domains = ["example.org", "example.net", "corp.example", "lists.example.com",
                   "mail.example.edu"]
        self.people = []
        for i in range(60):
            f, l = rng.choice(first), rng.choice(last)
            self.people.append((f"{f} {l}", f"{f.lower()}.{l.lower()}@{rng.choice(domains)}"))
        self.lists = ["dev.lists.example.com", "announce.example.org", "ops.corp.example"]

    def sentence(self, rng, n):
        return " ".join(rng.choice(self.words) for _ in range(n))

    def text(self, rng, size):
        """CRLF text of about `size` bytes, lines <= 76 characters."""
        out, total = [], 0
        while total < size:
            line = self.sentence(rng, rng.randint(6, 11))[:76]
            if rng.random() < 0.08:
                line = ""
            out.append(line)
            total += len(line) + 2
        return "\r\n".join(out) + "\r\n"


def imap_date(ts):
    t = time.gmtime(ts)
    return f"{t.tm_mday:02d}-{MONTHS[t.tm_mon - 1]}-{t.tm_year} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def rfc5322_date(ts):
    t = time.gmtime(ts)
    return (f"{DAYS[t.tm_wday]}, {t.tm_mday} {MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000")


BASE_TS = 1767225600  # 2026-01-01T00:00:00Z; messages spread over the year before


def make_message(corpus, seed, index, rcpt):
    """Message `index` of the mailbox: bytes, flags, INTERNALDATE.

    Size mix (body before headers): 55 % 1.5-6 KB plain text, 25 % 6-25 KB
    multipart/alternative (text + HTML), 15 % 25-150 KB and 5 % 150-600 KB
    multipart/mixed with a base64 attachment.  Mean ~40 KB."""
    rng = random.Random(f"{seed}/{index}")
    ts = BASE_TS - rng.randint(0, 365 * 86400)
    name, addr = rng.choice(corpus.people)
    subject = corpus.sentence(rng, rng.randint(3, 8)).capitalize()
    reply = rng.random() < 0.3
    hdr = [
        f"Return-Path: <{addr}>",
        f"Received: from mx{rng.randint(1, 9)}.example.net (mx.example.net [192.0.2.{rng.randint(1, 254)}])"
        f"\r\n\tby mx.bench.test with ESMTPS id {rng.getrandbits(48):012x}\r\n\tfor <{rcpt}>; {rfc5322_date(ts)}",
        f"Received: from [198.51.100.{rng.randint(1, 254)}] by mx{rng.randint(1, 9)}.example.net"
        f" with ESMTPSA id {rng.getrandbits(40):010x}; {rfc5322_date(ts - rng.randint(1, 30))}",
        f"From: {name} <{addr}>",
        f"To: <{rcpt}>",
    ]
    if rng.random() < 0.3:
        cn, ca = rng.choice(corpus.people)
        hdr.append(f"Cc: {cn} <{ca}>")
    hdr += [
        f"Subject: {'Re: ' if reply else ''}{subject}",
        f"Date: {rfc5322_date(ts)}",
        f"Message-ID: <{seed}.{index}.{rng.getrandbits(32):08x}@{addr.split('@')[1]}>",
    ]
    if reply:
        hdr.append(f"In-Reply-To: <{seed}.{rng.randint(0, 10**6)}@{addr.split('@')[1]}>")
    if rng.random() < 0.2:
        hdr.append(f"List-Id: <{rng.choice(corpus.lists)}>")
    hdr.append("MIME-Version: 1.0")
    kind = rng.random()
    boundary = f"=_bench_{index}_{rng.getrandbits(32):08x}"
    if kind < 0.55:
        hdr.append("Content-Type: text/plain; charset=utf-8")
        hdr.append("Content-Transfer-Encoding: 7bit")
        body = corpus.text(rng, rng.randint(1500, 6000))
    elif kind < 0.80:
        size = rng.randint(6000, 25000)
        plain = corpus.text(rng, size // 3)
        html = "<html><body>\r\n" + "".join(
            f"<p>{l}</p>\r\n" for l in corpus.text(rng, size // 2).split("\r\n") if l) + "</body></html>\r\n"
        hdr.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        body = (f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{plain}"
                f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}"
                f"--{boundary}--\r\n")
    else:
        size = rng.randint(25000, 150000) if kind < 0.95 else rng.randint(150000, 600000)
        plain = corpus.text(rng, rng.randint(500, 3000))
        blob = base64.encodebytes(rng.randbytes(size * 3 // 4)).decode().replace("\n", "\r\n")
        fname = rng.choice(corpus.words) + rng.choice([".pdf", ".jpg", ".zip", ".docx"])
        hdr.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
        body = (f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{plain}"
                f"--{boundary}\r\nContent-Type: application/octet-stream; name=\"{fname}\"\r\n"
                f"Content-Disposition: attachment; filename=\"{fname}\"\r\n"
                f"Content-Transfer-Encoding: base64\r\n\r\n{blob}"
                f"--{boundary}--\r\n")
    msg = ("\r\n".join(hdr) + "\r\n\r\n" + body).encode("utf-8")
    flags = []
    r = rng.random()
    if r < 0.70:
        flags.append("\\Seen")
    if rng.random() < 0.05:
        flags.append("\\Flagged")
    if reply and rng.random() < 0.5:
        flags.append("\\Answered")
    return msg, flags, imap_date(ts)


def make_ops(corpus, seed, n, messages, op_weights=OP_WEIGHTS):
    """The timed phase's operations, identical for every server."""
    rng = random.Random(f"{seed}/ops")
    types = [t for t, _ in op_weights]
    weights = [w for _, w in op_weights]
    searches = 0
    ops = []
    for _ in range(n):
        t = rng.choices(types, weights)[0]
        if t == "fetch_hdr":
            a = rng.randint(1, max(1, messages - 49))
            ops.append((t, f"{a}:{min(messages, a + 49)}"))
        elif t in ("fetch_body",):
            ops.append((t, rng.randint(1, messages)))
        elif t == "store":
            ops.append((t, (rng.randint(1, messages), rng.choice("+-"),
                            rng.choice(["\\Flagged", "\\Seen"]))))
        elif t == "search":
            k = searches % 7
            searches += 1
            if k == 0:
                key = "UNSEEN"
            elif k == 1:
                key = "FLAGGED"
            elif k == 2:
                key = f'FROM "{rng.choice(corpus.people)[0].split()[1]}"'
            elif k == 3:
                key = f'SUBJECT "{rng.choice(corpus.words)}"'
            elif k == 4:
                key = "SINCE " + imap_date(BASE_TS - rng.randint(1, 60) * 86400).split()[0]
            elif k == 5:
                key = "LARGER 100000"
            else:
                key = f'BODY "{rng.choice(corpus.words)}"'
            ops.append((t, key))
        elif t == "append":
            ops.append((t, rng.randint(0, 10**9)))
        else:
            ops.append((t, None))
    return ops


# ------------------------------------------------------------------ protocol
LITERAL_RE = re.compile(rb"\{(\d+)\+?\}\r\n$")


class Conn:
    def __init__(self, reader, writer):
        self.r, self.w = reader, writer
        self.n = 0

    @classmethod
    async def open(cls, host, port):
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
        c = cls(reader, writer)
        greeting = await reader.readline()
        if not greeting.startswith(b"* OK"):
            raise ImapError(f"bad greeting {greeting[:80]!r}")
        return c

    def tag(self):
        self.n += 1
        return b"a%d" % self.n

    async def read_line(self):
        """One response line with its literals inlined; returns bytes."""
        parts = []
        while True:
            line = await self.r.readline()
            if not line:
                raise ImapError("connection closed by server")
            m = LITERAL_RE.search(line)
            if m:
                parts.append(line)
                parts.append(await self.r.readexactly(int(m.group(1))))
                continue
            parts.append(line)
            return b"".join(parts)

    async def until_tagged(self, tag, untagged=None):
        while True:
            line = await self.read_line()
            if line.startswith(tag + b" "):
                rest = line[len(tag) + 1:]
                if not rest.startswith(b"OK"):
                    raise ImapError(rest.decode("latin-1").strip()[:200])
                return rest
            if untagged is not None:
                untagged.append(line)

    async def until_continuation(self, tag):
        while True:
            line = await self.read_line()
            if line.startswith(b"+"):
                return
            if line.startswith(tag + b" "):
                raise ImapError(line.decode("latin-1").strip()[:200])

    async def command(self, text, untagged=None):
        t = self.tag()
        self.w.write(t + b" " + text + b"\r\n")
        return await self.until_tagged(t, untagged)

    async def append(self, mailbox, msg, flags, date):
        t = self.tag()
        self.w.write(t + b" APPEND %s (%s) \"%s\" {%d}\r\n" % (
            mailbox, " ".join(flags).encode(), date.encode(), len(msg)))
        await self.until_continuation(t)
        self.w.write(msg + b"\r\n")
        return await self.until_tagged(t)

    async def login(self, user, password):
        await self.command(b'LOGIN "%s" "%s"' % (user.encode(), password.encode()))

    async def close(self):
        try:
            self.w.close()
            await self.w.wait_closed()
        except Exception:
            pass


# ------------------------------------------------------------------- phases
async def populate(args, corpus, users):
    async def one(user):
        c = await Conn.open(args.host, args.port)
        await c.login(user, args.password)
        nbytes = 0
        for i in range(args.messages):
            msg, flags, date = make_message(corpus, args.seed, i, user)
            nbytes += len(msg)
            await c.append(b"INBOX", msg, flags, date)
        un = []
        await c.command(b"STATUS INBOX (MESSAGES UIDNEXT)", un)
        st = b" ".join(un).decode("latin-1")
        m1 = re.search(r"MESSAGES (\d+)", st)
        m2 = re.search(r"UIDNEXT (\d+)", st)
        if not (m1 and m2 and int(m1.group(1)) == args.messages and int(m2.group(1)) == args.messages + 1):
            raise ImapError(f"{user}: after populating, STATUS says {st.strip()!r}, "
                            f"expected MESSAGES {args.messages} UIDNEXT {args.messages + 1}")
        await c.command(b"LOGOUT")
        await c.close()
        return nbytes
    t0 = time.monotonic()
    sizes = await asyncio.gather(*(one(u) for u in users))
    return time.monotonic() - t0, sizes[0]


def pct(vals, p):
    """Nearest-rank percentile."""
    if not vals:
        return None
    s = sorted(vals)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


async def mix(args, corpus, users):
    ops = make_ops(corpus, args.seed, args.ops, args.messages, args.mix)
    # appended messages are generated before the clock starts
    append_pool = {a: make_message(corpus, args.seed + 1, a, "team@bench.test")
                   for t, a in ops if t == "append"}
    lat = {t: [] for t in OP_TYPES}
    errors = []
    state = {"next": 0}

    sessions = []
    for i in range(args.clients):
        user = users[i % len(users)]
        c = await Conn.open(args.host, args.port)
        await c.login(user, args.password)
        await c.command(b"SELECT INBOX")
        sessions.append((c, user))

    async def worker(c, user):
        mine = []   # UIDs this session appended and has not yet deleted
        while True:
            i = state["next"]
            if i >= len(ops):
                return
            state["next"] = i + 1
            t, a = ops[i]
            t0 = time.perf_counter()
            try:
                if t == "select":
                    await c.command(b"SELECT INBOX")
                elif t == "fetch_hdr":
                    await c.command(b"UID FETCH %s %s" % (a.encode(), HDR_ITEMS), [])
                elif t == "fetch_body":
                    await c.command(b"UID FETCH %d BODY.PEEK[]" % a, [])
                elif t == "store":
                    uid, sign, flag = a
                    await c.command(b"UID STORE %d %sFLAGS.SILENT (%s)" % (uid, sign.encode(), flag.encode()))
                elif t == "search":
                    await c.command(b"UID SEARCH " + a.encode(), [])
                elif t == "append":
                    msg, flags, date = append_pool[a]
                    rest = await c.append(b"INBOX", msg, flags, date)
                    m = re.search(rb"APPENDUID \d+ (\d+)", rest)
                    if m:
                        mine.append(int(m.group(1)))
                elif t == "expunge":
                    if mine:
                        await c.command(b"UID STORE %s +FLAGS.SILENT (\\Deleted)" %
                                        ",".join(map(str, mine)).encode())
                        mine = []
                    await c.command(b"EXPUNGE")
                elif t == "idle":
                    tag = c.tag()
                    c.w.write(tag + b" IDLE\r\n")
                    await c.until_continuation(tag)
                    c.w.write(b"DONE\r\n")
                    await c.until_tagged(tag)
            except ImapError as e:
                errors.append(f"{t} {a}: {e}" if a is not None else f"{t}: {e}")
                if "closed" in str(e):
                    return
                continue
            lat[t].append(time.perf_counter() - t0)

    cpu0 = time.process_time()
    start = time.perf_counter()
    await asyncio.gather(*(worker(c, u) for c, u in sessions))
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    for c, _ in sessions:
        try:
            await c.command(b"LOGOUT")
        except Exception:
            pass
        await c.close()
    allv = [v for vs in lat.values() for v in vs]
    res = {
        "ops": len(allv), "ops_planned": len(ops), "wall_s": wall, "ops_rate": len(allv) / wall,
        "p50_ms": pct(allv, 50) * 1000 if allv else None,
        "p99_ms": pct(allv, 99) * 1000 if allv else None,
        "per_op": {t: {"n": len(v), "p50_ms": pct(v, 50) * 1000 if v else None,
                       "p99_ms": pct(v, 99) * 1000 if v else None} for t, v in lat.items()},
        "errors": len(errors), "error_samples": errors[:20], "client_cpu_s": cpu,
    }
    return res


def proc_tree(root):
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def memory(root):
    """Memory of root and its descendants, KiB: rss, pss, anon (RssAnon),
    file (RssFile + RssShmem), and the process count."""
    tot = {"rss": 0, "pss": 0, "anon": 0, "file": 0, "procs": 0}
    keys = {"VmRSS:": "rss", "RssAnon:": "anon", "RssFile:": "file", "RssShmem:": "file"}
    for p in proc_tree(root):
        try:
            one = dict.fromkeys(tot, 0)
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    k = line.split(None, 1)[0]
                    if k in keys:
                        one[keys[k]] += int(line.split()[1])
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        one["pss"] += int(line.split()[1])
            one["procs"] = 1
        except (OSError, ValueError):
            continue
        for k in tot:
            tot[k] += one[k]
    return tot


async def idle_memory(args, users):
    await asyncio.sleep(args.settle)
    before = memory(args.mem_pid)
    conns = []
    sem = asyncio.Semaphore(64)
    errors = []

    async def one(i):
        async with sem:
            try:
                c = await Conn.open(args.host, args.port)
                await c.login(users[i % len(users)], args.password)
                await c.command(b"SELECT INBOX")
                tag = c.tag()
                c.w.write(tag + b" IDLE\r\n")
                await c.until_continuation(tag)
                conns.append(c)
            except (ImapError, OSError) as e:
                errors.append(f"conn {i}: {e}")

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(args.idle_conns)))
    open_s = time.monotonic() - t0
    await asyncio.sleep(args.settle)
    after = memory(args.mem_pid)
    for c in conns:
        c.w.close()
    await asyncio.sleep(0.2)
    n = len(conns)
    res = {"idle_conns": n, "idle_wanted": args.idle_conns, "idle_open_s": open_s}
    for k in ("rss", "pss", "anon", "file"):
        res[f"{k}_before_kb"] = before[k]
        res[f"{k}_after_kb"] = after[k]
        res[f"{k}_per_conn_kb"] = (after[k] - before[k]) / n if n else None
    res.update(procs_before=before["procs"], procs_after=after["procs"])
    return {
        **res,
        "idle_errors": len(errors), "idle_error_samples": errors[:5],
    }


async def main_async(args):
    users = [u for u in args.users.split(",") if u]
    corpus = Corpus(args.seed)
    res = {"label": args.label, "messages": args.messages, "users": len(users),
           "clients": args.clients, "seed": args.seed}
    if args.populate:
        load_s, mbox_bytes = await populate(args, corpus, users)
        res.update(load_s=load_s, mailbox_bytes=mbox_bytes)
    if args.ops:
        res.update(await mix(args, corpus, users))
    if args.idle_conns and args.mem_pid:
        res.update(await idle_memory(args, users))
    res["ok"] = res.get("errors", 0) == 0 and res.get("idle_errors", 0) == 0
    return res


def parse_mix(text):
    weights = dict.fromkeys(OP_TYPES, 0)
    for item in text.split(","):
        name, _, w = item.partition("=")
        if name not in weights or not w.isdigit():
            raise argparse.ArgumentTypeError(f"bad weight {item!r}; types: {', '.join(OP_TYPES)}")
        weights[name] = int(w)
    if not any(weights.values()):
        raise argparse.ArgumentTypeError("all weights are 0")
    return list(weights.items())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--users", required=True, help="comma-separated logins")
    ap.add_argument("--password", required=True)
    ap.add_argument("--messages", type=int, default=2000, help="messages per INBOX")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-populate", dest="populate", action="store_false",
                    help="the INBOXes already hold the seed's messages")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--ops", type=int, default=10000, help="timed operations (0: skip the mix)")
    ap.add_argument("--mix", type=parse_mix, default=OP_WEIGHTS,
                    help="operation weights, e.g. fetch_hdr=1,fetch_body=1 (default: %s)"
                    % ",".join(f"{t}={w}" for t, w in OP_WEIGHTS))
    ap.add_argument("--idle-conns", type=int, default=1000, help="0: skip the memory phase")
    ap.add_argument("--mem-pid", type=int, help="server process whose tree is measured")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds before each memory sample")
    ap.add_argument("--label", default="server")
    ap.add_argument("--json", help="also write the result here")
    args = ap.parse_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        raise SystemExit("--host must be a loopback address")
    res = asyncio.run(main_async(args))
    text = json.dumps(res, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    print(text)
    sys.exit(0 if res["ok"] else 1)


if __name__ == "__main__":
    main()
