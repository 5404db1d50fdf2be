# SPDX-License-Identifier: AGPL-3.0-or-later
"""A's outbound queue survives kill -9: every message A acknowledged reaches B at least
once after A restarts, and only messages that were in flight at the kill may arrive twice.

Hosts as in test_outbound_delivery.py: A (a.test, 127.0.0.2) sends to B (b.test,
127.0.0.3) through MX records served by this suite's dnsmasq.

- queued: B is down (a bound, not listening port) while 200 messages are submitted;
  kill -9 A right after the last 250; start B on that port, restart A: all 200 arrive,
  none twice (nothing had reached B when A died).
- in flight: B is up; 200 messages are submitted from 4 threads; kill -9 A as soon as
  B holds 50 of them; restart A and resubmit whatever A never acknowledged: all 200
  arrive; messages acknowledged once may be duplicated only if they were in flight at
  the kill (remote_concurrency, default 4): at most 10 are allowed.

Implementation notes
- Each message carries a unique Message-ID and an X-Seq header; B's INBOX is read back
  over IMAP and counted per X-Seq.
- Messages whose submission was cut by the kill (no 250 seen) are resubmitted by the
  client, as a real client would; their copies are reported separately, since a second
  copy of those is the client's doing.
"""

import collections
import smtplib
import threading
import time
import uuid

import pytest

import outbound as ob
import valvharness as vh
from outbound import ALICE, ALICE_PW, BOB, BOB_PW

COUNT = 200
THREADS = 4
KILL_AFTER = 50
MAX_DUPLICATES = 10


@pytest.fixture(scope="module")
def dns(tmp_path_factory):
    ob.require_outbound(None)
    d = ob.dns_server(tmp_path_factory, "queue_durability")
    ob.publish_hosts(d)
    d.start()
    yield d
    d.stop()


def make_message(run, seq):
    body = "".join(f"line {i} of message {seq} in run {run}\r\n" for i in range(40))
    return (f"From: Alice <{ALICE}>\r\nTo: <{BOB}>\r\nSubject: durability {seq}\r\n"
            f"Date: Tue, 04 Jun 2024 12:00:00 +0200\r\n"
            f"Message-ID: <dur-{run}-{seq}@a.test>\r\nX-Seq: {run}-{seq}\r\n"
            f"\r\n{body}").encode()


class Submitter:
    """Submits messages from several threads; remembers which ones got a 250."""

    def __init__(self, srv, run):
        self.srv = srv
        self.run = run
        self.acked = set()
        self.errors = []
        self.lock = threading.Lock()

    def _worker(self, seqs):
        s = None
        try:
            s = ob.submission(self.srv, ALICE, ALICE_PW)
            for seq in seqs:
                refused = s.sendmail(ALICE, [BOB], make_message(self.run, seq))
                assert not refused, refused
                with self.lock:
                    self.acked.add(seq)
        except (smtplib.SMTPException, OSError) as e:
            with self.lock:
                self.errors.append(repr(e))
        finally:
            if s is not None:
                ob.quit_quietly(s)

    def submit(self, seqs, threads=THREADS):
        seqs = list(seqs)
        ts = [threading.Thread(target=self._worker, args=(seqs[i::threads],), daemon=True)
              for i in range(threads)]
        for t in ts:
            t.start()
        return ts


def seq_counts(b, run):
    values = ob.inbox_header_values(b, BOB, BOB_PW, "X-Seq")
    prefix = f"{run}-".encode()
    return collections.Counter(int(v[len(prefix):]) for v in values
                               if v is not None and v.startswith(prefix))


def wait_all_arrived(b, run):
    def done():
        c = seq_counts(b, run)
        return c if len(c) == COUNT else None
    return ob.wait_until(f"all {COUNT} messages at B", done, interval=1.0)


def wait_nothing_pending(a):
    """No recipient left pending in A's queue, then a few scans more for late copies."""
    ob.wait_until("no pending recipient on A", lambda: not [
        rc for _, rc in ob.queue_recipients(a) if rc["state"] == "pending"])
    time.sleep(3)


