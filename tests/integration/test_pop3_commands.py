# SPDX-License-Identifier: AGPL-3.0-or-later
"""POP3 through a real connection: Python's poplib for every command (RFC 1939, RFC 2449
CAPA, RFC 2595 STLS), a raw client for SASL (RFC 5034) and malformed input, imaplib to
see what UPDATE did. Each test gets its own server (tests are independent of order).

What must hold:
- RETR returns exactly what SMTP accepted (the trace headers valvd adds aside), TOP the
  header and the first lines;
- DELE takes effect only at QUIT (moved to Trash by default, expunged with
  --pop3-deleted-to-trash false); a connection that drops deletes nothing;
- every bad command gets -ERR and the session goes on;
- a second POP3 session of the same user gets -ERR [IN-USE]; users never see each other;
- IMAP changes during a POP3 session: RETR of a message IMAP expunged gets -ERR, QUIT
  still commits the rest, and an IMAP session with the INBOX open learns of the removal.
"""

import poplib
import socket
import ssl
import time

import pytest

import valvharness as vh
from conftest import ALICE, ALICE_PW, BOB, BOB_PW


def message(i, user=ALICE, extra=b""):
    body = b"".join(b"line %03d of message %d\r\n" % (k, i) for k in range(20 + i))
    return (b"From: Sender <sender@outside.test>\r\nTo: " + user.encode() + b"\r\n"
            b"Subject: pop3 message %d\r\nMessage-ID: <pop3-%d@outside.test>\r\n" % (i, i) +
            extra + b"\r\n" + body + b".starts with a dot\r\n..two dots\r\n.\r\nend\r\n")


def deliver(srv, n, user=ALICE):
    sent = [message(i, user) for i in range(1, n + 1)]
    vh.send_many(srv, "sender@outside.test", user, sent)
    return sent


def joined(lines):
    return b"".join(l + b"\r\n" for l in lines)


def login(srv, user=ALICE, pw=ALICE_PW, mode="ssl"):
    p = srv.pop3(mode)
    p.user(user)
    p.pass_(pw)
    return p


def folder_ids(srv, user, pw, folder):
    """Message-IDs in an IMAP folder, in UID order."""
    with srv.login(user, pw) as im:
        n = vh.select(im, folder, readonly=True)
        if not n:
            return []
        return [vh.header_value(it["BODY[HEADER.FIELDS (MESSAGE-ID)]"], "Message-ID")
                for _, it in vh.fetch(im, "1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")]


