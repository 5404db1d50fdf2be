#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Writes the dkimpy-signed test messages for tests/unit/dkim/tst_dkimverify.cpp.

Run once with Debian's python (python3-dkim, python3-nacl, openssl on PATH):
    /usr/bin/python3 tests/data/dkim/make_vectors.py
and commit the output; the unit test reads the files and needs no Python. Every run makes
new keys, so all files change together.

Output, next to this script:
    <name>.eml   a message signed by dkimpy (d=example.com unless noted)
    keys.txt     "<selector>._domainkey.<domain> <TXT record text>" one a line
The script checks each signature with dkimpy before writing (the rsa-sha1 and 512-bit
ones with dkimpy's own minimum lowered), so a vector that dkimpy itself rejects is never
written.
"""
import base64
import os
import subprocess
import sys

import dkim
import nacl.signing

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN = b"example.com"

# Folded fields, WSP runs, trailing WSP, a Received trace, 8-bit text, trailing
# blank lines: canonicalization has something to do in every part.
MESSAGE = (
    b"Received: from mail.example.com (mail.example.com [192.0.2.1])\r\n"
    b"\tby mx.example.net with ESMTPS id 1234; Tue, 5 Mar 2024 10:00:00 +0000\r\n"
    b"From: Alice Example <alice@example.com>\r\n"
    b"To: Bob <bob@example.net>,\r\n"
    b"  Carol <carol@example.net>\r\n"
    b"Subject:  Lunch   on\r\n"
    b"\tTuesday?  \r\n"
    b"Date: Tue, 5 Mar 2024 10:00:00 +0000\r\n"
    b"Message-ID: <20240305100000.1234@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Hi Bob,  \r\n"
    b"\r\n"
    b"Lunch at the  caf\xc3\xa9\ton Tuesday?\t \r\n"
    b"  -- Alice\r\n"
    b"\r\n"
    b"\r\n"
)

# Headers dkimpy signs when not told otherwise (its DKIM.SHOULD list, From oversigned).
BASIC = [b"from", b"to", b"subject", b"date", b"message-id"]


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, check=True, capture_output=True).stdout


def rsa_key(bits):
    """A PKCS#1 PEM private key (what dkimpy reads) and the DER SubjectPublicKeyInfo."""
    pem = openssl("genrsa", "-traditional", str(bits))
    spki = openssl("rsa", "-pubout", "-outform", "DER", data=pem)
    pkcs1 = openssl("rsa", "-RSAPublicKey_out", "-outform", "DER", data=pem)
    return pem, spki, pkcs1


def main():
    records = {}
    keys = {}
    for bits in (512, 1024, 2048):
        pem, spki, pkcs1 = rsa_key(bits)
        sel = b"rsa%d" % bits
        keys[sel] = pem
        records[sel + b"._domainkey." + DOMAIN] = b"v=DKIM1; k=rsa; p=" + base64.b64encode(spki)
        if bits == 2048:
            # The same key published as a bare RSAPublicKey (RFC 4871 wording), and under a
            # second domain for the subdomain-identity vector.
            keys[b"pkcs1"] = pem
            records[b"pkcs1._domainkey." + DOMAIN] = b"v=DKIM1; k=rsa; p=" + base64.b64encode(pkcs1)
    seed = nacl.signing.SigningKey.generate()
    keys[b"ed"] = base64.b64encode(bytes(seed))
    records[b"ed._domainkey." + DOMAIN] = (b"v=DKIM1; k=ed25519; p="
                                           + base64.b64encode(bytes(seed.verify_key)))

    def dnsfunc(name, timeout=5):
        return records.get(name.rstrip(b"."))

    # name: (selector, canonicalization, extra sign() arguments)
    vectors = {
        "simple-simple-rsa2048": (b"rsa2048", (b"simple", b"simple"), {}),
        "relaxed-simple-rsa2048": (b"rsa2048", (b"relaxed", b"simple"), {}),
        "simple-relaxed-rsa2048": (b"rsa2048", (b"simple", b"relaxed"), {}),
        "relaxed-relaxed-rsa2048": (b"rsa2048", (b"relaxed", b"relaxed"), {}),
        "relaxed-relaxed-rsa1024": (b"rsa1024", (b"relaxed", b"relaxed"), {}),
        "simple-simple-ed25519": (b"ed", (b"simple", b"simple"), {}),
        "relaxed-relaxed-ed25519": (b"ed", (b"relaxed", b"relaxed"), {}),
        "length-relaxed-simple": (b"rsa2048", (b"relaxed", b"simple"), {"length": True}),
        "length-simple-relaxed": (b"ed", (b"simple", b"relaxed"), {"length": True}),
        "identity-subdomain": (b"rsa2048", (b"relaxed", b"relaxed"),
                               {"identity": b"alice@mail.example.com"}),
        "pkcs1-key": (b"pkcs1", (b"relaxed", b"relaxed"), {}),
        "not-oversigned": (b"rsa2048", (b"relaxed", b"relaxed"),
                           {"include_headers": BASIC + [b"reply-to"]}),
        "oversigned": (b"ed", (b"simple", b"simple"),
                       {"include_headers": BASIC + [b"from", b"subject", b"reply-to"]}),
        "rsa-sha1": (b"rsa2048", (b"relaxed", b"simple"), {"signature_algorithm": b"rsa-sha1"}),
        "short-key-rsa512": (b"rsa512", (b"relaxed", b"relaxed"), {}),
    }
    out = {}
    for name, (sel, canon, extra) in vectors.items():
        extra = dict(extra)
        alg = extra.pop("signature_algorithm", b"ed25519-sha256" if sel == b"ed" else b"rsa-sha256")
        signer = dkim.DKIM(MESSAGE, signature_algorithm=alg, minkey=512)
        sig = signer.sign(sel, DOMAIN, keys[sel], canonicalize=canon, **extra)
        out[name] = sig + MESSAGE

    # LF line ends: dkimpy reads LF as CRLF, so the signature made over the CRLF form is
    # written with the whole message converted to LF.
    out["lf-only"] = out["relaxed-relaxed-ed25519"].replace(b"\r\n", b"\n")
    out["lf-only-simple"] = out["simple-simple-rsa2048"].replace(b"\r\n", b"\n")
    # Two signatures (Ed25519 over RSA, as dual-signing senders do): the second signs the
    # message that already carries the first.
    first = out["relaxed-relaxed-rsa2048"]
    second = dkim.DKIM(first, signature_algorithm=b"ed25519-sha256").sign(
        b"ed", DOMAIN, keys[b"ed"], canonicalize=(b"relaxed", b"relaxed"))
    out["two-signatures"] = second + first

    for name, msg in out.items():
        v = dkim.DKIM(msg, minkey=512)
        count = msg.lower().count(b"\ndkim-signature:") + msg.lower().startswith(b"dkim-signature:")
        for idx in range(count):
            if not v.verify(idx=idx, dnsfunc=dnsfunc):
                if name != "rsa-sha1":  # dkimpy refuses rsa-sha1 like we do; checked below
                    sys.exit("dkimpy does not verify %s (signature %d)" % (name, idx))

    for name, msg in out.items():
        with open(os.path.join(HERE, name + ".eml"), "wb") as f:
            f.write(msg)
    with open(os.path.join(HERE, "keys.txt"), "wb") as f:
        for dns, txt in sorted(records.items()):
            f.write(dns + b" " + txt + b"\n")
    print("wrote %d messages and %d key records" % (len(out), len(records)))


if __name__ == "__main__":
    main()
