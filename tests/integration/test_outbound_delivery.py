# SPDX-License-Identifier: AGPL-3.0-or-later
"""Mail sent by a user of host A (a.test, 127.0.0.2) reaches host B (b.test, 127.0.0.3).

alice@a.test submits (smtplib on 587 with STARTTLS + AUTH, swaks on 465 with implicit
TLS + AUTH); A looks up b.test's MX in a dnsmasq of this suite's own, connects to
mx.b.test (127.0.0.3) on B's SMTP port (--remote-smtp-port), and B delivers to bob.
The DKIM keys A signs with are published from `valvctl domain dkim a.test --json`, and
dkimpy verifies both signatures with keys it looks up in that same dnsmasq.

Implementation notes
- The message's expected bytes are the bytes the test sent: B's copy must end with them
  unchanged, preceded only by added header fields (trace, DKIM-Signature).
- A tampered copy of the delivered message must fail DKIM, so a verifier that accepts
  anything cannot make these tests pass.
"""

import email.utils
import re
import uuid

import dkim  # Debian python3-dkim (installer/deps.sh --test)
import pytest

import outbound as ob
import valvharness as vh
from outbound import ALICE, ALICE_PW, ALICE2, ALICE2_PW, BOB, BOB_PW


@pytest.fixture(scope="module")
def dns(tmp_path_factory):
    d = ob.dns_server(tmp_path_factory, "outbound_delivery")
    yield d
    d.stop()


@pytest.fixture(scope="module")
def hosts(dns, module_valv):
    ob.require_outbound(None)
    a = ob.make_a(module_valv)
    records = ob.publish_dkim(dns, a, ob.A_DOMAIN)
    ob.publish_hosts(dns)
    dns.start()
    b = ob.make_b(module_valv)
    b.extra_args += ob.host_args(dns)
    b.start()
    a.extra_args += ob.host_args(dns, remote_port=b.ports["smtp"])
    a.start()
    a.dkim_records = records
    return a, b


def marker():
    return f"out-{uuid.uuid4().hex[:12]}"


def signature_fields(message: bytes):
    head = message.split(b"\r\n\r\n", 1)[0]
    unfolded = re.sub(rb"\r\n[ \t]", b" ", head)
    return [line for line in unfolded.split(b"\r\n") if line.lower().startswith(b"dkim-signature:")]


def tags(field: bytes):
    value = field.split(b":", 1)[1]
    return {k.strip().decode(): re.sub(rb"\s", b"", v).decode()
            for k, _, v in (t.partition(b"=") for t in value.split(b";")) if k.strip()}


def dkim_ok(message: bytes, idx: int, dnsfunc) -> bool:
    try:
        return bool(dkim.DKIM(message).verify(idx=idx, dnsfunc=dnsfunc))
    except dkim.DKIMException:
        return False


def check_dkim(delivered: bytes, dns):
    """Two signatures, Ed25519 and RSA, d=a.test, relaxed/relaxed; each verifies."""
    fields = signature_fields(delivered)
    algs = sorted(tags(f).get("a") for f in fields)
    assert algs == ["ed25519-sha256", "rsa-sha256"], fields
    dnsfunc = dns.dkim_dnsfunc()
    for idx, f in enumerate(fields):
        t = tags(f)
        assert t["d"] == ob.A_DOMAIN and t["c"] == "relaxed/relaxed", t
        assert "from" in t["h"].lower().split(":"), t
        # The key is the one published from valvctl's output, served by dnsmasq.
        assert dnsfunc(f"{t['s']}._domainkey.{t['d']}.".encode()), t["s"]
        assert dkim_ok(delivered, idx, dnsfunc), (idx, t["a"], delivered[:3000])
    # Tampering must be detected by both: a body change and a signed header change.
    head, sep, body = delivered.partition(b"\r\n\r\n")
    for bad in (head + sep + body.replace(b"Hello", b"Jello", 1),
                delivered.replace(b"Subject: ", b"Subject: Re: ", 1)):
        assert bad != delivered
        for idx in range(len(fields)):
            assert not dkim_ok(bad, idx, dnsfunc), idx


def check_received_tls(delivered: bytes):
    """B's own Received field (the first one) says the message came over TLS."""
    header = vh.split_entity(delivered)[0]
    received = [v for n, v in vh.header_lines(header) if n == "received"]
    assert received, delivered[:2000]
    first = re.sub(rb"\s+", b" ", received[0])
    assert b"by " + ob.B_MX.encode() in first, first
    assert re.search(rb"\bwith (ESMTPS|ESMTPSA|UTF8SMTPS|UTF8SMTPSA)\b", first), first


