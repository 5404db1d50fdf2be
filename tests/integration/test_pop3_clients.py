# SPDX-License-Identifier: AGPL-3.0-or-later
"""fetchmail and getmail6 download a 500-message mailbox over POP3 with implicit TLS.

For each client, one account and three runs (they build on each other, so one test):
1. keep mode (leave on server, UIDL-based "only new"): every message arrives, each file
   equal to the bytes SMTP accepted once the trace fields are set aside (valvd's
   Return-Path and Received, the client's own Received / Delivered-To / Return-Path
   lines at the top); nothing leaves the server;
2. after 25 more deliveries, another keep run fetches exactly those 25 (UIDL);
3. delete mode empties the INBOX, and Valv moves what was deleted to Trash (fetchmail
   with `fetchall` downloads every message once more on the way, again exact; getmail
   with read_all = false downloads nothing new and deletes what it has seen).
"""

import os
import pathlib
import shutil
import stat
import subprocess
import tempfile

import valvharness as vh
from conftest import ALICE, ALICE_PW

N = int(os.environ.get("VALV_POP3_CLIENT_MESSAGES", "500"))
MORE = 25
RUN_TIMEOUT = max(600.0, vh.IO_TIMEOUT * 5)
# Fields a client or valvd adds in front of the message: set aside when comparing.
TRACE_FIELDS = {"return-path", "received", "authentication-results", "delivered-to",
                "x-getmail-retrieved-from-mailbox"}

# installer/deps.sh --test installs both: a missing client fails the run, never skips it.
assert shutil.which("fetchmail"), "fetchmail is missing: run installer/deps.sh --test"
assert shutil.which("getmail"), "getmail (getmail6) is missing: run installer/deps.sh --test"


def make_message(i):
    # Sizes from ~1 KB to ~60 KB, lines starting with dots (POP3 byte-stuffing), every
    # message different so that a mix-up cannot pass.
    lines = 10 + (i * 37) % 900
    body = b"".join((b"." if k % 11 == 0 else b"") +
                    b"line %04d of message %04d %s\r\n" % (k, i, bytes([65 + (i + k) % 26]) * (k % 50))
                    for k in range(lines))
    return (b"From: Sender %d <sender%d@outside.test>\r\nTo: alice@example.org\r\n" % (i, i) +
            b"Subject: pop3 client message %04d\r\nMessage-ID: <pop3c-%04d@outside.test>\r\n" % (i, i) +
            b"X-Valv-Test-Id: %04d\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" % i + body + b".\r\n")


def strip_trace_fields(data: bytes) -> bytes:
    """Wire form (CRLF) with the leading trace fields removed."""
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    pos = 0
    while True:
        end = data.index(b"\r\n", pos)
        name = data[pos:end].split(b":", 1)[0].strip().lower().decode("ascii", "replace")
        if name not in TRACE_FIELDS:
            return data[pos:]
        pos = end + 2
        while data[pos:pos + 1] in (b" ", b"\t"):  # folded continuation lines
            pos = data.index(b"\r\n", pos) + 2


def check_downloaded(files, sent):
    """files: {path: bytes}; sent: {index: bytes}. Every message exactly once, exact."""
    got = {}
    for path, data in files.items():
        body = strip_trace_fields(data)
        i = int(vh.header_value(body, "X-Valv-Test-Id"))
        assert i not in got, f"message {i} downloaded twice ({path})"
        assert body == sent[i], f"message {i} in {path} differs from what SMTP accepted"
        got[i] = path
    assert sorted(got) == sorted(sent), \
        f"missing {sorted(set(sent) - set(got))[:10]}, unexpected {sorted(set(got) - set(sent))[:10]}"


def inbox_count(srv):
    with srv.login(ALICE, ALICE_PW) as im:
        return vh.select(im, "INBOX", readonly=True)


def trash_count(srv):
    with srv.login(ALICE, ALICE_PW) as im:
        return vh.select(im, "Trash", readonly=True)


def deliver(srv, first, count):
    sent = {i: make_message(i) for i in range(first, first + count)}
    vh.send_many(srv, "sender@outside.test", ALICE, [sent[i] for i in sorted(sent)])
    return sent


def read_dir(d: pathlib.Path):
    return {p: p.read_bytes() for p in d.rglob("*") if p.is_file()}


