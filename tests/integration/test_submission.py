# SPDX-License-Identifier: AGPL-3.0-or-later
"""Message submission (RFC 6409 on 587 with STARTTLS, RFC 8314 implicit TLS on 465):
AUTH only under TLS, senders limited to the user's own addresses, failed-login limits,
recipient limits; the MX port (25) still relays nothing and offers no AUTH.

One host (a.test on 127.0.0.1) with users alice, alice2, carol and the aliases
sales@ -> alice, carols@ -> carol. Remote recipients (@remote.test) resolve through
this suite's dnsmasq to 127.0.0.9, where a bound but not listening port (the
--remote-smtp-port) refuses connections: they stay queued, nothing leaves loopback.

Implementation notes
- Raw SMTP (valvharness.RawSmtp) where smtplib hides the wire (EHLO lines, replies to
  AUTH before TLS, the reply after DATA, the connection being closed).
- Failed logins are counted per client address for the whole server, so the tests that
  fail logins run on a server of their own.
"""

import uuid

import pytest

import outbound as ob
import valvharness as vh
from outbound import ALICE, ALICE_PW, ALICE2, ALICE2_PW, CAROL, CAROL_PW

SALES = "sales@a.test"
CAROLS = "carols@a.test"  # an alias of carol, not of alice
REMOTE = "someone@remote.test"
ALIASES = ((SALES, ALICE), (CAROLS, CAROL))


@pytest.fixture(scope="module")
def dns(tmp_path_factory):
    ob.require_outbound(None)
    d = ob.dns_server(tmp_path_factory, "submission")
    d.mx("remote.test", "mx.remote.test").a("mx.remote.test", "127.0.0.9")
    d.start()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def remote_port():
    p = ob.ReservedPort("127.0.0.9")
    yield p.port
    p.release()


def args(dns, remote_port, *extra):
    return ob.host_args(dns, remote_port=remote_port, retry_min=600, retry_max=600,
                        lifetime=3600, delay_notice=0, extra=extra)


def make_server(factory, dns, remote_port, *extra):
    srv = ob.make_host(factory, vh.HOST, ob.A_DOMAIN,
                       {ALICE: ALICE_PW, ALICE2: ALICE2_PW, CAROL: CAROL_PW}, aliases=ALIASES)
    srv.extra_args += args(dns, remote_port, *extra)
    srv.start()
    return srv


@pytest.fixture(scope="module")
def server(module_valv, dns, remote_port):
    return make_server(module_valv, dns, remote_port)


def marker():
    return f"sub-{uuid.uuid4().hex[:12]}"


def msg(subject, from_hdr=ALICE, to=ALICE2):
    return (f"From: {from_hdr}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@a.test>\r\nDate: Tue, 04 Jun 2024 12:00:00 +0200\r\n"
            f"\r\nbody of {subject}\r\n").encode()


def logged_in(srv, user=ALICE, pw=ALICE_PW, implicit=False):
    c = vh.RawSmtp(srv, "submissions" if implicit else "submission", implicit_tls=implicit)
    assert c.greeting[0] == 220, c.greeting
    if not implicit:
        c.ehlo()
        c.starttls()
    c.ehlo()
    code, lines = c.auth_plain(user, pw)
    assert code == 235, (code, lines)
    return c


def copies(srv, user, pw, subject):
    return [m for m in ob.inbox(srv, user, pw) if subject.encode() in m]


# --------------------------------------------------------------------------- AUTH and TLS

def test_587_auth_only_after_starttls(server):
    c = vh.RawSmtp(server, "submission")
    try:
        assert c.greeting[0] == 220
        features = c.ehlo()
        assert "STARTTLS" in features, features
        assert ob.auth_advertised(features) is None, features
        code, lines = c.auth_plain(ALICE, ALICE_PW)
        # RFC 4954 §6: 530 5.7.0 Authentication required, or 538 5.7.11 Encryption required.
        assert (code, vh.enhanced(lines)) in ((530, "5.7.0"), (538, "5.7.11")), (code, lines)
        # Nothing is sent in the clear either without AUTH.
        code, lines = c.cmd(f"MAIL FROM:<{ALICE}>")
        assert 500 <= code < 600, (code, lines)
        c.starttls()
        features = c.ehlo()
        assert {"PLAIN", "LOGIN"} <= (ob.auth_advertised(features) or set()), features
        assert "STARTTLS" not in features
        code, lines = c.auth_plain(ALICE, ALICE_PW)
        assert code == 235, (code, lines)
    finally:
        c.close()


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_465_and_587_login_with_smtplib(server, mech):
    for implicit in (True, False):
        s = ob.submission(server, implicit=implicit)
        try:
            assert {"PLAIN", "LOGIN"} <= set(s.esmtp_features["auth"].upper().split())
            s.user, s.password = ALICE, ALICE_PW
            code, resp = s.auth(mech, getattr(s, "auth_" + mech.lower()),
                                initial_response_ok=(mech == "PLAIN"))
            assert code == 235, (code, resp)
            subject = marker()
            assert not s.sendmail(ALICE, [ALICE2], msg(subject))
        finally:
            ob.quit_quietly(s)
        assert len(ob.wait_for_message(server, ALICE2, ALICE2_PW, subject.encode())) == 1


