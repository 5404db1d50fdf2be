# SPDX-License-Identifier: AGPL-3.0-or-later
"""Two (or three) sessions on one mailbox see each other's changes.

- a message delivered over SMTP, or APPENDed by another session, reaches an IDLE
  session as `* n EXISTS` (the time it took is printed; only a generous upper bound
  is asserted, never a duration);
- STORE in A -> untagged FETCH FLAGS in B at B's next NOOP (and during IDLE);
- EXPUNGE in A -> EXPUNGE in B at NOOP, never in the middle of B's FETCH; B's sequence
  numbers stay consistent with the UIDs afterwards;
- MOVE in A -> EXPUNGE in B (source) and EXISTS in C (destination).
Raw sockets throughout: imaplib hides untagged responses.
"""

import re
import socket
import time

import pytest

import valvharness as vh
from conftest import ALICE, ALICE_PW

WAIT = max(60.0, vh.IO_TIMEOUT)  # upper bound for a notification to arrive


def login(srv):
    r = srv.raw_imap()
    _, tagged = r.command(b"L", f"LOGIN {ALICE} {ALICE_PW}".encode())
    assert vh.tagged_status(tagged) == "OK", tagged
    return r


def ok(r, tag, text):
    untagged, tagged = r.command(tag.encode(), text.encode() if isinstance(text, str) else text)
    assert vh.tagged_status(tagged) == "OK", (text, untagged, tagged)
    return untagged


def select(r, mailbox="INBOX"):
    untagged = ok(r, "S", f"SELECT {mailbox}")
    return [int(u.split()[1]) for u in untagged if re.match(rb"\* \d+ EXISTS", u)][0]


def message(n, tag="conc"):
    return (b"From: c@outside.test\r\nTo: alice@example.org\r\n"
            b"Subject: %s %d\r\nMessage-ID: <%s-%d@outside.test>\r\n\r\nbody %d\r\n"
            % (tag.encode(), n, tag.encode(), n, n))


def append(r, data, mailbox=b"INBOX"):
    _, tagged = r.command(b"A", b"APPEND " + mailbox + b" {%d+}\r\n" % len(data) + data)
    assert vh.tagged_status(tagged) == "OK", tagged
    return int(re.search(rb"\[APPENDUID \d+ (\d+)\]", tagged).group(1))


def uids(r):
    untagged = ok(r, "U", "UID FETCH 1:* (UID)")
    res = sorted(vh.parse_fetch_response(u[2:]) for u in untagged if b"FETCH" in u)
    return [int(it["UID"]) for _, it in res]


def read_until(r, pred, timeout=WAIT):
    """Read untagged responses until pred(response); returns (responses, seconds)."""
    start = time.monotonic()
    got = []
    r.sock.settimeout(timeout)
    try:
        while True:
            try:
                resp = r.read_response()
            except (socket.timeout, TimeoutError):
                raise AssertionError(f"nothing matching within {timeout}s; got {got!r}")
            assert resp, f"connection closed; got {got!r}"
            got.append(resp)
            if pred(resp):
                return got, time.monotonic() - start
            assert time.monotonic() - start < timeout, f"timed out; got {got!r}"
    finally:
        r.sock.settimeout(vh.IO_TIMEOUT)


def idle_start(r, tag=b"I"):
    r.send(tag + b" IDLE\r\n")
    cont = r.read_response()
    assert cont.startswith(b"+"), cont


def idle_done(r, tag=b"I"):
    r.send(b"DONE\r\n")
    return r.until_tagged(tag)


def apply_expunges(seq_uids, untagged):
    out = list(seq_uids)
    for u in untagged:
        m = re.match(rb"\* (\d+) EXPUNGE\r\n$", u)
        if m:
            del out[int(m.group(1)) - 1]
    return out


def fetch_flags(untagged):
    """{seq: set(flags)} from untagged FETCH responses."""
    out = {}
    for u in untagged:
        if re.match(rb"\* \d+ FETCH ", u):
            seq, it = vh.parse_fetch_response(u[2:])
            if "FLAGS" in it:
                out[seq] = set(it["FLAGS"]) - {b"\\Recent"}
    return out


