# SPDX-License-Identifier: AGPL-3.0-or-later
"""SMTP in (smtplib, swaks) -> IMAP out (imaplib), byte-exact, for real-world shapes.

Each delivery carries a unique X-Valv-Test-Id header so the test finds its own
message; the stored message must be Return-Path + Received + exactly the bytes sent.
"""

import base64
import datetime
import imaplib
import random
import uuid

import pytest

import valvharness as vh
from conftest import ALICE, ALICE_PW


def large_message():
    """~5 MB multipart/mixed with a seeded pseudo-random base64 attachment."""
    rng = random.Random(5_000_000)
    payload = rng.randbytes(3_850_000)
    b64 = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    head = (b"From: Archive Bot <archive@outside.test>\r\n"
            b"To: Alice <alice@example.org>\r\n"
            b"Subject: Big attachment (5 MB)\r\n"
            b"Date: Sun, 22 Nov 2026 03:00:00 +0000\r\n"
            b"Message-ID: <large-5mb-1@outside.test>\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"=_big_boundary_01\"\r\n"
            b"\r\n"
            b"--=_big_boundary_01\r\n"
            b"Content-Type: text/plain; charset=us-ascii\r\n"
            b"\r\n"
            b"The backup archive is attached.\r\n"
            b"--=_big_boundary_01\r\n"
            b"Content-Type: application/octet-stream; name=\"backup.bin\"\r\n"
            b"Content-Disposition: attachment; filename=\"backup.bin\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"\r\n")
    data = head + b64 + b"--=_big_boundary_01--\r\n"
    assert len(data) >= 5 * 1024 * 1024
    return data


class Case:
    def __init__(self, name, load, sender, *, options=(), swaks=True, shape, parts=(),
                 filenames=(), encodings=None):
        self.name = name
        self.load = load
        self.sender = sender
        self.options = list(options)  # smtplib mail_options
        self.swaks = swaks
        self.shape = shape  # expected bs_shape()
        self.parts = parts  # BODY[n] sections checked byte-exact
        self.filenames = filenames
        self.encodings = encodings or {}  # {part index path: 'BASE64'}


CASES = [
    Case("plain-ascii", lambda: vh.load_message("plain-ascii.eml"), "sender@outside.test",
         shape="TEXT/PLAIN", parts=("1",)),
    Case("multipart-alternative", lambda: vh.load_message("multipart-alternative.eml"),
         "news@shop.outside.test",
         shape="MULTIPART/ALTERNATIVE(TEXT/PLAIN,TEXT/HTML)", parts=("1", "2")),
    Case("multipart-mixed-attachment",
         lambda: vh.load_message("multipart-mixed-attachment.eml"),
         "bob.builder@partner.outside.test",
         shape="MULTIPART/MIXED(MULTIPART/ALTERNATIVE(TEXT/PLAIN,TEXT/HTML),APPLICATION/PDF)",
         parts=("1", "1.1", "1.2", "2"), filenames=("q3-report.pdf",),
         encodings={(1,): "BASE64"}),
    Case("utf8-8bit", lambda: vh.load_message("utf8-8bit.eml"), "kim@outside.test",
         options=("BODY=8BITMIME",), shape="TEXT/PLAIN", parts=("1",),
         encodings={(): "8BIT"}),
    Case("rfc2047-headers", lambda: vh.load_message("rfc2047-headers.eml"),
         "jorg@sender.outside.test", shape="TEXT/PLAIN", parts=("1",)),
    # swaks 20201014 cannot send the SMTPUTF8 MAIL parameter.
    Case("smtputf8", lambda: vh.load_message("smtputf8.eml"), "jörg@münchen.outside.test",
         options=("SMTPUTF8", "BODY=8BITMIME"), swaks=False, shape="TEXT/PLAIN",
         parts=("1",)),
    Case("large-5mb", large_message, "archive@outside.test",
         shape="MULTIPART/MIXED(TEXT/PLAIN,APPLICATION/OCTET-STREAM)", parts=("1",),
         filenames=("backup.bin",), encodings={(1,): "BASE64"}),
]

# (client, case): swaks over STARTTLS for most, and once over cleartext.
PARAMS = [pytest.param("smtplib", c, id=f"smtplib-{c.name}") for c in CASES]
PARAMS += [pytest.param("swaks-tls", c, id=f"swaks-tls-{c.name}") for c in CASES if c.swaks]
PARAMS += [pytest.param("swaks", CASES[0], id="swaks-plain-ascii"),
           pytest.param("swaks", CASES[3], id="swaks-utf8-8bit")]


def deliver(server, client, case, data):
    if client == "smtplib":
        server.send(case.sender, [ALICE], data, mail_options=case.options)
    else:
        server.swaks(case.sender, ALICE, data, tls=(client == "swaks-tls"))


def _bs_part(bs, path):
    for i in path:
        bs = vh.bs_parts(bs)[i]
    return bs


@pytest.mark.parametrize("client,case", PARAMS)
def test_deliver_and_read_back(server, client, case):
    tid = uuid.uuid4().hex.encode()
    data = b"X-Valv-Test-Id: " + tid + b"\r\n" + case.load()
    deliver(server, client, case, data)

    with server.login(ALICE, ALICE_PW) as im:
        seq = vh.find_by_header(im, "X-Valv-Test-Id", tid)
        it = vh.fetch_one(im, seq, "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE "
                                   "BODY.PEEK[])")
        stored = it["BODY[]"]

        # Byte-exact: Return-Path + Received, then exactly what the client sent.
        trace, rest = vh.strip_trace(stored)
        expected_rp = b"Return-Path: <" + case.sender.encode("utf-8") + b">\r\n"
        assert trace.startswith(expected_rp), trace
        assert len(rest) == len(data), f"stored {len(rest)} bytes after trace, sent {len(data)}"
        assert rest == data
        assert int(it["RFC822.SIZE"]) == len(stored)

        # FLAGS: PEEK must not set \Seen. INTERNALDATE parses and is about now.
        assert isinstance(it["FLAGS"], list)
        assert b"\\Seen" not in it["FLAGS"]
        when = imaplib.Internaldate2tuple(b'INTERNALDATE "' + it["INTERNALDATE"] + b'"')
        assert when is not None, it["INTERNALDATE"]
        delta = abs(datetime.datetime(*when[:6]).timestamp() - datetime.datetime.now().timestamp())
        assert delta < 2 * 86400, f"INTERNALDATE {it['INTERNALDATE']!r} far from now"

        # ENVELOPE: subject as in the header (unfolded, not decoded), from mailbox/host.
        env = vh.envelope_fields(it["ENVELOPE"])
        hdr_subject = vh.header_value(data, "subject")
        assert vh.decode_words(env["subject"]) == vh.decode_words(hdr_subject)
        if hdr_subject.isascii():
            assert vh.collapse_ws(env["subject"]) == vh.collapse_ws(hdr_subject)
        from_hdr = vh.header_value(data, "from").decode("utf-8")
        addr = from_hdr[from_hdr.rindex("<") + 1:from_hdr.rindex(">")]
        mbox, host = addr.split("@")
        assert vh.s(env["from"][2]) == mbox and vh.s(env["from"][3]).lower() == host.lower(), \
            env["from"]
        name_hdr = from_hdr[:from_hdr.rindex("<")].strip().strip('"')
        assert vh.decode_words(env["from"][0]) == vh.decode_words(name_hdr)
        assert vh.s(env["message-id"]) == vh.s(vh.header_value(data, "message-id"))

        # BODYSTRUCTURE: the shape, filenames, and transfer encodings.
        bs = it["BODYSTRUCTURE"]
        assert vh.bs_shape(bs) == case.shape, f"BODYSTRUCTURE {bs!r}"
        for fn in case.filenames:
            assert fn in vh.bs_filenames(bs), f"{fn} not in BODYSTRUCTURE {bs!r}"
        for path, enc in case.encodings.items():
            assert vh.bs_encoding(_bs_part(bs, path)) == enc, bs

        # Sections, byte-exact, in one FETCH.
        off = len(trace) + 7
        secs = [f"BODY.PEEK[{p}]" for p in case.parts]
        secs += ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]", "BODY.PEEK[]<0.100>",
                 f"BODY.PEEK[]<{off}.100>"]
        it2 = vh.fetch_one(im, seq, "(" + " ".join(secs) + ")")
        for p in case.parts:
            assert it2[f"BODY[{p}]"] == vh.mime_part(data, p), f"BODY[{p}] differs"
        assert it2["BODY[HEADER.FIELDS (SUBJECT)]"] == vh.header_fields(data, "subject")
        assert it2["BODY[]<0>"] == stored[:100]
        assert it2[f"BODY[]<{off}>"] == stored[off:off + 100]

        # The same message by UID FETCH.
        uid = int(it["UID"])
        it3 = vh.fetch_one(im, uid, "(RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
                           uid=True)
        assert int(it3["RFC822.SIZE"]) == len(stored)
        assert it3["BODY[HEADER.FIELDS (MESSAGE-ID)]"] == vh.header_fields(data, "message-id")


