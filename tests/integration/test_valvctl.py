# SPDX-License-Identifier: AGPL-3.0-or-later
"""valvctl: init, domains, users, aliases -- and that valvd honours what valvctl wrote."""

import base64
import hashlib
import imaplib
import os
import re
import ssl
import subprocess
import uuid

import pytest

import valvharness as vh
from conftest import ALICE, ALICE_PW, BOB, BOB_PW


def lines(r):
    return [ln.strip() for ln in r.stdout.splitlines() if ln.strip()]


def cert_der(path):
    return ssl.PEM_cert_to_DER_cert(open(path).read())


def test_init_with_demo_user(valv, tmp_path):
    d = tmp_path / "data"
    r = vh.valvctl(d, "init", "--hostname", "mx.demo.test")
    info = vh.parse_kv(r.stdout)
    for f in ("master.key", "config.db", "tls/cert.pem", "tls/key.pem"):
        assert (d / f).is_file(), f"{f} missing after init"
    assert info.get("user") == "demo@example.test", r.stdout
    assert info.get("password"), r.stdout
    assert "tls-fingerprint" in info, r.stdout

    # The fingerprint is the cert's SHA-256 (any of the usual spellings).
    der = cert_der(d / "tls" / "cert.pem")
    fp = info["tls-fingerprint"]
    digest = hashlib.sha256(der).digest()
    hexfp = re.sub(r"[^0-9a-f]", "", fp.lower().replace("sha256", ""))
    b64fp = fp.split(":", 1)[-1].strip().rstrip("=")
    assert hexfp == digest.hex() or b64fp == base64.b64encode(digest).decode().rstrip("="), \
        f"tls-fingerprint {fp!r} is not the SHA-256 of tls/cert.pem ({digest.hex()})"

    # SAN localhost + 127.0.0.1.
    out = subprocess.run(["openssl", "x509", "-in", str(d / "tls" / "cert.pem"), "-noout",
                          "-ext", "subjectAltName"], capture_output=True, text=True).stdout
    assert "DNS:localhost" in out and "IP Address:127.0.0.1" in out, out

    assert "example.test" in lines(vh.valvctl(d, "domain", "list"))
    assert any("demo@example.test" in ln for ln in lines(vh.valvctl(d, "user", "list")))

    # Initialised twice: exit 1, nothing overwritten.
    key = (d / "master.key").read_bytes()
    cert = (d / "tls" / "cert.pem").read_bytes()
    r2 = vh.valvctl(d, "init", check=False)
    assert r2.returncode == 1, (r2.returncode, r2.stdout, r2.stderr)
    assert (d / "master.key").read_bytes() == key
    assert (d / "tls" / "cert.pem").read_bytes() == cert

    srv = valv.on_datadir(d, tmp_path).start()
    with srv.login("demo@example.test", info["password"]) as im:
        vh.select(im, "INBOX")
    srv.send("x@outside.test", ["demo@example.test"], b"Subject: hi demo\r\n\r\nhello\r\n")


def test_init_demo_options_and_no_demo(tmp_path):
    d = tmp_path / "a"
    r = vh.valvctl(d, "init", "--demo-domain", "demo.test", "--demo-user", "zed",
                   "--demo-password", "Zed-pass-1")
    info = vh.parse_kv(r.stdout)
    assert info.get("user") == "zed@demo.test", r.stdout
    assert info.get("password") == "Zed-pass-1", r.stdout
    d2 = tmp_path / "b"
    vh.valvctl(d2, "init", "--no-demo")
    assert lines(vh.valvctl(d2, "domain", "list")) == []
    assert lines(vh.valvctl(d2, "user", "list")) == []