def test_idle_sees_smtp_delivery_and_append(valv):
    srv = valv.server()
    b = login(srv)
    assert select(b) == 0
    idle_start(b)

    data = message(1, "idle")
    srv.send("idle@outside.test", [ALICE], data)
    got, took = read_until(b, lambda resp: resp == b"* 1 EXISTS\r\n")
    print(f"SMTP delivery -> IDLE '* 1 EXISTS' after {took * 1000:.1f} ms (after SMTP's 250)")

    a = login(srv)
    append(a, message(2, "idle"))
    got, took = read_until(b, lambda resp: resp == b"* 2 EXISTS\r\n")
    print(f"APPEND in another session -> IDLE '* 2 EXISTS' after {took * 1000:.1f} ms")

    untagged, tagged = idle_done(b)
    assert vh.tagged_status(tagged) == "OK", tagged
    untagged = ok(b, "F", "FETCH 1:2 (BODY.PEEK[])")
    bodies = {vh.parse_fetch_response(u[2:])[0]: vh.parse_fetch_response(u[2:])[1]["BODY[]"]
              for u in untagged if b" FETCH " in u[:20]}
    assert vh.strip_trace(bodies[1])[1] == data
    assert bodies[2] == message(2, "idle")
    a.close()
    b.close()


def test_idle_sees_flag_changes_and_expunges(valv):
    srv = valv.server()
    a, b = login(srv), login(srv)
    u = [append(a, message(i)) for i in range(1, 4)]
    select(a)
    assert select(b) == 3
    idle_start(b)
    ok(a, "T", "STORE 2 +FLAGS (\\Flagged)")
    got, took = read_until(b, lambda resp: 2 in fetch_flags([resp]))
    assert fetch_flags(got)[2] == {b"\\Flagged"}, got
    print(f"STORE in A -> FETCH FLAGS in idling B after {took * 1000:.1f} ms")
    ok(a, "D", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    ok(a, "X", "EXPUNGE")
    got, took = read_until(b, lambda resp: re.match(rb"\* \d+ EXPUNGE", resp) is not None)
    print(f"EXPUNGE in A -> EXPUNGE in idling B after {took * 1000:.1f} ms")
    untagged, tagged = idle_done(b)
    assert vh.tagged_status(tagged) == "OK", tagged
    assert apply_expunges(u, got + untagged) == u[1:], (got, untagged)
    assert uids(b) == u[1:]
    a.close()
    b.close()


def test_store_in_a_is_reported_to_b_at_noop(valv):
    srv = valv.server()
    a, b = login(srv), login(srv)
    [append(a, message(i)) for i in range(1, 4)]
    select(a)
    select(b)
    ok(a, "T1", "STORE 2 +FLAGS.SILENT (\\Flagged \\Seen)")
    ok(a, "T2", "STORE 3 +FLAGS (custom1)")
    untagged = ok(b, "N", "NOOP")
    flags = fetch_flags(untagged)
    assert flags == {2: {b"\\Flagged", b"\\Seen"}, 3: {b"custom1"}}, untagged
    # Reported once: a second NOOP has nothing new.
    untagged = ok(b, "N2", "NOOP")
    assert not fetch_flags(untagged), untagged
    # And B's own STORE is echoed to A.
    ok(b, "T3", "STORE 1 FLAGS (\\Answered)")
    untagged = ok(a, "N3", "NOOP")
    assert fetch_flags(untagged) == {1: {b"\\Answered"}}, untagged
    a.close()
    b.close()


def test_expunge_in_a_is_reported_to_b_with_consistent_sequence_numbers(valv):
    srv = valv.server()
    a, b = login(srv), login(srv)
    u = [append(a, message(i)) for i in range(1, 7)]
    select(a)
    select(b)
    b_view = uids(b)
    assert b_view == u
    ok(a, "D", "STORE 2,4:5 +FLAGS.SILENT (\\Deleted)")
    untagged = ok(a, "X", "EXPUNGE")
    assert apply_expunges(u, untagged) == [u[0], u[2], u[5]]

    # RFC 9051 §7.5.1: no EXPUNGE while B's FETCH runs; B's old numbers still work.
    untagged = ok(b, "F", "FETCH 1:6 (UID)")
    assert not any(re.match(rb"\* \d+ EXPUNGE", x) for x in untagged), untagged
    seen = {seq: int(it["UID"]) for seq, it in
            (vh.parse_fetch_response(x[2:]) for x in untagged if b" FETCH " in x[:20])}
    assert all(seen[s] == b_view[s - 1] for s in seen), (seen, b_view)

    untagged = ok(b, "N", "NOOP")
    b_view = apply_expunges(b_view, untagged)
    assert b_view == [u[0], u[2], u[5]], untagged
    # Sequence numbers after the EXPUNGEs match the UIDs, both ways.
    assert uids(b) == b_view
    for seq, uid in enumerate(b_view, 1):
        untagged = ok(b, "G", f"UID FETCH {uid} (UID)")
        assert [vh.parse_fetch_response(x[2:])[0] for x in untagged] == [seq], untagged
    untagged = ok(b, "H", f"UID FETCH {u[1]} (UID)")
    assert untagged == [], f"an expunged UID is still fetchable: {untagged!r}"
    a.close()
    b.close()


def test_move_in_a_is_reported_in_b_and_in_the_destination(valv):
    srv = valv.server()
    a, b, c = login(srv), login(srv), login(srv)
    u = [append(a, message(i)) for i in range(1, 4)]
    select(a)
    select(b)
    assert select(c, "Archive") == 0
    untagged = ok(a, "M", "MOVE 2 Archive")
    assert apply_expunges(u, untagged) == [u[0], u[2]], untagged

    untagged = ok(b, "N", "NOOP")
    assert untagged == [b"* 2 EXPUNGE\r\n"], untagged
    assert uids(b) == [u[0], u[2]]

    untagged = ok(c, "N", "NOOP")
    assert b"* 1 EXISTS\r\n" in untagged, untagged
    untagged = ok(c, "F", "FETCH 1 (BODY.PEEK[])")
    assert vh.parse_fetch_response(untagged[0][2:])[1]["BODY[]"] == message(2)
    for r in (a, b, c):
        r.close()


def test_fetch_and_store_of_message_expunged_by_another_session(valv):
    """RFC 9051 §7.1 EXPUNGEISSUED: B still has a message in its snapshot that A has
    expunged. B's FETCH/STORE of it get NO [EXPUNGEISSUED] (never a server error), a
    SEARCH simply does not match it, and B's next NOOP reports the EXPUNGE."""
    srv = valv.server()
    a, b = login(srv), login(srv)
    for n in range(3):
        append(a, message(n, "gone"))
    assert select(a) == 3
    assert select(b) == 3
    ok(a, "D", "STORE 2 +FLAGS.SILENT (\\Deleted)")
    ok(a, "E", "EXPUNGE")
    _, tagged = b.command(b"F", b"FETCH 1:3 (BODY.PEEK[])")
    assert tagged.startswith(b"F NO [EXPUNGEISSUED]"), tagged
    _, tagged = b.command(b"T", b"STORE 2 +FLAGS (\\Flagged)")
    assert tagged.startswith(b"T NO [EXPUNGEISSUED]"), tagged
    untagged = ok(b, "S", "SEARCH BODY body")
    hits = [u for u in untagged if u.startswith(b"* SEARCH")][0].split()[2:]
    assert hits == [b"1", b"3"], untagged
    untagged = ok(b, "N", "NOOP")
    assert b"* 2 EXPUNGE\r\n" in untagged, untagged
    assert uids(b) == uids(a)
    assert not vh.bad_log_lines(srv.log_text())
    a.close()
    b.close()


def test_renamed_while_selected_elsewhere(valv):
    """A renames the folder B has selected (and B is idling in): B keeps it under its new
    name and still hears of changes to it, a parent's rename included."""
    srv = valv.server()
    a = login(srv)
    ok(a, "C", "CREATE Work/Projects")
    b = login(srv)
    assert select(b, "Work/Projects") == 0
    idle_start(b)
    ok(a, "R", "RENAME Work/Projects Work/Old")
    append(a, message(1, "renamed"), b"Work/Old")
    read_until(b, lambda resp: resp == b"* 1 EXISTS\r\n")
    ok(a, "P", "RENAME Work Archive-2026")
    append(a, message(2, "renamed"), b"Archive-2026/Old")
    read_until(b, lambda resp: resp == b"* 2 EXISTS\r\n")
    untagged, tagged = idle_done(b)
    assert vh.tagged_status(tagged) == "OK", tagged
    assert uids(b) == [1, 2]
    a.close()
    b.close()
