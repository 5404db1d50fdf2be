# SPDX-License-Identifier: AGPL-3.0-or-later
"""Sender authentication on arrival (SPF, DKIM, DMARC, Authentication-Results) and
forwarding aliases with SRS, between real valvd hosts and a dnsmasq.

Host B (127.0.0.3, b.test) receives on its MX from this test (client 127.0.0.1); the
sender domains' records are in dnsmasq:
    good.test  SPF allows 127.0.0.1, DMARC p=reject, DKIM key "sel" (made by dkimpy here)
    rej.test   SPF allows only 192.0.2.1, DMARC p=reject
    quar.test  SPF allows only 192.0.2.1, DMARC p=quarantine
    none.test  no SPF, DMARC p=none
Messages are signed by dkimpy (python3-dkim), not by valvd. The Authentication-Results
field is parsed with python3-authres, independently of the server.

Forwarding: an alias fwd@b.test forwards to carol@a.test on host A (127.0.0.2). A sees
B's SRS sender pass SPF for b.test, the original DKIM signature still pass; a bounce
sent to that SRS address at B comes back to the original (local) sender on A.
"""

import base64
import re
import smtplib
import subprocess

import authres
import dkim
import pytest

import dnsfixture
import outbound as ob
import valvharness as vh

DNS_ADDRESS = "127.0.0.59"
SELECTOR = b"sel"


@pytest.fixture(scope="module")
def signing_key():
    """An RSA-2048 key pair for good.test: (private PEM, DNS TXT value)."""
    priv = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                          capture_output=True, check=True).stdout
    pub = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=priv,
                         capture_output=True, check=True).stdout
    return priv, "v=DKIM1; k=rsa; p=" + base64.b64encode(pub).decode()


@pytest.fixture(scope="module")
def world(tmp_path_factory, signing_key, module_valv):
    _, txt = signing_key
    dns = dnsfixture.DnsServer(tmp_path_factory.mktemp("dns"), DNS_ADDRESS)
    ob.publish_hosts(dns)  # a.test, b.test: MX, A, SPF ip4:127.0.0.0/8
    dns.txt("good.test", "v=spf1 ip4:127.0.0.1 -all")
    dns.txt("_dmarc.good.test", "v=DMARC1; p=reject")
    dns.txt(f"{SELECTOR.decode()}._domainkey.good.test", txt)
    dns.txt("rej.test", "v=spf1 ip4:192.0.2.1 -all")
    dns.txt("_dmarc.rej.test", "v=DMARC1; p=reject")
    dns.txt("quar.test", "v=spf1 ip4:192.0.2.1 -all")
    dns.txt("_dmarc.quar.test", "v=DMARC1; p=quarantine")
    dns.txt("_dmarc.none.test", "v=DMARC1; p=none")
    dns.start()
    b = ob.make_host(module_valv, ob.B_IP, ob.B_DOMAIN, {ob.BOB: ob.BOB_PW},
                     aliases=(("fwd@b.test", "carol@a.test"),), extra_args=ob.host_args(dns))
    b.start()
    # Both MX ports get the same number, each on its own address: remote_smtp_port is
    # one setting for every destination.
    port = b.ports["smtp"]
    a = ob.make_host(module_valv, ob.A_IP, ob.A_DOMAIN, {ob.CAROL: ob.CAROL_PW, ob.ALICE2: ob.ALICE2_PW},
                     extra_args=ob.host_args(dns, remote_port=port))
    a.start(extra_args=["--smtp-port", str(port)])
    b.stop()
    b.start(extra_args=["--smtp-port", str(port), "--remote-smtp-port", str(port)])
    yield dns, a, b
    dns.stop()


def message(subject, sender, body=b"Hello.\r\n"):
    return (f"From: Sender <{sender}>\r\nTo: bob@b.test\r\nSubject: {subject}\r\n"
            f"Message-ID: <{re.sub(r'[^a-z0-9]', '', subject.lower())}@test>\r\n"
            "Date: Wed, 25 Nov 2026 01:00:00 +0000\r\n\r\n").encode() + body


def signed(msg, key_pem, domain=b"good.test"):
    sig = dkim.sign(msg, SELECTOR, domain, key_pem, include_headers=[b"from", b"to", b"subject", b"message-id", b"date"])
    return sig + msg


