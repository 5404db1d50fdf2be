# SPDX-License-Identifier: AGPL-3.0-or-later
"""SMTP (inbound MX) error paths, aliases, catch-all and session robustness."""

import uuid

import pytest

import valvharness as vh
from conftest import ALICE, ALICE_PW, BOB, BOB_PW


def message(marker: bytes, to=b"alice@example.org"):
    return (b"From: tester@outside.test\r\nTo: " + to + b"\r\nSubject: " + marker +
            b"\r\nMessage-ID: <" + marker + b"@outside.test>\r\n\r\nbody " + marker + b"\r\n")


def marker():
    return f"M{uuid.uuid4().hex}".encode()


def mailbox_blobs(server, user, pw):
    with server.login(user, pw) as im:
        return list(vh.all_messages(im).values())


def stored_with(server, user, pw, m):
    return [b for b in mailbox_blobs(server, user, pw) if m in b]


def full_transaction(c, rcpt=b"alice@example.org", sender=b"ok@outside.test"):
    """A complete delivery on an existing raw session; returns the marker."""
    m = marker()
    code, lines = c.cmd(b"MAIL FROM:<" + sender + b">")
    assert code == 250, (code, lines)
    code, lines = c.cmd(b"RCPT TO:<" + rcpt + b">")
    assert code == 250, (code, lines)
    code, lines = c.cmd(b"DATA")
    assert code == 354, (code, lines)
    c.send(message(m, rcpt) + b".\r\n")
    code, lines = c.reply()
    assert code == 250, (code, lines)
    return m


@pytest.fixture
def raw(server):
    c = vh.RawSmtp(server)
    assert c.greeting[0] == 220, c.greeting
    code, _ = c.cmd(b"EHLO client.outside.test")
    assert code == 250
    yield c
    c.close()


@pytest.mark.parametrize("rcpt", [
    b"victim@elsewhere.test",
    b"alice@example.org.evil.test",
    b"alice@sub.example.org",
    b"alice%elsewhere.test@example.org",
    b"alice@elsewhere.test",
])
def test_relay_to_non_local_domain_refused(server, raw, rcpt):
    code, lines = raw.cmd(b"MAIL FROM:<spammer@outside.test>")
    assert code == 250
    code, lines = raw.cmd(b"RCPT TO:<" + rcpt + b">")
    assert code in (550, 551, 553, 554), (code, lines)
    if b"%" not in rcpt:
        assert vh.enhanced(lines) == "5.7.1", lines
    else:  # local domain, no such user: 5.1.1 is fine, as is 5.7.1
        assert vh.enhanced(lines) in ("5.7.1", "5.1.1"), lines
    # DATA with no accepted recipient is refused, then the session is still fine.
    code, lines = raw.cmd(b"DATA")
    assert code in (503, 554), (code, lines)
    code, _ = raw.cmd(b"RSET")
    assert code == 250
    m = full_transaction(raw)
    assert len(stored_with(server, ALICE, ALICE_PW, m)) == 1


def test_unknown_local_user_then_valid_recipient(server, raw):
    code, _ = raw.cmd(b"MAIL FROM:<someone@outside.test>")
    assert code == 250
    code, lines = raw.cmd(b"RCPT TO:<nobody@example.org>")
    assert code == 550 and vh.enhanced(lines) == "5.1.1", (code, lines)
    code, lines = raw.cmd(b"RCPT TO:<alice@example.org>")
    assert code == 250, (code, lines)
    m = marker()
    assert raw.cmd(b"DATA")[0] == 354
    raw.send(message(m) + b".\r\n")
    assert raw.reply()[0] == 250
    hits = stored_with(server, ALICE, ALICE_PW, m)
    assert len(hits) == 1 and vh.strip_trace(hits[0])[1] == message(m)


def test_domain_part_is_case_insensitive(server):
    m = marker()
    server.send("up@outside.test", ["alice@EXAMPLE.ORG"], message(m))
    assert len(stored_with(server, ALICE, ALICE_PW, m)) == 1


