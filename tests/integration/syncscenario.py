# SPDX-License-Identifier: AGPL-3.0-or-later
"""The two-way Maildir sync scenario that test_mbsync.py and test_offlineimap.py run.

One account of N messages and one Maildir, four syncs (the steps build on each other,
so they are one test):
1. the first sync pulls every message; each Maildir file, turned back into its wire form
   by the client's `undo`, equals the server's BODY.PEEK[], and that equals the bytes
   SMTP accepted;
2. local changes -- flags (S / F in the file name), deleted files, files moved to the
   Archive folder, a new file -- reach the server;
3. a sync with nothing changed changes nothing on either side, and the client's own
   output shows it did nothing;
4. server-side changes (STORE, EXPUNGE, a new delivery) reach the Maildir.

Implementation notes
- What differs between clients is a SyncClient subclass: how it is configured and run,
  how it writes a Maildir file (line ends, headers it adds), how its file names tie a
  file to a folder, and what its output shows. Every check of the scenario runs for
  every client.
- Expected values come from the bytes the test sent, never from the server.
"""

import abc
import pathlib
import re
import subprocess

import valvharness as vh
from conftest import ALICE, ALICE_PW

N = 1000


class SyncClient(abc.ABC):
    """One Maildir sync client set up for ALICE's account on one server."""

    name = ""          # for messages, the config file's name and the final line
    mid_prefix = ""    # test messages have Message-IDs <PREFIX-nnnn@outside.test>
    new_file_name = ""  # a file name the client takes as a new message in new/

    def __init__(self, work: pathlib.Path):
        self.maildir = work / "Mail"
        self.rc = work / f"{self.name}rc"  # the client's configuration, written by the subclass
        self.runs = []  # the output of every run, in order

    def run(self, argv, timeout):
        """Runs the client; keeps its output in self.runs; returns (exit status, output)."""
        r = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        self.runs.append(out)
        return r.returncode, out

    @abc.abstractmethod
    def sync(self) -> str:
        """One full sync; asserts it succeeded; returns its output."""

    @abc.abstractmethod
    def sync_reporting_actions(self) -> str:
        """A sync whose output shows what it did, for check_noop_output."""

    @abc.abstractmethod
    def check_noop_output(self, out: str):
        """Asserts that a sync's output shows it changed nothing."""

    @abc.abstractmethod
    def undo(self, data: bytes) -> bytes:
        """A Maildir file's bytes -> the message as the server holds it."""

    def strip_folder_tag(self, base: str) -> str:
        """A file name (without ":2,") without what ties it to its folder's UIDs."""
        return re.sub(r",U=\d+", "", base)

    def check_uploaded(self, body: bytes, written: bytes):
        """Further checks of the server's copy of a message written into the Maildir."""

    def moved_as_fetched(self, data: bytes) -> bytes:
        """The server's copy of a file moved between folders, as first fetched."""
        return data


def make_message(i, client):
    # A few KB, every message different (so a mixed-up mapping cannot pass).
    body = b"".join(b"line %04d of message %04d: %s\r\n" % (k, i, bytes([65 + (i + k) % 26]) * 40)
                    for k in range(40 + i % 30))
    return (b"From: Sender %d <sender%d@outside.test>\r\n" % (i, i) +
            b"To: alice@example.org\r\n"
            b"Subject: %s message %04d\r\n" % (client.name.encode(), i) +
            b"Message-ID: " + mid(i, client) + b"\r\n" +
            b"X-Valv-Test-Id: %04d\r\n" % i +
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + body)


def mid(i, client):
    return b"<%s-%04d@outside.test>" % (client.mid_prefix.encode(), i)


def maildir_messages(folder: pathlib.Path, client):
    """{Message-ID: (path, flags str)} of one Maildir folder (new/ and cur/)."""
    out = {}
    for sub in ("new", "cur"):
        d = folder / sub
        if not d.is_dir():
            continue
        for p in d.iterdir():
            m = vh.header_value(client.undo(p.read_bytes()), "Message-ID")
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
    """{mailbox: {Message-ID: (uid, flags, size)}} from vh.account_state."""
    out = {}
    for name, st in state.items():
        d = out.setdefault(name, {})
        for uid, (flags, size, m) in st["messages"].items():
            assert m not in d, f"{name}: two messages with Message-ID {m!r}"
            d[m] = (uid, flags, size)
    return out


