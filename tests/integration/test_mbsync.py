# SPDX-License-Identifier: AGPL-3.0-or-later
"""mbsync (isync) keeps a Maildir and a 1,000-message Valv account in step, both ways.

One account, four syncs (the steps build on each other, so they are one test):
1. the first sync pulls every message; each Maildir file equals the server's BODY.PEEK[]
   (mbsync stores LF line ends and adds one X-TUID header line: both undone before
   comparing) and the bytes SMTP accepted;
2. local changes -- flags (,S / ,F in the file name), deleted files, files moved to the
   Archive folder, a new file -- reach the server;
3. a sync with nothing changed changes nothing on either side;
4. server-side changes (STORE, EXPUNGE, a new delivery) reach the Maildir.
"""

import pathlib
import re
import shutil
import subprocess


import valvharness as vh
from conftest import ALICE, ALICE_PW

N = 1000
SYNC_TIMEOUT = max(600.0, vh.IO_TIMEOUT * 5)

# installer/deps.sh --test installs isync: a missing client fails the run, never skips it.
assert shutil.which("mbsync"), "mbsync (isync) is missing: run installer/deps.sh --test"


def make_message(i):
    # A few KB, every message different (so a mixed-up mapping cannot pass).
    body = b"".join(b"line %04d of message %04d: %s\r\n" % (k, i, bytes([65 + (i + k) % 26]) * 40)
                    for k in range(40 + i % 30))
    return (b"From: Sender %d <sender%d@outside.test>\r\n" % (i, i) +
            b"To: alice@example.org\r\n"
            b"Subject: mbsync message %04d\r\n" % i +
            b"Message-ID: <mbsync-%04d@outside.test>\r\n" % i +
            b"X-Valv-Test-Id: %04d\r\n" % i +
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + body)


def mid(i):
    return b"<mbsync-%04d@outside.test>" % i


def undo_mbsync(data: bytes) -> bytes:
    """Maildir file -> wire form: drop mbsync's X-TUID line(s), LF -> CRLF."""
    head, sep, body = data.partition(b"\n\n")
    head = b"\n".join(l for l in head.split(b"\n") if not l.startswith(b"X-TUID: "))
    data = head + sep + body
    assert b"\r\n" not in data, "mbsync stored CRLF line ends (it converts to LF)"
    return data.replace(b"\n", b"\r\n")


def maildir_messages(folder: pathlib.Path):
    """{Message-ID: (path, flags str)} of one Maildir folder (new/ and cur/)."""
    out = {}
    for sub in ("new", "cur"):
        d = folder / sub
        if not d.is_dir():
            continue
        for p in d.iterdir():
            data = p.read_bytes()
            m = vh.header_value(undo_mbsync(data), "Message-ID")
            assert m not in out, f"two files with Message-ID {m!r} in {folder}"
            flags = p.name.split(":2,", 1)[1] if ":2," in p.name else ""
            out[m] = (p, flags)
    return out


def set_maildir_flags(path: pathlib.Path, flags: str) -> pathlib.Path:
    base = path.name.split(":2,", 1)[0]
    new = path.parent.parent / "cur" / f"{base}:2,{''.join(sorted(flags))}"
    path.rename(new)
    return new


class Mbsync:
    def __init__(self, srv, work: pathlib.Path):
        self.maildir = work / "Mail"
        self.maildir.mkdir()
        self.rc = work / "mbsyncrc"
        self.rc.write_text(f"""\
IMAPAccount valv
Host {vh.HOST}
Port {srv.ports['imaps']}
User {ALICE}
Pass {ALICE_PW}
SSLType IMAPS
CertificateFile {srv.cafile}
AuthMechs LOGIN
Timeout {int(vh.IO_TIMEOUT)}

IMAPStore valv-remote
Account valv

MaildirStore valv-local
Path {self.maildir}/
Inbox {self.maildir}/INBOX
SubFolders Verbatim

Channel valv
Far :valv-remote:
Near :valv-local:
Patterns *
Create Both
Expunge Both
SyncState *
""")
        self.runs = []

    def sync(self, *opts):
        r = subprocess.run(["mbsync", "-V", *opts, "-c", str(self.rc), "-a"], capture_output=True,
                           timeout=SYNC_TIMEOUT, stdin=subprocess.DEVNULL)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        self.runs.append(out)
        assert r.returncode == 0, f"mbsync exited {r.returncode}:\n{out[-6000:]}"
        assert "Error" not in out and "error" not in out, out[-6000:]
        return out


def server_by_mid(state):
    """{mailbox: {Message-ID: (uid, flags, size)}} from vh.account_state."""
    out = {}
    for name, st in state.items():
        d = out.setdefault(name, {})
        for uid, (flags, size, m) in st["messages"].items():
            assert m not in d, f"{name}: two messages with Message-ID {m!r}"
            d[m] = (uid, flags, size)
    return out