MALFORMED = [
    (b"MAIL FROM:bogus", {500, 501, 553}),
    (b"MAIL FROM:<unterminated@outside.test", {500, 501}),
    (b"MAIL", {500, 501}),
    (b"MAIL TO:<a@outside.test>", {500, 501}),
    (b"MAIL FROM:<a@b@c>", {501, 553}),
    (b"MAIL FROM:<a@outside.test> BOGUS=1", {501, 504, 555}),
    (b"MAIL FROM:<a@outside.test> SIZE=abc", {501, 555}),
    (b"RCPT TO:<alice@example.org>", {503}),           # no MAIL yet
    (b"DATA", {503, 554}),                               # no MAIL yet
    (b"FROBNICATE now", {500, 502}),
    (b"EHLO", {501}),
    (b"HELO", {501}),
    (b"STARTTLS now-please", {501}),
    (b"X" * 2000, {500, 501}),                           # over the 512-octet line limit
    (b"\x00\x01\x02\xff\xfe junk", {500, 501, 502}),
    (b"", {500, 501, 502}),
]


@pytest.mark.parametrize("line,codes", MALFORMED, ids=lambda v: repr(v)[:40]
                         if isinstance(v, bytes) else None)
def test_malformed_command_then_session_still_works(server, raw, line, codes):
    code, lines = raw.cmd(line)
    assert code in codes, (line[:60], code, lines)
    if 500 <= code < 600 and vh.enhanced(lines):
        assert vh.enhanced(lines).startswith("5."), lines
    assert raw.cmd(b"NOOP")[0] == 250
    assert raw.cmd(b"RSET")[0] == 250
    if line.startswith((b"EHLO", b"HELO")):
        assert raw.cmd(b"EHLO client.outside.test")[0] == 250
    m = full_transaction(raw)
    assert len(stored_with(server, ALICE, ALICE_PW, m)) == 1


def test_commands_are_case_insensitive(server, raw):
    m = marker()
    assert raw.cmd(b"mail from:<lower@outside.test>")[0] == 250
    assert raw.cmd(b"rcpt to:<alice@example.org>")[0] == 250
    assert raw.cmd(b"data")[0] == 354
    raw.send(message(m) + b".\r\n")
    assert raw.reply()[0] == 250


def test_rset_clears_transaction(raw):
    assert raw.cmd(b"MAIL FROM:<a@outside.test>")[0] == 250
    assert raw.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    assert raw.cmd(b"RSET")[0] == 250
    assert raw.cmd(b"DATA")[0] in (503, 554)


def test_pipelining(server):
    c = vh.RawSmtp(server)
    try:
        code, lines = c.cmd(b"EHLO pipe.outside.test")
        assert any(ln.upper().startswith(b"PIPELINING") for ln in lines)
        m = marker()
        c.send(b"MAIL FROM:<pipe@outside.test>\r\nRCPT TO:<alice@example.org>\r\n"
               b"RCPT TO:<nobody@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n")
        codes = [c.reply()[0] for _ in range(5)]
        assert codes == [250, 250, 550, 250, 354], codes
        c.send(message(m) + b".\r\nMAIL FROM:<pipe2@outside.test>\r\n"
               b"RCPT TO:<bob@example.org>\r\nDATA\r\n")
        codes = [c.reply()[0] for _ in range(4)]
        assert codes == [250, 250, 250, 354], codes
        m2 = marker()
        c.send(message(m2, b"bob@example.org") + b".\r\nQUIT\r\n")
        assert c.reply()[0] == 250
        assert c.reply()[0] == 221
    finally:
        c.close()
    assert len(stored_with(server, ALICE, ALICE_PW, m)) == 1
    bob = mailbox_blobs(server, BOB, BOB_PW)
    assert sum(m in b for b in bob) == 1 and sum(m2 in b for b in bob) == 1


def test_several_transactions_one_session(server, raw):
    ms = [full_transaction(raw) for _ in range(3)]
    blobs = mailbox_blobs(server, ALICE, ALICE_PW)
    for m in ms:
        assert sum(m in b for b in blobs) == 1


def test_null_reverse_path(server):
    m = marker()
    server.send("", [ALICE], message(m))
    hits = stored_with(server, ALICE, ALICE_PW, m)
    assert len(hits) == 1
    assert hits[0].startswith(b"Return-Path: <>\r\n"), hits[0][:80]
    assert vh.strip_trace(hits[0])[1] == message(m)


@pytest.mark.parametrize("rcpt,user,pw", [
    ("sales@example.org", ALICE, ALICE_PW),           # alias
    ("anyone@example.net", BOB, BOB_PW),              # catch-all "@example.net"
    ("Some.Body+tag@example.net", BOB, BOB_PW),
])
def test_alias_and_catch_all_delivery(server, rcpt, user, pw):
    m = marker()
    data = message(m, rcpt.encode())
    server.send("fan@outside.test", [rcpt], data)
    hits = stored_with(server, user, pw, m)
    assert len(hits) == 1
    assert vh.strip_trace(hits[0])[1] == data
    other = (BOB, BOB_PW) if user == ALICE else (ALICE, ALICE_PW)
    assert not stored_with(server, *other, m)


