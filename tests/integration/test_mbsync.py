# SPDX-License-Identifier: AGPL-3.0-or-later
"""mbsync (isync) keeps a Maildir and a 1,000-message Valv account in step, both ways.

The scenario of syncscenario.py (one account, four syncs that build on each other):
1. the first sync pulls every message; each Maildir file equals the server's BODY.PEEK[]
   (mbsync stores LF line ends and adds one X-TUID header line: both undone before
   comparing) and the bytes SMTP accepted;
2. local changes -- flags (,S / ,F in the file name), deleted files, files moved to the
   Archive folder, a new file -- reach the server;
3. a sync with nothing changed changes nothing on either side, and mbsync's IMAP
   conversation (-Dn) has no command that writes or downloads a message;
4. server-side changes (STORE, EXPUNGE, a new delivery) reach the Maildir.
"""

import pathlib
import re
import shutil


import valvharness as vh
from conftest import ALICE, ALICE_PW
from syncscenario import SyncClient, run_two_way_sync

SYNC_TIMEOUT = max(600.0, vh.IO_TIMEOUT * 5)

# installer/deps.sh --test installs isync: a missing client fails the run, never skips it.
assert shutil.which("mbsync"), "mbsync (isync) is missing: run installer/deps.sh --test"


def undo_mbsync(data: bytes) -> bytes:
    """Maildir file -> wire form: drop mbsync's X-TUID line(s), LF -> CRLF."""
    head, sep, body = data.partition(b"\n\n")
    head = b"\n".join(l for l in head.split(b"\n") if not l.startswith(b"X-TUID: "))
    data = head + sep + body
    assert b"\r\n" not in data, "mbsync stored CRLF line ends (it converts to LF)"
    return data.replace(b"\n", b"\r\n")


class Mbsync(SyncClient):
    # "Create Both": every server folder exists locally; "Expunge Both": deletions are
    # expunged, not just flagged.  A moved file loses mbsync's UID (",U=n"), the
    # default strip_folder_tag, so it is new in its folder.
    name = "mbsync"
    mid_prefix = "mbsync"
    new_file_name = "1700000000.offline1.localhost"

    def __init__(self, srv, work: pathlib.Path):
        super().__init__(work)
        self.maildir.mkdir()
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

    def sync(self, *opts):
        rc, out = self.run(["mbsync", "-V", *opts, "-c", str(self.rc), "-a"], SYNC_TIMEOUT)
        assert rc == 0, f"mbsync exited {rc}:\n{out[-6000:]}"
        assert "Error" not in out and "error" not in out, out[-6000:]
        return out

    def sync_reporting_actions(self):
        return self.sync("-Dn")  # -Dn: the IMAP conversation, commands prefixed ">>> "

    def check_noop_output(self, out):
        commands = re.findall(r"(?m)^>>> \d+ (.*)$", out)
        assert any(c.startswith("UID FETCH") for c in commands), out[-4000:]
        writes = [c for c in commands if re.match(
            r"(?i)(UID )?(STORE|APPEND|EXPUNGE|MOVE|COPY)|CREATE|DELETE|RENAME|UID FETCH .*BODY", c)]
        assert not writes, f"a sync with nothing to do sent {writes}"

    def undo(self, data):
        return undo_mbsync(data)

    def moved_as_fetched(self, data):
        return undo_mbsync(data.replace(b"\r\n", b"\n"))


def test_mbsync_two_way_sync_1000_messages(valv, tmp_path):
    run_two_way_sync(valv, tmp_path, Mbsync)
