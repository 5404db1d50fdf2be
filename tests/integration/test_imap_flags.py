# SPDX-License-Identifier: AGPL-3.0-or-later
"""STORE and \\Seen: flags persist across sessions and restarts; PEEK does not set \\Seen."""

import uuid

import pytest

import valvharness as vh
from conftest import ALICE, ALICE_PW


def new_message(server):
    tid = uuid.uuid4().hex.encode()
    data = (b"From: flags@outside.test\r\nTo: alice@example.org\r\nSubject: flags " + tid +
            b"\r\nX-Valv-Test-Id: " + tid + b"\r\n\r\nflag me\r\n")
    server.send("flags@outside.test", [ALICE], data)
    return tid, data


def flags_of(server, tid, readonly=True):
    with server.login(ALICE, ALICE_PW) as im:
        seq = vh.find_by_header(im, "X-Valv-Test-Id", tid)
        if readonly:
            vh.select(im, "INBOX", readonly=True)
        return set(vh.fetch_one(im, seq, "(FLAGS)")["FLAGS"])


def store(im, seq, op, flags, uid=False):
    if uid:
        typ, data = im.uid("STORE", str(seq), op, flags)
    else:
        typ, data = im.store(str(seq), op, flags)
    assert typ == "OK", (op, flags, data)
    return data


def test_store_flags_persist_across_reconnect(server):
    tid, _ = new_message(server)
    with server.login(ALICE, ALICE_PW) as im:
        seq = vh.find_by_header(im, "X-Valv-Test-Id", tid)
        data = store(im, seq, "+FLAGS", r"(\Flagged \Answered)")
        resp = [vh.parse_fetch_response(r) for r in vh.imaplib_responses(data)]
        mine = [it for s, it in resp if s == seq]
        assert mine and {b"\\Flagged", b"\\Answered"} <= set(mine[0]["FLAGS"]), resp
    assert flags_of(server, tid) >= {b"\\Flagged", b"\\Answered"}
    assert b"\\Seen" not in flags_of(server, tid)

    with server.login(ALICE, ALICE_PW) as im:
        seq = vh.find_by_header(im, "X-Valv-Test-Id", tid)
        store(im, seq, "-FLAGS", r"(\Answered)")
    f = flags_of(server, tid)
    assert b"\\Flagged" in f and b"\\Answered" not in f, f

    with server.login(ALICE, ALICE_PW) as im:
        seq = vh.find_by_header(im, "X-Valv-Test-Id", tid)
        store(im, seq, "FLAGS.SILENT", r"(\Draft \Seen)")
    assert flags_of(server, tid) - {b"\\Recent"} == {b"\\Draft", b"\\Seen"}

    with server.login(ALICE, ALICE_PW) as im:
        seq = vh.find_by_header(im, "X-Valv-Test-Id", tid)
        uid = int(vh.fetch_one(im, seq, "(UID)")["UID"])
        store(im, uid, "FLAGS", r"(\Deleted)", uid=True)
        store(im, uid, "+FLAGS", r"(\Flagged)", uid=True)
    assert flags_of(server, tid) - {b"\\Recent"} == {b"\\Deleted", b"\\Flagged"}


def test_seen_set_by_body_fetch_not_by_peek(server):
    tid, data = new_message(server)
    with server.login(ALICE, ALICE_PW) as im:
        seq = vh.find_by_header(im, "X-Valv-Test-Id", tid)
        vh.fetch_one(im, seq, "(BODY.PEEK[] BODY.PEEK[1] BODY.PEEK[HEADER] RFC822.SIZE)")
        assert b"\\Seen" not in vh.fetch_one(im, seq, "(FLAGS)")["FLAGS"]
    assert b"\\Seen" not in flags_of(server, tid)

    with server.login(ALICE, ALICE_PW) as im:
        seq = vh.find_by_header(im, "X-Valv-Test-Id", tid)
        it = vh.fetch_one(im, seq, "(BODY[])")
        assert vh.strip_trace(it["BODY[]"])[1] == data
        assert b"\\Seen" in vh.fetch_one(im, seq, "(FLAGS)")["FLAGS"]
    assert b"\\Seen" in flags_of(server, tid)


def test_rfc822_fetch_sets_seen_header_does_not(server):
    tid, data = new_message(server)
    with server.login(ALICE, ALICE_PW) as im:
        seq = vh.find_by_header(im, "X-Valv-Test-Id", tid)
        it = vh.fetch_one(im, seq, "(RFC822.HEADER BODY.PEEK[])")
        header, _ = vh.split_entity(it["BODY[]"])
        assert it["RFC822.HEADER"] == header + b"\r\n"
    assert b"\\Seen" not in flags_of(server, tid)
    with server.login(ALICE, ALICE_PW) as im:
        seq = vh.find_by_header(im, "X-Valv-Test-Id", tid)
        it = vh.fetch_one(im, seq, "(RFC822)")
        assert vh.strip_trace(it["RFC822"])[1] == data
    assert b"\\Seen" in flags_of(server, tid)


def test_examine_is_read_only(server):
    tid, _ = new_message(server)
    with server.login(ALICE, ALICE_PW) as im:
        seq = vh.find_by_header(im, "X-Valv-Test-Id", tid)
        vh.select(im, "INBOX", readonly=True)
        vh.fetch_one(im, seq, "(BODY[])")  # must not set \Seen in a read-only session
        try:
            typ, _ = im.store(str(seq), "+FLAGS", r"(\Flagged)")
        except im.error:
            typ = "BAD"
        assert typ != "OK", "STORE succeeded after EXAMINE"
    f = flags_of(server, tid)
    assert b"\\Seen" not in f and b"\\Flagged" not in f, f


def test_keywords_persist_if_permanentflags_allows(server):
    tid, _ = new_message(server)
    with server.login(ALICE, ALICE_PW) as im:
        seq = vh.find_by_header(im, "X-Valv-Test-Id", tid)
        perm = im.untagged_responses.get("PERMANENTFLAGS")
        assert perm, "SELECT gave no PERMANENTFLAGS"
        if b"\\*" not in perm[0]:
            pytest.skip(f"server does not allow keywords: {perm[0]!r}")
        store(im, seq, "+FLAGS", "($Forwarded Work)")
    f = flags_of(server, tid)
    assert {b"$Forwarded", b"Work"} <= f, f


def test_flags_survive_restart(server):
    tid, _ = new_message(server)
    with server.login(ALICE, ALICE_PW) as im:
        seq = vh.find_by_header(im, "X-Valv-Test-Id", tid)
        store(im, seq, "+FLAGS", r"(\Flagged \Answered \Seen)")
        uidvalidity = im.untagged_responses.get("UIDVALIDITY", [None])[0]
        uid = vh.fetch_one(im, seq, "(UID)")["UID"]
    server.stop()
    server.start()
    with server.login(ALICE, ALICE_PW) as im:
        seq = vh.find_by_header(im, "X-Valv-Test-Id", tid)
        assert im.untagged_responses.get("UIDVALIDITY", [None])[0] == uidvalidity
        it = vh.fetch_one(im, seq, "(UID FLAGS)")
        assert it["UID"] == uid
        assert {b"\\Flagged", b"\\Answered", b"\\Seen"} <= set(it["FLAGS"])
