# SPDX-License-Identifier: AGPL-3.0-or-later
"""SEARCH answered from the trigram index agrees with IMAP's substring semantics.

The expected answer is computed here, independently, with Python's email package:
a text key matches when the decoded header value (FROM/SUBJECT/...) or decoded text
body contains the needle case-insensitively (RFC 9051 §6.4.4). Needles of three or
more characters come from the index; shorter ones are answered by reading the
messages; both must give the same answers. Messages are indexed in batches after
they arrive; a search catches up first, and a restart keeps the index."""

import email
import email.header
import email.policy

import valvharness as vh
from conftest import ALICE, ALICE_PW

WORDS = ["invoice", "Invoices", "reinvoice", "Köln", "KÖLN", "Grüße", "straße", "naïve", "déjà vu",
         "quote\"d", "st*r", "alpha", "beta", "gamma", "delta", "x", "y"]


def make_message(i):
    w = WORDS[i % len(WORDS)]
    v = WORDS[(i * 7 + 3) % len(WORDS)]
    subject = email.header.Header(f"Subject {i} {v}", "utf-8").encode()
    if i % 3 == 0:
        body = (f"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                f"{w} number {i} and {v}\r\n").encode("latin-1", "replace")
        # a quoted-printable body whose bytes are Latin-1
        raw_body = body.replace(b"\xe9", b"=E9").replace(b"\xf6", b"=F6").replace(b"\xfc", b"=FC") \
            .replace(b"\xdf", b"=DF").replace(b"\xef", b"=EF").replace(b"\xe0", b"=E0").replace(b"\xd6", b"=D6")
        return (f"From: Sender {i} <s{i}@example.org>\r\nTo: a@example.test\r\nSubject: {subject}\r\n"
                "MIME-Version: 1.0\r\n").encode() + raw_body
    if i % 3 == 1:
        return (f"From: =?UTF-8?Q?J=C3=B6rg_{i}?= <j{i}@example.org>\r\nTo: b@example.test\r\n"
                f"Subject: {subject}\r\nMIME-Version: 1.0\r\n"
                "Content-Type: multipart/mixed; boundary=sep\r\n\r\n--sep\r\n"
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                f"{w} then {v}, part {i}\r\n--sep\r\n"
                "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                "aW52b2ljZSBoaWRkZW4=\r\n--sep--\r\n").encode()
    return (f"From: plain{i}@example.org\r\nTo: c@example.test\r\nSubject: {subject}\r\n"
            "Content-Type: text/html; charset=utf-8\r\n\r\n"
            f"<p>{w}</p><b>{v}</b> {i}\r\n").encode()


def decoded(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    body = []
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            body.append(part.get_content())
    return {"from": str(msg["From"]), "subject": str(msg["Subject"]), "body": "\n".join(body)}


def fold(s):
    # Simple (one-to-one) case folding, as the server does: "ß" does not become "ss".
    return s.lower()


def expected(messages, key, needle):
    n = fold(needle)
    return [uid for uid, d in messages.items() if n in fold(d[key])]


def uid_search(r, tag, key, needle):
    data = needle.encode()
    untagged, tagged = r.command(tag, b"UID SEARCH CHARSET UTF-8 " + key.encode() + b" {%d+}\r\n" % len(data) + data)
    assert tagged.startswith(tag + b" OK"), (key, needle, tagged)
    line = [u for u in untagged if u.startswith(b"* SEARCH")]
    assert len(line) == 1, untagged
    return sorted(int(x) for x in line[0].split()[2:])


def append_all(r, start, count):
    out = {}
    for i in range(start, start + count):
        raw = make_message(i)
        untagged, tagged = r.command(b"A", b"APPEND INBOX {%d+}\r\n" % len(raw) + raw)
        assert tagged.startswith(b"A OK"), tagged
        uid = int(tagged.split(b"APPENDUID ")[1].split(b" ")[1].rstrip(b"]"))
        out[uid] = decoded(raw)
    return out


NEEDLES = ["invoice", "INVOICE", "voice", "nvoi", "köln", "KÖLN", "grüße", "GRÜSSE", "straße", "ïve",
           "déjà", "quote\"d", "t*r", "st*", "number 1", "then beta", "part 2", "hidden", "html",
           "sender 1", "jörg", "JÖRG 4", "plain2", "example.org", "subject 1", "xy", "vo", "é", "zzz"]


def check_all(r, messages):
    tag = 0
    for needle in NEEDLES:
        for key, field in (("BODY", "body"), ("SUBJECT", "subject"), ("FROM", "from")):
            tag += 1
            got = uid_search(r, b"S%d" % tag, key, needle)
            want = expected(messages, field, needle)
            assert got == want, (key, needle, got, want)


def test_index_agrees_with_substring_semantics(valv):
    srv = valv.server()
    r = srv.raw_imap()
    _, tagged = r.command(b"L", f"LOGIN {ALICE} {ALICE_PW}".encode())
    assert tagged.startswith(b"L OK"), tagged
    # Fewer than a batch: the search itself indexes what waits.
    messages = append_all(r, 0, 5)
    _, tagged = r.command(b"S", b"SELECT INBOX")
    assert tagged.startswith(b"S OK"), tagged
    check_all(r, messages)
    # More than a batch, arriving while selected: indexed after their APPEND.
    messages.update(append_all(r, 5, 40))
    _, tagged = r.command(b"N", b"NOOP")
    check_all(r, messages)
    # TEXT covers headers and body.
    got = uid_search(r, b"T", "TEXT", "invoice")
    want = sorted(u for u, d in messages.items()
                  if any("invoice" in fold(d[k]) for k in ("from", "subject", "body")))
    assert got == want
    # Expunged messages leave the index.
    first = min(messages)
    _, tagged = r.command(b"D", f"UID STORE {first} +FLAGS.SILENT (\\Deleted)".encode())
    _, tagged = r.command(b"E", b"EXPUNGE")
    assert tagged.startswith(b"E OK"), tagged
    del messages[first]
    check_all(r, messages)
    r.close()

    # The index survives a restart.
    srv.stop()
    srv.start()
    r = srv.raw_imap()
    _, tagged = r.command(b"L", f"LOGIN {ALICE} {ALICE_PW}".encode())
    _, tagged = r.command(b"S", b"SELECT INBOX")
    assert tagged.startswith(b"S OK"), tagged
    check_all(r, messages)
    r.close()
