# SPDX-License-Identifier: AGPL-3.0-or-later
"""Isolation: alice can never read or change bob's mail, whatever she names or numbers."""

import uuid

import pytest

import valvharness as vh
from conftest import ALICE, ALICE_PW, BOB, BOB_PW


@pytest.fixture(scope="module")
def mail(server):
    """Three messages each for alice and bob, with per-user markers."""
    markers = {ALICE: [], BOB: []}
    for user in (ALICE, BOB):
        for i in range(3):
            m = f"ISO{user.split('@')[0].upper()}{i}{uuid.uuid4().hex}".encode()
            markers[user].append(m)
            data = (b"From: someone@outside.test\r\nTo: " + user.encode() +
                    b"\r\nSubject: private " + m + b"\r\nMessage-ID: <" + m +
                    b"@outside.test>\r\n\r\nsecret body " + m + b"\r\n")
            server.send("someone@outside.test", [user], data)
    # bob also gets mail in another folder name alice might guess: via team@ (both)
    return markers


def everything_visible(im):
    """All bytes of every message in every mailbox this session can LIST."""
    typ, data = im.list()
    assert typ == "OK"
    blobs = []
    for line in data:
        name = line.decode("utf-8", "replace").rsplit(" ", 1)[-1].strip('"')
        typ, d = im.select(f'"{name}"', readonly=True)
        if typ != "OK":
            continue
        if int(d[0]):
            for _, items in vh.fetch(im, "1:*", "(BODY.PEEK[] ENVELOPE)"):
                blobs.append(items["BODY[]"])
    return b"\n".join(blobs), data


def test_each_user_sees_only_own_mail(server, mail):
    for user, pw, other in ((ALICE, ALICE_PW, BOB), (BOB, BOB_PW, ALICE)):
        with server.login(user, pw) as im:
            blob, listing = everything_visible(im)
            for m in mail[user]:
                assert m in blob, f"{user} cannot see own message {m!r}"
            for m in mail[other]:
                assert m not in blob, f"{user} sees {other}'s message {m!r}"
            assert other.split("@")[0].encode() not in b"".join(listing), listing


@pytest.mark.parametrize("mailbox", [
    "bob@example.org/INBOX", "bob@example.org", "~bob/INBOX", "~bob@example.org/INBOX",
    "../bob@example.org/INBOX", "../bob/INBOX", "Other Users/bob/INBOX",
    "Other Users/bob@example.org/INBOX", "#user/bob/INBOX", "#shared/bob/INBOX",
    "user.bob", "user/bob@example.org", "INBOX/../../bob@example.org/INBOX",
    "/bob@example.org/INBOX", "%", "*", "INBOX*", "bob", "Bob", "BOB@EXAMPLE.ORG/INBOX",
])
def test_select_other_users_mailbox_names(server, mail, mailbox):
    with server.login(ALICE, ALICE_PW) as im:
        for cmd in (im.select, lambda m: im.select(m, readonly=True)):
            try:
                typ, data = cmd(f'"{mailbox}"')
            except im.error:
                continue  # BAD is a refusal too
            if typ == "OK" and int(data[0] or 0):
                blob = b"".join(items["BODY[]"] for _, items in
                                vh.fetch(im, "1:*", "(BODY.PEEK[])"))
                for m in mail[BOB]:
                    assert m not in blob, f"SELECT {mailbox!r} showed bob's mail"
            assert typ != "OK", f"SELECT {mailbox!r} succeeded for alice: {data!r}"


def test_bobs_uids_and_sequence_numbers(server, mail):
    """UIDs/sequence numbers are per mailbox: any number alice uses gives her own mail."""
    with server.login(BOB, BOB_PW) as im:
        vh.select(im, "INBOX")
        bob_uids = [int(it["UID"]) for _, it in vh.fetch(im, "1:*", "(UID)")]
    assert bob_uids
    with server.login(ALICE, ALICE_PW) as im:
        vh.select(im, "INBOX")
        probes = ",".join(str(u) for u in bob_uids) + ",1:*,4294967295"
        got = vh.fetch(im, probes, "(BODY.PEEK[])", uid=True)
        blob = b"".join(it.get("BODY[]", b"") for _, it in got)
        for m in mail[BOB]:
            assert m not in blob
        # Far-away sequence numbers are an error, never someone else's message.
        try:
            typ, data = im.fetch("1000000", "(BODY.PEEK[])")
        except im.error:
            typ, data = "BAD", []
        assert typ != "OK" or not any(isinstance(x, tuple) for x in data), data
        # Alice flags everything she can reach ...
        typ, _ = im.uid("STORE", probes, "+FLAGS", r"(\Deleted \Flagged)")
        assert typ == "OK"
    # ... and bob's flags are untouched.
    with server.login(BOB, BOB_PW) as im:
        vh.select(im, "INBOX", readonly=True)
        for _, it in vh.fetch(im, "1:*", "(FLAGS)"):
            assert b"\\Deleted" not in it["FLAGS"] and b"\\Flagged" not in it["FLAGS"], it


def test_alias_to_both_gives_each_their_own_copy(server, mail):
    m = f"TEAM{uuid.uuid4().hex}".encode()
    data = b"From: x@outside.test\r\nSubject: team " + m + b"\r\n\r\nfor the team\r\n"
    server.send("x@outside.test", ["team@example.org"], data)
    for user, pw in ((ALICE, ALICE_PW), (BOB, BOB_PW)):
        with server.login(user, pw) as im:
            msgs = vh.all_messages(im)
            hits = [b for b in msgs.values() if m in b]
            assert len(hits) == 1, f"{user}: {len(hits)} copies"
            assert vh.strip_trace(hits[0])[1] == data
    # Alice marks hers \Seen; bob's copy stays unseen.
    with server.login(ALICE, ALICE_PW) as im:
        msgs = vh.all_messages(im)
        seq = next(k for k, v in msgs.items() if m in v)
        assert im.store(str(seq), "+FLAGS", r"(\Seen)")[0] == "OK"
    with server.login(BOB, BOB_PW) as im:
        msgs = vh.all_messages(im)
        seq = next(k for k, v in msgs.items() if m in v)
        flags = vh.fetch_one(im, seq, "(FLAGS)")["FLAGS"]
        assert b"\\Seen" not in flags, flags


def test_concurrent_sessions_stay_separate(server, mail):
    """Both users logged in at the same time, interleaved commands."""
    a = server.login(ALICE, ALICE_PW)
    b = server.login(BOB, BOB_PW)
    try:
        vh.select(a, "INBOX")
        vh.select(b, "INBOX")
        for _ in range(3):
            ablob = b"".join(i["BODY[]"] for _, i in vh.fetch(a, "1:*", "(BODY.PEEK[])"))
            bblob = b"".join(i["BODY[]"] for _, i in vh.fetch(b, "1:*", "(BODY.PEEK[])"))
            assert not any(m in ablob for m in mail[BOB])
            assert not any(m in bblob for m in mail[ALICE])
            assert all(m in ablob for m in mail[ALICE])
            assert all(m in bblob for m in mail[BOB])
    finally:
        a.logout()
        b.logout()
