# SPDX-License-Identifier: AGPL-3.0-or-later
"""What A's queue does when a message cannot be delivered to B: retry, delay notices,
bounces (DSNs, RFC 3464 in RFC 3462 multipart/report) to the local sender.

Hosts as in test_outbound_delivery.py: A (a.test, 127.0.0.2), B (b.test, 127.0.0.3),
and a dnsmasq of this suite's own that also serves a null MX (nullmx.test, RFC 7505);
any other name under .test is NXDOMAIN.

Implementation notes
- "B down" is a port on 127.0.0.3 that is bound but not listening (ReservedPort): A's
  connections are refused and no other process can take the port before B starts on it.
- DSNs are read from alice's INBOX over IMAP and parsed with Python's email package.
- Immediate bounces are told apart from expiry by a queue schedule under which only an
  immediate bounce can happen within the wait: first retry after 600 s, lifetime 3600 s.
- No timing assertions: every wait polls up to VALV_DELIVERY_TIMEOUT.
"""

import re
import time
import uuid

import pytest

import outbound as ob
import valvharness as vh
from outbound import ALICE, ALICE_PW, BOB, BOB_PW

NULLMX_DOMAIN = "nullmx.test"
NXDOMAIN_DOMAIN = "nxdomain.test"


@pytest.fixture(scope="module")
def dns(tmp_path_factory):
    ob.require_outbound(None)
    d = ob.dns_server(tmp_path_factory, "outbound_failures")
    ob.publish_hosts(d)
    d.null_mx(NULLMX_DOMAIN)
    d.start()
    # The fixture itself: what the immediate-bounce cases rely on is really served.
    assert d.query(NULLMX_DOMAIN, "MX") == ("NOERROR", [(0, "")])
    assert d.query(NXDOMAIN_DOMAIN, "MX")[0] == "NXDOMAIN"
    assert d.query(ob.B_MX, "A") == ("NOERROR", [ob.B_IP])
    yield d
    d.stop()


def subject_for(case):
    return f"{case}-{uuid.uuid4().hex[:10]}"


def pending_for(srv, rcpt):
    return [(e, rc) for e, rc in ob.queue_recipients(srv)
            if rc["address"].lower() == rcpt.lower() and rc["state"] == "pending"]


def check_dsn_structure(d: ob.Dsn, rcpt, action, subject):
    assert d.types[0] == "text/plain", d.types
    assert d.types[1] == "message/delivery-status", d.types
    assert len(d.types) == 3 and d.types[2] in ("message/rfc822", "text/rfc822-headers"), d.types
    r = d.recipient(rcpt)
    assert r is not None, d.describe()
    assert ob.unfold(r["Action"]).lower() == action, d.describe()
    assert re.fullmatch(r"rfc822\s*;\s*" + re.escape(rcpt), ob.unfold(r["Final-Recipient"]),
                        re.I), r["Final-Recipient"]
    assert re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", ob.unfold(r["Status"])), r["Status"]
    assert d.original_subject() == subject
    assert ob.unfold(d.per_message.get("Reporting-MTA")), d.describe()
    return r


def test_b_down_then_up_delivered_once(valv, dns):
    """Refused connections are retried (attempts grow, last_error set) until B is up."""
    b = ob.make_b(valv)
    port = ob.ReservedPort(ob.B_IP)
    a = ob.make_a(valv)
    a.extra_args += ob.host_args(dns, remote_port=port.port, retry_min=1, retry_max=2,
                                 lifetime=3600, delay_notice=0)
    a.start()
    subject = subject_for("down-then-up")
    ob.submit(a, ALICE, ALICE_PW, ALICE, [BOB], ob.message(subject))

    def retried():
        p = pending_for(a, BOB)
        return p if p and p[0][1]["attempts"] >= 2 and p[0][1]["last_error"] else None
    (entry, rc), = ob.wait_until("two failed attempts for bob in A's queue", retried)
    assert entry["sender"].lower() == ALICE
    assert entry["size"] > 0
    show = vh.valvctl(a.datadir, "queue", "show", entry["id"]).stdout
    assert BOB in show, show

    b.extra_args += ob.host_args(dns)
    b.start(["--smtp-port", port.release()])
    assert b.ports["smtp"] == port.port
    got = ob.wait_for_message(b, BOB, BOB_PW, subject.encode())
    ob.wait_until("an empty queue on A", lambda: ob.queue_list(a) == [] or None)
    time.sleep(3)  # a few more scans: a second copy would show up now
    got = [m for m in ob.inbox(b, BOB, BOB_PW) if subject.encode() in m]
    assert len(got) == 1, f"{len(got)} copies at B"
    assert not ob.dsns(a, ALICE, ALICE_PW), "DSN although the message was delivered"


def test_lifetime_expired_bounces(valv, dns):
    port = ob.ReservedPort(ob.B_IP)  # B never comes up
    a = ob.make_a(valv)
    a.extra_args += ob.host_args(dns, remote_port=port.port, retry_min=1, retry_max=2,
                                 lifetime=6, delay_notice=0)
    a.start()
    subject = subject_for("expired")
    ob.submit(a, ALICE, ALICE_PW, ALICE, [BOB], ob.message(subject))
    d = ob.wait_for_dsn(a, ALICE, ALICE_PW, ob.about(subject, BOB, "failed"),
                        f"a failed DSN for {subject}")
    check_dsn_structure(d, BOB, "failed", subject)
    assert not pending_for(a, BOB), ob.queue_list(a)
    port.release()