def send_mx(srv, sender, rcpt, data):
    """(code, text) of the reply to the end of DATA on srv's MX port."""
    s = smtplib.SMTP(srv.host, srv.ports["smtp"], local_hostname="client.good.test", timeout=vh.IO_TIMEOUT)
    try:
        s.ehlo()
        s.mail(sender)
        code, text = s.rcpt(rcpt)
        assert code == 250, (code, text)
        code, text = s.data(data)
        return code, text.decode()
    finally:
        ob.quit_quietly(s)


def results(raw):
    """The Authentication-Results fields of a stored message, parsed by python3-authres."""
    msg = ob.parse(raw)
    return [authres.AuthenticationResultsHeader.parse("Authentication-Results: " + re.sub(r"\r?\n[ \t]", " ", v))
            for v in msg.get_all("Authentication-Results", [])]


def verdicts(ar):
    return {(r.method, r.result) for r in ar.results}


def folder_with(srv, user, password, folder, marker):
    with srv.login(user, password) as im:
        msgs = vh.all_messages(im, folder)
    return [m for m in msgs.values() if marker in m]


def test_signed_aligned_mail_passes(world, signing_key):
    _, _, b = world
    data = signed(message("auth good", "x@good.test"), signing_key[0])
    code, _ = send_mx(b, "x@good.test", ob.BOB, data)
    assert code == 250
    got = ob.wait_for_message(b, ob.BOB, ob.BOB_PW, b"auth good")[0]
    [ar] = results(got)
    assert ar.authserv_id == "mx.b.test"
    assert {("spf", "pass"), ("dkim", "pass"), ("dmarc", "pass")} <= verdicts(ar), str(ar)
    dkim_result = [r for r in ar.results if r.method == "dkim"][0]
    assert any(p.name == "d" and p.value == "good.test" for p in dkim_result.properties), str(ar)


def test_dmarc_reject_is_refused_with_5_7_1(world, signing_key):
    _, _, b = world
    data = signed(message("auth reject", "x@rej.test"), signing_key[0], domain=b"good.test")
    data = data.replace(b"Hello.", b"Hello, changed.")  # the signature no longer holds
    code, text = send_mx(b, "x@rej.test", ob.BOB, data)
    assert code == 550 and "5.7.1" in text and "DMARC" in text, (code, text)
    assert not [m for m in ob.inbox(b, ob.BOB, ob.BOB_PW) if b"auth reject" in m]


def test_dmarc_quarantine_goes_to_junk(world):
    _, _, b = world
    code, _ = send_mx(b, "x@quar.test", ob.BOB, message("auth quarantine", "x@quar.test"))
    assert code == 250
    junk = ob.wait_until("the message in Junk", lambda: folder_with(b, ob.BOB, ob.BOB_PW, "Junk", b"auth quarantine"))
    [ar] = results(junk[0])
    assert ("dmarc", "fail") in verdicts(ar) and ("spf", "fail") in verdicts(ar), str(ar)
    assert ("dkim", "none") in verdicts(ar), str(ar)
    assert not [m for m in ob.inbox(b, ob.BOB, ob.BOB_PW) if b"auth quarantine" in m]


def test_policy_none_is_delivered_with_its_verdict(world):
    _, _, b = world
    code, _ = send_mx(b, "x@none.test", ob.BOB, message("auth none", "x@none.test"))
    assert code == 250
    got = ob.wait_for_message(b, ob.BOB, ob.BOB_PW, b"auth none")[0]
    [ar] = results(got)
    assert ("dmarc", "fail") in verdicts(ar) and ("spf", "none") in verdicts(ar), str(ar)


def test_forged_results_with_our_name_are_removed(world, signing_key):
    _, _, b = world
    forged = b"Authentication-Results: mx.b.test; spf=pass smtp.mailfrom=x@good.test; dmarc=pass\r\n"
    other = b"Authentication-Results: elsewhere.test; spf=fail smtp.mailfrom=x@good.test\r\n"
    data = forged + other + message("auth forged", "x@none.test")
    code, _ = send_mx(b, "x@none.test", ob.BOB, data)
    assert code == 250
    got = ob.wait_for_message(b, ob.BOB, ob.BOB_PW, b"auth forged")[0]
    ids = [ar.authserv_id for ar in results(got)]
    assert ids == ["mx.b.test", "elsewhere.test"], ids  # ours (real) first, the foreign one kept
    assert ("dmarc", "fail") in verdicts(results(got)[0])


