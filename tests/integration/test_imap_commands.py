# SPDX-License-Identifier: AGPL-3.0-or-later
"""IMAP commands beyond FETCH/STORE, driven by Python's imaplib and raw sockets.

APPEND (flags, date, APPENDUID, byte-exact), COPY/MOVE (COPYUID, EXPUNGE responses),
UID EXPUNGE, CLOSE vs UNSELECT, ID, ENABLE UTF8=ACCEPT, QUOTA (limits set with valvctl;
OVERQUOTA on APPEND/COPY, 452 4.2.2 at SMTP), and -- when the server offers them --
CREATE/DELETE/RENAME/SUBSCRIBE, NAMESPACE, LIST-EXTENDED/SPECIAL-USE/LIST-STATUS,
STATUS=SIZE, SEARCH/ESEARCH/SEARCHRES, SORT and THREAD.

Tests that count messages get a fresh server (fixture `valv`) so they see only their own.
"""

import datetime
import email.utils
import imaplib
import re
import smtplib

import pytest

import valvharness as vh
from conftest import ALICE, ALICE_PW, BOB, BOB_PW


# --------------------------------------------------------------------------- helpers

def raw_login(srv, user=ALICE, pw=ALICE_PW):
    r = srv.raw_imap()
    _, tagged = r.command(b"L", b"LOGIN " + user.encode() + b" " + pw.encode())
    assert vh.tagged_status(tagged) == "OK", tagged
    return r


def capabilities(srv):
    r = raw_login(srv)
    try:
        untagged, tagged = r.command(b"C", b"CAPABILITY")
        assert vh.tagged_status(tagged) == "OK", tagged
        line = [u for u in untagged if u.startswith(b"* CAPABILITY ")][0]
        return set(line.decode().split()[2:])
    finally:
        r.close()


def need(srv, *caps):
    have = capabilities(srv)
    missing = [c for c in caps if c not in have]
    # Every capability tested here is advertised; a missing one is a regression.
    assert not missing, f"server does not advertise {' '.join(missing)}"


def cmd(r, tag, text):
    if isinstance(text, str):
        text = text.encode()
    return r.command(tag.encode() if isinstance(tag, str) else tag, text)


def ok(r, tag, text):
    untagged, tagged = cmd(r, tag, text)
    assert vh.tagged_status(tagged) == "OK", (text, untagged, tagged)
    return untagged, tagged