def test_datadir_from_environment(tmp_path):
    d = tmp_path / "envdata"
    env = dict(os.environ, VALV_DATADIR=str(d))
    r = subprocess.run([str(vh.valvctl_path()), "init", "--no-demo"], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (d / "config.db").is_file()
    r = subprocess.run([str(vh.valvctl_path()), "domain", "add", "env.test"], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "env.test" in lines(vh.valvctl(d, "domain", "list"))


# valvctl writes config.db while valvd runs; valvd must act on the change at once
# (a deleted user or a changed password that still works would be a security bug).

def rcpt_reply(srv, addr):
    s = srv.smtp()
    try:
        s.docmd("MAIL FROM:<x@outside.test>")
        return s.docmd(f"RCPT TO:<{addr}>")
    finally:
        s.quit()


def test_domain_and_user_added_while_running(valv):
    srv = valv.server()
    d = srv.datadir
    dom = f"d{uuid.uuid4().hex[:8]}.test"
    vh.valvctl(d, "domain", "add", dom)
    assert dom in lines(vh.valvctl(d, "domain", "list"))
    user = f"erin@{dom}"
    r = vh.valvctl(d, "user", "add", user)  # generated password: printed, and it works
    pw = vh.parse_kv(r.stdout).get("password")
    assert pw and len(pw) >= 12, r.stdout
    assert any(user in ln for ln in lines(vh.valvctl(d, "user", "list")))
    assert rcpt_reply(srv, user)[0] == 250
    srv.send("x@outside.test", [user], b"Subject: for erin\r\n\r\nhi\r\n")
    with srv.login(user, pw) as im:
        assert vh.select(im, "INBOX") == 1


def test_passwd_while_running(valv):
    srv = valv.server()
    vh.valvctl(srv.datadir, "user", "passwd", ALICE, "--password", "Alice-New-pass-9")
    with pytest.raises(imaplib.IMAP4.error):
        srv.login(ALICE, ALICE_PW)  # the old password must stop working at once
    with srv.login(ALICE, "Alice-New-pass-9") as im:
        vh.select(im, "INBOX")


def test_user_del_while_running(valv):
    srv = valv.server()
    vh.valvctl(srv.datadir, "user", "del", BOB)
    assert not any(BOB in ln for ln in lines(vh.valvctl(srv.datadir, "user", "list")))
    with pytest.raises(imaplib.IMAP4.error):
        srv.login(BOB, BOB_PW)
    code, msg = rcpt_reply(srv, BOB)
    assert code == 550 and msg.startswith(b"5.1.1"), (code, msg)
    with srv.login(ALICE, ALICE_PW) as im:  # others unaffected
        vh.select(im, "INBOX")


def test_alias_add_del_while_running(valv):
    srv = valv.server()
    d = srv.datadir
    vh.valvctl(d, "alias", "add", "info@example.org", f"{ALICE},{BOB}")
    assert any("info@example.org" in ln for ln in lines(vh.valvctl(d, "alias", "list")))
    srv.send("x@outside.test", ["info@example.org"], b"Subject: via alias\r\n\r\nhi\r\n")
    for user, pw in ((ALICE, ALICE_PW), (BOB, BOB_PW)):
        with srv.login(user, pw) as im:
            assert vh.select(im, "INBOX") == 1
    vh.valvctl(d, "alias", "del", "info@example.org")
    assert not any("info@example.org" in ln for ln in lines(vh.valvctl(d, "alias", "list")))
    code, msg = rcpt_reply(srv, "info@example.org")
    assert code == 550 and msg.startswith(b"5.1.1"), (code, msg)


def test_changes_apply_after_restart(valv):
    """The same changes, with a restart in between: pins the store side of the above."""
    srv = valv.server()
    d = srv.datadir
    srv.stop()
    vh.valvctl(d, "user", "passwd", ALICE, "--password", "Alice-New-pass-9")
    vh.valvctl(d, "user", "del", BOB)
    vh.valvctl(d, "user", "add", "erin@example.org", "--password", "Erin-pass-12345")
    srv.start()
    with pytest.raises(imaplib.IMAP4.error):
        srv.login(ALICE, ALICE_PW)
    with pytest.raises(imaplib.IMAP4.error):
        srv.login(BOB, BOB_PW)
    for user, pw in ((ALICE, "Alice-New-pass-9"), ("erin@example.org", "Erin-pass-12345")):
        with srv.login(user, pw) as im:
            vh.select(im, "INBOX")


@pytest.mark.parametrize("args", [
    ("user", "add", "nobody@no-such-domain.test", "--password", "x-Pass-123456"),
    ("user", "add", "not-an-address", "--password", "x-Pass-123456"),
    ("user", "add", ALICE, "--password", "x-Pass-123456"),          # exists
    ("domain", "add", "example.org"),                                 # exists
    ("domain", "add", "not a domain"),
    ("user", "del", "ghost@example.org"),
    ("user", "passwd", "ghost@example.org", "--password", "x-Pass-123456"),
    ("alias", "del", "ghost@example.org"),
    ("alias", "add", "bad alias", ALICE),
    ("frobnicate",),
])
def test_valvctl_errors_exit_nonzero(valv, args):
    _, d, _ = valv.datadir()
    r = vh.valvctl(d, *args, check=False)
    assert r.returncode != 0, f"valvctl {' '.join(args)} succeeded: {r.stdout}"
    assert r.stderr.strip(), "an error should say what went wrong on stderr"


def test_valvctl_without_init_fails(tmp_path):
    r = vh.valvctl(tmp_path / "empty", "user", "list", check=False)
    assert r.returncode != 0
