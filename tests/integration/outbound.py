# SPDX-License-Identifier: AGPL-3.0-or-later
"""Shared pieces of the outbound (sending) suites: two hosts, DNS, submission, DSNs.

Host A (127.0.0.2) serves a.test, host B (127.0.0.3) serves b.test; a dnsmasq of the
suite's own (dnsfixture.ADDRESSES) serves their MX/A/TXT records. A valvd started here
always gets --dns-resolver (never the system resolver) and, when it sends, a
--remote-smtp-port that is B's SMTP port: MX hosts are reached on that port.

Implementation notes
- B's port is chosen before B runs when a test needs B down first: ReservedPort binds
  a TCP socket on B's address without listening, so connections are refused and no
  other process can take the port; it is released just before B starts on it.
- Everything that waits polls with a generous upper bound (VALV_DELIVERY_TIMEOUT) and
  never asserts on how long something took.
- DSNs are parsed with Python's email package, not with anything from the server.
"""

import email
import email.policy
import json
import os
import re
import smtplib
import socket
import subprocess
import time

import pytest

import dnsfixture
import valvharness as vh

A_IP = "127.0.0.2"
B_IP = "127.0.0.3"
A_DOMAIN = "a.test"
B_DOMAIN = "b.test"
A_MX = "mx.a.test"
B_MX = "mx.b.test"
ALICE = "alice@a.test"
ALICE_PW = "alice-Outbound-41"
ALICE2 = "alice2@a.test"
ALICE2_PW = "alice2-Outbound-42"
CAROL = "carol@a.test"
CAROL_PW = "carol-Outbound-43"
BOB = "bob@b.test"
BOB_PW = "bob-Outbound-44"
SPF = "v=spf1 ip4:127.0.0.0/8 -all"

DELIVERY_TIMEOUT = float(os.environ.get("VALV_DELIVERY_TIMEOUT", "180"))


def dns_server(tmp_path_factory, suite):
    """A DnsServer on the suite's own address (not started)."""
    return dnsfixture.DnsServer(tmp_path_factory.mktemp("dns"), dnsfixture.ADDRESSES[suite])


def publish_hosts(dns, with_a=True, with_b=True):
    """MX + A + SPF for a.test and b.test."""
    if with_a:
        dns.mx(A_DOMAIN, A_MX).a(A_MX, A_IP).txt(A_DOMAIN, SPF)
    if with_b:
        dns.mx(B_DOMAIN, B_MX).a(B_MX, B_IP).txt(B_DOMAIN, SPF)
    return dns


def dkim_records(srv, domain):
    """`valvctl domain dkim D --json` -> [{selector, name, type, value}]."""
    r = vh.valvctl(srv.datadir, "domain", "dkim", domain, "--json")
    records = json.loads(r.stdout)
    assert isinstance(records, list) and records, r.stdout
    return records


def publish_dkim(dns, srv, domain):
    records = dkim_records(srv, domain)
    for rec in records:
        assert rec["type"].upper() == "TXT", rec
        dns.txt(rec["name"], rec["value"])
    return records


