# SPDX-License-Identifier: AGPL-3.0-or-later
"""Valv's DKIM signer (server/dkim) checked by an independent verifier, dkimpy.

The helper tests/unit/dkim/dkim_testsign generates an Ed25519 and an RSA-2048 key,
writes them as PKCS#8 PEM with their DNS TXT record text, reads them back, and signs
every message of the corpus below with both (relaxed/relaxed). dkimpy then verifies
each signature, looking the key up through a dnsfunc that serves the TXT records the
helper wrote: no network.

Implementation notes
- The corpus and the tampering are made here, from bytes this file writes; nothing
  expected comes from the signer.
- Both line-end forms are verified: the bytes as signed (dkimpy reads LF as CRLF) and
  the CRLF form that SMTP DATA carries.
- Tampering must make verification fail; relaxed-only changes (whitespace, folding,
  trailing blank lines) must not.
"""

import base64
import os
import re
import subprocess
import time

import dkim  # Debian python3-dkim (installer/deps.sh --test); missing fails the suite
import pytest

import valvharness as vh

DOMAIN = "example.org"
SELECTORS = {b"ed": "ed25519", b"rsa": "rsa"}
ALGORITHMS = [b"ed25519-sha256", b"rsa-sha256"]  # the order dkim_testsign prepends them


def crlf(s: bytes) -> bytes:
    return s.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


PLAIN = (b"From: Alice <alice@example.org>\n"
         b"To: Bob <bob@example.net>\n"
         b"Subject: Lunch\n"
         b"Date: Tue, 04 Jun 2024 12:00:00 +0200\n"
         b"Message-ID: <plain.1@example.org>\n"
         b"\n"
         b"Shall we meet at noon?\n")

MULTIPART = (b"From: Alice <alice@example.org>\n"
             b"To: bob@example.net\n"
             b"Subject: Report\n"
             b"Date: Tue, 04 Jun 2024 12:00:00 +0200\n"
             b"Message-ID: <mp.1@example.org>\n"
             b"MIME-Version: 1.0\n"
             b"Content-Type: multipart/mixed; boundary=\"=_b1\"\n"
             b"\n"
             b"This is a multi-part message in MIME format.\n"
             b"\n"
             b"--=_b1\n"
             b"Content-Type: text/plain; charset=utf-8\n"
             b"Content-Transfer-Encoding: 8bit\n"
             b"\n"
             b"H\xc3\xa4r \xc3\xa4r rapporten.   \t\n"
             b"\n"
             b"--=_b1\n"
             b"Content-Type: application/octet-stream; name=\"data.bin\"\n"
             b"Content-Transfer-Encoding: base64\n"
             b"Content-Disposition: attachment; filename=\"data.bin\"\n"
             b"\n"
             + base64.encodebytes(bytes(range(256)) * 4)
             + b"\n--=_b1--\n"
             b"epilogue\n")

