# SPDX-License-Identifier: AGPL-3.0-or-later
"""offlineimap (offlineimap3) keeps a Maildir and a 1,000-message Valv account in step.

Same shape as test_mbsync.py, with the full 1,000 messages (the whole test took ~20 s in
the RelWithDebInfo build here; a sanitizer build is slower, the timeouts allow for it):
1. the first sync pulls every message; each Maildir file equals the server's BODY.PEEK[]
   (offlineimap stores LF line ends: undone before comparing) and what SMTP accepted;
2. local changes -- flags (S / F in the file name), deleted files, files moved to the
   Archive folder, a new file -- reach the server;
3. a sync with nothing changed changes nothing on either side, and offlineimap reports
   no copy, flag or delete action;
4. server-side changes (STORE, EXPUNGE, a new delivery) reach the Maildir.

offlineimap checks the certificate's host name against DNS names only (not IP SANs), so
it connects to "localhost" (the certificate's DNS SAN; /etc/hosts maps it to 127.0.0.1).
"""

import pathlib
import re
import shutil
import socket
import subprocess


import valvharness as vh
from conftest import ALICE, ALICE_PW

N = 1000
SYNC_TIMEOUT = max(900.0, vh.IO_TIMEOUT * 5)

# installer/deps.sh --test installs offlineimap3: a missing client fails the run, never skips it.
assert shutil.which("offlineimap"), "offlineimap (offlineimap3) is missing: run installer/deps.sh --test"

# Lines offlineimap's "basic" UI prints when it changes something.
ACTION_RE = re.compile(r"(?im)^.*\b(copy message|adding flag|removing flag|deleting \d+ message|"
                       r"creating folder|expung)")


def make_message(i):
    body = b"".join(b"line %04d of message %04d: %s\r\n" % (k, i, bytes([65 + (i + k) % 26]) * 40)
                    for k in range(40 + i % 30))
    return (b"From: Sender %d <sender%d@outside.test>\r\n" % (i, i) +
            b"To: alice@example.org\r\n"
            b"Subject: offlineimap message %04d\r\n" % i +
            b"Message-ID: <oi-%04d@outside.test>\r\n" % i +
            b"X-Valv-Test-Id: %04d\r\n" % i +
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + body)


def mid(i):
    return b"<oi-%04d@outside.test>" % i


def undo_lf(data: bytes) -> bytes:
    """Maildir file -> wire form (offlineimap converts CRLF to LF)."""
    assert b"\r\n" not in data, "offlineimap stored CRLF line ends (it converts to LF)"
    return data.replace(b"\n", b"\r\n")


def maildir_messages(folder: pathlib.Path):
    """{Message-ID: (path, flags str)} of one Maildir folder (new/ and cur/)."""
    out = {}
    for sub in ("new", "cur"):
        d = folder / sub
        if not d.is_dir():
            continue
        for p in d.iterdir():
            m = vh.header_value(undo_lf(p.read_bytes()), "Message-ID")
            assert m not in out, f"two files with Message-ID {m!r} in {folder}"
            flags = p.name.split(":2,", 1)[1] if ":2," in p.name else ""
            out[m] = (p, flags)
    return out


def set_maildir_flags(path: pathlib.Path, flags: str) -> pathlib.Path:
    base = path.name.split(":2,", 1)[0]
    new = path.parent.parent / "cur" / f"{base}:2,{''.join(sorted(flags))}"
    path.rename(new)
    return new


def server_by_mid(state):
    out = {}
    for name, st in state.items():
        d = out.setdefault(name, {})
        for uid, (flags, size, m) in st["messages"].items():
            assert m not in d, f"{name}: two messages with Message-ID {m!r}"
            d[m] = (uid, flags, size)
    return out


