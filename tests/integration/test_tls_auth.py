# SPDX-License-Identifier: AGPL-3.0-or-later
"""TLS (SMTP STARTTLS, IMAP STARTTLS, IMAPS) and IMAP authentication."""

import base64
import imaplib
import uuid

import pytest

import valvharness as vh
from conftest import ALICE, ALICE_PW, BOB, BOB_PW, STANDARD_USERS

DAVE = "dave@example.org"
DAVE_PW = 'pa ss"wo\\rd {5}'  # needs IMAP quoting: space, quote, backslash, brace


@pytest.fixture(scope="module")
def server(module_valv):
    return module_valv.server(users={**STANDARD_USERS, DAVE: DAVE_PW})


def plain_ir(user, pw):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode())


def ehlo_keywords(s):
    code, msg = s.ehlo()
    assert code == 250
    lines = msg.decode("utf-8", "replace").splitlines()[1:]
    return {ln.split()[0].upper(): ln.split()[1:] for ln in lines if ln.strip()}


def test_smtp_ehlo_extensions(server):
    s = server.smtp()
    try:
        kw = ehlo_keywords(s)
        for ext in ("STARTTLS", "SIZE", "8BITMIME", "PIPELINING", "ENHANCEDSTATUSCODES",
                    "SMTPUTF8"):
            assert ext in kw, f"{ext} not in EHLO: {sorted(kw)}"
        assert kw["SIZE"] and int(kw["SIZE"][0]) >= 5 * 1024 * 1024, kw["SIZE"]
        assert "AUTH" not in kw, "no AUTH on the MX port yet (and never before TLS)"
    finally:
        s.quit()


def test_smtp_starttls_delivery(server):
    s = server.smtp(starttls=True)
    try:
        assert s.sock.version() in ("TLSv1.2", "TLSv1.3"), s.sock.version()
        kw = ehlo_keywords(s)
        assert "STARTTLS" not in kw, "STARTTLS must not be offered again inside TLS"
        tid = uuid.uuid4().hex.encode()
        data = (b"From: tls@outside.test\r\nTo: alice@example.org\r\nSubject: over TLS\r\n"
                b"X-Valv-Test-Id: " + tid + b"\r\n\r\nsent over SMTP STARTTLS\r\n")
        assert not s.sendmail("tls@outside.test", [ALICE], data)
    finally:
        s.quit()
    with server.login(ALICE, ALICE_PW) as im:
        seq = vh.find_by_header(im, "X-Valv-Test-Id", tid)
        stored = vh.fetch_one(im, seq, "(BODY.PEEK[])")["BODY[]"]
        assert vh.strip_trace(stored)[1] == data


def test_imap_capability_before_tls(server):
    im = server.imap("plain")
    try:
        caps = {c.upper() for c in im.capabilities}
        assert "STARTTLS" in caps, caps
        assert "LOGINDISABLED" in caps, caps
        assert any(c.startswith("IMAP4REV1") or c == "IMAP4REV2" for c in caps), caps
    finally:
        vh.close_imap(im)


def test_login_and_authenticate_refused_before_starttls(server):
    c = vh.RawImap(server.ports["imap"])
    try:
        assert c.greeting.startswith(b"* OK"), c.greeting
        _, t = c.command(b"a1", f'LOGIN {ALICE} "{ALICE_PW}"'.encode())
        assert vh.tagged_status(t) in ("NO", "BAD"), t
        _, t = c.command(b"a2", b"AUTHENTICATE PLAIN " + plain_ir(ALICE, ALICE_PW))
        assert vh.tagged_status(t) in ("NO", "BAD"), t
        _, t = c.command(b"a3", b"SELECT INBOX")
        assert vh.tagged_status(t) in ("NO", "BAD"), t
        _, t = c.command(b"a4", b"NOOP")
        assert vh.tagged_status(t) == "OK", t
    finally:
        c.close()
    # imaplib must also fail.
    im = server.imap("plain")
    try:
        with pytest.raises(imaplib.IMAP4.error):
            im.login(ALICE, ALICE_PW)
        # ... and the same session upgrades and then logs in fine.
        typ, _ = im.starttls(ssl_context=server.ssl_context())
        assert typ == "OK"
        typ, _ = im.login(ALICE, ALICE_PW)
        assert typ == "OK"
        vh.select(im, "INBOX")
        im.logout()
    finally:
        vh.close_imap(im)