def test_fetch_header_and_text_sections(server):
    """RFC822.HEADER / BODY[HEADER] / BODY[TEXT] / BODY[1.MIME] of a multipart message."""
    tid = uuid.uuid4().hex.encode()
    data = b"X-Valv-Test-Id: " + tid + b"\r\n" + vh.load_message("multipart-alternative.eml")
    server.send("news@shop.outside.test", [ALICE], data)
    with server.login(ALICE, ALICE_PW) as im:
        seq = vh.find_by_header(im, "X-Valv-Test-Id", tid)
        it = vh.fetch_one(im, seq, "(BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT] "
                                   "BODY.PEEK[2.MIME] RFC822.HEADER)")
        stored = it["BODY[]"]
        header, body = vh.split_entity(stored)
        assert it["BODY[HEADER]"] == header + b"\r\n"
        assert it["RFC822.HEADER"] == header + b"\r\n"
        assert it["BODY[TEXT]"] == body
        sep = b"--b1_alt_7f3a9c\r\n"
        html_mime = body.split(sep)[2]
        mime_hdr = vh.split_entity(html_mime)[0]
        # RFC 3501 leaves the trailing blank line of a .MIME section ambiguous; accept both.
        assert it["BODY[2.MIME]"] in (mime_hdr + b"\r\n", mime_hdr)


