# SPDX-License-Identifier: AGPL-3.0-or-later
"""A client that pipelines commands and never reads the answers cannot make valvd
buffer them all: once about 1 MiB waits to be sent, valvd stops reading from that
client and stops taking its pipelined commands, and goes on when the client reads.

Shown with IMAP: 400 pipelined FETCHes of a 1 MiB message (400 MiB of answers). The
server's memory is sampled once it has stopped working (its CPU time no longer moves),
then the client reads every answer, all of them complete."""

import os
import threading
import time

import valvharness as vh
from conftest import ALICE, ALICE_PW

N = 400
SIZE = 1024 * 1024


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {key} for {pid}")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_until_quiet(pid, quiet_s=1.0, limit_s=120):
    """Until the process's CPU time has not moved for quiet_s (not a timing assertion:
    it only decides when to sample memory)."""
    last, since, start = cpu_ticks(pid), time.monotonic(), time.monotonic()
    while time.monotonic() - start < limit_s:
        time.sleep(0.2)
        now = cpu_ticks(pid)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
    raise AssertionError("valvd kept working for two minutes")


def test_client_that_does_not_read(valv, monkeypatch):
    # Freed memory must show as freed: a small ASan quarantine (sanitizer builds only).
    monkeypatch.setenv("ASAN_OPTIONS", os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16")
    srv = valv.server()
    pid = srv.ports["pid"]
    r = srv.raw_imap()
    _, tagged = r.command(b"L", f"LOGIN {ALICE} {ALICE_PW}".encode())
    assert tagged.startswith(b"L OK"), tagged
    body = (b"x" * 78 + b"\r\n") * (SIZE // 80)
    msg = b"Subject: big\r\n\r\n" + body
    _, tagged = r.command(b"A", b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
    assert tagged.startswith(b"A OK"), tagged
    _, tagged = r.command(b"S", b"SELECT INBOX")
    assert tagged.startswith(b"S OK"), tagged

    wait_until_quiet(pid)
    before = proc_status(pid, "VmRSS")
    pipeline = b"".join(b"f%d FETCH 1 BODY.PEEK[]\r\n" % i for i in range(N))
    sender = threading.Thread(target=r.send, args=(pipeline,))
    sender.start()
    wait_until_quiet(pid)
    grown = proc_status(pid, "VmRSS") - before
    queued = N * len(msg)
    assert grown < 128 * 1024 * 1024, \
        f"valvd grew by {grown >> 20} MiB while {queued >> 20} MiB of answers were unread"

    # Everything is answered once the client reads.
    for i in range(N):
        untagged, tagged = r.until_tagged(b"f%d" % i)
        assert tagged.startswith(b"f%d OK" % i), tagged
        assert len(untagged) == 1 and untagged[0].endswith(msg + b")\r\n"), untagged[0][:100]
    sender.join()
    _, tagged = r.command(b"N", b"NOOP")
    assert tagged.startswith(b"N OK")
    r.close()


def test_pop3_client_that_does_not_read(valv, monkeypatch):
    monkeypatch.setenv("ASAN_OPTIONS", os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16")
    srv = valv.server()
    pid = srv.ports["pid"]
    r = srv.raw_imap()
    _, tagged = r.command(b"L", f"LOGIN {ALICE} {ALICE_PW}".encode())
    msg = b"Subject: big\r\n\r\n" + (b"y" * 78 + b"\r\n") * (SIZE // 80)
    _, tagged = r.command(b"A", b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
    assert tagged.startswith(b"A OK"), tagged
    r.close()

    import socket
    sock = srv.ssl_context().wrap_socket(socket.create_connection((vh.HOST, srv.ports["pop3s"]), timeout=vh.IO_TIMEOUT),
                                         server_hostname=vh.HOST)
    f = sock.makefile("rb")
    assert f.readline().startswith(b"+OK")
    sock.sendall(f"USER {ALICE}\r\nPASS {ALICE_PW}\r\n".encode())
    assert f.readline().startswith(b"+OK") and f.readline().startswith(b"+OK")

    wait_until_quiet(pid)
    before = proc_status(pid, "VmRSS")
    sender = threading.Thread(target=sock.sendall, args=(b"RETR 1\r\n" * N,))
    sender.start()
    wait_until_quiet(pid)
    grown = proc_status(pid, "VmRSS") - before
    assert grown < 128 * 1024 * 1024, \
        f"valvd grew by {grown >> 20} MiB while {(N * len(msg)) >> 20} MiB of answers were unread"
    for _ in range(N):
        assert f.readline().startswith(b"+OK")
        size = 0
        while (line := f.readline()) != b".\r\n":
            assert line, "connection closed mid-message"
            size += len(line)
        assert size == len(msg)
    sender.join()
    sock.sendall(b"QUIT\r\n")
    assert f.readline().startswith(b"+OK")
    sock.close()
