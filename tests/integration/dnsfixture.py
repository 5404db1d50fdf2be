# SPDX-License-Identifier: AGPL-3.0-or-later
"""A dnsmasq on a loopback address serving the zone `test` for delivery tests.

Every valvd a delivery test starts asks this server (valvd's `dns_resolver`), never the
system resolver. Names under `test` that are not configured are NXDOMAIN (local=/test/).

    dns = DnsServer(workdir, "127.0.0.54")
    dns.mx("b.test", "mx.b.test")            # MX 10 mx.b.test
    dns.a("mx.b.test", "127.0.0.3")
    dns.txt("b.test", "v=spf1 ip4:127.0.0.0/8 -all")
    dns.null_mx("nullmx.test")               # MX 0 .  (RFC 7505)
    dns.start()                               # (re)writes the config and (re)starts dnsmasq
    dns.stop()

Implementation notes
- dnsmasq is started in the foreground (-k) with its own config (-C) and nothing else:
  port=53, listen-address=<addr>, bind-interfaces, no-resolv, no-hosts, local=/test/.
  Records change by restarting (SIGHUP does not re-read mx-host/txt-record).
- Each suite uses its own address (127.0.0.54 .. .57) so ctest can run suites in
  parallel. Only one dnsmasq can bind an address:53; a dnsmasq left over from an
  aborted run is found through the pid file this module names after the address, and
  only killed if /proc shows it is a dnsmasq started with this module's config file name.
  When something else holds the address (another tool's dnsmasq), the next of
  FALLBACK_ADDRESSES that is free is used instead: valvd is always told the address
  actually served (DnsServer.address), so nothing depends on the preferred one.
- A null MX is `mx-host=<domain>,.,0`; dnsmasq 2.90 serves it as "MX 0 ." (checked
  with a query; the raw form dns-rr=<domain>,15,000000 gives the same answer).
- TXT values longer than 255 bytes are split into several strings by dnsmasq; a
  resolver joins them (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
- Readiness is checked with a DNS query built here by hand (no dnspython needed).
"""

import os
import pathlib
import random
import signal
import socket
import struct
import subprocess
import time

DNSMASQ = "/usr/sbin/dnsmasq"
START_TIMEOUT = float(os.environ.get("VALV_START_TIMEOUT", "60"))
READY_NAME = "dnsfixture-ready.test"

# One address per suite (ctest runs suites in parallel).
ADDRESSES = {
    "outbound_delivery": "127.0.0.54",
    "outbound_failures": "127.0.0.55",
    "submission": "127.0.0.56",
    "queue_durability": "127.0.0.57",
}

FALLBACK_ADDRESSES = [f"127.0.0.{i}" for i in range(160, 200)]

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def pid_file_for(address):
    return pathlib.Path("/tmp") / f"valv-dnsfixture-{address}.pid"


def _quote(value: str) -> str:
    assert '"' not in value and "\n" not in value, value
    return f'"{value}"'