def test_default_folders(server):
    with server.login(ALICE, ALICE_PW) as im:
        typ, data = im.list()
        assert typ == "OK"
        names = set()
        for line in data:
            raw = line.decode("utf-8", "replace")
            name = raw.rsplit(" ", 1)[-1].strip('"')
            names.add(name)
        for want in ("INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"):
            assert want in names, f"{want} missing from LIST: {data!r}"
        for mbox in ("Sent", "Drafts", "Trash", "Junk", "Archive"):
            vh.select(im, mbox, readonly=True)


def test_noop_reports_new_mail(server):
    """A client idling in INBOX learns of a delivery through NOOP (untagged EXISTS)."""
    with server.login(ALICE, ALICE_PW) as im:
        before = vh.select(im, "INBOX")
        tid = uuid.uuid4().hex.encode()
        server.send("noop@outside.test", [ALICE],
                    b"Subject: noop\r\nX-Valv-Test-Id: " + tid + b"\r\n\r\nnew mail\r\n")
        exists = None
        for _ in range(20):  # bounded: delivery is committed before the 250
            typ, _ = im.noop()
            assert typ == "OK"
            got = im.untagged_responses.pop("EXISTS", None)
            if got:
                exists = int(got[-1])
                break
        assert exists == before + 1, f"NOOP reported EXISTS {exists}, expected {before + 1}"
        it = vh.fetch_one(im, exists, "(BODY.PEEK[HEADER.FIELDS (X-VALV-TEST-ID)])")
        assert tid in it["BODY[HEADER.FIELDS (X-VALV-TEST-ID)]"]