def test_587_mail_without_auth_refused(server):
    c = vh.RawSmtp(server, "submission")
    try:
        c.ehlo()
        c.starttls()
        c.ehlo()
        code, lines = c.cmd(f"MAIL FROM:<{ALICE}>")
        if code == 250:  # refusing at RCPT is also a refusal; nothing may be accepted
            code, lines = c.cmd(f"RCPT TO:<{REMOTE}>")
        assert code == 530 or (500 <= code < 600 and vh.enhanced(lines) == "5.7.0"), \
            (code, lines)
    finally:
        c.close()


# --------------------------------------------------------------------------- senders

@pytest.mark.parametrize("sender", [CAROL, CAROLS, "alice@elsewhere.test", "ALICE@a.test.evil.test"])
def test_mail_from_not_own_address_refused(server, sender):
    c = logged_in(server)
    try:
        code, lines = c.cmd(f"MAIL FROM:<{sender}>")
        assert code in (550, 553), (code, lines)
        assert vh.enhanced(lines) == "5.7.1", lines
        assert sender.lower().encode() in b" ".join(lines).lower(), lines
        # The session goes on, and alice's own address works.
        code, lines = c.cmd(f"MAIL FROM:<{ALICE}>")
        assert code == 250, (code, lines)
    finally:
        c.close()


@pytest.mark.parametrize("from_hdr,bad", [
    (CAROL, CAROL),
    (f"Carol <{CAROL}>", CAROL),
    (f"{ALICE}, {CAROL}", CAROL),
    (f"Sales <{CAROLS}>", CAROLS),
])
def test_from_header_not_own_address_refused(server, from_hdr, bad):
    subject = marker()
    c = logged_in(server)
    try:
        assert c.cmd(f"MAIL FROM:<{ALICE}>")[0] == 250
        assert c.cmd(f"RCPT TO:<{ALICE2}>")[0] == 250
        code, lines = c.data(msg(subject, from_hdr=from_hdr))
        assert code in (550, 553), (code, lines)
        assert vh.enhanced(lines) == "5.7.1", lines
        assert bad.lower().encode() in b" ".join(lines).lower(), lines
        code, lines = c.cmd("NOOP")
        assert code == 250
    finally:
        c.close()
    # A good message afterwards arrives, the refused one never does.
    good = marker()
    ob.submit(server, ALICE, ALICE_PW, ALICE, [ALICE2], msg(good))
    ob.wait_for_message(server, ALICE2, ALICE2_PW, good.encode())
    assert not copies(server, ALICE2, ALICE2_PW, subject)


def test_alias_of_user_allowed_as_sender(server):
    subject = marker()
    ob.submit(server, ALICE, ALICE_PW, SALES, [ALICE2], msg(subject, from_hdr=f"Sales <{SALES}>"))
    got = ob.wait_for_message(server, ALICE2, ALICE2_PW, subject.encode())
    assert len(got) == 1


def test_local_copy_has_return_path(server):
    """RFC 5321 §4.4: the final delivery adds Return-Path with the envelope sender."""
    subject = marker()
    ob.submit(server, ALICE, ALICE_PW, SALES, [ALICE2], msg(subject, from_hdr=SALES))
    got = ob.wait_for_message(server, ALICE2, ALICE2_PW, subject.encode())[0]
    assert got.startswith(b"Return-Path: <" + SALES.encode() + b">\r\n"), got[:300]


def test_message_id_and_date_added(server):
    subject = marker()
    raw = f"From: {ALICE}\r\nTo: {ALICE2}\r\nSubject: {subject}\r\n\r\nno id, no date\r\n"
    ob.submit(server, ALICE, ALICE_PW, ALICE, [ALICE2], raw.encode())
    got = ob.wait_for_message(server, ALICE2, ALICE2_PW, subject.encode())[0]
    names = [n for n, _ in vh.header_lines(vh.split_entity(got)[0])]
    assert names.count("message-id") == 1 and names.count("date") == 1, names


# --------------------------------------------------------------------------- failed logins