class RawPop3:
    """Line-level POP3 client for SASL exchanges and malformed input."""

    def __init__(self, srv, tls=True):
        sock = socket.create_connection((vh.HOST, srv.ports["pop3s" if tls else "pop3"]),
                                        timeout=vh.IO_TIMEOUT)
        if tls:
            sock = srv.ssl_context().wrap_socket(sock, server_hostname=vh.HOST)
        self.sock = sock
        self.f = sock.makefile("rb")
        self.greeting = self.line()

    def line(self):
        l = self.f.readline(100_000)
        assert l.endswith(b"\r\n"), f"incomplete reply {l!r}"
        return l[:-2]

    def send(self, data: bytes):
        self.sock.sendall(data)

    def cmd(self, text: bytes):
        self.send(text + b"\r\n")
        return self.line()

    def multi(self, text: bytes):
        first = self.cmd(text)
        assert first.startswith(b"+OK"), first
        lines = []
        while True:
            l = self.line()
            if l == b".":
                return first, lines
            lines.append(l[1:] if l.startswith(b"..") else l)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def test_every_command(valv):
    srv = valv.server()
    sent = deliver(srv, 3)
    p = login(srv)
    try:
        caps = p.capa()
        for c in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE",
                  "IMPLEMENTATION"):
            assert c in caps, caps
        assert caps["EXPIRE"] == ["NEVER"]
        count, octets = p.stat()
        assert count == 3
        resp, listing, _ = p.list()
        sizes = {int(l.split()[0]): int(l.split()[1]) for l in listing}
        assert sorted(sizes) == [1, 2, 3] and sum(sizes.values()) == octets
        assert p.list(2) == b"+OK 2 %d" % sizes[2]
        resp, uidls, _ = p.uidl()
        ids = {int(l.split()[0]): l.split()[1] for l in uidls}
        assert len(set(ids.values())) == 3
        assert all(0x21 <= c <= 0x7e for v in ids.values() for c in v) and all(len(v) <= 70 for v in ids.values())
        assert p.uidl(3) == b"+OK 3 " + ids[3]
        for i in (1, 2, 3):
            resp, lines, n = p.retr(i)
            stored = joined(lines)
            assert len(stored) == sizes[i], "RETR size differs from LIST"
            trace, rest = vh.strip_trace(stored)
            assert rest == sent[i - 1], f"message {i} differs from what SMTP accepted"
        resp, lines, _ = p.top(2, 3)
        header, body = vh.split_entity(joined(p.retr(2)[1]))
        assert joined(lines) == header + b"\r\n" + b"".join(l + b"\r\n" for l in body.split(b"\r\n")[:3])
        assert joined(p.top(1, 0)[1]) == vh.split_entity(joined(p.retr(1)[1]))[0] + b"\r\n"
        assert p.noop().startswith(b"+OK")
        assert p.dele(1).startswith(b"+OK")
        assert p.stat() == (2, octets - sizes[1])
        with pytest.raises(poplib.error_proto, match="already deleted"):
            p.retr(1)
        assert p.rset().startswith(b"+OK")
        assert p.stat() == (3, octets)
        assert p.dele(3).startswith(b"+OK")
        assert p.quit().startswith(b"+OK")
    finally:
        p.close()
    assert folder_ids(srv, ALICE, ALICE_PW, "INBOX") == [b"<pop3-1@outside.test>", b"<pop3-2@outside.test>"]
    assert folder_ids(srv, ALICE, ALICE_PW, "Trash") == [b"<pop3-3@outside.test>"]
    # UIDL is stable: the next session lists the same ids for the same messages.
    p = login(srv)
    try:
        again = {int(l.split()[0]): l.split()[1] for l in p.uidl()[1]}
        assert again == {1: ids[1], 2: ids[2]}
        p.quit()
    finally:
        p.close()


def test_stls_and_no_password_in_the_clear(valv):
    srv = valv.server()
    deliver(srv, 1)
    p = srv.pop3("plain")
    try:
        caps = p.capa()
        assert "STLS" in caps and "USER" not in caps and "SASL" not in caps, caps
        assert caps["UTF8"] == [], caps  # RFC 6856 §2: no "USER" where USER is refused
        with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
            p.user(ALICE)
        p.stls(context=srv.ssl_context())
        caps = p.capa()
        assert "STLS" not in caps and "USER" in caps and caps["SASL"] == ["PLAIN", "LOGIN"], caps
        assert caps["UTF8"] == ["USER"], caps
        p.user(ALICE)
        assert p.pass_(ALICE_PW).startswith(b"+OK")
        assert p.stat()[0] == 1
        p.quit()
    finally:
        p.close()


def test_sasl_plain_and_login(valv):
    import base64
    b64 = lambda s: base64.b64encode(s.encode())
    srv = valv.server()
    r = RawPop3(srv)
    try:
        assert r.cmd(b"AUTH PLAIN " + b64(f"\0{ALICE}\0{ALICE_PW}")).startswith(b"+OK Logged in")
        assert r.cmd(b"QUIT").startswith(b"+OK")
    finally:
        r.close()
    r = RawPop3(srv)
    try:
        assert r.cmd(b"AUTH LOGIN") == b"+ VXNlcm5hbWU6"
        assert r.cmd(b64(BOB)) == b"+ UGFzc3dvcmQ6"
        assert r.cmd(b64(BOB_PW)).startswith(b"+OK Logged in")
        assert r.cmd(b"QUIT").startswith(b"+OK")
    finally:
        r.close()
    r = RawPop3(srv)
    try:
        assert r.cmd(b"AUTH PLAIN") == b"+ "
        assert r.cmd(b64(f"\0{ALICE}\0wrong")) == b"-ERR [AUTH] Invalid user name or password"
        assert r.cmd(b"AUTH PLAIN") == b"+ "
        assert r.cmd(b64(f"\0{ALICE}\0{ALICE_PW}")).startswith(b"+OK Logged in")
    finally:
        r.close()