class OfflineImap:
    def __init__(self, srv, work: pathlib.Path):
        assert socket.gethostbyname("localhost") == vh.HOST, "localhost must be 127.0.0.1"
        self.maildir = work / "Mail"
        self.rc = work / "offlineimaprc"
        self.rc.write_text(f"""\
[general]
accounts = valv
metadata = {work}/offlineimap-meta
maxsyncaccounts = 1

[Account valv]
localrepository = valv-local
remoterepository = valv-remote

[Repository valv-local]
type = Maildir
localfolders = {self.maildir}

[Repository valv-remote]
type = IMAP
remotehost = localhost
remoteport = {srv.ports['imaps']}
remoteuser = {ALICE}
remotepass = {ALICE_PW}
ssl = yes
sslcacertfile = {srv.cafile}
timeout = {int(vh.IO_TIMEOUT)}
maxconnections = 2
""")
        self.runs = []

    def sync(self, ui="quiet"):
        r = subprocess.run(["offlineimap", "-o", "-u", ui, "-c", str(self.rc)],
                           capture_output=True, timeout=SYNC_TIMEOUT, stdin=subprocess.DEVNULL)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        self.runs.append(out)
        assert r.returncode == 0, f"offlineimap exited {r.returncode}:\n{out[-6000:]}"
        assert "ERROR" not in out and "Traceback" not in out, out[-6000:]
        return out