def test_wrong_password_closes_session_then_ip_throttled(valv, dns, remote_port):
    srv = make_server(valv, dns, remote_port)
    # Session 1: three failures, then the server closes the connection (421).
    c = vh.RawSmtp(srv, "submission")
    c.ehlo()
    c.starttls()
    c.ehlo()
    for i in range(2):
        code, lines = c.auth_plain(ALICE, "wrong-" + str(i))
        assert code == 535 and vh.enhanced(lines) == "5.7.8", (i, code, lines)
    try:
        third = c.auth_plain(ALICE, "wrong-2")
        after = [third]
        c.sock.sendall(b"NOOP\r\n")
    except (EOFError, OSError) as e:
        raise AssertionError(f"closed without a reply to the third AUTH: {e}")
    after += c.rest()
    c.close()
    print(f"replies from the third failed AUTH on: {after}")
    codes = [x[0] for x in after]
    assert codes[0] in (535, 421), after
    assert 421 in codes and 250 not in codes, after
    # Further failures from this address (new connections) lead to 454 4.7.0, and then
    # even the right password is refused for a while.
    failures = 3
    throttled = None
    while throttled is None and failures < 30:
        c = vh.RawSmtp(srv, "submission")
        try:
            c.ehlo()
            c.starttls()
            c.ehlo()
            for _ in range(3):
                code, lines = c.auth_plain(ALICE, f"wrong-{failures}")
                if code == 454:
                    throttled = (failures, lines)
                    break
                assert code == 535 and vh.enhanced(lines) == "5.7.8", (failures, code, lines)
                failures += 1
        except EOFError:
            pass  # closed after the third failure of this session
        finally:
            c.close()
    print(f"throttled after {failures} failed logins: {throttled}")
    assert throttled is not None, f"no 454 after {failures} failed logins from one address"
    assert vh.enhanced(throttled[1]) == "4.7.0", throttled
    c = vh.RawSmtp(srv, "submissions", implicit_tls=True)
    try:
        c.ehlo()
        code, lines = c.auth_plain(ALICE, ALICE_PW)
        assert code == 454 and vh.enhanced(lines) == "4.7.0", (code, lines)
    finally:
        c.close()


# --------------------------------------------------------------------------- limits

def test_max_recipients(valv, dns, remote_port):
    srv = make_server(valv, dns, remote_port, "--max-recipients", "3")
    c = logged_in(srv)
    try:
        assert c.cmd(f"MAIL FROM:<{ALICE}>")[0] == 250
        for i in range(3):
            code, lines = c.cmd(f"RCPT TO:<r{i}@remote.test>")
            assert code == 250, (i, code, lines)
        code, lines = c.cmd("RCPT TO:<r3@remote.test>")
        assert code == 452 and vh.enhanced(lines) == "4.5.3", (code, lines)
        subject = marker()
        code, lines = c.data(msg(subject, to="r0@remote.test"))
        assert code == 250, (code, lines)  # the first three are still accepted
    finally:
        c.close()


def test_user_send_rate(valv, dns, remote_port):
    srv = make_server(valv, dns, remote_port, "--user-send-rate", "3")
    refused = None
    sent = 0
    c = logged_in(srv)
    try:
        for i in range(6):
            subject = marker()
            assert c.cmd(f"MAIL FROM:<{ALICE}>")[0] == 250
            code, lines = c.cmd(f"RCPT TO:<r{i}@remote.test>")
            if code == 250:
                code, lines = c.data(msg(subject, to=f"r{i}@remote.test"))
            if code != 250:
                refused = (i, code, lines)
                break
            sent += 1
    finally:
        c.close()
    assert refused is not None, "no limit after 6 recipients with user_send_rate 3"
    assert sent == 3, (sent, refused)
    assert refused[1] == 450 and vh.enhanced(refused[2]) == "4.7.1", refused
    # The limit is alice's own: carol still sends.
    ob.submit(srv, CAROL, CAROL_PW, CAROL, [REMOTE], msg(marker(), from_hdr=CAROL, to=REMOTE))


# --------------------------------------------------------------------------- MX port

def test_mx_port_no_relay_no_auth(server):
    c = vh.RawSmtp(server, "smtp")
    try:
        features = c.ehlo("relay.attempt.test")
        assert ob.auth_advertised(features) is None, features
        c.starttls()
        features = c.ehlo("relay.attempt.test")
        assert ob.auth_advertised(features) is None, features
        code, lines = c.auth_plain(ALICE, ALICE_PW)
        assert 500 <= code < 600, (code, lines)
        for sender in (ALICE, "someone@elsewhere.test"):
            assert c.cmd("RSET")[0] == 250
            assert c.cmd(f"MAIL FROM:<{sender}>")[0] == 250
            code, lines = c.cmd(f"RCPT TO:<{REMOTE}>")
            assert code == 550 and vh.enhanced(lines) == "5.7.1", (sender, code, lines)
    finally:
        c.close()
    # Nothing for the remote address was queued (no test on this server sends there).
    assert not [rc for _, rc in ob.queue_recipients(server) if rc["address"].lower() == REMOTE]


# --------------------------------------------------------------------------- resolver

@pytest.mark.parametrize("resolver", ["::1", "fe80::1", "not-an-address"])
def test_non_ipv4_dns_resolver_refused(valv, resolver):
    """QDnsLookup would ask the system resolver instead of an IPv6 one: valvd must not start."""
    srv = ob.make_host(valv, vh.HOST, ob.A_DOMAIN, {ALICE: ALICE_PW},
                       extra_args=["--dns-resolver", resolver])
    with pytest.raises(AssertionError, match=r"exited with [1-9]") as e:
        srv.start()
    assert "dns_resolver" in str(e.value), str(e.value)[-2000:]