def test_mbsync_two_way_sync_1000_messages(valv, tmp_path):
    srv = valv.server()
    sent = {mid(i): make_message(i) for i in range(N)}
    vh.send_many(srv, "bulk@outside.test", ALICE, sent.values())

    mb = Mbsync(srv, tmp_path)

    # ---- 1. the first sync pulls everything, byte-exact
    mb.sync()
    inbox = mb.maildir / "INBOX"
    local = maildir_messages(inbox)
    assert len(local) == N, f"{len(local)} of {N} messages in the Maildir"
    assert set(local) == set(sent)
    with srv.login(ALICE, ALICE_PW) as im:
        assert vh.select(im, "INBOX", readonly=True) == N
        server = {}
        for _, it in vh.fetch(im, "1:*", "(UID BODY.PEEK[])"):
            server[vh.header_value(it["BODY[]"], "Message-ID")] = it["BODY[]"]
        folders = vh.list_mailboxes(im)
    assert len(server) == N
    for m, data in sent.items():
        on_server = server[m]
        assert vh.strip_trace(on_server)[1] == data, f"server copy of {m!r} differs from SMTP"
        assert undo_mbsync(local[m][0].read_bytes()) == on_server, f"Maildir copy of {m!r} differs"
    # Every server folder exists locally (Create Both), none has stray messages.
    for name in folders:
        assert (mb.maildir / name / "cur").is_dir(), f"folder {name} not created locally"
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
    archive = mb.maildir / "Archive"
    for m in moved:
        p = local[m][0]
        # A file moved to another folder loses mbsync's UID (",U=n") so it is new there.
        name = re.sub(r",U=\d+", "", p.name.split(":2,", 1)[0]) + ":2,S"
        p.rename(archive / "cur" / name)
    new_msg = (b"From: alice@example.org\r\nTo: bob@example.org\r\n"
               b"Subject: written offline\r\nMessage-ID: <offline-1@example.org>\r\n"
               b"Date: Mon, 02 Jan 2023 10:00:00 +0000\r\n\r\nHello from the Maildir.\r\n")
    (inbox / "new" / "1700000000.offline1.localhost").write_bytes(new_msg.replace(b"\r\n", b"\n"))

    mb.sync()
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
        assert vh.header_value(body, "Message-ID") == b"<offline-1@example.org>"
        assert body.endswith(b"\r\n\r\nHello from the Maildir.\r\n"), body
        vh.select(im, "Archive", readonly=True)
        for m, (uid, _, _) in by["Archive"].items():
            data = vh.fetch_one(im, uid, "(BODY.PEEK[])", uid=True)["BODY[]"]
            assert undo_mbsync(data.replace(b"\r\n", b"\n")) == server[m], \
                f"moved message {m!r} changed on its way"
    # Deletions were expunged, not just flagged (Expunge Both).
    assert not any("\\Deleted" in f for st in state.values()
                   for f, _, _ in st["messages"].values())

    # ---- 3. nothing changed: a sync changes nothing on either side
    local_before = vh.maildir_state(mb.maildir)
    out = mb.sync("-Dn")  # -Dn: the IMAP conversation, commands prefixed ">>> "
    assert vh.maildir_state(mb.maildir) == local_before, "a no-op sync changed the Maildir"
    assert vh.account_state(srv, ALICE, ALICE_PW) == state, "a no-op sync changed the server"
    commands = re.findall(r"(?m)^>>> \d+ (.*)$", out)
    assert any(c.startswith("UID FETCH") for c in commands), out[-4000:]
    writes = [c for c in commands if re.match(
        r"(?i)(UID )?(STORE|APPEND|EXPUNGE|MOVE|COPY)|CREATE|DELETE|RENAME|UID FETCH .*BODY", c)]
    assert not writes, f"a sync with nothing to do sent {writes}"

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
    late = make_message(N + 1).replace(mid(N + 1), b"<mbsync-late@outside.test>")
    srv.send("late@outside.test", [ALICE], late)

    mb.sync()
    local = maildir_messages(inbox)
    for m in srv_flag:
        assert set(local[m][1]) == {"F", "R"}, (m, local[m])
    for m in srv_gone:
        assert m not in local, f"{m!r} expunged on the server but still in the Maildir"
    assert b"<mbsync-late@outside.test>" in local
    assert vh.strip_trace(undo_mbsync(local[b"<mbsync-late@outside.test>"][0].read_bytes()))[1] \
        == late
    assert len(local) == N - len(deleted) - len(moved) + 1 - len(srv_gone) + 1
    assert set(maildir_messages(archive)) == set(moved)
    # And the two sides agree message for message.
    state = vh.account_state(srv, ALICE, ALICE_PW)
    by = server_by_mid(state)
    assert set(by["INBOX"]) == set(local)
    letters = {"\\Seen": "S", "\\Flagged": "F", "\\Answered": "R", "\\Draft": "D"}
    for m, (uid, flags, _) in by["INBOX"].items():
        assert {letters[f] for f in flags} == set(local[m][1]), (m, flags, local[m])
    print(f"mbsync: {len(mb.runs)} syncs of a {N}-message account")