class ReservedPort:
    """A TCP port on address that refuses connections until released."""

    def __init__(self, address):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((address, 0))
        self.port = self.sock.getsockname()[1]

    def release(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        return self.port


def host_args(dns, *, remote_port=None, scan=1, retry_min=None, retry_max=None,
              lifetime=None, delay_notice=None, extra=()):
    args = ["--dns-resolver", dns.address, "--queue-scan-interval", str(scan)]
    if remote_port is not None:
        args += ["--remote-smtp-port", str(remote_port)]
    for flag, v in (("--queue-retry-min", retry_min), ("--queue-retry-max", retry_max),
                    ("--queue-lifetime", lifetime), ("--queue-delay-notice", delay_notice)):
        if v is not None:
            args += [flag, str(v)]
    return args + [str(a) for a in extra]


def make_host(factory, ip, domain, users, *, aliases=(), start=False, extra_args=()):
    """An initialised host (hostname mx.<domain>) on ip; not started unless start."""
    srv = factory.server(host=ip, domains=(domain,), users=users, aliases=aliases,
                         hostname=f"mx.{domain}", start=start,
                         extra_args=["--hostname", f"mx.{domain}", *extra_args])
    srv.domain = domain
    return srv


def make_a(factory, *, aliases=(), extra_users=None):
    users = {ALICE: ALICE_PW, ALICE2: ALICE2_PW, CAROL: CAROL_PW}
    users.update(extra_users or {})
    return make_host(factory, A_IP, A_DOMAIN, users, aliases=aliases)


def make_b(factory):
    return make_host(factory, B_IP, B_DOMAIN, {BOB: BOB_PW})


# --------------------------------------------------------------------------- submission

def submission(srv, user=None, password=None, *, implicit=False, helo="laptop.a.test"):
    """smtplib session on 587 after STARTTLS (or on 465, implicit TLS), logged in if user."""
    if implicit:
        s = smtplib.SMTP_SSL(srv.host, srv.ports["submissions"], local_hostname=helo,
                             context=srv.ssl_context(), timeout=vh.IO_TIMEOUT)
        code, _ = s.ehlo()
        assert code == 250
    else:
        s = smtplib.SMTP(srv.host, srv.ports["submission"], local_hostname=helo,
                         timeout=vh.IO_TIMEOUT)
        code, _ = s.ehlo()
        assert code == 250
        code, msg = s.starttls(context=srv.ssl_context())
        assert code == 220, msg
        code, _ = s.ehlo()
        assert code == 250
    if user is not None:
        code, msg = s.login(user, password)
        assert code == 235, (code, msg)
    return s


def submit(srv, user, password, sender, rcpts, data, *, implicit=False):
    """Send with smtplib through submission; fail unless every recipient was accepted."""
    if isinstance(rcpts, str):
        rcpts = [rcpts]
    s = submission(srv, user, password, implicit=implicit)
    try:
        refused = s.sendmail(sender, rcpts, data)
        assert not refused, f"recipients refused: {refused}"
    finally:
        quit_quietly(s)


def quit_quietly(s):
    try:
        s.quit()
    except (smtplib.SMTPException, OSError):
        try:
            s.close()
        except OSError:
            pass


def swaks_submit(srv, user, password, sender, rcpt, data):
    """swaks on 465 (--tls-on-connect) with AUTH PLAIN; returns the transcript."""
    assert data.endswith(b"\r\n")
    assert b"\\n" not in data and not re.search(rb"%[A-Z_]+%", data)
    cmd = ["swaks", "--server", srv.host, "--port", str(srv.ports["submissions"]),
           "--tls-on-connect", "--tls-verify", "--tls-ca-path", srv.cafile,
           "--auth", "PLAIN", "--auth-user", user, "--auth-password", password,
           "--from", sender, "--to", rcpt, "--helo", "swaks.a.test",
           "--timeout", str(int(vh.IO_TIMEOUT)), "--suppress-data", "--data", "-"]
    r = subprocess.run(cmd, input=data[:-2], capture_output=True, timeout=vh.IO_TIMEOUT * 3)
    out = r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, f"swaks exited {r.returncode}:\n{out[-4000:]}"
    assert re.search(r"<~\s+235", out), out[-4000:]
    return out


# --------------------------------------------------------------------------- queue

def queue_list(srv):
    r = vh.valvctl(srv.datadir, "queue", "list", "--json")
    entries = json.loads(r.stdout)
    assert isinstance(entries, list), r.stdout
    return entries


def queue_recipients(srv):
    """[(entry, recipient)] over the whole queue."""
    return [(e, rc) for e in queue_list(srv) for rc in e["recipients"]]


# --------------------------------------------------------------------------- waiting

def wait_until(what, fn, timeout=None, interval=0.5):
    """fn() until it returns something truthy; that value. AssertionError after timeout."""
    deadline = time.monotonic() + (DELIVERY_TIMEOUT if timeout is None else timeout)
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {last!r}")
        time.sleep(interval)


def inbox(srv, user, password):
    """Every message of user's INBOX (full bytes), in order."""
    with srv.login(user, password) as im:
        msgs = vh.all_messages(im)
    return [msgs[k] for k in sorted(msgs)]


def inbox_header_values(srv, user, password, field):
    """[value of `field` or None] of every message in user's INBOX."""
    with srv.login(user, password) as im:
        n = vh.select(im, "INBOX")
        if not n:
            return []
        out = []
        for _, items in vh.fetch(im, "1:*", f"(BODY.PEEK[HEADER.FIELDS ({field})])"):
            hv = items.get(f"BODY[HEADER.FIELDS ({field.upper()})]")
            out.append(vh.header_value(hv, field) if hv is not None else None)
        return out


def wait_for_message(srv, user, password, marker: bytes, count=1, timeout=None):
    """The messages (bytes) of user's INBOX containing marker, once there are >= count."""
    def look():
        found = [m for m in inbox(srv, user, password) if marker in m]
        return found if len(found) >= count else None
    return wait_until(f"{count} message(s) with {marker!r} for {user} on {srv.host}",
                      look, timeout)


# --------------------------------------------------------------------------- DSNs

def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def is_dsn(msg):
    return (msg.get_content_type() == "multipart/report"
            and (msg.get_param("report-type") or "").lower() == "delivery-status")


def dsns(srv, user, password):
    """[(raw, parsed)] for every DSN (multipart/report; report-type=delivery-status)."""
    out = []
    for raw in inbox(srv, user, password):
        msg = parse(raw)
        if is_dsn(msg):
            out.append((raw, msg))
    return out


def unfold(v):
    return re.sub(r"\s+", " ", str(v or "")).strip()


class Dsn:
    """The parts of one DSN (RFC 3462 multipart/report, RFC 3464 delivery-status)."""

    def __init__(self, msg):
        assert is_dsn(msg), msg.get_content_type()
        self.msg = msg
        parts = msg.get_payload()
        assert isinstance(parts, list) and len(parts) >= 2, parts
        self.types = [p.get_content_type() for p in parts]
        self.text = parts[0]
        self.status = parts[1]
        self.original = parts[2] if len(parts) > 2 else None
        blocks = self.status.get_payload()
        assert isinstance(blocks, list) and blocks, \
            f"message/delivery-status has no fields: {self.status.as_string()[:2000]}"
        self.per_message = blocks[0]
        self.per_recipient = [b for b in blocks[1:] if b.get("Final-Recipient")
                              or b.get("Action")]

    def recipient(self, address):
        for b in self.per_recipient:
            fr = unfold(b.get("Final-Recipient"))
            if fr.split(";", 1)[-1].strip().lower() == address.lower():
                return b
        return None

    def original_subject(self):
        if self.original is None:
            return None
        if self.original.get_content_type() == "message/rfc822":
            inner = self.original.get_payload()
            inner = inner[0] if isinstance(inner, list) else inner
            return unfold(inner["Subject"]) if inner is not None else None
        # text/rfc822-headers
        text = (self.original.get_payload(decode=True) or b"").replace(b"\r\n", b"\n")
        value = vh.header_value(text.replace(b"\n", b"\r\n"), "Subject")
        return unfold(value.decode("utf-8", "replace")) if value is not None else None

    def describe(self):
        return self.msg.as_string()[:4000]


def wait_for_dsn(srv, user, password, predicate, what, timeout=None):
    """The first Dsn in user's INBOX for which predicate(Dsn) holds."""
    def look():
        for _, msg in dsns(srv, user, password):
            d = Dsn(msg)
            if predicate(d):
                return d
        return None
    return wait_until(what, look, timeout)


def about(subject, recipient, action):
    """DSN predicate: for recipient, with this Action, about the message with subject."""
    def pred(d):
        r = d.recipient(recipient)
        return (r is not None and unfold(r.get("Action")).lower() == action
                and d.original_subject() == subject)
    return pred


# --------------------------------------------------------------------------- messages

def message(subject, *, sender=ALICE, to=BOB, body=None, msgid=True, date=True, extra=b""):
    """A CRLF message; Message-ID and Date only when asked (default yes)."""
    tag = re.sub(r"\W", "", subject)
    hdr = (f"From: Alice <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n").encode()
    if date:
        hdr += b"Date: Tue, 04 Jun 2024 12:00:00 +0200\r\n"
    if msgid:
        hdr += f"Message-ID: <{tag}@a.test>\r\n".encode()
    hdr += extra
    if body is None:
        body = (f"Hello Bob,\r\n\r\nthis is {subject}.\r\n"
                f".a line that starts with a dot\r\n"
                f"trailing spaces   \r\n\r\n-- \r\nAlice\r\n").encode()
    return hdr + b"\r\n" + body


def require_outbound(srv):
    """Fail with a clear message when this valvd does not have the sending options yet."""
    r = subprocess.run([str(vh.valvd_path()), "--help"], capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    missing = [o for o in ("--dns-resolver", "--remote-smtp-port", "--submission-port",
                           "--queue-lifetime") if o.encode() not in r.stdout]
    if missing:
        pytest.fail(f"valvd has no {', '.join(missing)}: the sending side is not built",
                    pytrace=False)


# --------------------------------------------------------------------------- EHLO

def auth_advertised(features):
    """Mechanisms of the EHLO AUTH line (set), or None when AUTH is not offered."""
    for f in features:
        if f == "AUTH" or f.startswith("AUTH "):
            return set(f.split()[1:])
    return None
