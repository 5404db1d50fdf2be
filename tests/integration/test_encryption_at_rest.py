# SPDX-License-Identifier: AGPL-3.0-or-later
"""Encryption at rest: no plaintext of a message or its addresses anywhere in the data dir.

Markers go into the subject, the body, an attachment (decoded form), the envelope
sender, the recipient address and the HELO name. Every file under the data dir
(config.db, mail/*.db, -wal/-shm/-journal, anything else) is scanned while valvd runs
and again after it stopped. The markers must still come back through IMAP, so the
test cannot pass by losing the message.
"""

import base64
import os
import smtplib
import stat
import uuid

import pytest

import valvharness as vh
from conftest import STANDARD_DOMAINS


def variants(name, marker: bytes):
    """Encodings a careless store might use for a marker."""
    out = {name: marker}
    text = marker.decode()
    out[name + "/utf-16-le"] = text.encode("utf-16-le")
    out[name + "/utf-16-be"] = text.encode("utf-16-be")
    for shift in range(3):  # base64 of the marker at every alignment, inner stable part
        enc = base64.b64encode(b"\0" * shift + marker)
        out[f"{name}/base64+{shift}"] = enc[4:-4]
    out[name + "/hex"] = marker.hex().encode()
    return out


def scan(datadir, needles):
    """[(relative path, needle name)] for every hit, case-insensitive."""
    hits = []
    files = [p for p in datadir.rglob("*") if p.is_file()]
    for p in files:
        try:
            data = p.read_bytes().lower()
        except FileNotFoundError:  # a -journal that vanished between listing and reading
            continue
        for name, needle in needles.items():
            if needle.lower() in data:
                hits.append((str(p.relative_to(datadir)), name))
    return hits, files


@pytest.fixture
def marked(valv):
    h = uuid.uuid4().hex[:16]
    m = {
        "subject": f"SubjMark{h}".encode(),
        "body": f"BodyMark{h}".encode(),
        "attachment": f"AttachMark{h}".encode(),
        "sender": f"sndmark{h}".encode(),
        "recipient": f"rcptmark{h}".encode(),
        "helo": f"helomark{h}".encode(),
    }
    rcpt = m["recipient"].decode() + "@example.org"
    pw = "Rcpt-pass-" + h
    srv = valv.server(users={rcpt: pw}, domains=STANDARD_DOMAINS, aliases=())
    attachment = base64.encodebytes(b"attachment text " + m["attachment"] + b" end\n")
    sender = m["sender"].decode() + "@outside.test"
    data = (b"From: Marker Sender <" + sender.encode() + b">\r\n"
            b"To: <" + rcpt.encode() + b">\r\n"
            b"Subject: Quarterly " + m["subject"] + b" figures\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"mk\"\r\n\r\n"
            b"--mk\r\nContent-Type: text/plain\r\n\r\n"
            b"Dear reader, " + m["body"] + b" is the secret.\r\n"
            b"--mk\r\nContent-Type: text/plain; name=\"a.txt\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" +
            attachment.replace(b"\n", b"\r\n") + b"--mk--\r\n")
    s = smtplib.SMTP(vh.HOST, srv.ports["smtp"], local_hostname=m["helo"].decode() + ".test",
                     timeout=vh.IO_TIMEOUT)
    try:
        assert not s.sendmail(sender, [rcpt], data)
    finally:
        s.quit()
    return srv, m, rcpt, pw, data


def needles_for(m):
    out = {}
    for k, v in m.items():
        out.update(variants(k, v) if k == "subject" else {k: v})
    return out


def check_through_imap(srv, m, rcpt, pw, data):
    with srv.login(rcpt, pw) as im:
        vh.select(im, "INBOX")
        stored = vh.fetch_one(im, 1, "(BODY.PEEK[])")["BODY[]"]
        assert vh.strip_trace(stored)[1] == data
        for k in ("subject", "body", "sender", "recipient"):
            assert m[k] in stored, f"{k} marker not readable through IMAP"
        att = vh.fetch_one(im, 1, "(BODY.PEEK[2])")["BODY[2]"]
        assert m["attachment"] in base64.b64decode(att)
        # Make the store write more: flags, a second read.
        assert im.store("1", "+FLAGS", r"(\Flagged)")[0] == "OK"
        vh.fetch_one(im, 1, "(BODY[] ENVELOPE BODYSTRUCTURE)")


def test_no_plaintext_in_datadir(marked):
    srv, m, rcpt, pw, data = marked
    check_through_imap(srv, m, rcpt, pw, data)
    needles = needles_for(m)

    hits, files = scan(srv.datadir, needles)
    names = sorted(str(p.relative_to(srv.datadir)) for p in files)
    assert "config.db" in names, names
    assert any(n.startswith("mail" + os.sep) for n in names), f"no mail/ store: {names}"
    assert not hits, f"plaintext while running: {hits}"

    srv.stop()
    hits, files = scan(srv.datadir, needles)
    assert not hits, f"plaintext after stop: {hits}"

    # SQLCipher encrypts the header too: a plain "SQLite format 3" file is unencrypted.
    for p in files:
        if p.suffix == ".db":
            with open(p, "rb") as f:
                assert f.read(16) != b"SQLite format 3\x00", f"{p} is a plaintext SQLite db"

    # Still readable after a restart (the key works), and still no plaintext.
    srv.start()
    check_through_imap(srv, m, rcpt, pw, data)
    hits, _ = scan(srv.datadir, needles)
    assert not hits, f"plaintext after restart: {hits}"


def test_scan_would_find_plaintext(tmp_path):
    """Self-check of the scanner: a plaintext file with the markers is caught."""
    m = {"subject": b"SubjMarkSelfTest01", "body": b"BodyMarkSelfTest01"}
    (tmp_path / "x.db").write_bytes(b"junk " + m["body"] + b" junk")
    (tmp_path / "y-wal").write_bytes("Quarterly SubjMarkSelfTest01".encode("utf-16-le"))
    (tmp_path / "z").write_bytes(base64.b64encode(b"Subject: SubjMarkSelfTest01 x"))
    hits, _ = scan(tmp_path, needles_for(m))
    kinds = {n for _, n in hits}
    assert "body" in kinds and "subject/utf-16-le" in kinds
    assert any(k.startswith("subject/base64") for k in kinds), kinds


def test_secret_files_not_world_readable(marked):
    srv = marked[0]
    for rel in ("master.key", "tls/key.pem"):
        mode = stat.S_IMODE(os.stat(srv.datadir / rel).st_mode)
        assert mode & 0o077 == 0, f"{rel} has mode {oct(mode)}"