def test_imap_starttls_login(server):
    im = server.imap("starttls")
    try:
        assert im.sock.version() in ("TLSv1.2", "TLSv1.3")
        typ, data = im.capability()
        caps = data[0].decode().upper().split()
        assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps, caps
        assert "AUTH=PLAIN" in caps, caps
        typ, _ = im.login(ALICE, ALICE_PW)
        assert typ == "OK"
        vh.select(im, "INBOX")
        assert im.logout()[0] == "BYE"
    finally:
        vh.close_imap(im)


def test_imaps_implicit_tls_login(server):
    im = server.imap("ssl")
    try:
        assert im.sock.version() in ("TLSv1.2", "TLSv1.3")
        caps = {c.upper() for c in im.capabilities}
        assert "LOGINDISABLED" not in caps and "STARTTLS" not in caps, caps
        typ, _ = im.login(BOB, BOB_PW)
        assert typ == "OK"
        vh.select(im, "INBOX")
        typ, _ = im.noop()
        assert typ == "OK"
        im.logout()
    finally:
        vh.close_imap(im)


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
def test_authenticate_plain(server, mode):
    im = server.imap(mode)
    try:
        typ, _ = im.authenticate("PLAIN", lambda _: f"\0{ALICE}\0{ALICE_PW}".encode())
        assert typ == "OK"
        vh.select(im, "INBOX")
        im.logout()
    finally:
        vh.close_imap(im)


def test_authenticate_plain_wrong_password(server):
    im = server.imap("ssl")
    try:
        with pytest.raises(imaplib.IMAP4.error):
            im.authenticate("PLAIN", lambda _: f"\0{ALICE}\0not-the-password".encode())
        # Same session, right password.
        typ, _ = im.authenticate("PLAIN", lambda _: f"\0{ALICE}\0{ALICE_PW}".encode())
        assert typ == "OK"
        im.logout()
    finally:
        vh.close_imap(im)


def test_password_needing_quoting(server):
    with server.login(DAVE, DAVE_PW, mode="ssl") as im:
        vh.select(im, "INBOX")
    im = server.imap("ssl")
    try:
        typ, _ = im.authenticate("PLAIN", lambda _: f"\0{DAVE}\0{DAVE_PW}".encode())
        assert typ == "OK"
    finally:
        vh.close_imap(im)


@pytest.mark.parametrize("user,pw", [
    (ALICE, "wrong-password"),
    (ALICE, ""),
    (ALICE, ALICE_PW.upper()),
    (ALICE, BOB_PW),               # another user's password
    ("nobody@example.org", ALICE_PW),
    ("alice@example.net", ALICE_PW),
])
def test_wrong_credentials_fail_and_server_keeps_serving(server, user, pw):
    im = server.imap("ssl")
    try:
        with pytest.raises(imaplib.IMAP4.error):
            im.login(user, pw)
        # Still usable: NOOP, then the right credentials in the same session.
        assert im.noop()[0] == "OK"
        typ, _ = im.login(ALICE, ALICE_PW)
        assert typ == "OK"
    finally:
        vh.close_imap(im)
    # And the next connection is served normally.
    with server.login(ALICE, ALICE_PW) as im2:
        vh.select(im2, "INBOX")


def test_starttls_inside_tls_refused(server):
    c = server.raw_imap(tls=True)
    try:
        _, t = c.command(b"s1", b"STARTTLS")
        assert vh.tagged_status(t) in ("NO", "BAD"), t
        _, t = c.command(b"s2", f'LOGIN "{ALICE}" "{ALICE_PW}"'.encode())
        assert vh.tagged_status(t) == "OK", t
    finally:
        c.close()


def test_tls_certificate_names(server):
    """The self-signed cert verifies for 127.0.0.1 and localhost (SAN)."""
    import socket
    import ssl
    for host in ("127.0.0.1", "localhost"):
        ctx = server.ssl_context()
        with socket.create_connection((vh.HOST, server.ports["imaps"]), timeout=vh.IO_TIMEOUT) as sk:
            with ctx.wrap_socket(sk, server_hostname=host) as tls:
                assert tls.getpeercert()
                assert tls.recv(1024).startswith(b"* OK")
    # A client that does not trust the cert must fail the handshake.
    ctx = ssl.create_default_context()
    with socket.create_connection((vh.HOST, server.ports["imaps"]), timeout=vh.IO_TIMEOUT) as sk:
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(sk, server_hostname="localhost")
    with server.login(ALICE, ALICE_PW) as im:  # server still fine after a failed handshake
        vh.select(im, "INBOX")