def message(n, subject=None, extra=b"", size=0):
    subject = subject or b"message %d" % n
    body = b"Body of message %d.\r\n" % n
    if size:
        line = b"%d " % n + b"x" * 70 + b"\r\n"
        body += line * (size // len(line) + 1)
    return (b"From: Tester <tester@outside.test>\r\nTo: alice@example.org\r\n"
            b"Subject: " + subject + b"\r\n"
            b"Message-ID: <cmd-%d@outside.test>\r\n" % n + extra +
            b"Date: Tue, 05 Mar 2024 10:%02d:00 +0000\r\n\r\n" % (n % 60) + body)


def append(r, mailbox, data, flags=b"", date=b"", tag=b"A"):
    """APPEND with a LITERAL+ literal; returns (untagged, tagged)."""
    args = b"APPEND " + mailbox + b" "
    if flags:
        args += b"(" + flags + b") "
    if date:
        args += b'"' + date + b'" '
    return r.command(tag, args + b"{%d+}\r\n" % len(data) + data)


APPENDUID_RE = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")
COPYUID_RE = re.compile(rb"\[COPYUID (\d+) ([0-9:,]+) ([0-9:,]+)\]")


def uid_set(s):
    out = []
    for part in (s.decode() if isinstance(s, bytes) else s).split(","):
        if ":" in part:
            a, b = map(int, part.split(":"))
            out += list(range(min(a, b), max(a, b) + 1))
        else:
            out.append(int(part))
    return out


def append_ok(r, mailbox, data, flags=b"", date=b""):
    untagged, tagged = append(r, mailbox, data, flags, date)
    assert vh.tagged_status(tagged) == "OK", tagged
    m = APPENDUID_RE.search(tagged)
    assert m, f"no APPENDUID in {tagged!r}"
    return int(m.group(1)), int(m.group(2))


def select_raw(r, mailbox=b"INBOX", examine=False):
    untagged, tagged = ok(r, "S", (b"EXAMINE " if examine else b"SELECT ") + mailbox)
    exists = [int(u.split()[1]) for u in untagged if re.match(rb"\* \d+ EXISTS", u)]
    uv = [int(m.group(1)) for u in untagged for m in [re.search(rb"\[UIDVALIDITY (\d+)\]", u)] if m]
    assert len(exists) == 1 and len(uv) == 1, untagged
    return exists[0], uv[0], tagged


def uids(r):
    """Sequence-ordered UID list of the selected mailbox."""
    # UID FETCH: "FETCH 1:*" is BAD in an empty mailbox (RFC 9051 §9, seq-number).
    untagged, _ = ok(r, "U", "UID FETCH 1:* (UID)")
    res = sorted(vh.parse_fetch_response(u[2:]) for u in untagged if b"FETCH" in u)
    return [int(it["UID"]) for _, it in res]


def fetch_uid(r, uid, items):
    untagged, _ = ok(r, "F", f"UID FETCH {uid} {items}")
    res = [vh.parse_fetch_response(u[2:]) for u in untagged if b" FETCH " in u[:30]]
    res = [it for _, it in res if int(it.get("UID", -1)) == uid]
    assert res, f"no FETCH response for UID {uid}: {untagged!r}"
    out = {}
    for it in res:
        out.update(it)
    return out


def apply_expunges(seq_uids, untagged):
    """Apply `* n EXPUNGE` responses in order to a sequence-ordered UID list."""
    out = list(seq_uids)
    for u in untagged:
        m = re.match(rb"\* (\d+) EXPUNGE\r\n$", u)
        if m:
            n = int(m.group(1))
            assert 1 <= n <= len(out), f"EXPUNGE {n} with only {len(out)} messages: {untagged!r}"
            del out[n - 1]
    return out


def expunge_count(untagged):
    return sum(1 for u in untagged if re.match(rb"\* \d+ EXPUNGE", u))


def set_quota(srv, user, limit):
    vh.valvctl(srv.datadir, "user", "quota", user, limit)


def mailbox_names(r):
    untagged, _ = ok(r, "LS", b'LIST "" "*"')
    names = []
    for u in untagged:
        m = re.match(rb'\* LIST \(([^)]*)\) (?:NIL|"[^"]*") (.*)\r\n$', u, re.S)
        if not m:
            continue
        name = m.group(2)
        if name.startswith(b"{"):
            name = name.split(b"\r\n", 1)[1]
        elif name.startswith(b'"'):
            name = re.sub(rb'\\(.)', rb"\1", name[1:-1])
        names.append(name)
    return names


def command_offered(srv, probe):
    """False when the server answers `probe` with its "not available yet" NO [CANNOT]."""
    r = raw_login(srv)
    try:
        _, tagged = cmd(r, "P", probe)
        return not (vh.tagged_status(tagged) == "NO" and b"[CANNOT]" in tagged)
    finally:
        r.close()


# --------------------------------------------------------------------------- APPEND

def test_append_flags_date_appenduid_byte_exact(valv):
    srv = valv.server()
    # Bytes that a careless server would change: a lone "." line, trailing blanks, a tab,
    # a long line, 8-bit UTF-8, an empty last line, a line starting "From ".
    data = (b"From: Tester <tester@outside.test>\r\nTo: alice@example.org\r\n"
            b"Subject: append exact\r\nMessage-ID: <append-exact@outside.test>\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\n"
            b"first line   \r\n.\r\n..\r\nFrom the start\r\n\ttabbed\r\n" + b"y" * 990 +
            b"\r\nGr\xc3\xbc\xc3\x9fe \xe2\x82\xac\r\n\r\n")
    date = b"01-Feb-2021 10:11:12 +0100"
    with srv.login(ALICE, ALICE_PW) as im:
        vh.select(im, "INBOX")
        uidvalidity = int(im.response("UIDVALIDITY")[1][0])
        typ, resp = im.append("INBOX", r"(\Flagged \Draft $Label1)", f'"{date.decode()}"', data)
        assert typ == "OK", resp
        m = APPENDUID_RE.search(resp[0])
        assert m, f"no APPENDUID in {resp!r}"
        assert int(m.group(1)) == uidvalidity
        uid = int(m.group(2))
        it = vh.fetch_one(im, uid, "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])", uid=True)
        assert it["BODY[]"] == data
        assert int(it["RFC822.SIZE"]) == len(data)
        flags = set(it["FLAGS"]) - {b"\\Recent"}
        assert flags == {b"\\Flagged", b"\\Draft", b"$Label1"}, flags
        got = datetime.datetime.strptime(it["INTERNALDATE"].decode(), "%d-%b-%Y %H:%M:%S %z")
        want = datetime.datetime.strptime(date.decode(), "%d-%b-%Y %H:%M:%S %z")
        assert got == want, (it["INTERNALDATE"], date)

        # The next APPEND gets a higher UID; without a date, INTERNALDATE is about now.
        typ, resp = im.append("INBOX", None, None, message(2))
        assert typ == "OK", resp
        uid2 = int(APPENDUID_RE.search(resp[0]).group(2))
        assert uid2 > uid
        it = vh.fetch_one(im, uid2, "(FLAGS INTERNALDATE BODY.PEEK[])", uid=True)
        assert it["BODY[]"] == message(2)
        assert set(it["FLAGS"]) - {b"\\Recent"} == set()
        got = datetime.datetime.strptime(it["INTERNALDATE"].decode(), "%d-%b-%Y %H:%M:%S %z")
        assert abs((got - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) < 3600

        # APPEND into another, unselected mailbox: its own UIDVALIDITY in APPENDUID.
        typ, resp = im.append("Archive", r"(\Seen)", None, message(3))
        assert typ == "OK", resp
        auv, auid = map(int, APPENDUID_RE.search(resp[0]).groups())
        vh.select(im, "Archive", readonly=True)
        assert int(im.response("UIDVALIDITY")[1][0]) == auv
        it = vh.fetch_one(im, auid, "(FLAGS BODY.PEEK[])", uid=True)
        assert it["BODY[]"] == message(3) and b"\\Seen" in it["FLAGS"]


def test_append_errors_and_exists_while_selected(valv):
    srv = valv.server()
    r = raw_login(srv)
    exists, _, _ = select_raw(r)
    assert exists == 0
    # Into the selected mailbox: EXISTS comes before the tagged OK (RFC 9051 §6.3.12).
    untagged, tagged = append(r, b"INBOX", message(1))
    assert vh.tagged_status(tagged) == "OK", tagged
    assert b"* 1 EXISTS\r\n" in untagged, untagged
    # No such mailbox -> NO [TRYCREATE]; nothing is stored anywhere.
    _, tagged = append(r, b"NoSuchMailbox", message(2), tag=b"B")
    assert vh.tagged_status(tagged) == "NO" and b"[TRYCREATE]" in tagged, tagged
    # An unknown system flag is a syntax error.
    _, tagged = append(r, b"INBOX", message(3), flags=b"\\Bogus", tag=b"C")
    assert vh.tagged_status(tagged) == "BAD", tagged
    # A malformed date is a syntax error.
    _, tagged = append(r, b"INBOX", message(4), date=b"31-Foo-2021 99:00:00 +0000", tag=b"D")
    assert vh.tagged_status(tagged) == "BAD", tagged
    untagged, _ = ok(r, "N", "NOOP")
    assert uids(r) == [1] or len(uids(r)) == 1
    r.close()


# --------------------------------------------------------------------------- COPY / MOVE

def fill(r, n, mailbox=b"INBOX", flags=lambda i: b""):
    return [append_ok(r, mailbox, message(i), flags=flags(i))[1] for i in range(1, n + 1)]


def test_copy_copyuid_keeps_bytes_flags_and_source(valv):
    srv = valv.server()
    r = raw_login(srv)
    src = fill(r, 5, flags=lambda i: b"\\Flagged $Tag" if i % 2 else b"")
    exists, src_uv, _ = select_raw(r)
    assert exists == 5
    untagged, tagged = ok(r, "C", "COPY 2:4 Archive")
    m = COPYUID_RE.search(tagged)
    assert m, f"no COPYUID in {tagged!r}"
    dst_uv, from_uids, to_uids = int(m.group(1)), uid_set(m.group(2)), uid_set(m.group(3))
    assert from_uids == src[1:4] and len(to_uids) == 3, tagged
    assert expunge_count(untagged) == 0
    assert uids(r) == src, "COPY changed the source mailbox"
    src_items = {u: fetch_uid(r, u, "(FLAGS INTERNALDATE BODY.PEEK[])") for u in from_uids}

    # UID COPY of one message, too.
    _, tagged = ok(r, "D", f"UID COPY {src[4]} Archive")
    m2 = COPYUID_RE.search(tagged)
    assert m2 and uid_set(m2.group(2)) == [src[4]], tagged
    assert min(uid_set(m2.group(3))) > max(to_uids)

    _, uv, _ = select_raw(r, b"Archive", examine=True)
    assert uv == dst_uv
    for s_uid, d_uid in zip(from_uids, to_uids):
        d = fetch_uid(r, d_uid, "(FLAGS INTERNALDATE BODY.PEEK[])")
        s = src_items[s_uid]
        assert d["BODY[]"] == s["BODY[]"]
        assert set(d["FLAGS"]) - {b"\\Recent"} == set(s["FLAGS"]) - {b"\\Recent"}
        assert d["INTERNALDATE"] == s["INTERNALDATE"]
    _, tagged = cmd(r, "E", "COPY 1 NoSuchMailbox")
    assert vh.tagged_status(tagged) == "NO" and b"[TRYCREATE]" in tagged, tagged
    r.close()


@pytest.mark.parametrize("by_uid", [False, True], ids=["MOVE", "UID-MOVE"])
def test_move_reports_copyuid_and_expunges(valv, by_uid):
    srv = valv.server()
    r = raw_login(srv)
    src = fill(r, 6, flags=lambda i: b"\\Seen" if i == 4 else b"")
    select_raw(r)
    before = {u: fetch_uid(r, u, "(FLAGS BODY.PEEK[])") for u in src}
    moving = [src[1], src[3], src[4]]  # sequence numbers 2, 4, 5
    what = ",".join(map(str, moving)) if by_uid else "2,4:5"
    untagged, tagged = ok(r, "M", f"{'UID ' if by_uid else ''}MOVE {what} Archive")
    copyuid = [COPYUID_RE.search(u) for u in untagged + [tagged]]
    copyuid = [m for m in copyuid if m]
    assert len(copyuid) == 1, (untagged, tagged)
    dst_uv, from_uids, to_uids = copyuid[0].groups()
    from_uids, to_uids = uid_set(from_uids), uid_set(to_uids)
    assert sorted(from_uids) == moving and len(to_uids) == 3
    # RFC 6851 §4.3: the untagged OK [COPYUID] comes before the EXPUNGE responses.
    ok_pos = [i for i, u in enumerate(untagged) if COPYUID_RE.search(u)]
    exp_pos = [i for i, u in enumerate(untagged) if re.match(rb"\* \d+ EXPUNGE", u)]
    if ok_pos:
        assert ok_pos[0] < min(exp_pos), untagged
    assert expunge_count(untagged) == 3, untagged
    # Replaying the EXPUNGE responses on our view gives the server's view.
    remaining = apply_expunges(src, untagged)
    assert remaining == [src[0], src[2], src[5]], (remaining, untagged)
    assert uids(r) == remaining

    _, uv, _ = select_raw(r, b"Archive", examine=True)
    assert uv == int(dst_uv)
    for s_uid, d_uid in zip(from_uids, to_uids):
        d = fetch_uid(r, d_uid, "(FLAGS BODY.PEEK[])")
        assert d["BODY[]"] == before[s_uid]["BODY[]"]
        assert set(d["FLAGS"]) - {b"\\Recent"} == set(before[s_uid]["FLAGS"]) - {b"\\Recent"}
    assert len(uids(r)) == 3
    r.close()


def test_move_errors(valv):
    srv = valv.server()
    r = raw_login(srv)
    src = fill(r, 2)
    _, tagged = cmd(r, "A", "MOVE 1 Archive")
    assert vh.tagged_status(tagged) == "BAD", f"MOVE without a selected mailbox: {tagged!r}"
    select_raw(r)
    _, tagged = cmd(r, "B", "MOVE 1 NoSuchMailbox")
    assert vh.tagged_status(tagged) == "NO" and b"[TRYCREATE]" in tagged, tagged
    assert uids(r) == src, "a failed MOVE removed messages"
    select_raw(r, examine=True)
    untagged, tagged = cmd(r, "C", "MOVE 1 Archive")
    assert vh.tagged_status(tagged) == "NO", f"MOVE out of a read-only mailbox: {tagged!r}"
    assert expunge_count(untagged) == 0
    select_raw(r, b"Archive", examine=True)
    assert uids(r) == [], "a refused MOVE copied messages anyway"
    r.close()


# --------------------------------------------------------------------------- EXPUNGE family

def test_uid_expunge_only_removes_given_uids(valv):
    srv = valv.server()
    r = raw_login(srv)
    src = fill(r, 5)
    select_raw(r)
    ok(r, "D", "STORE 1:3 +FLAGS.SILENT (\\Deleted)")
    # A UID that is not \Deleted, and one that does not exist, are not expunged.
    untagged, _ = ok(r, "X", f"UID EXPUNGE {src[1]},{src[3]},{src[4] + 100}")
    assert apply_expunges(src, untagged) == [src[0], src[2], src[3], src[4]], untagged
    assert expunge_count(untagged) == 1 and b"* 2 EXPUNGE\r\n" in untagged, untagged
    assert uids(r) == [src[0], src[2], src[3], src[4]]
    for u in (src[0], src[2]):
        assert b"\\Deleted" in fetch_uid(r, u, "(FLAGS)")["FLAGS"]
    # A plain EXPUNGE then removes the rest of the \Deleted ones.
    untagged, _ = ok(r, "Y", "EXPUNGE")
    assert apply_expunges([src[0], src[2], src[3], src[4]], untagged) == [src[3], src[4]], untagged
    assert uids(r) == [src[3], src[4]]
    r.close()


def test_close_expunges_silently_unselect_does_not(valv):
    srv = valv.server()
    r = raw_login(srv)
    src = fill(r, 3)
    select_raw(r)
    ok(r, "D", "STORE 2 +FLAGS.SILENT (\\Deleted)")

    untagged, _ = ok(r, "U", "UNSELECT")
    assert expunge_count(untagged) == 0
    _, tagged = cmd(r, "F", "FETCH 1 (UID)")
    assert vh.tagged_status(tagged) == "BAD", f"FETCH after UNSELECT: {tagged!r}"
    assert select_raw(r)[0] == 3, "UNSELECT expunged"

    # CLOSE of a read-only (EXAMINEd) mailbox expunges nothing.
    select_raw(r, examine=True)
    ok(r, "C1", "CLOSE")
    assert select_raw(r)[0] == 3, "CLOSE after EXAMINE expunged"

    untagged, _ = ok(r, "C2", "CLOSE")
    assert expunge_count(untagged) == 0, f"CLOSE sent EXPUNGE responses: {untagged!r}"
    _, tagged = cmd(r, "F2", "FETCH 1 (UID)")
    assert vh.tagged_status(tagged) == "BAD", f"FETCH after CLOSE: {tagged!r}"
    assert select_raw(r)[0] == 2
    assert uids(r) == [src[0], src[2]]

    ok(r, "U2", "UNSELECT")
    _, tagged = cmd(r, "U3", "UNSELECT")
    assert vh.tagged_status(tagged) == "BAD", f"UNSELECT with nothing selected: {tagged!r}"
    _, tagged = cmd(r, "C3", "CLOSE")
    assert vh.tagged_status(tagged) == "BAD", f"CLOSE with nothing selected: {tagged!r}"
    r.close()


# --------------------------------------------------------------------------- ID / ENABLE

def test_id_before_and_after_login(server):
    r = server.raw_imap()
    for tag, text in (("I1", "ID NIL"), ("I2", 'ID ("name" "pytest" "version" "1.0")')):
        untagged, tagged = ok(r, tag, text)
        ids = [u for u in untagged if u.startswith(b"* ID ")]
        assert len(ids) == 1, untagged
        fields = vh._Parser(ids[0][5:]).value()
        assert isinstance(fields, list) and len(fields) % 2 == 0, ids
        d = {fields[i].lower(): fields[i + 1] for i in range(0, len(fields), 2)}
        assert d.get(b"name") == b"Valv", d
    _, tagged = cmd(r, "I3", 'ID ("name")')
    assert vh.tagged_status(tagged) == "BAD", tagged
    ok(r, "L", f"LOGIN {ALICE} {ALICE_PW}")
    untagged, _ = ok(r, "I4", "ID NIL")
    assert any(u.startswith(b"* ID (") for u in untagged)
    r.close()


def test_enable(server):
    r = server.raw_imap()
    _, tagged = cmd(r, "E0", "ENABLE UTF8=ACCEPT")
    assert vh.tagged_status(tagged) in ("BAD", "NO"), f"ENABLE before login: {tagged!r}"
    ok(r, "L", f"LOGIN {ALICE} {ALICE_PW}")
    untagged, _ = ok(r, "E1", "ENABLE X-NO-SUCH-EXTENSION")
    assert untagged == [b"* ENABLED\r\n"], untagged
    # RFC 5161 §3.1: ENABLED lists only extensions that this server advertises.
    caps = capabilities(server)
    untagged, _ = ok(r, "E2", "ENABLE UTF8=ACCEPT CONDSTORE X-NO-SUCH-EXTENSION")
    assert len(untagged) == 1 and untagged[0].startswith(b"* ENABLED"), untagged
    enabled = {c.decode() for c in untagged[0].split()[2:]}
    assert enabled <= caps, f"enabled {enabled - caps} which CAPABILITY does not advertise"
    assert enabled == {"UTF8=ACCEPT", "CONDSTORE"} & caps, (enabled, caps)
    r.close()


def test_enable_utf8_accept_append_utf8(server):
    need(server, "UTF8=ACCEPT")
    r = raw_login(server)
    untagged, _ = ok(r, "E", "ENABLE UTF8=ACCEPT")
    assert untagged == [b"* ENABLED UTF8=ACCEPT\r\n"], untagged
    # RFC 6855 §4: after ENABLE UTF8=ACCEPT, APPEND takes UTF8 (literal8) messages.
    subject = "Grüße aus Köln – 東京".encode()
    data = (b"From: =?utf-8?q?J=C3=BCrgen?= <juergen@outside.test>\r\nTo: alice@example.org\r\n"
            b"Subject: " + subject + b"\r\nMessage-ID: <utf8-accept@outside.test>\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\nHallo \xc3\xa4\xc3\xb6\xc3\xbc\r\n")
    _, tagged = r.command(b"A", b"APPEND INBOX UTF8 (~{%d+}\r\n" % len(data) + data + b")")
    assert vh.tagged_status(tagged) == "OK", tagged
    uid = int(APPENDUID_RE.search(tagged).group(2))
    select_raw(r, examine=True)
    it = fetch_uid(r, uid, "(BODY.PEEK[] ENVELOPE)")
    assert it["BODY[]"] == data
    env = vh.envelope_fields(it["ENVELOPE"])
    assert vh.decode_words(env["subject"]) == subject.decode()
    r.close()


# --------------------------------------------------------------------------- QUOTA

def quota_lines(untagged):
    out = {}
    for u in untagged:
        m = re.match(rb'\* QUOTA ("[^"]*"|\S+) \((.*)\)\r\n$', u)
        if m:
            items = m.group(2).split()
            out[m.group(1).strip(b'"')] = {items[i].upper(): (int(items[i + 1]), int(items[i + 2]))
                                           for i in range(0, len(items), 3)}
    return out


def total_size(r):
    """Sum of RFC822.SIZE over every mailbox (what STORAGE counts, RFC 9208 §5.1)."""
    total = 0
    for name in mailbox_names(r):
        exists, _, _ = select_raw(r, b'"' + name + b'"', examine=True)
        if exists:
            untagged, _ = ok(r, "Z", "FETCH 1:* (RFC822.SIZE)")
            total += sum(int(vh.parse_fetch_response(u[2:])[1]["RFC822.SIZE"])
                         for u in untagged if b"FETCH" in u)
    ok(r, "Y", "UNSELECT")
    return total


def test_quota_getquotaroot_overquota_and_smtp_452(valv):
    srv = valv.server()
    need(srv, "QUOTA")
    # Unlimited (no quota set): a quota root list with no roots.
    r = raw_login(srv, BOB, BOB_PW)
    untagged, _ = ok(r, "Q", "GETQUOTAROOT INBOX")
    assert untagged == [b'* QUOTAROOT "INBOX"\r\n'] or untagged == [b"* QUOTAROOT INBOX\r\n"], untagged
    r.close()

    limit = 64 * 1024
    set_quota(srv, ALICE, "64K")
    srv.send("quota@outside.test", [ALICE], message(1, size=20_000))
    r = raw_login(srv)
    untagged, _ = ok(r, "Q1", "GETQUOTAROOT INBOX")
    roots = [u for u in untagged if u.startswith(b"* QUOTAROOT")]
    assert len(roots) == 1, untagged
    root = roots[0].split()[3:]
    assert len(root) == 1, f"expected one quota root: {roots!r}"
    root = root[0].strip(b'"')
    quotas = quota_lines(untagged)
    used = total_size(r)
    assert quotas == {root: {b"STORAGE": ((used + 1023) // 1024, limit // 1024)}}, \
        (quotas, used)
    untagged, _ = ok(r, "Q2", b'GETQUOTA "' + root + b'"')
    assert quota_lines(untagged) == quotas
    _, tagged = cmd(r, "Q3", 'GETQUOTA "no-such-root"')
    assert vh.tagged_status(tagged) == "NO", tagged
    _, tagged = cmd(r, "Q4", b'SETQUOTA "' + root + b'" (STORAGE 999999)')
    assert vh.tagged_status(tagged) in ("NO", "BAD"), f"a user raised their own quota: {tagged!r}"

    # APPEND that would exceed the limit: NO [OVERQUOTA], nothing stored.
    select_raw(r)
    big = message(2, size=limit)
    untagged, tagged = append(r, b"INBOX", big)
    assert vh.tagged_status(tagged) == "NO" and b"[OVERQUOTA]" in tagged, tagged
    assert len(uids(r)) == 1
    # One that fits is fine.
    append_ok(r, b"INBOX", message(3, size=10_000))

    # SMTP: below the limit a message is accepted even if it takes the mailbox over
    # (size unknown at RCPT); once full, RCPT gets 452 4.2.2 and other recipients still work.
    srv.send("quota@outside.test", [ALICE], message(4, size=40_000))
    assert total_size(r) > limit
    s = srv.smtp()
    try:
        code, _ = s.mail("quota@outside.test")
        assert code == 250
        code, msg = s.rcpt(ALICE)
        assert (code, msg[:5]) == (452, b"4.2.2"), (code, msg)
        code, msg = s.rcpt(BOB)
        assert code == 250, msg
        code, msg = s.data(message(5))
        assert code == 250, msg
    finally:
        s.quit()
    # COPY into a full mailbox: NO [OVERQUOTA].
    select_raw(r)
    _, tagged = cmd(r, "CP", "COPY 1 Archive")
    assert vh.tagged_status(tagged) == "NO" and b"[OVERQUOTA]" in tagged, tagged
    untagged, _ = ok(r, "Q5", "GETQUOTAROOT INBOX")
    (st_used, st_limit), = [q[b"STORAGE"] for q in quota_lines(untagged).values()]
    assert st_used > st_limit == limit // 1024
    r.close()

    # Lifting the quota (0 = unlimited) lets mail in again.
    set_quota(srv, ALICE, 0)
    srv.send("quota@outside.test", [ALICE], message(6))
    r = raw_login(srv)
    select_raw(r)
    assert len(uids(r)) == 4
    r.close()


# --------------------------------------------------------------------------- mailboxes

def test_create_rename_delete_subscribe(valv):
    srv = valv.server()
    assert command_offered(srv, "CREATE Probe"), "CREATE refused"
    r = raw_login(srv)
    ok(r, "C1", "CREATE Projects/2024")
    names = mailbox_names(r)
    assert b"Projects/2024" in names and b"Projects" in names, names
    _, tagged = cmd(r, "C2", "CREATE Projects/2024")
    assert vh.tagged_status(tagged) == "NO", tagged
    _, tagged = cmd(r, "C3", "CREATE INBOX")
    assert vh.tagged_status(tagged) == "NO", tagged
    uv, uid = append_ok(r, b"Projects/2024", message(1))

    ok(r, "R1", "RENAME Projects/2024 Projects/2025")
    names = mailbox_names(r)
    assert b"Projects/2025" in names and b"Projects/2024" not in names, names
    select_raw(r, b"Projects/2025", examine=True)
    assert len(uids(r)) == 1
    assert fetch_uid(r, uids(r)[0], "(BODY.PEEK[])")["BODY[]"] == message(1)
    ok(r, "U", "UNSELECT")
    _, tagged = cmd(r, "R2", "RENAME NoSuch Other")
    assert vh.tagged_status(tagged) == "NO", tagged
    _, tagged = cmd(r, "R3", "RENAME Projects/2025 Archive")
    assert vh.tagged_status(tagged) == "NO", f"RENAME onto an existing mailbox: {tagged!r}"

    # RENAME INBOX moves its messages into a new mailbox and leaves INBOX empty.
    append_ok(r, b"INBOX", message(2))
    ok(r, "R4", "RENAME INBOX OldInbox")
    names = mailbox_names(r)
    assert b"INBOX" in names and b"OldInbox" in names, names
    assert select_raw(r, b"INBOX", examine=True)[0] == 0
    assert select_raw(r, b"OldInbox", examine=True)[0] == 1
    ok(r, "U2", "UNSELECT")

    # Modified UTF-7 names round-trip (RFC 3501 §5.1.3): "Äpfel" is "&AMQ-pfel".
    ok(r, "C4", 'CREATE "&AMQ-pfel"')
    assert b"&AMQ-pfel" in mailbox_names(r)

    ok(r, "S1", "SUBSCRIBE Projects/2025")
    untagged, _ = ok(r, "S2", 'LSUB "" "*"')
    assert any(u.rstrip().endswith(b"Projects/2025") or u.rstrip().endswith(b'"Projects/2025"')
               for u in untagged), untagged
    ok(r, "S3", "UNSUBSCRIBE Projects/2025")
    untagged, _ = ok(r, "S4", 'LSUB "" "*"')
    assert not any(b"Projects/2025" in u for u in untagged), untagged

    ok(r, "D1", "DELETE Projects/2025")
    assert b"Projects/2025" not in mailbox_names(r)
    _, tagged = cmd(r, "D2", "DELETE Projects/2025")
    assert vh.tagged_status(tagged) == "NO", tagged
    _, tagged = cmd(r, "D3", "DELETE INBOX")
    assert vh.tagged_status(tagged) == "NO", tagged
    r.close()

    # Another user's mailbox list is untouched.
    r = raw_login(srv, BOB, BOB_PW)
    assert not {b"Projects", b"OldInbox", b"&AMQ-pfel"} & set(mailbox_names(r))
    r.close()


def test_utf8_accept_mailbox_names(valv):
    srv = valv.server()
    need(srv, "UTF8=ACCEPT")
    assert command_offered(srv, 'CREATE "&AMQ-pfel"'), "CREATE refused"
    r = raw_login(srv)
    assert b"&AMQ-pfel" in mailbox_names(r)
    ok(r, "E", "ENABLE UTF8=ACCEPT")
    # RFC 6855 §3: after ENABLE UTF8=ACCEPT, names are UTF-8, not modified UTF-7.
    names = mailbox_names(r)
    assert "Äpfel".encode() in names and b"&AMQ-pfel" not in names, names
    r.close()


def test_namespace(server):
    need(server, "NAMESPACE")
    r = raw_login(server)
    untagged, _ = ok(r, "N", "NAMESPACE")
    assert len(untagged) == 1 and untagged[0].startswith(b"* NAMESPACE "), untagged
    p = vh._Parser(untagged[0][len(b"* NAMESPACE "):])
    personal, other, shared = p.value(), p.value(), p.value()
    assert personal and personal[0][0] == b"" and personal[0][1] == b"/", personal
    r.close()


def test_special_use_and_list_extended(server):
    need(server, "SPECIAL-USE", "LIST-EXTENDED")
    r = raw_login(server)
    untagged, _ = ok(r, "L1", 'LIST (SPECIAL-USE) "" "*"')
    uses = {}
    for u in untagged:
        m = re.match(rb'\* LIST \(([^)]*)\) "/" "?([^"\r]*)"?\r\n', u)
        assert m, u
        uses[m.group(2)] = set(m.group(1).split())
    assert uses, untagged
    assert all(a & {b"\\Archive", b"\\Drafts", b"\\Junk", b"\\Sent", b"\\Trash", b"\\All",
                    b"\\Flagged"} for a in uses.values()), uses
    assert b"INBOX" not in uses
    untagged, _ = ok(r, "L2", 'LIST "" "*" RETURN (SPECIAL-USE)')
    assert any(b"\\Sent" in u for u in untagged), untagged
    untagged, _ = ok(r, "L3", 'LIST (SUBSCRIBED) "" "*"')
    _, tagged = cmd(r, "L4", 'LIST (NO-SUCH-OPTION) "" "*"')
    assert vh.tagged_status(tagged) == "BAD", tagged
    r.close()


def test_list_status_and_status_size(valv):
    srv = valv.server()
    need(srv, "LIST-STATUS")
    r = raw_login(srv)
    sizes = []
    for i in range(1, 4):
        append_ok(r, b"INBOX", message(i))
        sizes.append(len(message(i)))
    untagged, _ = ok(r, "L", 'LIST "" "*" RETURN (STATUS (MESSAGES UIDNEXT UNSEEN))')
    status = {}
    for u in untagged:
        m = re.match(rb'\* STATUS "?([^"(]*?)"? \((.*)\)\r\n', u)
        if m:
            it = m.group(2).split()
            status[m.group(1)] = {it[i]: int(it[i + 1]) for i in range(0, len(it), 2)}
    assert status[b"INBOX"] == {b"MESSAGES": 3, b"UIDNEXT": 4, b"UNSEEN": 3}, status
    assert status[b"Archive"][b"MESSAGES"] == 0
    if "STATUS=SIZE" in capabilities(srv):
        untagged, _ = ok(r, "S", "STATUS INBOX (SIZE MESSAGES)")
        assert re.search(rb"SIZE %d\b" % sum(sizes), untagged[0]), (untagged, sum(sizes))
    r.close()


# --------------------------------------------------------------------------- SEARCH / SORT / THREAD

@pytest.fixture(scope="module")
def search_server(module_valv):
    """A mailbox of 6 messages with known subjects, sizes, flags and threading."""
    srv = module_valv.server()
    r = raw_login(srv)
    msgs = [
        message(1, b"apple pie", b"X-Kind: fruit\r\n"),
        message(2, b"Re: apple pie", b"In-Reply-To: <cmd-1@outside.test>\r\n"
                b"References: <cmd-1@outside.test>\r\n", size=5000),
        message(3, b"banana bread", b"X-Kind: fruit\r\n"),
        message(4, b"Re: Re: apple pie", b"In-Reply-To: <cmd-2@outside.test>\r\n"
                b"References: <cmd-1@outside.test> <cmd-2@outside.test>\r\n"),
        message(5, b"cherry", b"", size=12000),
        message(6, b"zucchini needle", b""),
    ]
    flags = [b"\\Seen", b"", b"\\Flagged", b"\\Seen \\Flagged", b"", b"\\Deleted"]
    uidl = [append_ok(r, b"INBOX", m, flags=f)[1] for m, f in zip(msgs, flags)]
    r.close()
    return srv, uidl, msgs


def search(r, text):
    untagged, tagged = cmd(r, "S", text)
    assert vh.tagged_status(tagged) == "OK", (text, tagged)
    res = [u for u in untagged if u.startswith(b"* SEARCH")]
    assert len(res) == 1, untagged
    return sorted(int(x) for x in res[0].split()[2:])


def test_search(search_server):
    srv, uidl, msgs = search_server
    assert command_offered(srv, "SEARCH ALL"), "SEARCH refused"
    r = raw_login(srv)
    select_raw(r, examine=True)
    assert search(r, "SEARCH ALL") == [1, 2, 3, 4, 5, 6]
    assert search(r, "SEARCH SUBJECT apple") == [1, 2, 4]
    assert search(r, 'SEARCH SUBJECT "APPLE PIE" NOT SUBJECT re') == [1]
    assert search(r, "SEARCH FLAGGED") == [3, 4]
    assert search(r, "SEARCH UNSEEN") == [2, 3, 5, 6]
    assert search(r, "SEARCH DELETED") == [6]
    assert search(r, "SEARCH OR FLAGGED DELETED") == [3, 4, 6]
    assert search(r, "SEARCH LARGER 4000") == [2, 5]
    assert search(r, "SEARCH SMALLER 4000") == [1, 3, 4, 6]
    assert search(r, "SEARCH HEADER X-Kind fruit") == [1, 3]
    assert search(r, "SEARCH BODY needle") == []  # "needle" is only in a Subject
    assert search(r, "SEARCH TEXT needle") == [6]
    assert search(r, "SEARCH BODY \"Body of message 5\"") == [5]
    assert search(r, "SEARCH 2:4 SEEN") == [4]
    assert search(r, f"UID SEARCH UID {uidl[1]}:{uidl[3]}") == uidl[1:4]
    assert search(r, "SEARCH SENTON 5-Mar-2024") == [1, 2, 3, 4, 5, 6]
    assert search(r, "SEARCH SENTBEFORE 1-Jan-2000") == []
    assert search(r, "SEARCH CHARSET UTF-8 SUBJECT cherry") == [5]
    _, tagged = cmd(r, "B1", "SEARCH NOSUCHKEY")
    assert vh.tagged_status(tagged) == "BAD", tagged
    _, tagged = cmd(r, "B2", "SEARCH CHARSET X-NO-SUCH-CHARSET SUBJECT a")
    assert vh.tagged_status(tagged) == "NO" and b"[BADCHARSET" in tagged, tagged
    r.close()


def test_esearch_and_searchres(search_server):
    srv, uidl, _ = search_server
    need(srv, "ESEARCH")
    r = raw_login(srv)
    select_raw(r, examine=True)
    untagged, _ = ok(r, "E1", "SEARCH RETURN (MIN MAX COUNT ALL) SUBJECT apple")
    assert untagged == [b'* ESEARCH (TAG "E1") MIN 1 MAX 4 COUNT 3 ALL 1:2,4\r\n'], untagged
    untagged, _ = ok(r, "E2", "UID SEARCH RETURN (COUNT) FLAGGED")
    assert untagged == [b'* ESEARCH (TAG "E2") UID COUNT 2\r\n'], untagged
    untagged, _ = ok(r, "E3", "SEARCH RETURN () SUBJECT nothing-matches")
    assert untagged == [b'* ESEARCH (TAG "E3")\r\n'], untagged
    if "SEARCHRES" in capabilities(srv):
        untagged, _ = ok(r, "R1", "SEARCH RETURN (SAVE) FLAGGED")
        assert not any(u.startswith(b"* SEARCH") or u.startswith(b"* ESEARCH") for u in untagged)
        untagged, _ = ok(r, "R2", "FETCH $ (UID)")
        got = sorted(int(vh.parse_fetch_response(u[2:])[1]["UID"]) for u in untagged)
        assert got == [uidl[2], uidl[3]], untagged
        untagged, _ = ok(r, "R3", "UID SEARCH $ SEEN")
        assert [int(x) for x in untagged[0].split()[2:]] == [uidl[3]], untagged
    r.close()


def test_sort(search_server):
    srv, uidl, _ = search_server
    need(srv, "SORT")
    r = raw_login(srv)
    select_raw(r, examine=True)

    def sort(crit, search_keys="ALL"):
        untagged, _ = ok(r, "S", f"SORT ({crit}) UTF-8 {search_keys}")
        res = [u for u in untagged if u.startswith(b"* SORT")]
        assert len(res) == 1, untagged
        return [int(x) for x in res[0].split()[2:]]

    # RFC 5256 base subject: "Re: " and "Re: Re: " are removed; ties by sequence number.
    assert sort("SUBJECT") == [1, 2, 4, 3, 5, 6]
    # REVERSE reverses the key only; equal subjects stay in mailbox order (RFC 5256 §3).
    assert sort("REVERSE SUBJECT") == [6, 5, 3, 1, 2, 4]
    assert sort("SIZE")[-2:] == [2, 5]
    assert sort("ARRIVAL") == [1, 2, 3, 4, 5, 6]
    assert sort("REVERSE ARRIVAL") == [6, 5, 4, 3, 2, 1]
    assert sort("SUBJECT", "FLAGGED") == [4, 3]
    untagged, _ = ok(r, "U", "UID SORT (REVERSE SIZE) UTF-8 ALL")
    assert [int(x) for x in untagged[0].split()[2:]][:2] == [uidl[4], uidl[1]], untagged
    _, tagged = cmd(r, "B", "SORT (NOSUCHKEY) UTF-8 ALL")
    assert vh.tagged_status(tagged) == "BAD", tagged
    r.close()


def test_thread(search_server):
    srv, uidl, _ = search_server
    caps = capabilities(srv)
    algos = [c.split("=", 1)[1] for c in caps if c.startswith("THREAD=")]
    assert algos, "server does not advertise THREAD"
    r = raw_login(srv)
    select_raw(r, examine=True)
    if "REFERENCES" in algos:
        untagged, _ = ok(r, "T1", "THREAD REFERENCES UTF-8 ALL")
        res = [u for u in untagged if u.startswith(b"* THREAD")]
        assert len(res) == 1, untagged
        # 1 <- 2 <- 4 form one thread; 3, 5, 6 stand alone (ordered by date = arrival).
        assert res[0] == b"* THREAD (1 2 4)(3)(5)(6)\r\n", res
    if "ORDEREDSUBJECT" in algos:
        untagged, _ = ok(r, "T2", "THREAD ORDEREDSUBJECT UTF-8 ALL")
        res = [u for u in untagged if u.startswith(b"* THREAD")]
        assert res == [b"* THREAD (1 2 4)(3)(5)(6)\r\n"] or \
            res == [b"* THREAD (1 (2)(4))(3)(5)(6)\r\n"], res
    _, tagged = cmd(r, "T3", "THREAD NOSUCHALGO UTF-8 ALL")
    assert vh.tagged_status(tagged) in ("BAD", "NO"), tagged
    r.close()


def test_compress_deflate(server):
    """RFC 4978: after COMPRESS DEFLATE both directions are raw DEFLATE streams; a
    large FETCH comes back whole and smaller than sent in the clear."""
    import socket
    import zlib
    srv = server
    body = b"Subject: compress me\r\n\r\n" + b"the same line again and again\r\n" * 2000
    im = srv.login(ALICE, ALICE_PW)
    typ, data = im.append("INBOX", None, None, body)
    assert typ == "OK", data
    vh.close_imap(im)

    raw = socket.create_connection((vh.HOST, srv.ports["imaps"]), timeout=vh.IO_TIMEOUT)
    tls = srv.ssl_context().wrap_socket(raw, server_hostname=vh.HOST)
    f = tls.makefile("rb")
    greeting = f.readline()
    assert b"COMPRESS=DEFLATE" in greeting, greeting
    tls.sendall(f"a LOGIN {ALICE} {ALICE_PW}\r\n".encode())
    while not (line := f.readline()).startswith(b"a "):
        pass
    assert line.startswith(b"a OK"), line
    tls.sendall(b"c COMPRESS DEFLATE\r\n")
    assert f.readline().startswith(b"c OK"), "COMPRESS refused"
    comp = zlib.compressobj(wbits=-15)
    decomp = zlib.decompressobj(wbits=-15)

    def send(text):
        tls.sendall(comp.compress(text) + comp.flush(zlib.Z_SYNC_FLUSH))

    def read_until(tag):
        out, wire = b"", 0
        while not re.search(rb"(^|\r\n)" + tag + rb" (OK|NO|BAD)[^\r\n]*\r\n$", out):
            chunk = tls.recv(65536)
            assert chunk, f"closed; got {out[-300:]!r}"
            wire += len(chunk)
            out += decomp.decompress(chunk)
        return out, wire

    send(b"s SELECT INBOX\r\n")
    out, _ = read_until(b"s")
    assert b"s OK" in out
    send(b"f UID FETCH 1:* (BODY.PEEK[])\r\n")
    out, wire = read_until(b"f")
    assert body in out                       # byte-exact through the compressed stream
    assert wire < len(body) // 10, (wire, len(body))
    send(b"d COMPRESS DEFLATE\r\n")          # only once per connection
    out, _ = read_until(b"d")
    assert b"d NO [COMPRESSIONACTIVE]" in out
    send(b"z LOGOUT\r\n")
    out, _ = read_until(b"z")
    assert b"* BYE" in out
    tls.close()