def test_offlineimap_two_way_sync_1000_messages(valv, tmp_path):
    srv = valv.server()
    sent = {mid(i): make_message(i) for i in range(N)}
    vh.send_many(srv, "bulk@outside.test", ALICE, sent.values())

    oi = OfflineImap(srv, tmp_path)

    # ---- 1. the first sync pulls everything, byte-exact
    oi.sync()
    inbox = oi.maildir / "INBOX"
    local = maildir_messages(inbox)
    assert len(local) == N, f"{len(local)} of {N} messages in the Maildir"
    assert set(local) == set(sent)
    with srv.login(ALICE, ALICE_PW) as im:
        assert vh.select(im, "INBOX", readonly=True) == N
        server = {}
        for _, it in vh.fetch(im, "1:*", "(BODY.PEEK[])"):
            server[vh.header_value(it["BODY[]"], "Message-ID")] = it["BODY[]"]
        folders = vh.list_mailboxes(im)
    assert len(server) == N
    for m, data in sent.items():
        assert vh.strip_trace(server[m])[1] == data, f"server copy of {m!r} differs from SMTP"
        assert undo_lf(local[m][0].read_bytes()) == server[m], f"Maildir copy of {m!r} differs"
    for name in folders:
        assert (oi.maildir / name / "cur").is_dir(), f"folder {name} not created locally"
    assert all(flags == "" for _, flags in local.values()), "flags appeared from nowhere"

    # ---- 2. local changes
    seen = [mid(i) for i in range(0, 20)]
    flagged = [mid(i) for i in range(20, 30)]
    deleted = [mid(i) for i in range(30, 40)]
    moved = [mid(i) for i in range(40, 50)]
    for m in seen:
        set_maildir_flags(local[m][0], "S")
    for m in flagged:
        set_maildir_flags(local[m][0], "FS")
    for m in deleted:
        local[m][0].unlink()
    archive = oi.maildir / "Archive"
    for m in moved:
        p = local[m][0]
        # offlineimap's ",U=uid,FMD5=folder-hash" ties a file to a folder's UID: a moved
        # file loses it, so offlineimap uploads it as a new message.
        name = re.sub(r",U=\d+|,FMD5=[0-9a-f]+", "", p.name.split(":2,", 1)[0]) + ":2,S"
        p.rename(archive / "cur" / name)
    new_msg = (b"From: alice@example.org\r\nTo: bob@example.org\r\n"
               b"Subject: written offline\r\nMessage-ID: <offline-1@example.org>\r\n"
               b"Date: Mon, 02 Jan 2023 10:00:00 +0000\r\n\r\nHello from the Maildir.\r\n")
    (inbox / "new" / "1700000000_0.offline1.localhost").write_bytes(
        new_msg.replace(b"\r\n", b"\n"))

    oi.sync()
    state = vh.account_state(srv, ALICE, ALICE_PW)
    by = server_by_mid(state)
    srv_inbox = by["INBOX"]
    assert len(srv_inbox) == N - len(deleted) - len(moved) + 1, len(srv_inbox)
    for m in seen:
        assert srv_inbox[m][1] == {"\\Seen"}, (m, srv_inbox[m])
    for m in flagged:
        assert srv_inbox[m][1] == {"\\Seen", "\\Flagged"}, (m, srv_inbox[m])
    for m in deleted + moved:
        assert m not in srv_inbox, f"{m!r} still in the server's INBOX"
    untouched = [mid(i) for i in range(50, N)]
    assert all(srv_inbox[m][1] == frozenset() for m in untouched), \
        [(m, srv_inbox[m][1]) for m in untouched if srv_inbox[m][1]][:5]
    assert b"<offline-1@example.org>" in srv_inbox
    assert set(by["Archive"]) == set(moved), by["Archive"]
    assert all(v[1] == {"\\Seen"} for v in by["Archive"].values()), by["Archive"]
    with srv.login(ALICE, ALICE_PW) as im:
        vh.select(im, "INBOX", readonly=True)
        uid = srv_inbox[b"<offline-1@example.org>"][0]
        body = vh.fetch_one(im, uid, "(BODY.PEEK[])", uid=True)["BODY[]"]
        # offlineimap may add its own X-OfflineIMAP header; the rest is ours, unchanged.
        body = re.sub(rb"(?m)^X-OfflineIMAP: [^\r\n]*\r\n", b"", body)
        assert body == new_msg, body
        vh.select(im, "Archive", readonly=True)
        for m, (uid, _, _) in by["Archive"].items():
            data = vh.fetch_one(im, uid, "(BODY.PEEK[])", uid=True)["BODY[]"]
            data = re.sub(rb"(?m)^X-OfflineIMAP: [^\r\n]*\r\n", b"", data)
            assert data == server[m], f"moved message {m!r} changed on its way"
    assert not any("\\Deleted" in f for st in state.values()
                   for f, _, _ in st["messages"].values())

    # ---- 3. nothing changed: a sync changes nothing on either side
    local_before = vh.maildir_state(oi.maildir)
    out = oi.sync(ui="basic")
    assert vh.maildir_state(oi.maildir) == local_before, "a no-op sync changed the Maildir"
    assert vh.account_state(srv, ALICE, ALICE_PW) == state, "a no-op sync changed the server"
    assert "Finished" in out or "finished" in out, out[-4000:]
    actions = ACTION_RE.findall(out)
    assert not actions, f"a sync with nothing to do did: {actions}\n{out[-4000:]}"

    # ---- 4. server-side changes reach the Maildir
    srv_flag = [mid(i) for i in range(60, 65)]
    srv_gone = [mid(i) for i in range(70, 75)]
    with srv.login(ALICE, ALICE_PW) as im:
        vh.select(im, "INBOX")
        for m in srv_flag:
            typ, data = im.uid("STORE", str(srv_inbox[m][0]), "+FLAGS", r"(\Flagged \Answered)")
            assert typ == "OK", data
        for m in srv_gone:
            typ, data = im.uid("STORE", str(srv_inbox[m][0]), "+FLAGS.SILENT", r"(\Deleted)")
            assert typ == "OK", data
        typ, data = im.expunge()
        assert typ == "OK", data
    late = make_message(N + 1).replace(mid(N + 1), b"<oi-late@outside.test>")
    srv.send("late@outside.test", [ALICE], late)

    oi.sync()
    local = maildir_messages(inbox)
    for m in srv_flag:
        assert set(local[m][1]) == {"F", "R"}, (m, local[m])
    for m in srv_gone:
        assert m not in local, f"{m!r} expunged on the server but still in the Maildir"
    assert b"<oi-late@outside.test>" in local
    assert vh.strip_trace(undo_lf(local[b"<oi-late@outside.test>"][0].read_bytes()))[1] == late
    assert len(local) == N - len(deleted) - len(moved) + 1 - len(srv_gone) + 1
    assert set(maildir_messages(archive)) == set(moved)
    state = vh.account_state(srv, ALICE, ALICE_PW)
    by = server_by_mid(state)
    assert set(by["INBOX"]) == set(local)
    letters = {"\\Seen": "S", "\\Flagged": "F", "\\Answered": "R", "\\Draft": "D"}
    for m, (uid, flags, _) in by["INBOX"].items():
        assert {letters[f] for f in flags} == set(local[m][1]), (m, flags, local[m])
    print(f"offlineimap: {len(oi.runs)} syncs of a {N}-message account")