def check_unchanged(delivered: bytes, sent: bytes):
    """B's copy = added header fields + exactly the bytes sent."""
    assert delivered.endswith(sent), (delivered[-len(sent) - 200:], sent)
    prefix = delivered[:-len(sent)]
    assert prefix.endswith(b"\r\n")
    names = [n for n, _ in vh.header_lines(prefix)]
    assert all(re.fullmatch(r"[\x21-\x39\x3b-\x7e]+", n) for n in names), prefix
    assert names.count("dkim-signature") == 2, names


def test_dkim_records_printed(hosts):
    """The plain form of `valvctl domain dkim` has one TXT line per key, as the JSON."""
    a, _ = hosts
    r = vh.valvctl(a.datadir, "domain", "dkim", ob.A_DOMAIN)
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    assert len(lines) == 2 == len(a.dkim_records), r.stdout
    kinds = set()
    for ln in lines:
        m = re.fullmatch(r'(\S+)\._domainkey\.a\.test\.\s+TXT\s+"(v=DKIM1; k=(rsa|ed25519); p=[A-Za-z0-9+/=]+)"',
                         ln.strip())
        assert m, ln
        kinds.add(m.group(3))
        rec = next(x for x in a.dkim_records if x["selector"] == m.group(1))
        assert rec["value"] == m.group(2) and rec["name"].rstrip(".") == f"{m.group(1)}._domainkey.a.test"
    assert kinds == {"rsa", "ed25519"}


def test_smtplib_submission_587_reaches_b_signed(hosts, dns):
    a, b = hosts
    subject = marker()
    sent = ob.message(subject)
    ob.submit(a, ALICE, ALICE_PW, ALICE, [BOB], sent)
    delivered = ob.wait_for_message(b, BOB, BOB_PW, subject.encode())
    assert len(delivered) == 1
    check_unchanged(delivered[0], sent)
    check_received_tls(delivered[0])
    check_dkim(delivered[0], dns)


def test_swaks_submissions_465_reaches_b_signed(hosts, dns):
    a, b = hosts
    subject = marker()
    sent = ob.message(subject, body=b"Hello via swaks.\r\n..two dots\r\n\r\nend\r\n")
    ob.swaks_submit(a, ALICE, ALICE_PW, ALICE, BOB, sent)
    delivered = ob.wait_for_message(b, BOB, BOB_PW, subject.encode())
    assert len(delivered) == 1
    check_unchanged(delivered[0], sent)
    check_received_tls(delivered[0])
    check_dkim(delivered[0], dns)


def test_remote_and_local_recipient_in_one_transaction(hosts):
    a, b = hosts
    subject = marker()
    sent = ob.message(subject, extra=f"Cc: <{ALICE2}>\r\n".encode())
    ob.submit(a, ALICE, ALICE_PW, ALICE, [BOB, ALICE2], sent)
    remote = ob.wait_for_message(b, BOB, BOB_PW, subject.encode())
    local = ob.wait_for_message(a, ALICE2, ALICE2_PW, subject.encode())
    assert len(remote) == 1 and len(local) == 1
    check_unchanged(remote[0], sent)
    assert local[0].endswith(vh.split_entity(sent)[1])
    # Once B has it, nothing is left pending in A's queue (the local copy never queued).
    ob.wait_until("no pending recipient in A's queue", lambda: not [
        rc for _, rc in ob.queue_recipients(a) if rc["state"] == "pending"])


def test_message_id_and_date_added(hosts):
    a, b = hosts
    subject = marker()
    sent = ob.message(subject, msgid=False, date=False)
    assert b"message-id" not in sent.lower() and b"\r\ndate:" not in sent.lower()
    ob.submit(a, ALICE, ALICE_PW, ALICE, [BOB], sent)
    delivered = ob.wait_for_message(b, BOB, BOB_PW, subject.encode())[0]
    header = vh.split_entity(delivered)[0]
    names = [n for n, _ in vh.header_lines(header)]
    assert names.count("message-id") == 1 and names.count("date") == 1, names
    msgid = vh.header_value(delivered, "Message-ID").decode()
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", msgid), msgid
    date = email.utils.parsedate_to_datetime(vh.header_value(delivered, "Date").decode())
    assert date.tzinfo is not None
    assert delivered.endswith(vh.split_entity(sent)[1])  # body unchanged