CORPUS = {
    "plain_crlf.eml": crlf(PLAIN),
    "plain_lf.eml": PLAIN,
    "folded_headers.eml": crlf(
        b"From: \"Alice Example\"\n\t<alice@example.org>\n"
        b"To: bob@example.net,\n   carol@example.net,\n\tdave@example.net\n"
        # WSP before the colon (RFC 5322 §4.5.x obs syntax, RFC 6376 §3.4.2 removes it) is
        # left out: dkimpy refuses such a field while parsing, before any DKIM check.
        b"Cc:   eve@example.net  \n"
        b"Subject:  A   subject\n \tthat is\n folded  \t \n"
        b"Date: Tue, 04 Jun 2024 12:00:00 +0200\n"
        b"Message-ID: <folded.1@example.org>\n"
        b"References: <a.1@example.net>\n <b.2@example.net>\n <c.3@example.net>\n"
        b"In-Reply-To: <c.3@example.net>\n"
        b"\n"
        b"Body  with \t inner   whitespace.\n"),
    "trailing_blank_lines.eml": crlf(
        b"From: alice@example.org\nTo: bob@example.net\nSubject: blank lines\n\n"
        b"line one   \n\n\nline four\t\n\n\n\n\n"),
    "utf8_headers.eml": crlf(
        "From: Åsa Öberg <asa@example.org>\n"
        "To: Jürgen <juergen@example.net>\n"
        "Subject: Grüße från Malmö — 日本語\n"
        "Date: Tue, 04 Jun 2024 12:00:00 +0200\n"
        "Message-ID: <utf8.1@example.org>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n"
        "\n"
        "Hej Jürgen, smörgåsbord!\n".encode("utf-8")),
    "multipart_crlf.eml": crlf(MULTIPART),
    "multipart_lf.eml": MULTIPART,
    "empty_body.eml": crlf(b"From: alice@example.org\nTo: bob@example.net\nSubject: empty\n\n"),
    "header_only.eml": crlf(b"From: alice@example.org\nTo: bob@example.net\nSubject: no body"),
    "no_final_newline.eml": crlf(b"From: alice@example.org\nSubject: x\n\nlast line"),
    "list_and_repeats.eml": crlf(
        b"Received: from a by b; Tue, 04 Jun 2024 12:00:00 +0200\n"
        b"Received: from c by d; Tue, 04 Jun 2024 12:00:01 +0200\n"
        b"From: list@example.org\n"
        b"Reply-To: list@example.org\n"
        b"To: members@example.org\n"
        b"Cc: one@example.net\n"
        b"Cc: two@example.net\n"
        b"Subject: [list] news\n"
        b"List-Id: <news.example.org>\n"
        b"List-Unsubscribe: <mailto:leave@example.org>\n"
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
        b"X-Custom: not signed\n"
        b"\n"
        b"News.\n"),
    "long_lines.eml": crlf(
        b"From: alice@example.org\n"
        b"Subject: " + b"long " * 150 + b"\n"
        b"\n" + b"x" * 990 + b"\n"),
    "no_from.eml": crlf(b"To: bob@example.net\nSubject: who?\n\nNobody.\n"),
}
REFUSED = {"no_from.eml"}


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    work = tmp_path_factory.mktemp("dkim")
    (work / "in").mkdir()
    for name, data in CORPUS.items():
        (work / "in" / name).write_bytes(data)
    tool = vh.build_dir() / "tests" / "unit" / "dkim" / "dkim_testsign"
    if not os.access(tool, os.X_OK):
        pytest.fail(f"missing {tool}: build the dkim_testsign target")
    run = subprocess.run([str(tool), str(work), DOMAIN, str(int(time.time()))],
                         capture_output=True, timeout=300)
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    assert run.stdout.decode().strip() == f"signed {len(CORPUS) - len(REFUSED)} messages"
    return work


@pytest.fixture(scope="module")
def txt(signed):
    return {name: (signed / f"{name}.txt").read_bytes() for name in ("ed25519", "rsa")}


@pytest.fixture(scope="module")
def dnsfunc(txt):
    def lookup(name, timeout=5):
        sel, _, rest = name.partition(b"._domainkey.")
        assert rest == DOMAIN.encode() + b".", name  # only our own domain is ever asked
        return txt[SELECTORS[sel]]
    return lookup


def verify(message: bytes, idx: int, dnsfunc) -> bool:
    try:
        return dkim.DKIM(message).verify(idx=idx, dnsfunc=dnsfunc)
    except dkim.DKIMException:
        return False


def signature_fields(message: bytes):
    head = message.split(b"\r\n\r\n" if b"\r\n\r\n" in message else b"\n\n", 1)[0]
    unfolded = re.sub(rb"\r?\n[ \t]", b" ", head)
    return [line for line in re.split(rb"\r?\n", unfolded)
            if line.lower().startswith(b"dkim-signature:")]


def tags(field: bytes):
    value = field.split(b":", 1)[1]
    return {k.strip(): re.sub(rb"\s", b"", v)
            for k, _, v in (t.partition(b"=") for t in value.split(b";")) if k.strip()}


def test_keys_and_txt_records(signed, txt):
    for name in ("ed25519", "rsa"):
        pem = (signed / f"{name}.pem").read_bytes()
        assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")  # PKCS#8
    ed = dict(t.strip().split(b"=", 1) for t in txt["ed25519"].split(b";"))
    assert ed[b"v"] == b"DKIM1" and ed[b"k"] == b"ed25519"
    assert len(base64.b64decode(ed[b"p"], validate=True)) == 32  # RFC 8463 §4.2: raw key
    rsa = dict(t.strip().split(b"=", 1) for t in txt["rsa"].split(b";"))
    assert rsa[b"v"] == b"DKIM1" and rsa[b"k"] == b"rsa"
    pub = dkim.crypto.parse_public_key(base64.b64decode(rsa[b"p"], validate=True))
    assert pub["modulus"].bit_length() == 2048


def test_refused_message_gets_error(signed):
    for name in REFUSED:
        assert not (signed / "out" / name).exists()
        assert (signed / "out" / f"{name}.error").read_bytes()