class Fetchmail:
    def __init__(self, srv, work: pathlib.Path):
        self.srv = srv
        self.home = work / "fetchmail-home"
        self.home.mkdir()
        self.out = work / "fetchmail-out"
        self.out.mkdir()
        self.mda = work / "save-message.sh"
        # One file per message: fetchmail hands each message to the MDA on stdin.
        self.mda.write_text('#!/bin/sh\nexec cat > "$1/msg.$(date +%s%N).$$"\n')
        self.mda.chmod(0o755)

    def run(self, keep, batch):
        """One fetchmail run into a fresh batch directory; returns {path: bytes}."""
        target = self.out / batch
        target.mkdir()
        rc = self.home / ".fetchmailrc"
        rc.write_text(
            "set no syslog\n"
            f"poll {vh.HOST} service {self.srv.ports['pop3s']} protocol pop3 uidl timeout 120\n"
            f'  user "{ALICE}" there with password "{ALICE_PW}" is root here\n'
            f"  ssl sslcertck sslcertfile {self.srv.cafile} sslcommonname localhost\n"
            f"  {'keep' if keep else 'no keep fetchall'}\n"
            f'  mda "{self.mda} {target}"\n')
        rc.chmod(stat.S_IRUSR | stat.S_IWUSR)  # fetchmail refuses a readable rc file
        env = dict(os.environ, HOME=str(self.home), FETCHMAILHOME=str(self.home))
        r = subprocess.run(["fetchmail", "--nodetach", "--fetchmailrc", str(rc),
                            "--idfile", str(self.home / ".fetchids"), "-v"],
                           capture_output=True, timeout=RUN_TIMEOUT, env=env, stdin=subprocess.DEVNULL)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        # 0: mail fetched, 1: no new mail.
        assert r.returncode in (0, 1), f"fetchmail exited {r.returncode}:\n{out[-4000:]}"
        assert "POP3< +OK" in out and "STLS" not in out.split("POP3< +OK", 1)[0], out[-2000:]
        return read_dir(target)


class Getmail:
    def __init__(self, srv, work: pathlib.Path):
        self.srv = srv
        self.gdir = work / "getmail"
        self.gdir.mkdir()
        # getmail running as root delivers as `user` (it refuses to deliver as root), so
        # the Maildir and every directory above it must be open to that user: pytest's
        # own temporary directories are 0700, hence one of our own under /tmp.
        self.top = pathlib.Path(tempfile.mkdtemp(prefix="valv-getmail-"))
        self.top.chmod(0o755)
        self.maildir = self.top / "Maildir"
        for sub in ("new", "cur", "tmp"):
            (self.maildir / sub).mkdir(parents=True)
        for p in [self.maildir, *self.maildir.iterdir()]:
            p.chmod(0o777)

    def cleanup(self):
        shutil.rmtree(self.top, ignore_errors=True)

    def run(self, keep):
        """One getmail run; returns {path: bytes} of the files it added to new/."""
        before = set(read_dir(self.maildir))
        rc = self.gdir / "getmailrc"
        rc.write_text(
            "[retriever]\n"
            "type = SimplePOP3SSLRetriever\n"
            f"server = {vh.HOST}\nport = {self.srv.ports['pop3s']}\n"
            f"username = {ALICE}\npassword = {ALICE_PW}\n"
            f"ca_certs = {self.srv.cafile}\n"
            "[destination]\n"
            f"type = Maildir\npath = {self.maildir}/\nuser = nobody\n"
            "[options]\n"
            "verbose = 1\nread_all = false\n"
            f"delete = {'false' if keep else 'true'}\n"
            "delivered_to = false\nreceived = false\n")
        r = subprocess.run(["getmail", "--getmaildir", str(self.gdir), "--rcfile", str(rc)],
                           capture_output=True, timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        assert r.returncode == 0, f"getmail exited {r.returncode}:\n{out[-4000:]}"
        return {p: d for p, d in read_dir(self.maildir).items() if p not in before}


def run_scenario(srv, client_run, tmp_path):
    sent = deliver(srv, 1, N)
    # 1. keep: everything, exact; nothing removed from the server.
    first = client_run(True, "1")
    check_downloaded(first, sent)
    assert inbox_count(srv) == N
    # 2. leave-on-server with UIDL: only the new messages.
    more = deliver(srv, N + 1, MORE)
    second = client_run(True, "2")
    check_downloaded(second, more)
    assert inbox_count(srv) == N + MORE
    # 3. delete mode: the INBOX is emptied, into Trash.
    third = client_run(False, "3")
    assert inbox_count(srv) == 0
    assert trash_count(srv) == N + MORE
    return third


def test_fetchmail(valv, tmp_path):
    srv = valv.server()
    fm = Fetchmail(srv, tmp_path)
    third = run_scenario(srv, lambda keep, batch: fm.run(keep, batch), tmp_path)
    # fetchall in delete mode downloads every message once more before deleting it.
    check_downloaded(third, {i: make_message(i) for i in range(1, N + MORE + 1)})


def test_getmail6(valv, tmp_path):
    srv = valv.server()
    gm = Getmail(srv, tmp_path)
    try:
        third = run_scenario(srv, lambda keep, batch: gm.run(keep), tmp_path)
    finally:
        gm.cleanup()
    # read_all = false: nothing new, so nothing is downloaded; but all are deleted
    # (getmail deletes messages it has seen when delete = true).
    assert third == {}
