# SPDX-License-Identifier: AGPL-3.0-or-later
"""RFC 7162 CONDSTORE and QRESYNC over a real TLS connection: MODSEQ in SELECT, FETCH
and STORE, CHANGEDSINCE, UNCHANGEDSINCE with [MODIFIED], and a QRESYNC resync after a
disconnect that reports what changed and what vanished meanwhile."""

import re

import valvharness as vh
from conftest import ALICE, ALICE_PW


def login(srv):
    r = srv.raw_imap()
    _, tagged = r.command(b"L", f"LOGIN {ALICE} {ALICE_PW}".encode())
    assert tagged.startswith(b"L OK"), tagged
    return r


def ok(r, tag, text):
    untagged, tagged = r.command(tag.encode(), text.encode())
    assert tagged.startswith(tag.encode() + b" OK"), (text, untagged, tagged)
    return untagged, tagged


def code(lines, name):
    for line in lines:
        m = re.search(rb"\[" + name + rb" ([^\]]*)\]", line)
        if m:
            return m.group(1)
    raise AssertionError(f"no [{name.decode()}] in {lines!r}")


def test_condstore_and_qresync_resync(valv):
    srv = valv.server()
    r = login(srv)
    for n in range(4):
        body = b"Subject: cs %d\r\n\r\nbody %d\r\n" % (n, n)
        _, tagged = r.command(b"A", b"APPEND INBOX {%d+}\r\n" % len(body) + body)
        assert tagged.startswith(b"A OK"), tagged

    untagged, _ = ok(r, "S", "SELECT INBOX (CONDSTORE)")
    highest = int(code(untagged, b"HIGHESTMODSEQ"))
    uidvalidity = int(code(untagged, b"UIDVALIDITY"))
    untagged, _ = ok(r, "F", "FETCH 1:* (UID MODSEQ)")
    modseqs = {int(re.search(rb"UID (\d+)", u).group(1)): int(re.search(rb"MODSEQ \((\d+)\)", u).group(1))
               for u in untagged}
    assert sorted(modseqs) == [1, 2, 3, 4] and max(modseqs.values()) == highest

    # STORE reports the new MODSEQ; a later UNCHANGEDSINCE against the old one fails.
    untagged, _ = ok(r, "T", "UID STORE 1 +FLAGS (\\Flagged)")
    new = int(re.search(rb"MODSEQ \((\d+)\)", untagged[0]).group(1))
    assert new > highest
    _, tagged = ok(r, "U", f"UID STORE 1,2 (UNCHANGEDSINCE {highest}) +FLAGS (\\Seen)")
    assert b"[MODIFIED 1]" in tagged, tagged
    untagged, _ = ok(r, "C", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {highest})")
    changed = sorted(int(re.search(rb"UID (\d+)", u).group(1)) for u in untagged if b"FETCH" in u)
    assert changed == [1, 2], untagged   # 1 flagged, 2 seen by the conditional STORE
    r.close()

    # Another session changes things while the first client is away.
    other = login(srv)
    ok(other, "S", "SELECT INBOX")
    ok(other, "D", "UID STORE 3 +FLAGS.SILENT (\\Deleted)")
    ok(other, "E", "EXPUNGE")
    ok(other, "F", "UID STORE 4 +FLAGS.SILENT (\\Answered)")
    other.close()

    # The first client comes back and resynchronises from what it knew.
    r = login(srv)
    ok(r, "Q", "ENABLE QRESYNC")
    untagged, _ = ok(r, "S", f"SELECT INBOX (QRESYNC ({uidvalidity} {new} 1:4))")
    assert b"* VANISHED (EARLIER) 3\r\n" in untagged, untagged
    fetched = [u for u in untagged if b"FETCH" in u]
    assert len(fetched) == 2 and any(b"UID 4 " in u and b"\\Answered" in u for u in fetched), fetched
    # With QRESYNC on, an expunge is reported as VANISHED, not EXPUNGE.
    ok(r, "D", "UID STORE 4 +FLAGS.SILENT (\\Deleted)")
    untagged, _ = ok(r, "E", "EXPUNGE")
    assert untagged == [b"* VANISHED 4\r\n"], untagged
    r.close()
    assert not vh.bad_log_lines(srv.log_text())
