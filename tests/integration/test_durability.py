# SPDX-License-Identifier: AGPL-3.0-or-later
"""kill -9 mid-load: every message that got 250 after DATA survives, byte for byte.

The kill point comes from random.Random(seed); the seed is printed (and in every
assertion message). Reproduce with VALV_DURABILITY_SEED=<seed>.
"""

import os
import random
import smtplib
import threading
import time

import valvharness as vh
from conftest import ALICE, ALICE_PW, BOB, BOB_PW

N = 200
SENDERS = 3
MAX_TEMPFAIL_RETRIES = 20
LOAD_TIMEOUT = 600  # upper bound for the whole load phase (sanitizer builds)


def make_message(i, rng, rcpt):
    mid = f"<dur-{i}-{rng.getrandbits(64):016x}@outside.test>"
    lines = rng.randrange(3, 700)
    body = b"".join(b"%05d %s\r\n" % (n, bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz ")
                                              for _ in range(60))) for n in range(lines))
    data = (f"From: load@outside.test\r\nTo: {rcpt}\r\nSubject: durability {i}\r\n"
            f"Message-ID: {mid}\r\n\r\n").encode() + body
    return mid.encode(), data


def test_kill9_during_delivery_loses_nothing_acknowledged(valv):
    seed = int(os.environ.get("VALV_DURABILITY_SEED") or random.SystemRandom().randrange(2**32))
    print(f"durability seed: {seed} (VALV_DURABILITY_SEED={seed} reproduces the kill point)")
    rng = random.Random(seed)
    kill_after = rng.randrange(10, N - 10)
    kill_delay = rng.uniform(0.0, 0.3)
    tag = f"[seed {seed}, kill after {kill_after} acks + {kill_delay:.3f}s]"

    srv = valv.server()
    msgs = []
    for i in range(N):
        rcpt = ALICE if rng.random() < 0.7 else BOB
        mid, data = make_message(i, rng, rcpt)
        msgs.append((rcpt, mid, data))

    acked = {}  # mid -> (rcpt, data)
    errors_before_kill = []
    killed = threading.Event()
    lock = threading.Lock()
    next_i = iter(range(N))

    tempfails = []

    def sender():
        conn = None
        try:
            while True:
                with lock:
                    i = next(next_i, None)
                if i is None or killed.is_set():
                    return
                rcpt, mid, data = msgs[i]
                for attempt in range(MAX_TEMPFAIL_RETRIES + 1):
                    try:
                        if conn is None:
                            conn = srv.smtp()
                        refused = conn.sendmail("load@outside.test", [rcpt], data)
                        assert not refused
                        break
                    except (smtplib.SMTPDataError, smtplib.SMTPRecipientsRefused,
                            smtplib.SMTPSenderRefused) as e:
                        code = getattr(e, "smtp_code", None) or \
                            next(iter(getattr(e, "recipients", {}).values()), (0,))[0]
                        if killed.is_set():
                            return
                        if 400 <= code < 500 and attempt < MAX_TEMPFAIL_RETRIES:
                            # Like a real MTA: 4xx means try again later; not acknowledged.
                            tempfails.append(f"message {i}: {e!r}")
                            time.sleep(0.05 * (attempt + 1))
                            continue
                        errors_before_kill.append(f"message {i}: {e!r}")
                        return
                    except (smtplib.SMTPException, OSError, AssertionError) as e:
                        if not killed.is_set():
                            errors_before_kill.append(f"message {i}: {e!r}")
                        return
                else:
                    return
                with lock:
                    acked[mid] = (rcpt, data)
        finally:
            if conn is not None:
                try:
                    conn.close()
                except OSError:
                    pass

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + LOAD_TIMEOUT
    while True:
        with lock:
            n_acked = len(acked)
        if n_acked >= kill_after or not any(t.is_alive() for t in threads):
            break
        assert time.monotonic() < deadline, f"load too slow: {n_acked} acks {tag}"
        time.sleep(0.01)
    time.sleep(kill_delay)
    killed.set()
    srv.kill()
    for t in threads:
        t.join(vh.IO_TIMEOUT + 30)
        assert not t.is_alive(), f"sender thread hangs after kill {tag}"
    assert not errors_before_kill, f"errors before the kill {tag}: {errors_before_kill[:5]}"
    with lock:
        acked = dict(acked)
    print(f"{len(acked)} of {N} messages acknowledged before SIGKILL {tag}; "
          f"{len(tempfails)} 4xx answers retried")
    assert len(acked) >= kill_after, tag

    srv.start()  # same data dir, new ports; a stale lock or ready-file must not matter

    sent_by_mid = {mid: (rcpt, data) for rcpt, mid, data in msgs}
    for user, pw in ((ALICE, ALICE_PW), (BOB, BOB_PW)):
        with srv.login(user, pw) as im:
            stored = vh.all_messages(im)
        seen = {}
        for seq, raw in stored.items():
            trace, rest = vh.strip_trace(raw)
            mid = vh.header_value(rest, "message-id")
            assert mid in sent_by_mid, f"{user}: unknown message {seq}: {raw[:200]!r} {tag}"
            assert sent_by_mid[mid][0] == user, f"{mid} delivered to the wrong user {tag}"
            # Not acknowledged is allowed to be there, but never torn.
            assert rest == sent_by_mid[mid][1], f"{user}: {mid} stored damaged {tag}"
            assert trace.startswith(b"Return-Path: <load@outside.test>\r\n")
            assert mid not in seen, f"{mid} stored twice {tag}"
            seen[mid] = seq
        lost = [mid for mid, (rcpt, _) in acked.items() if rcpt == user and mid not in seen]
        assert not lost, f"{user}: {len(lost)} acknowledged messages lost, e.g. {lost[:3]} {tag}"

    # The store still takes mail after recovery.
    mid, data = make_message(N, rng, ALICE)
    srv.send("load@outside.test", [ALICE], data)
    with srv.login(ALICE, ALICE_PW) as im:
        blobs = vh.all_messages(im).values()
        assert sum(mid in b for b in blobs) == 1


def test_concurrent_deliveries_are_not_tempfailed(valv):
    """Three clients delivering at once to the same two mailboxes: no 4xx, all stored."""
    srv = valv.server()
    rng = random.Random(1)
    msgs = [make_message(i, rng, ALICE if i % 2 else BOB) for i in range(30)]
    errors = []

    def worker(part):
        conn = srv.smtp()
        try:
            for rcpt_mid_data in part:
                mid, data = rcpt_mid_data
                rcpt = ALICE if b"To: " + ALICE.encode() in data else BOB
                try:
                    conn.sendmail("load@outside.test", [rcpt], data)
                except smtplib.SMTPException as e:
                    errors.append(f"{mid!r}: {e!r}")
        finally:
            conn.quit()

    threads = [threading.Thread(target=worker, args=(msgs[k::3],)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(LOAD_TIMEOUT)
    assert not errors, f"{len(errors)} of {len(msgs)} deliveries failed: {errors[:3]}"
    got = []
    for user, pw in ((ALICE, ALICE_PW), (BOB, BOB_PW)):
        with srv.login(user, pw) as im:
            got += list(vh.all_messages(im).values())
    assert len(got) == len(msgs)