def test_bare_lf_dot_does_not_end_data(server, raw):
    """SMTP smuggling: '\\n.\\n' inside DATA must not end the message early."""
    m, m2 = marker(), marker()
    assert raw.cmd(b"MAIL FROM:<smuggle@outside.test>")[0] == 250
    assert raw.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    assert raw.cmd(b"DATA")[0] == 354
    raw.send(b"Subject: " + m + b"\r\n\r\nfirst part\n.\nMAIL FROM:<evil@outside.test>\r\n"
             b"RCPT TO:<alice@example.org>\r\nDATA\r\nSubject: " + m2 + b"\r\n\r\nsmuggled\r\n"
             b".\r\n")
    code, lines = raw.reply()
    assert 250 <= code < 600, (code, lines)
    assert raw.cmd(b"NOOP")[0] == 250, "a smuggled command's reply leaked into the session"
    blobs = mailbox_blobs(server, ALICE, ALICE_PW)
    assert not any(m2 in b and m not in b for b in blobs), "second message was smuggled in"
    if code == 250:
        hits = [b for b in blobs if m in b]
        assert len(hits) == 1


# ---------------------------------------------------------------- size limit

LIMIT = 1_000_000


@pytest.fixture(scope="module")
def small_server(module_valv):
    return module_valv.server(extra_args=["--max-message-size", str(LIMIT)])


def test_size_advertised(small_server):
    c = vh.RawSmtp(small_server)
    try:
        _, lines = c.cmd(b"EHLO size.outside.test")
        size = [ln for ln in lines if ln.upper().startswith(b"SIZE")]
        assert size and int(size[0].split()[1]) == LIMIT, lines
    finally:
        c.close()


def test_oversize_declared_in_mail_from(small_server):
    c = vh.RawSmtp(small_server)
    try:
        c.cmd(b"EHLO size.outside.test")
        code, lines = c.cmd(b"MAIL FROM:<big@outside.test> SIZE=2000000")
        assert code == 552 and vh.enhanced(lines) in ("5.3.4", "5.2.3"), (code, lines)
        m = full_transaction(c)
        assert len(stored_with(small_server, ALICE, ALICE_PW, m)) == 1
    finally:
        c.close()


def test_oversize_data_refused_and_session_continues(small_server):
    big_marker = marker()
    body = (b"Subject: " + big_marker + b"\r\n\r\n" +
            (b"0123456789abcdef" * 4 + b"\r\n") * (2_000_000 // 66))
    assert len(body) > 2 * LIMIT - 100
    c = vh.RawSmtp(small_server)
    try:
        c.cmd(b"EHLO size.outside.test")
        assert c.cmd(b"MAIL FROM:<big@outside.test>")[0] == 250
        assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd(b"DATA")[0] == 354
        c.send(body + b".\r\n")
        code, lines = c.reply()
        assert code == 552 and vh.enhanced(lines) in ("5.3.4", "5.2.3"), (code, lines)
        assert c.cmd(b"RSET")[0] == 250
        m = full_transaction(c)
    finally:
        c.close()
    blobs = mailbox_blobs(small_server, ALICE, ALICE_PW)
    assert not any(big_marker in b for b in blobs), "oversize message was stored"
    assert sum(m in b for b in blobs) == 1


def test_smtplib_oversize_raises_552(small_server):
    import smtplib
    data = b"Subject: big\r\n\r\n" + b"x" * 76 + b"\r\n"
    data = data + (b"y" * 76 + b"\r\n") * (2_000_000 // 78)
    s = small_server.smtp()
    try:
        with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as ei:
            s.sendmail("big@outside.test", [ALICE], data)
        assert ei.value.smtp_code == 552
    finally:
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            pass


def test_just_under_limit_accepted(small_server):
    m = marker()
    data = message(m) + (b"z" * 76 + b"\r\n") * (900_000 // 78)
    small_server.send("fits@outside.test", [ALICE], data)
    hits = stored_with(small_server, ALICE, ALICE_PW, m)
    assert len(hits) == 1 and vh.strip_trace(hits[0])[1] == data