def test_dropped_connection_deletes_nothing(valv):
    srv = valv.server()
    deliver(srv, 4)
    p = login(srv)
    for i in (1, 2, 3, 4):
        p.dele(i)
    # The client vanishes mid-session: no QUIT, the socket just closes.
    p.sock.shutdown(socket.SHUT_RDWR)
    p.close()
    deadline = time.monotonic() + vh.IO_TIMEOUT
    while True:  # the server notices the drop and releases the lock
        p = srv.pop3()
        try:
            p.user(ALICE)
            p.pass_(ALICE_PW)
            break
        except poplib.error_proto as e:
            p.close()
            assert b"IN-USE" in e.args[0] and time.monotonic() < deadline, e
            time.sleep(0.1)
    try:
        assert p.stat()[0] == 4
        p.quit()
    finally:
        p.close()
    assert len(folder_ids(srv, ALICE, ALICE_PW, "INBOX")) == 4
    assert folder_ids(srv, ALICE, ALICE_PW, "Trash") == []


BAD_INPUT = [
    (b"XYZZY", b"-ERR Unknown command"),
    (b"", b"-ERR Empty command"),
    (b"RETR", b"-ERR A message number is required"),
    (b"RETR one", b"-ERR Invalid message number"),
    (b"RETR 0", b"-ERR No such message"),
    (b"RETR 99", b"-ERR No such message"),
    (b"RETR 18446744073709551617", b"-ERR Invalid message number"),
    (b"DELE -1", b"-ERR Invalid message number"),
    (b"TOP 1", b"-ERR TOP needs a message number and a line count"),
    (b"TOP 1 x", b"-ERR Invalid message number or line count"),
    (b"LIST 1 2", b"-ERR Too many arguments"),
    (b"STAT now", b"-ERR STAT takes no arguments"),
    (b"USER " + ALICE.encode(), b"-ERR Already logged in"),
    (b"PASS x", b"-ERR Already logged in"),
    (b"STLS", b"-ERR Already logged in"),
    (b"AUTH PLAIN", b"-ERR Already logged in"),
    (b"APOP a b", b"-ERR Already logged in"),
    (b"UTF8", b"-ERR UTF8 is only valid before login"),
    (b"RE\x00TR 1", b"-ERR Control characters are not allowed in commands"),
    (b"\xff\xfe\x80 binary", b"-ERR Unknown command"),
    (b"RETR\t1", b"-ERR Control characters are not allowed in commands"),
    (b"USER " + b"x" * 9000, b"-ERR Line too long (the limit is 8192 octets)"),
]


def test_bad_input_each_gets_err_and_session_goes_on(valv):
    srv = valv.server()
    deliver(srv, 1)
    r = RawPop3(srv)
    try:
        assert r.cmd(b"STAT") == b"-ERR Log in first"
        assert r.cmd(b"NOOP") == b"-ERR NOOP is only valid after login"
        assert r.cmd(b"PASS " + ALICE_PW.encode()) == b"-ERR Send USER first"
        assert r.cmd(b"USER " + ALICE.encode()).startswith(b"+OK")
        assert r.cmd(b"PASS " + ALICE_PW.encode()).startswith(b"+OK Logged in")
        for bad, expected in BAD_INPUT:
            assert r.cmd(bad) == expected, bad[:40]
            assert r.cmd(b"NOOP") == b"+OK", f"session unusable after {bad[:40]!r}"
        first, lines = r.multi(b"RETR 1")
        assert first.startswith(b"+OK")
        assert r.cmd(b"QUIT").startswith(b"+OK")
    finally:
        r.close()


def test_second_session_gets_in_use(valv):
    srv = valv.server()
    deliver(srv, 2)
    deliver(srv, 1, user=BOB)
    first = login(srv)
    try:
        second = srv.pop3()
        try:
            second.user(ALICE)
            with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
                second.pass_(ALICE_PW)
            # Another user is not affected.
            b = login(srv, BOB, BOB_PW)
            assert b.stat()[0] == 1
            b.quit()
            b.close()
            assert first.quit().startswith(b"+OK")
            second.user(ALICE)
            assert second.pass_(ALICE_PW).startswith(b"+OK")
            assert second.stat()[0] == 2
            second.quit()
        finally:
            second.close()
    finally:
        first.close()