def run_two_way_sync(valv, tmp_path, client_class):
    """The scenario; client_class(srv, work_dir) is the SyncClient to drive."""
    srv = valv.server()
    sent = {mid(i, client_class): make_message(i, client_class) for i in range(N)}
    vh.send_many(srv, "bulk@outside.test", ALICE, sent.values())

    cl = client_class(srv, tmp_path)

    # ---- 1. the first sync pulls everything, byte-exact
    cl.sync()
    inbox = cl.maildir / "INBOX"
    local = maildir_messages(inbox, cl)
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
        assert cl.undo(local[m][0].read_bytes()) == on_server, f"Maildir copy of {m!r} differs"
    # Every server folder exists locally, none has stray messages.
    for name in folders:
        assert (cl.maildir / name / "cur").is_dir(), f"folder {name} not created locally"
    assert all(flags == "" for _, flags in local.values()), "flags appeared from nowhere"

    # ---- 2. local changes
    seen = [mid(i, cl) for i in range(0, 20)]
    flagged = [mid(i, cl) for i in range(20, 30)]
    deleted = [mid(i, cl) for i in range(30, 40)]
    moved = [mid(i, cl) for i in range(40, 50)]
    for m in seen:
        set_maildir_flags(local[m][0], "S")
    for m in flagged:
        set_maildir_flags(local[m][0], "FS")
    for m in deleted:
        local[m][0].unlink()
    archive = cl.maildir / "Archive"
    for m in moved:
        p = local[m][0]
        # A moved file loses what ties it to its old folder's UIDs, so it is new there.
        name = cl.strip_folder_tag(p.name.split(":2,", 1)[0]) + ":2,S"
        p.rename(archive / "cur" / name)
    new_msg = (b"From: alice@example.org\r\nTo: bob@example.org\r\n"
               b"Subject: written offline\r\nMessage-ID: <offline-1@example.org>\r\n"
               b"Date: Mon, 02 Jan 2023 10:00:00 +0000\r\n\r\nHello from the Maildir.\r\n")
    (inbox / "new" / cl.new_file_name).write_bytes(new_msg.replace(b"\r\n", b"\n"))

    cl.sync()
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
    untouched = [mid(i, cl) for i in range(50, N)]
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
        cl.check_uploaded(body, new_msg)
        vh.select(im, "Archive", readonly=True)
        for m, (uid, _, _) in by["Archive"].items():
            data = vh.fetch_one(im, uid, "(BODY.PEEK[])", uid=True)["BODY[]"]
            assert cl.moved_as_fetched(data) == server[m], \
                f"moved message {m!r} changed on its way"
    # Deletions were expunged, not just flagged.
    assert not any("\\Deleted" in f for st in state.values()
                   for f, _, _ in st["messages"].values())

    # ---- 3. nothing changed: a sync changes nothing on either side
    local_before = vh.maildir_state(cl.maildir)
    out = cl.sync_reporting_actions()
    assert vh.maildir_state(cl.maildir) == local_before, "a no-op sync changed the Maildir"
    assert vh.account_state(srv, ALICE, ALICE_PW) == state, "a no-op sync changed the server"
    cl.check_noop_output(out)

    # ---- 4. server-side changes reach the Maildir
    srv_flag = [mid(i, cl) for i in range(60, 65)]
    srv_gone = [mid(i, cl) for i in range(70, 75)]
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
    late_mid = b"<%s-late@outside.test>" % cl.mid_prefix.encode()
    late = make_message(N + 1, cl).replace(mid(N + 1, cl), late_mid)
    srv.send("late@outside.test", [ALICE], late)

    cl.sync()
    local = maildir_messages(inbox, cl)
    for m in srv_flag:
        assert set(local[m][1]) == {"F", "R"}, (m, local[m])
    for m in srv_gone:
        assert m not in local, f"{m!r} expunged on the server but still in the Maildir"
    assert late_mid in local
    assert vh.strip_trace(cl.undo(local[late_mid][0].read_bytes()))[1] == late
    assert len(local) == N - len(deleted) - len(moved) + 1 - len(srv_gone) + 1
    assert set(maildir_messages(archive, cl)) == set(moved)
    # And the two sides agree message for message.
    state = vh.account_state(srv, ALICE, ALICE_PW)
    by = server_by_mid(state)
    assert set(by["INBOX"]) == set(local)
    letters = {"\\Seen": "S", "\\Flagged": "F", "\\Answered": "R", "\\Draft": "D"}
    for m, (uid, flags, _) in by["INBOX"].items():
        assert {letters[f] for f in flags} == set(local[m][1]), (m, flags, local[m])
    print(f"{cl.name}: {len(cl.runs)} syncs of a {N}-message account")