@pytest.mark.parametrize("name", sorted(set(CORPUS) - REFUSED))
def test_dkimpy_verifies_both_signatures(signed, dnsfunc, name):
    message = (signed / "out" / name).read_bytes()
    assert message.endswith(CORPUS[name])  # the signer prepends and changes nothing
    fields = signature_fields(message)
    assert [tags(f)[b"a"] for f in fields] == ALGORITHMS
    for f in fields:
        t = tags(f)
        assert t[b"c"] == b"relaxed/relaxed" and t[b"d"] == DOMAIN.encode()
        froms = [line for line in re.split(rb"\r?\n", re.split(rb"\r?\n\r?\n", CORPUS[name], maxsplit=1)[0])
                 if line.lower().startswith(b"from:")]
        assert t[b"h"].split(b":").count(b"from") == len(froms) + 1  # oversigned
    for line in re.split(rb"\r?\n", message[:len(message) - len(CORPUS[name])]):
        assert len(line) <= 78, line
    for form in {message, crlf(message)}:
        for idx in range(len(ALGORITHMS)):
            assert verify(form, idx, dnsfunc), (name, idx, form is message)
        assert dkim.verify(form, dnsfunc=dnsfunc)


@pytest.mark.parametrize("name", ["plain_crlf.eml", "utf8_headers.eml", "multipart_crlf.eml"])
def test_body_hash_equals_dkimpys(signed, name):
    """dkimpy signs the same message with our Ed25519 key read from our PEM: same bh=."""
    pem = (signed / "ed25519.pem").read_bytes()
    der = base64.b64decode(b"".join(pem.splitlines()[1:-1]))
    assert len(der) == 48 and der.startswith(bytes.fromhex("302e020100300506032b657004220420"))
    seed = base64.b64encode(der[-32:])
    theirs = dkim.sign(CORPUS[name], b"ed", DOMAIN.encode(), seed,
                       canonicalize=(b"relaxed", b"relaxed"),
                       signature_algorithm=b"ed25519-sha256")
    ours = (signed / "out" / name).read_bytes()
    assert tags(signature_fields(theirs)[0])[b"bh"] == tags(signature_fields(ours)[0])[b"bh"]


def tampered(message: bytes):
    """(description, modified message, still valid?)"""
    head, sep, body = message.partition(b"\r\n\r\n")
    yield "body word changed", message.replace(b"noon", b"nine"), False
    yield "body line appended", message + b"P.S. send money\r\n", False
    yield "subject changed", message.replace(b"Subject: Lunch", b"Subject: Lunch!"), False
    yield "to changed", message.replace(b"To: Bob <bob@", b"To: Eve <bob@"), False
    yield "second From added", head + b"\r\nFrom: mallory@example.com" + sep + body, False
    yield "From added on top", b"From: mallory@example.com\r\n" + message, False
    # h= names each signed field once per occurrence, picked bottom-up (RFC 6376 §5.4.2):
    # a To added below the signed one takes its place in the hash; one added above is
    # outside the signature, as is a field of a name absent when signing (only From is
    # oversigned).
    yield "To added below", head + b"\r\nTo: mallory@example.com" + sep + body, False
    yield "To added above", b"To: mallory@example.com\r\n" + message, True
    yield "absent Cc added", head + b"\r\nCc: mallory@example.com" + sep + body, True
    yield "relaxed: trailing blank lines", message + b"\r\n\r\n", True
    yield "relaxed: whitespace", message.replace(b"at noon?", b"at   noon?  \t"), True
    yield "relaxed: refolded subject", message.replace(b"Subject: Lunch", b"subject:\r\n\tLunch  "), True
    yield "unsigned header added", head + b"\r\nX-Spam-Score: 0" + sep + body, True


@pytest.mark.parametrize("case", [c[0] for c in tampered(crlf(PLAIN))])
def test_tampering_detected(signed, dnsfunc, case):
    message = (signed / "out" / "plain_crlf.eml").read_bytes()
    assert verify(message, 0, dnsfunc) and verify(message, 1, dnsfunc)
    modified, valid = next((m, v) for c, m, v in tampered(message) if c == case)
    assert modified != message
    for idx in range(len(ALGORITHMS)):
        assert verify(modified, idx, dnsfunc) is valid, (case, idx)


def test_wrong_key_fails(signed, txt):
    """The Ed25519 record served for the RSA selector and vice versa: both fail."""
    message = (signed / "out" / "plain_crlf.eml").read_bytes()
    swapped = {b"ed": txt["rsa"], b"rsa": txt["ed25519"]}
    def lookup(name, timeout=5):
        return swapped[name.partition(b"._domainkey.")[0]]
    for idx in range(len(ALGORITHMS)):
        try:
            ok = dkim.DKIM(message).verify(idx=idx, dnsfunc=lookup)
        except Exception:  # dkimpy lets nacl's "must be 64 bytes" through for an RSA b=
            ok = False
        assert not ok