def test_users_see_only_their_own_mail(valv):
    srv = valv.server()
    alice_sent = deliver(srv, 2, ALICE)
    bob_sent = [message(100 + i, BOB) for i in range(3)]
    vh.send_many(srv, "sender@outside.test", BOB, bob_sent)
    p = login(srv, BOB, BOB_PW)
    try:
        assert p.stat()[0] == 3
        got = [vh.strip_trace(joined(p.retr(i)[1]))[1] for i in (1, 2, 3)]
        assert got == bob_sent
        with pytest.raises(poplib.error_proto):
            p.retr(4)
        for i in (1, 2, 3):
            p.dele(i)
        p.quit()
    finally:
        p.close()
    # bob's deletions touched only bob's mailbox.
    p = login(srv)
    try:
        assert [vh.strip_trace(joined(p.retr(i)[1]))[1] for i in (1, 2)] == alice_sent
        p.quit()
    finally:
        p.close()


def test_imap_changes_during_a_pop3_session(valv):
    srv = valv.server()
    deliver(srv, 4)
    p = login(srv)
    watcher = srv.login(ALICE, ALICE_PW)  # an IMAP client with the INBOX open
    try:
        assert vh.select(watcher, "INBOX") == 4
        with srv.login(ALICE, ALICE_PW) as im:
            vh.select(im, "INBOX")
            typ, _ = im.store("2", "+FLAGS", "(\\Deleted)")
            assert typ == "OK"
            typ, _ = im.expunge()
            assert typ == "OK"
        watcher.noop()  # sees the IMAP expunge: 3 messages
        vh.send_many(srv, "sender@outside.test", ALICE, [message(5)])
        assert p.stat()[0] == 4  # the POP3 maildrop is the snapshot from login
        with pytest.raises(poplib.error_proto, match="removed by another client"):
            p.retr(2)
        assert p.retr(3)[0].startswith(b"+OK")
        for i in (1, 2, 3):
            p.dele(i)
        assert p.quit().startswith(b"+OK")
        # The IMAP session learns of the POP3 removals: EXPUNGE responses at NOOP.
        deadline = time.monotonic() + vh.IO_TIMEOUT
        while True:
            typ, data = watcher.noop()
            assert typ == "OK"
            typ, data = watcher.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            mids = [vh.header_value(it["BODY[HEADER.FIELDS (MESSAGE-ID)]"], "Message-ID")
                    for _, it in (vh.parse_fetch_response(r) for r in vh.imaplib_responses(data))]
            if mids == [b"<pop3-4@outside.test>", b"<pop3-5@outside.test>"]:
                break
            assert time.monotonic() < deadline, mids
            time.sleep(0.1)
    finally:
        vh.close_imap(watcher)
        p.close()
    assert folder_ids(srv, ALICE, ALICE_PW, "Trash") == [b"<pop3-1@outside.test>", b"<pop3-3@outside.test>"]


def test_deleted_to_trash_off_expunges(valv):
    srv = valv.server(extra_args=["--pop3-deleted-to-trash", "false"])
    deliver(srv, 3)
    p = login(srv)
    try:
        p.dele(1)
        p.dele(2)
        p.quit()
    finally:
        p.close()
    assert folder_ids(srv, ALICE, ALICE_PW, "INBOX") == [b"<pop3-3@outside.test>"]
    assert folder_ids(srv, ALICE, ALICE_PW, "Trash") == []


def test_login_delay(valv):
    srv = valv.server(extra_args=["--pop3-login-delay", "3600"])
    p = srv.pop3()
    try:
        assert p.capa()["LOGIN-DELAY"] == ["3600"]
        p.user(ALICE)
        p.pass_(ALICE_PW)
        p.quit()
    finally:
        p.close()
    p = srv.pop3()
    try:
        p.user(ALICE)
        with pytest.raises(poplib.error_proto, match=r"\[LOGIN-DELAY\]"):
            p.pass_(ALICE_PW)
    finally:
        p.close()


def test_stls_injection_is_refused(valv):
    srv = valv.server()
    r = RawPop3(srv, tls=False)
    try:
        r.send(b"STLS\r\nUSER " + ALICE.encode() + b"\r\n")
        assert r.line() == b"-ERR Nothing may follow STLS before the TLS handshake"
        assert r.f.readline() == b""  # closed
    finally:
        r.close()