class DnsServer:
    def __init__(self, workdir, address):
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.preferred = address
        self.address = address
        self.started = False  # once true, the address never changes
        self.proc = None
        self.records = []  # dnsmasq config lines

    @property
    def conf_path(self):
        return self.workdir / f"valv-dnsfixture-{self.address}.conf"

    @property
    def log_path(self):
        return self.workdir / f"dnsmasq-{self.address}.log"

    @property
    def out_path(self):
        return self.workdir / f"dnsmasq-{self.address}.out"

    @property
    def pid_path(self):
        return pid_file_for(self.address)

    # ------------------------------------------------------------------ records

    def mx(self, domain, host, preference=10):
        self.records.append(f"mx-host={domain},{host},{preference}")
        return self

    def null_mx(self, domain):
        """RFC 7505: the domain accepts no mail (MX 0 .)."""
        self.records.append(f"mx-host={domain},.,0")
        return self

    def a(self, name, address):
        self.records.append(f"host-record={name},{address}")
        return self

    def txt(self, name, value):
        self.records.append(f"txt-record={name.rstrip('.')},{_quote(value)}")
        return self

    def clear(self):
        self.records = []
        return self

    def config_text(self):
        lines = [
            "# written by tests/integration/dnsfixture.py",
            "port=53",
            f"listen-address={self.address}",
            "bind-interfaces",
            "no-resolv",
            "no-hosts",
            "no-negcache",
            "local=/test/",
            "local-ttl=1",
            f"pid-file={self.pid_path}",
            "log-queries",
            f"log-facility={self.log_path}",
            f"host-record={READY_NAME},127.0.0.1",
            *self.records,
        ]
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ process

    def start(self):
        """Write the config and (re)start dnsmasq; returns once it answers.

        A restart keeps the address (valvds were told it); a first start moves to a
        fallback address when the preferred one is held by something else."""
        self.stop()
        candidates = [self.address] if self.started else \
            [self.preferred] + [a for a in FALLBACK_ADDRESSES if a != self.preferred]
        for address in candidates:
            self.address = address
            if self._start_on_address():
                self.started = True
                return self
        raise AssertionError(f"no free address for dnsmasq among {candidates[:3]}...")

    restart = start

    def _start_on_address(self):
        """True once dnsmasq answers on self.address; False if the address is taken."""
        self._kill_leftover()
        self.conf_path.write_text(self.config_text())
        if self.out_path.exists():
            self.out_path.unlink()
        out = open(self.out_path, "ab")
        self.proc = subprocess.Popen([DNSMASQ, "-k", "-C", str(self.conf_path)],
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        out.close()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            rc = self.proc.poll()
            if rc is not None:
                self.proc = None
                err = self.out_path.read_text(errors="replace")
                if "Address already in use" in err:
                    return False
                raise AssertionError(f"dnsmasq on {self.address} exited {rc}:\n{err[-2000:]}")
            try:
                rcode, answers = query(self.address, READY_NAME, "A", timeout=0.5)
                if rcode == "NOERROR" and answers == ["127.0.0.1"]:
                    return True
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"dnsmasq on {self.address} did not answer within "
                                     f"{START_TIMEOUT}s")
            time.sleep(0.05)

    def stop(self):
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(15)
        try:
            if self.pid_path.exists() and int(self.pid_path.read_text().split()[0]) == proc.pid:
                self.pid_path.unlink()
        except (OSError, ValueError, IndexError):
            pass

    def _kill_leftover(self):
        """Kill a dnsmasq an aborted earlier run left on our address (ours only)."""
        try:
            pid = int(self.pid_path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            cmdline = []
        ours = (cmdline and os.path.basename(cmdline[0]) == b"dnsmasq"
                and any(os.path.basename(a) == self.conf_path.name.encode() for a in cmdline))
        if ours:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 15
            while pathlib.Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                try:  # reap it if it happens to be our child
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                time.sleep(0.05)
        try:
            self.pid_path.unlink()
        except OSError:
            pass

    def query(self, name, rtype="A"):
        return query(self.address, name, rtype)

    def txt_lookup(self, name):
        """Joined TXT strings of name (bytes), or None: a dkimpy dnsfunc."""
        if isinstance(name, bytes):
            name = name.decode()
        rcode, answers = query(self.address, name.rstrip("."), "TXT")
        return answers[0] if rcode == "NOERROR" and answers else None

    def dkim_dnsfunc(self):
        def lookup(name, timeout=5):
            return self.txt_lookup(name)
        return lookup


# ---------------------------------------------------------------------- a tiny DNS client

def _encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("idna") if label else b""
        assert 0 < len(raw) < 64, name
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def _read_name(msg, pos):
    labels = []
    jumped = False
    end = pos
    for _ in range(128):
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = pos + 2
            pos = ((n & 0x3F) << 8) | msg[pos + 1]
            jumped = True
            continue
        if n == 0:
            if not jumped:
                end = pos + 1
            return ".".join(labels), end
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    raise ValueError("name compression loop")


def query(server, name, rtype="A", timeout=3.0):
    """One UDP query to server:53 -> (rcode name, [answers of rtype]).

    Answers: A -> "1.2.3.4", MX -> (preference, "host" or "" for the root), TXT -> bytes
    (strings joined)."""
    qtype = TYPES[rtype]
    qid = random.randrange(1 << 16)
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + _encode_name(name) \
        + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (server, 53))
        while True:
            msg, _ = s.recvfrom(65535)
            if len(msg) >= 12 and struct.unpack(">H", msg[:2])[0] == qid:
                break
    _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", msg[:12])
    rcode = RCODES.get(flags & 0xF, str(flags & 0xF))
    pos = 12
    for _ in range(qd):
        _, pos = _read_name(msg, pos)
        pos += 4
    answers = []
    for _ in range(an):
        _, pos = _read_name(msg, pos)
        t, _, _, rdlen = struct.unpack(">HHIH", msg[pos:pos + 10])
        pos += 10
        rdata = msg[pos:pos + rdlen]
        if t == qtype:
            if t == 1:
                answers.append(socket.inet_ntoa(rdata))
            elif t == 15:
                pref = struct.unpack(">H", rdata[:2])[0]
                host, _ = _read_name(msg, pos + 2)
                answers.append((pref, host))
            elif t == 16:
                parts, i = [], 0
                while i < len(rdata):
                    n = rdata[i]
                    parts.append(rdata[i + 1:i + 1 + n])
                    i += 1 + n
                answers.append(b"".join(parts))
            else:
                answers.append(rdata)
        pos += rdlen
    return rcode, answers