def wait_queue_empty(a):
    """Messages whose recipients are all delivered leave the queue, also after a crash."""
    def empty():
        q = ob.queue_list(a)
        return True if not q else None
    try:
        ob.wait_until("an empty queue on A", empty, timeout=60)
    except AssertionError:
        raise AssertionError(f"left in A's queue: {ob.queue_list(a)}")


def a_args(dns, port):
    return ob.host_args(dns, remote_port=port, retry_min=1, retry_max=2, lifetime=3600,
                        delay_notice=0, extra=("--user-send-rate", "0"))


def test_queued_messages_survive_kill(valv, dns):
    run = uuid.uuid4().hex[:8]
    b = ob.make_b(valv)
    b.extra_args += ob.host_args(dns)
    port = ob.ReservedPort(ob.B_IP)
    a = ob.make_a(valv)
    a.extra_args += a_args(dns, port.port)
    a.start()
    sub = Submitter(a, run)
    for t in sub.submit(range(COUNT)):
        t.join(vh.IO_TIMEOUT * 4)
    assert not sub.errors, sub.errors[:5]
    assert len(sub.acked) == COUNT
    a.kill()

    b.start(["--smtp-port", port.release()])
    a.start()
    wait_all_arrived(b, run)
    wait_nothing_pending(a)
    counts = seq_counts(b, run)
    dups = {k: v for k, v in counts.items() if v > 1}
    print(f"queued variant: {len(counts)} distinct at B, {sum(counts.values())} copies, "
          f"duplicates {dups}")
    assert set(counts) == set(range(COUNT))
    assert not dups, f"nothing reached B before the kill, yet duplicates: {dups}"
    wait_queue_empty(a)


def test_kill_while_delivering(valv, dns):
    run = uuid.uuid4().hex[:8]
    b = ob.make_b(valv)
    b.extra_args += ob.host_args(dns)
    b.start()
    a = ob.make_a(valv)
    a.extra_args += a_args(dns, b.ports["smtp"])
    a.start()

    sub = Submitter(a, run)
    threads = sub.submit(range(COUNT))
    im = b.login(BOB, BOB_PW)
    try:
        def enough():
            n = vh.select(im, "INBOX")
            return n if n >= KILL_AFTER else None
        at_kill = ob.wait_until(f"{KILL_AFTER} messages at B", enough, interval=0.05)
        a.kill()
        at_kill = vh.select(im, "INBOX")
    finally:
        try:
            im.logout()
        except Exception:
            pass
    for t in threads:
        t.join(vh.IO_TIMEOUT * 2)
    acked_before_kill = set(sub.acked)
    assert at_kill < COUNT, "A delivered everything before it was killed: nothing tested"

    a.start()
    missing = sorted(set(range(COUNT)) - acked_before_kill)
    if missing:  # the client retries what it never saw acknowledged
        sub2 = Submitter(a, run)
        for t in sub2.submit(missing, threads=2):
            t.join(vh.IO_TIMEOUT * 4)
        assert not sub2.errors, sub2.errors[:5]
    wait_all_arrived(b, run)
    wait_nothing_pending(a)
    counts = seq_counts(b, run)
    dups = {k: v for k, v in counts.items() if v > 1 and k in acked_before_kill}
    client_dups = {k: v for k, v in counts.items() if v > 1 and k not in acked_before_kill}
    print(f"in-flight variant: {at_kill} at B when A was killed, {len(acked_before_kill)} "
          f"acknowledged before the kill, {len(missing)} resubmitted; duplicates of "
          f"acknowledged messages: {len(dups)} {dups}; of resubmitted ones: {client_dups}")
    assert set(counts) == set(range(COUNT))
    assert sum(v - 1 for v in dups.values()) <= MAX_DUPLICATES, dups
    wait_queue_empty(a)