def test_forwarding_with_srs_and_bounce_back(world, signing_key):
    _, a, b = world
    data = signed(message("auth forwarded", "x@good.test").replace(b"To: bob@b.test", b"To: fwd@b.test"), signing_key[0])
    code, _ = send_mx(b, "x@good.test", "fwd@b.test", data)
    assert code == 250
    got = ob.wait_for_message(a, ob.CAROL, ob.CAROL_PW, b"auth forwarded")[0]
    return_path = re.search(rb"^Return-Path: <([^>]*)>", got, re.M).group(1).decode()
    assert re.match(r"(?i)^SRS0=[^=]+=[^=]+=good\.test=x@b\.test$", return_path), return_path
    # A's own verdicts: SPF passes for B's SRS sender, the original signature survives.
    ar = [r for r in results(got) if r.authserv_id == "mx.a.test"][0]
    assert ("spf", "pass") in verdicts(ar) and ("dkim", "pass") in verdicts(ar), str(ar)
    # A bounce to the SRS address goes back to the original sender (here a local user on A).
    data2 = message("auth srs origin", ob.ALICE2).replace(b"To: bob@b.test", b"To: fwd@b.test")
    code, _ = send_mx(b, ob.ALICE2, "fwd@b.test", data2)
    assert code == 250
    got2 = ob.wait_for_message(a, ob.CAROL, ob.CAROL_PW, b"auth srs origin")[0]
    srs = re.search(rb"^Return-Path: <([^>]*)>", got2, re.M).group(1).decode()
    bounce = (f"From: MAILER-DAEMON@mx.a.test\r\nTo: {srs}\r\nSubject: auth bounce back\r\n\r\n"
              "Undeliverable.\r\n").encode()
    code, _ = send_mx(b, "", srs, bounce)
    assert code == 250
    ob.wait_for_message(a, ob.ALICE2, ob.ALICE2_PW, b"auth bounce back")
    # A tampered SRS hash is refused.
    tampered = re.sub(r"^SRS0=[^=]+", "SRS0=zzzz", srs)
    s = smtplib.SMTP(b.host, b.ports["smtp"], timeout=vh.IO_TIMEOUT)
    try:
        s.ehlo()
        s.mail("")
        code, text = s.rcpt(tampered)
        assert code == 550 and b"5.1.1" in text, (code, text)
    finally:
        ob.quit_quietly(s)


def test_too_many_hops_is_refused_as_a_loop(world):
    _, _, b = world
    hops = b"".join(b"Received: from hop%d.test by hop%d.test; Wed, 25 Nov 2026 01:00:00 +0000\r\n" % (i, i + 1)
                    for i in range(30))
    code, text = send_mx(b, "x@none.test", ob.BOB, hops + message("auth loop", "x@none.test"))
    assert code == 554 and "5.4.6" in text, (code, text)
    assert not [m for m in ob.inbox(b, ob.BOB, ob.BOB_PW) if b"auth loop" in m]


def test_checks_and_enforcement_can_be_turned_off(world, module_valv):
    dns, _, _ = world
    c = ob.make_host(module_valv, "127.0.0.4", "c.test", {"carl@c.test": "carl-Secret-45"},
                     extra_args=ob.host_args(dns))
    # dmarc_enforce off: a message rej.test's policy rejects is delivered, its verdict recorded.
    c.start(extra_args=["--dmarc-enforce", "false"])
    code, _ = send_mx(c, "x@rej.test", "carl@c.test", message("auth unenforced", "x@rej.test"))
    assert code == 250
    got = ob.wait_for_message(c, "carl@c.test", "carl-Secret-45", b"auth unenforced")[0]
    assert ("dmarc", "fail") in verdicts(results(got)[0])
    c.stop()
    # sender_checks off: no checks, no Authentication-Results field.
    c.start(extra_args=["--sender-checks", "false"])
    code, _ = send_mx(c, "x@rej.test", "carl@c.test", message("auth unchecked", "x@rej.test"))
    assert code == 250
    got = ob.wait_for_message(c, "carl@c.test", "carl-Secret-45", b"auth unchecked")[0]
    assert b"Authentication-Results:" not in got
