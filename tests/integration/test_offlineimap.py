# SPDX-License-Identifier: AGPL-3.0-or-later
"""offlineimap (offlineimap3) keeps a Maildir and a 1,000-message Valv account in step.

The scenario of syncscenario.py, as test_mbsync.py, with the full 1,000 messages (the
whole test took ~20 s in the RelWithDebInfo build here; a sanitizer build is slower, the
timeouts allow for it):
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


import valvharness as vh
from conftest import ALICE, ALICE_PW
from syncscenario import SyncClient, run_two_way_sync

SYNC_TIMEOUT = max(900.0, vh.IO_TIMEOUT * 5)

# installer/deps.sh --test installs offlineimap3: a missing client fails the run, never skips it.
assert shutil.which("offlineimap"), "offlineimap (offlineimap3) is missing: run installer/deps.sh --test"

# Lines offlineimap's "basic" UI prints when it changes something.
ACTION_RE = re.compile(r"(?im)^.*\b(copy message|adding flag|removing flag|deleting \d+ message|"
                       r"creating folder|expung)")


def undo_lf(data: bytes) -> bytes:
    """Maildir file -> wire form (offlineimap converts CRLF to LF)."""
    assert b"\r\n" not in data, "offlineimap stored CRLF line ends (it converts to LF)"
    return data.replace(b"\n", b"\r\n")


def drop_offlineimap_header(data: bytes) -> bytes:
    # offlineimap may add its own X-OfflineIMAP header; the rest is ours, unchanged.
    return re.sub(rb"(?m)^X-OfflineIMAP: [^\r\n]*\r\n", b"", data)


class OfflineImap(SyncClient):
    name = "offlineimap"
    mid_prefix = "oi"
    new_file_name = "1700000000_0.offline1.localhost"

    def __init__(self, srv, work: pathlib.Path):
        assert socket.gethostbyname("localhost") == vh.HOST, "localhost must be 127.0.0.1"
        super().__init__(work)
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

    def sync(self, ui="quiet"):
        rc, out = self.run(["offlineimap", "-o", "-u", ui, "-c", str(self.rc)], SYNC_TIMEOUT)
        assert rc == 0, f"offlineimap exited {rc}:\n{out[-6000:]}"
        assert "ERROR" not in out and "Traceback" not in out, out[-6000:]
        return out

    def sync_reporting_actions(self):
        return self.sync(ui="basic")

    def check_noop_output(self, out):
        assert "Finished" in out or "finished" in out, out[-4000:]
        actions = ACTION_RE.findall(out)
        assert not actions, f"a sync with nothing to do did: {actions}\n{out[-4000:]}"

    def undo(self, data):
        return undo_lf(data)

    def strip_folder_tag(self, base):
        # offlineimap's ",U=uid,FMD5=folder-hash" ties a file to a folder's UID: a moved
        # file loses it, so offlineimap uploads it as a new message.
        return re.sub(r",U=\d+|,FMD5=[0-9a-f]+", "", base)

    def check_uploaded(self, body, written):
        body = drop_offlineimap_header(body)
        assert body == written, body

    def moved_as_fetched(self, data):
        return drop_offlineimap_header(data)


def test_offlineimap_two_way_sync_1000_messages(valv, tmp_path):
    run_two_way_sync(valv, tmp_path, OfflineImap)