def test_delay_notice_then_delivery(valv, dns):
    b = ob.make_b(valv)
    port = ob.ReservedPort(ob.B_IP)
    a = ob.make_a(valv)
    a.extra_args += ob.host_args(dns, remote_port=port.port, retry_min=1, retry_max=2,
                                 lifetime=300, delay_notice=2)
    a.start()
    subject = subject_for("delayed")
    ob.submit(a, ALICE, ALICE_PW, ALICE, [BOB], ob.message(subject))
    d = ob.wait_for_dsn(a, ALICE, ALICE_PW, ob.about(subject, BOB, "delayed"),
                        f"a delayed DSN for {subject}")
    check_dsn_structure(d, BOB, "delayed", subject)
    assert pending_for(a, BOB), "a delayed message must still be queued"

    b.extra_args += ob.host_args(dns)
    b.start(["--smtp-port", port.release()])
    ob.wait_for_message(b, BOB, BOB_PW, subject.encode())
    ob.wait_until("an empty queue on A", lambda: ob.queue_list(a) == [] or None)
    notices = [Dsn for _, m in ob.dsns(a, ALICE, ALICE_PW) for Dsn in [ob.Dsn(m)]]
    delayed = [x for x in notices if ob.about(subject, BOB, "delayed")(x)]
    failed = [x for x in notices if ob.about(subject, BOB, "failed")(x)]
    assert len(delayed) == 1, f"{len(delayed)} delayed notices (once is the rule)"
    assert not failed


@pytest.fixture(scope="module")
def patient_pair(dns, module_valv):
    """A with a schedule under which only an immediate bounce can come within the wait."""
    b = ob.make_b(module_valv)
    b.extra_args += ob.host_args(dns)
    b.start()
    a = ob.make_a(module_valv)
    a.extra_args += ob.host_args(dns, remote_port=b.ports["smtp"], retry_min=600,
                                 retry_max=600, lifetime=3600, delay_notice=0)
    a.start()
    return a, b


def b_reply_to_rcpt(b, rcpt):
    """What B itself answers to RCPT TO:<rcpt> (asked by the test, not through A)."""
    s = b.smtp(helo="probe.a.test")
    try:
        code, _ = s.mail(ALICE)
        assert code == 250
        return s.rcpt(rcpt)
    finally:
        ob.quit_quietly(s)


@pytest.mark.parametrize("case", ["null_mx", "nxdomain", "rcpt_5xx"])
def test_immediate_bounce(patient_pair, case):
    a, b = patient_pair
    rcpt = {"null_mx": f"someone@{NULLMX_DOMAIN}", "nxdomain": f"someone@{NXDOMAIN_DOMAIN}",
            "rcpt_5xx": f"nobody@{ob.B_DOMAIN}"}[case]
    subject = subject_for(case)
    ob.submit(a, ALICE, ALICE_PW, ALICE, [rcpt], ob.message(subject, to=rcpt))
    d = ob.wait_for_dsn(a, ALICE, ALICE_PW, ob.about(subject, rcpt, "failed"),
                        f"an immediate failed DSN for {rcpt}")
    r = check_dsn_structure(d, rcpt, "failed", subject)
    assert ob.unfold(r["Status"]).startswith("5."), r["Status"]
    assert not pending_for(a, rcpt), ob.queue_list(a)
    if case == "rcpt_5xx":
        code, text = b_reply_to_rcpt(b, rcpt)
        assert 500 <= code < 600, (code, text)
        diag = ob.unfold(r["Diagnostic-Code"])
        assert re.match(r"smtp\s*;", diag, re.I), diag
        assert str(code) in diag, diag
        assert ob.unfold(text.decode()) in diag, (diag, text)


def test_queue_retry_and_delete(valv, dns):
    """valvctl queue delete drops a message; queue retry sends one long before its turn."""
    b = ob.make_b(valv)
    port = ob.ReservedPort(ob.B_IP)
    a = ob.make_a(valv)
    # First retry only after 600 s: within the wait below only `queue retry` can send.
    a.extra_args += ob.host_args(dns, remote_port=port.port, retry_min=600, retry_max=600,
                                 lifetime=3600, delay_notice=0)
    a.start()
    keep, drop = subject_for("retried"), subject_for("deleted")
    ob.submit(a, ALICE, ALICE_PW, ALICE, [BOB], ob.message(keep))
    ob.submit(a, ALICE, ALICE_PW, ALICE, [BOB], ob.message(drop))

    def both_tried():
        p = pending_for(a, BOB)
        return p if len(p) == 2 and all(rc["attempts"] >= 1 for _, rc in p) else None
    entries = [e for e, _ in ob.wait_until("a first failed attempt for both", both_tried)]
    shown = {e["id"]: vh.valvctl(a.datadir, "queue", "show", e["id"]).stdout for e in entries}
    ids = {}
    for subject in (keep, drop):
        match = [i for i, text in shown.items() if subject in text]
        assert len(match) == 1, (subject, shown)
        ids[subject] = match[0]
    vh.valvctl(a.datadir, "queue", "delete", ids[drop])
    assert [e["id"] for e in ob.queue_list(a)] == [ids[keep]]

    b.extra_args += ob.host_args(dns)
    b.start(["--smtp-port", port.release()])
    vh.valvctl(a.datadir, "queue", "retry", ids[keep])
    ob.wait_for_message(b, BOB, BOB_PW, keep.encode())
    ob.wait_until("an empty queue on A", lambda: ob.queue_list(a) == [] or None)
    time.sleep(3)
    assert not [m for m in ob.inbox(b, BOB, BOB_PW) if drop.encode() in m]
    assert not ob.dsns(a, ALICE, ALICE_PW)
