#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""IMAP SEARCH on a large mailbox: how long text searches take in valvd.

Starts its own valvd (Release build from $VALV_BUILD_DIR, default /work/main/build) on
127.0.0.1 in a fresh data directory, inside a new network namespace that has only `lo`
(re-executes itself under `unshare --net`), fills one INBOX with --messages messages
(default 50,000) from imap_load.py's generator (the same realistic mix as
imap_bench.sh: ~40 KB mean, text, HTML and base64 attachments) by APPEND over four
connections, then times each query --repeat times (median and max, ms):

- text keys answered from the trigram index (BODY/TEXT/FROM/SUBJECT with 3+ chars):
  a word, a phrase, a substring inside words, a miss;
- the same kind of key with a 2-character needle, which the index cannot answer, so
  valvd reads and decodes every message (bounded: past 512 MiB read the command fails
  with NO [LIMIT]) -- the cost the index avoids;
- a metadata key (UNSEEN) for scale.

Prints a table and writes --json. Not a test: nothing is asserted about speed.
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imap_load  # noqa: E402  (Corpus, make_message, Conn)

USER, PASSWORD = "u1@bench.test", "bench-password-1"


def reexec_in_netns():
    if os.environ.get("VALV_BENCH_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        routes = subprocess.run(["ip", "-o", "route", "show", "table", "all"], capture_output=True, text=True).stdout
        for line in routes.splitlines():
            if " dev " in line and " dev lo " not in line:
                sys.exit(f"non-loopback route in the benchmark namespace: {line}")
        return
    env = dict(os.environ, VALV_BENCH_NETNS="1")
    os.execvpe("unshare", ["unshare", "--net", "--", sys.executable, *sys.argv], env)


def start_valvd(build, work):
    valvd, valvctl = f"{build}/server/valvd/valvd", f"{build}/server/valvctl/valvctl"
    data = os.path.join(work, "data")
    run = lambda *a: subprocess.run([valvctl, "--datadir", data, *a], check=True, capture_output=True)
    run("init", "--no-demo")
    run("domain", "add", "bench.test")
    run("user", "add", USER, "--password", PASSWORD)
    ready = os.path.join(work, "ready.json")
    log = open(os.path.join(work, "valvd.log"), "wb")
    proc = subprocess.Popen([valvd, "--datadir", data, "--listen-address", "127.0.0.1", "--smtp-port", "0",
                             "--imap-port", "0", "--imaps-port", "0", "--pop3-port", "0", "--pop3s-port", "0",
                             "--allow-plaintext-auth", "--ready-file", ready], stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        if os.path.exists(ready):
            try:
                return proc, json.load(open(ready))["imap"], data
            except ValueError:
                pass
        time.sleep(0.1)
    proc.kill()
    sys.exit("valvd did not start")


async def populate(port, n, seed, conns=4):
    corpus = imap_load.Corpus(seed)

    async def one(k):
        c = await imap_load.Conn.open("127.0.0.1", port)
        await c.login(USER, PASSWORD)
        total = 0
        for i in range(k, n, conns):
            msg, flags, date = imap_load.make_message(corpus, seed, i, USER)
            total += len(msg)
            await c.append(b"INBOX", msg, flags, date)
        await c.close()
        return total

    t0 = time.monotonic()
    sizes = await asyncio.gather(*(one(k) for k in range(conns)))
    return time.monotonic() - t0, sum(sizes)


def queries(corpus):
    word = corpus.words[len(corpus.words) // 2]
    name = corpus.people[7][0].split()[0]
    return [
        ("BODY word", f'BODY "{word}"'),
        ("BODY phrase", f'BODY "{corpus.words[10]} {corpus.words[11]}"'),
        ("BODY inside words", f'BODY "{word[1:4]}"' if len(word) >= 4 else f'BODY "{word}"'),
        ("BODY miss", 'BODY "qqxqqz"'),
        ("TEXT word", f'TEXT "{corpus.words[100]}"'),
        ("FROM name", f'FROM "{name}"'),
        ("SUBJECT word", f'SUBJECT "{corpus.words[200]}"'),
        ("UNSEEN (metadata)", "UNSEEN"),
        ("BODY 2 chars (no index)", 'BODY "zq"'),
        ("FROM 2 chars (no index)", 'FROM "zq"'),
    ]


async def measure(port, corpus, repeat):
    c = await imap_load.Conn.open("127.0.0.1", port)
    await c.login(USER, PASSWORD)
    un = []
    await c.command(b"SELECT INBOX", un)
    out = []
    for label, key in queries(corpus):
        times, hits, error = [], None, None
        for _ in range(repeat):
            un = []
            t0 = time.monotonic()
            try:
                await c.command(b"UID SEARCH " + key.encode(), un)
            except imap_load.ImapError as e:
                error = str(e)[:60]
                times.append((time.monotonic() - t0) * 1000)
                break
            times.append((time.monotonic() - t0) * 1000)
            line = [u for u in un if u.startswith(b"* SEARCH")]
            hits = len(line[0].split()) - 2 if line else 0
        out.append({"query": label, "key": key, "median_ms": statistics.median(times), "max_ms": max(times),
                    "runs": len(times), "hits": hits, "error": error})
    await c.close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=50000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default="")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (network namespace)")
    reexec_in_netns()
    build = os.environ.get("VALV_BUILD_DIR", "/work/main/build")
    work = tempfile.mkdtemp(prefix="valv-search-scale.", dir="/var/tmp")
    proc, port, data = start_valvd(build, work)
    try:
        load_s, nbytes = asyncio.run(populate(port, args.messages, args.seed))
        sizes = {f: os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(os.path.join(data, "mail"))
                 for f in fs}
        results = asyncio.run(measure(port, imap_load.Corpus(args.seed), args.repeat))
        # A second pass: the page cache is warm now.
        warm = asyncio.run(measure(port, imap_load.Corpus(args.seed), args.repeat))
    finally:
        proc.terminate()
        proc.wait(30)
    commit = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    print(f"valvd {commit}: {args.messages} messages, {nbytes / 1e6:.0f} MB appended in {load_s:.0f} s; "
          f"mailbox files {sum(sizes.values()) / 1e6:.0f} MB; {args.repeat} runs per query (median / max ms)")
    print(f"{'query':28} {'hits':>6} {'1st pass':>10} {'max':>9} {'2nd pass':>10} {'max':>9}")
    for a, b in zip(results, warm):
        hits = a["error"] or a["hits"]
        print(f"{a['query']:28} {hits!s:>6} {a['median_ms']:10.1f} {a['max_ms']:9.1f} "
              f"{b['median_ms']:10.1f} {b['max_ms']:9.1f}")
    if args.json:
        json.dump({"messages": args.messages, "bytes": nbytes, "load_s": load_s, "files": sizes,
                   "cold": results, "warm": warm, "commit": commit}, open(args.json, "w"), indent=1)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
