# SPDX-License-Identifier: AGPL-3.0-or-later
"""Helpers for Valv's integration tests.

Implementation notes
- Everything talks to 127.0.0.1 only; valvd is always started with port 0 and a
  ready-file, never on fixed ports.
- Every client socket has a timeout (IO_TIMEOUT), so a server that stops answering
  makes a test fail instead of hanging until ctest's TIMEOUT.
- Expected values (MIME parts, header fields) are computed here from the bytes the
  test sent, independently of the server, so a wrong server answer cannot be
  "expected" by construction.
- No timing assertions: timeouts are generous upper bounds for loaded, sanitizer
  builds.
"""

import base64
import email
import email.header
import imaplib
import functools
import json
import os
import pathlib
import poplib
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import time

SOURCE_DIR = pathlib.Path(__file__).resolve().parent
DATA_DIR = SOURCE_DIR.parent / "data" / "integration"

HOST = "127.0.0.1"
NO_DNS = "127.0.0.1"  # nothing listens on its port 53 (see Valvd.start)
# Upper bounds only; sanitizer builds on a loaded 2-core machine are slow.
START_TIMEOUT = float(os.environ.get("VALV_START_TIMEOUT", "60"))
STOP_TIMEOUT = float(os.environ.get("VALV_STOP_TIMEOUT", "60"))
IO_TIMEOUT = float(os.environ.get("VALV_IO_TIMEOUT", "120"))
LOG_LEVEL = os.environ.get("VALV_LOG_LEVEL", "debug")

# Lines in valvd's stderr that mean a test must fail even if every client was happy.
# valvd's log lines are "<ISO time> <LEVEL> <category> <message>".
BAD_LOG_PATTERNS = [
    re.compile(rb"^(\S+ )?(ERROR|FATAL)\b"),
    re.compile(rb"AddressSanitizer"),
    re.compile(rb"LeakSanitizer"),
    re.compile(rb"UndefinedBehaviorSanitizer"),
    re.compile(rb"ThreadSanitizer"),
    re.compile(rb"runtime error:"),
    re.compile(rb"SUMMARY: \w+Sanitizer"),
]


def build_dir():
    return pathlib.Path(os.environ.get("VALV_BUILD_DIR", "/work/main/build"))


def valvd_path():
    return build_dir() / "server" / "valvd" / "valvd"


def valvctl_path():
    return build_dir() / "server" / "valvctl" / "valvctl"


@functools.lru_cache(maxsize=None)
def valvd_has_pop3():
    """Whether the valvd under test has the POP3 listeners (their ports must then be 0)."""
    r = subprocess.run([str(valvd_path()), "--help"], capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    return b"--pop3-port" in r.stdout


@functools.lru_cache(maxsize=None)
def valvd_has_submission():
    """Whether the valvd under test has the submission listeners (their ports must then be 0)."""
    r = subprocess.run([str(valvd_path()), "--help"], capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    return b"--submission-port" in r.stdout


def bad_log_lines(text: bytes):
    """Lines of a log that match BAD_LOG_PATTERNS (with a little context)."""
    out = []
    for line in text.splitlines():
        if any(p.search(line) for p in BAD_LOG_PATTERNS):
            out.append(line.decode("utf-8", "replace"))
    return out


def tail(text: bytes, n=60):
    lines = text.decode("utf-8", "replace").splitlines()
    return "\n".join(lines[-n:])


# --------------------------------------------------------------------------- valvctl

class ValvctlError(AssertionError):
    pass


def valvctl(datadir, *args, check=True, timeout=300):
    """Run valvctl against datadir. Returns CompletedProcess (text mode)."""
    cmd = [str(valvctl_path()), "--datadir", str(datadir), *[str(a) for a in args]]
    r = subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    r.stdout = r.stdout.decode("utf-8", "replace")
    r.stderr = r.stderr.decode("utf-8", "replace")
    san = bad_log_lines(r.stderr.encode())
    san = [s for s in san if "Sanitizer" in s or "runtime error" in s]
    if san:
        raise ValvctlError(f"sanitizer report from {cmd}:\n{r.stderr}")
    if check and r.returncode != 0:
        raise ValvctlError(
            f"{' '.join(cmd)} exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    return r


def parse_kv(text):
    """`key: value` lines -> dict (first colon splits; other lines ignored)."""
    out = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip().lower()] = v.strip()
    return out


def init_datadir(datadir, *, hostname="mx.example.org", domains=(), users=(), aliases=(),
                 extra_init=("--no-demo",)):
    """valvctl init + domains + users {addr: password} + aliases [(src, 'a,b')]."""
    r = valvctl(datadir, "init", "--hostname", hostname, *extra_init)
    info = parse_kv(r.stdout)
    for d in domains:
        valvctl(datadir, "domain", "add", d)
    for addr, pw in dict(users).items():
        valvctl(datadir, "user", "add", addr, "--password", pw)
    for src, dst in aliases:
        valvctl(datadir, "alias", "add", src, dst)
    return info


# --------------------------------------------------------------------------- valvd

class Valvd:
    """One valvd process on a data dir. start()/stop()/kill() may be repeated.

    host: the loopback address every listener binds to (--listen-address) and clients
    connect to; 127.0.0.1 unless a test plays several hosts (127.0.0.2, 127.0.0.3, ...).
    """

    def __init__(self, datadir, workdir, extra_args=(), host=HOST):
        self.datadir = pathlib.Path(datadir)
        self.workdir = pathlib.Path(workdir)
        self.extra_args = list(extra_args)
        self.host = host
        self.proc = None
        self.ports = None
        self.runs = 0
        self.log_path = None
        self.logs = []  # (path, checked) for every run

    @property
    def cafile(self):
        return str(self.datadir / "tls" / "cert.pem")

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=self.cafile)
        # The cert carries SAN 127.0.0.1, and we connect to 127.0.0.1: keep checks on.
        # On another address only the chain is checked (the cert is the sole trust anchor).
        ctx.check_hostname = self.host == HOST
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def start(self, extra_args=()):
        """extra_args: for this run only, after (so overriding) the constructor's."""
        assert self.proc is None, "already running"
        self.runs += 1
        ready = self.workdir / f"valvd-ready-{self.runs}.json"
        if ready.exists():
            ready.unlink()
        self.log_path = self.workdir / f"valvd-{self.runs}.log"
        cmd = [str(valvd_path()), "--datadir", str(self.datadir),
               "--listen-address", self.host,
               "--smtp-port", "0", "--imap-port", "0", "--imaps-port", "0",
               *(("--pop3-port", "0", "--pop3s-port", "0") if valvd_has_pop3() else ()),
               *(("--submission-port", "0", "--submissions-port", "0")
                 if valvd_has_submission() else ()),
               # Never the system's resolver (TESTING.md): by default a loopback address
               # where nothing answers, so sender checks end in temperror at once; suites
               # that need DNS pass their dnsmasq's address later (the last flag wins).
               *(("--dns-resolver", NO_DNS) if valvd_has_submission() else ()),
               "--ready-file", str(ready), "--log-level", LOG_LEVEL, *self.extra_args,
               *[str(a) for a in extra_args]]
        self.cmd = cmd
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            rc = self.proc.poll()
            if rc is not None:
                self.proc = None
                raise AssertionError(
                    f"valvd exited with {rc} before it was ready\ncmd: {' '.join(cmd)}\n"
                    f"log:\n{tail(self.log_path.read_bytes())}")
            if ready.exists():
                try:
                    info = json.loads(ready.read_text())
                    break
                except (ValueError, OSError):
                    pass  # written atomically per contract, but be lenient while polling
            if time.monotonic() > deadline:
                self._terminate_quietly()
                raise AssertionError(
                    f"valvd wrote no ready-file within {START_TIMEOUT}s\ncmd: {' '.join(cmd)}\n"
                    f"log:\n{tail(self.log_path.read_bytes())}")
            time.sleep(0.05)
        for k in ("smtp", "imap", "imaps", "pid"):
            assert isinstance(info.get(k), int) and info[k] > 0, f"bad ready-file {info!r}"
        assert info["pid"] == self.proc.pid, f"ready-file pid {info['pid']} != {self.proc.pid}"
        self.ports = info
        return self

    def _terminate_quietly(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        self.proc = None

    def log_text(self):
        return self.log_path.read_bytes() if self.log_path and self.log_path.exists() else b""

    def stop(self, check=True):
        """SIGTERM; assert clean exit 0 and a clean log (when check)."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)
            raise AssertionError(
                f"valvd did not exit within {STOP_TIMEOUT}s of SIGTERM\n"
                f"log:\n{tail(self.log_text())}")
        if check:
            log = self.log_text()
            assert rc == 0, f"valvd exited {rc} after SIGTERM\nlog:\n{tail(log)}"
            bad = bad_log_lines(log)
            assert not bad, "valvd log has error/sanitizer lines:\n" + "\n".join(bad[:40])
        return rc

    def kill(self):
        """SIGKILL, as a crash would. The log of this run is not checked."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # -------------------------------------------------------------- clients

    def smtp(self, starttls=False, helo="client.example.net"):
        s = smtplib.SMTP(self.host, self.ports["smtp"], local_hostname=helo, timeout=IO_TIMEOUT)
        code, _ = s.ehlo()
        assert code == 250
        if starttls:
            code, msg = s.starttls(context=self.ssl_context())
            assert code == 220, msg
            code, _ = s.ehlo()
            assert code == 250
        return s

    def send(self, sender, rcpts, data, *, starttls=False, mail_options=()):
        """Deliver with smtplib; fail the test unless every recipient was accepted."""
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        s = self.smtp(starttls=starttls)
        try:
            refused = s.sendmail(sender, rcpts, data, mail_options=list(mail_options))
            assert not refused, f"recipients refused: {refused}"
        finally:
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass

    def swaks(self, sender, rcpt, data, *, tls=False, extra=()):
        """Deliver with swaks --data - . Returns swaks' transcript."""
        assert data.endswith(b"\r\n")
        # swaks rewrites these in DATA; keep corpus free of them so bytes stay exact.
        assert b"\\n" not in data and not re.search(rb"%[A-Z_]+%", data)
        cmd = ["swaks", "--server", self.host, "--port", str(self.ports["smtp"]),
               "--from", sender, "--to", rcpt, "--helo", "swaks.example.net",
               "--timeout", str(int(IO_TIMEOUT)), "--suppress-data", "--data", "-", *extra]
        if tls:
            cmd += ["--tls", "--tls-verify", "--tls-ca-path", self.cafile]
        # swaks appends CRLF "." itself, and would otherwise leave an extra empty line.
        r = subprocess.run(cmd, input=data[:-2], capture_output=True, timeout=IO_TIMEOUT * 3)
        out = r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace")
        assert r.returncode == 0, f"swaks exited {r.returncode}:\n{out[-4000:]}"
        if tls:
            assert "<~  220" in out or "<~ 220" in out or "TLS started" in out, out[-4000:]
        return out

    def imap(self, mode="ssl"):
        """Connected, not logged in. mode: ssl (993-style), starttls, plain."""
        if mode == "ssl":
            return imaplib.IMAP4_SSL(self.host, self.ports["imaps"], ssl_context=self.ssl_context(),
                                     timeout=IO_TIMEOUT)
        c = imaplib.IMAP4(self.host, self.ports["imap"], timeout=IO_TIMEOUT)
        if mode == "starttls":
            typ, data = c.starttls(ssl_context=self.ssl_context())
            assert typ == "OK", data
        return c

    def login(self, user, password, mode="ssl"):
        c = self.imap(mode)
        typ, data = c.login(user, password)
        assert typ == "OK", data
        return c

    def pop3(self, mode="ssl"):
        """poplib client, connected, not logged in. mode: ssl (995-style), stls, plain."""
        if mode == "ssl":
            return poplib.POP3_SSL(self.host, self.ports["pop3s"], context=self.ssl_context(),
                                   timeout=IO_TIMEOUT)
        c = poplib.POP3(self.host, self.ports["pop3"], timeout=IO_TIMEOUT)
        if mode == "stls":
            c.stls(context=self.ssl_context())
        return c

    def raw_imap(self, tls=True):
        return RawImap(self.ports["imaps"] if tls else self.ports["imap"],
                       self.ssl_context() if tls else None, host=self.host)


# --------------------------------------------------------------------------- raw IMAP

class RawImap:
    """Line-level IMAP client for sending malformed input. Handles server literals."""

    _LIT = re.compile(rb"\{(\d+)\}\r\n$")

    def __init__(self, port, ctx=None, host=HOST):
        sock = socket.create_connection((host, port), timeout=IO_TIMEOUT)
        if ctx is not None:
            sock = ctx.wrap_socket(sock, server_hostname=host)
        self.sock = sock
        self.f = sock.makefile("rb")
        self.greeting = self.read_response()

    def read_response(self):
        """One server response, literals inlined. b'' on EOF."""
        out = b""
        while True:
            line = self.f.readline(10_000_000)
            if not line:
                return out
            out += line
            m = self._LIT.search(line)
            if not m:
                return out
            out += self.f.read(int(m.group(1)))

    def send(self, data: bytes):
        self.sock.sendall(data)

    def command(self, tag: bytes, text: bytes):
        """Send `tag text`, return (untagged responses, tagged line)."""
        self.send(tag + b" " + text + b"\r\n")
        return self.until_tagged(tag)

    def until_tagged(self, tag: bytes):
        untagged = []
        while True:
            r = self.read_response()
            if not r:
                raise AssertionError(f"server closed the connection; waiting for {tag!r}; "
                                     f"got {untagged!r}")
            if r.startswith(tag + b" "):
                return untagged, r
            if r.startswith(b"+"):
                raise AssertionError(f"unexpected continuation request for {tag!r}: {r!r}")
            untagged.append(r)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def close_imap(im):
    """Best-effort LOGOUT + close of an imaplib connection (idempotent)."""
    try:
        if getattr(im, "state", None) != "LOGOUT":
            im.logout()
    except (imaplib.IMAP4.error, OSError, EOFError, ValueError):
        pass
    try:
        im.shutdown()
    except (OSError, ValueError):
        pass


def tagged_status(line: bytes):
    parts = line.split(b" ", 2)
    return parts[1].upper().decode() if len(parts) > 1 else ""


# --------------------------------------------------------------------------- IMAP parse

class _Parser:
    def __init__(self, data: bytes):
        self.b = data
        self.i = 0

    def peek(self):
        return self.b[self.i:self.i + 1]

    def sp(self):
        while self.peek() == b" ":
            self.i += 1

    def expect(self, s: bytes):
        assert self.b[self.i:self.i + len(s)] == s, \
            f"expected {s!r} at {self.i}: {self.b[self.i:self.i + 60]!r}"
        self.i += len(s)

    def value(self):
        self.sp()
        c = self.peek()
        if c == b"(":
            self.i += 1
            out = []
            while True:
                self.sp()
                if self.peek() == b")":
                    self.i += 1
                    return out
                if not self.peek():
                    raise AssertionError("unterminated list")
                out.append(self.value())
        if c == b'"':
            self.i += 1
            out = bytearray()
            while True:
                ch = self.b[self.i:self.i + 1]
                if not ch:
                    raise AssertionError("unterminated quoted string")
                self.i += 1
                if ch == b"\\":
                    out += self.b[self.i:self.i + 1]
                    self.i += 1
                elif ch == b'"':
                    return bytes(out)
                else:
                    out += ch
        if c == b"{":
            j = self.b.index(b"}", self.i)
            n = int(self.b[self.i + 1:j].rstrip(b"+"))
            self.i = j + 1
            self.expect(b"\r\n")
            v = self.b[self.i:self.i + n]
            assert len(v) == n, "short literal"
            self.i += n
            return v
        j = self.i
        while j < len(self.b) and self.b[j:j + 1] not in (b" ", b"(", b")", b"\r", b"\n"):
            j += 1
        atom = self.b[self.i:j]
        self.i = j
        if atom.upper() == b"NIL":
            return None
        return atom

    def att_name(self):
        """FETCH item name: BODY[HEADER.FIELDS (SUBJECT)]<0> is one name."""
        self.sp()
        j = self.i
        while j < len(self.b) and self.b[j:j + 1] not in (b" ", b"[", b"(", b")"):
            j += 1
        if self.b[j:j + 1] == b"[":
            j = self.b.index(b"]", j) + 1
            if self.b[j:j + 1] == b"<":
                j = self.b.index(b">", j) + 1
        name = self.b[self.i:j]
        self.i = j
        return normalize_att(name)


def normalize_att(name: bytes) -> str:
    s = name.decode("ascii", "replace").upper()
    return re.sub(r"\s+", " ", s)


def parse_fetch_response(raw: bytes):
    """b'12 (UID 3 BODY[] {5}\\r\\nhello)' -> (12, {'UID': b'3', 'BODY[]': b'hello'})."""
    p = _Parser(raw)
    p.sp()
    j = p.b.index(b" ", p.i)
    seq = int(p.b[p.i:j])
    p.i = j
    p.sp()
    if p.b[p.i:p.i + 5].upper() == b"FETCH":  # tolerate the type word if present
        p.i += 5
        p.sp()
    p.expect(b"(")
    items = {}
    while True:
        p.sp()
        if p.peek() == b")":
            break
        name = p.att_name()
        items[name] = p.value()
    return seq, items


def imaplib_responses(data):
    """Re-join imaplib's (head, literal) tuples into whole raw responses."""
    buf = b""
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):
            buf += item[0] + b"\r\n" + item[1]
        else:
            buf += item
            yield buf
            buf = b""
    if buf:
        yield buf


def fetch(conn, seqset, items, uid=False):
    """FETCH via imaplib; returns [(seq, {ITEM: value})] in server order."""
    if uid:
        typ, data = conn.uid("FETCH", seqset, items)
    else:
        typ, data = conn.fetch(seqset, items)
    assert typ == "OK", f"FETCH {seqset} {items} -> {typ} {data!r}"
    return [parse_fetch_response(r) for r in imaplib_responses(data)]


def fetch_one(conn, seq, items, uid=False):
    res = fetch(conn, str(seq), items, uid=uid)
    if uid:
        res = [r for r in res if r[1].get("UID") == str(seq).encode()]
    else:
        res = [r for r in res if r[0] == int(seq)]
    assert res, f"no FETCH response for {seq}"
    merged = {}
    for _, d in res:
        merged.update(d)
    return merged


def select(conn, mailbox="INBOX", readonly=False):
    typ, data = conn.select(mailbox, readonly=readonly)
    assert typ == "OK", f"SELECT {mailbox} -> {typ} {data!r}"
    return int(data[0])


def find_by_header(conn, field, value: bytes, wait=10.0):
    """Sequence number of the message whose header `field` equals value.

    Re-selects and retries for `wait` seconds in case delivery is visible a bit late."""
    deadline = time.monotonic() + wait
    while True:
        exists = select(conn, "INBOX")
        if exists:
            for seq, items in fetch(conn, "1:*", f"(BODY.PEEK[HEADER.FIELDS ({field})])"):
                hv = items.get(f"BODY[HEADER.FIELDS ({field.upper()})]")
                if hv is not None and header_value(hv, field) == value:
                    return seq
        if time.monotonic() > deadline:
            raise AssertionError(f"no message with {field}: {value!r} in INBOX")
        time.sleep(0.5)


def all_messages(conn, mailbox="INBOX"):
    """{seq: full bytes} via BODY.PEEK[]."""
    exists = select(conn, mailbox)
    if not exists:
        return {}
    return {seq: items["BODY[]"] for seq, items in fetch(conn, "1:*", "(BODY.PEEK[])")}


# --------------------------------------------------------------------------- BODYSTRUCTURE

def s(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


def bs_is_multipart(bs):
    return isinstance(bs, list) and bool(bs) and isinstance(bs[0], list)


def bs_parts(bs):
    out = []
    for x in bs:
        if not isinstance(x, list):
            break
        out.append(x)
    return out


def bs_type(bs):
    """'MULTIPART/ALTERNATIVE' or 'TEXT/PLAIN'."""
    if bs_is_multipart(bs):
        rest = bs[len(bs_parts(bs)):]
        return "MULTIPART/" + s(rest[0]).upper()
    return f"{s(bs[0]).upper()}/{s(bs[1]).upper()}"


def bs_encoding(bs):
    assert not bs_is_multipart(bs)
    return s(bs[5]).upper()


def bs_filenames(bs):
    """All filename=/name= parameter values anywhere in the structure."""
    out = []

    def walk(x):
        if isinstance(x, list):
            for i, v in enumerate(x):
                if isinstance(v, bytes) and v.lower() in (b"filename", b"name") \
                        and i + 1 < len(x) and isinstance(x[i + 1], bytes):
                    out.append(s(x[i + 1]))
                walk(v)
    walk(bs)
    return out


def bs_shape(bs):
    """Nested description: 'MULTIPART/MIXED(MULTIPART/ALTERNATIVE(TEXT/PLAIN,TEXT/HTML),...)'."""
    if bs_is_multipart(bs):
        return bs_type(bs) + "(" + ",".join(bs_shape(p) for p in bs_parts(bs)) + ")"
    return bs_type(bs)


# --------------------------------------------------------------------------- MIME (expected)

def canonical(data: bytes) -> bytes:
    """Corpus files are stored with LF; the wire form is CRLF and ends in CRLF."""
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data


def load_message(name) -> bytes:
    return canonical((DATA_DIR / name).read_bytes())


def split_entity(raw: bytes):
    """(header incl. its last CRLF, body)."""
    if raw.startswith(b"\r\n"):
        return b"", raw[2:]
    i = raw.find(b"\r\n\r\n")
    if i < 0:
        return raw, b""
    return raw[:i + 2], raw[i + 4:]


def header_lines(header: bytes):
    """[(name_lower, raw bytes of the field including folds and CRLF)]."""
    out = []
    for line in header.split(b"\r\n")[:-1] if header.endswith(b"\r\n") else header.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and out:
            out[-1][1] += line + b"\r\n"
        else:
            out.append([line.split(b":", 1)[0].strip().lower(), line + b"\r\n"])
    return [(n.decode("ascii", "replace"), v) for n, v in out]


def header_fields(raw: bytes, *names):
    """What BODY[HEADER.FIELDS (names)] must return for raw."""
    header, _ = split_entity(raw)
    want = {n.lower() for n in names}
    return b"".join(v for n, v in header_lines(header) if n in want) + b"\r\n"


def header_value(raw: bytes, name):
    """Unfolded value of the first `name` field (bytes, stripped), or None."""
    header, _ = split_entity(raw) if b"\r\n\r\n" in raw or raw.startswith(b"\r\n") \
        else (raw, b"")
    for n, v in header_lines(header):
        if n == name.lower():
            v = v.split(b":", 1)[1]
            return re.sub(rb"\r\n(?=[ \t])", b"", v).strip()
    return None


def _boundary(header: bytes):
    msg = email.message_from_bytes(header + b"\r\n")
    if msg.get_content_maintype() != "multipart":
        return None
    return msg.get_param("boundary")


def _split_multipart(body: bytes, boundary: str):
    delim = b"\r\n--" + boundary.encode()
    pieces = (b"\r\n" + body).split(delim)
    parts = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break
        nl = piece.index(b"\r\n")  # rest of the delimiter line (transport padding)
        parts.append(piece[nl + 2:])
    return parts


def mime_part(raw: bytes, path: str) -> bytes:
    """What BODY[path] must return for raw, per RFC 3501 §6.4.5 (non-message parts)."""
    entity = raw
    for n in path.split("."):
        header, body = split_entity(entity)
        b = _boundary(header)
        if b is None:
            assert n == "1", f"part {path} of a non-multipart entity"
            return body
        parts = _split_multipart(body, b)
        entity = parts[int(n) - 1]
    return split_entity(entity)[1]


class RawSmtp:
    """Line-level SMTP client for what smtplib will not send: srv.ports[port_key],
    optionally TLS from the start or after STARTTLS."""

    def __init__(self, srv, port_key="smtp", *, implicit_tls=False):
        self.srv = srv
        sock = socket.create_connection((srv.host, srv.ports[port_key]), timeout=IO_TIMEOUT)
        if implicit_tls:
            sock = srv.ssl_context().wrap_socket(sock, server_hostname=srv.host)
        self._set(sock)
        self.greeting = self.reply()

    def _set(self, sock):
        self.sock = sock
        self.f = sock.makefile("rb")

    def reply(self):
        """(code, [text lines]); AssertionError if the connection closes first."""
        lines = []
        while True:
            line = self.f.readline(100_000)
            if not line:
                raise EOFError(f"connection closed; got so far {lines!r}")
            assert line.endswith(b"\r\n"), line
            lines.append(line[:-2])
            if line[3:4] != b"-":
                return int(line[:3]), [ln[4:] for ln in lines]

    def send(self, data: bytes):
        """Raw bytes, no line end added (pipelining, DATA content)."""
        self.sock.sendall(data)

    def cmd(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.sock.sendall(line + b"\r\n")
        return self.reply()

    def ehlo(self, name="laptop.a.test"):
        code, lines = self.cmd(f"EHLO {name}")
        assert code == 250, (code, lines)
        return [ln.decode("ascii", "replace").upper() for ln in lines[1:]]

    def starttls(self):
        code, lines = self.cmd("STARTTLS")
        assert code == 220, (code, lines)
        self.f.close()
        self._set(self.srv.ssl_context().wrap_socket(self.sock, server_hostname=self.srv.host))

    def auth_plain(self, user, password):
        token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())
        return self.cmd(b"AUTH PLAIN " + token)

    def data(self, message: bytes):
        code, lines = self.cmd("DATA")
        if code != 354:
            return code, lines
        assert message.endswith(b"\r\n")
        stuffed = re.sub(rb"(?m)^\.", b"..", message)
        self.sock.sendall(stuffed + b".\r\n")
        return self.reply()

    def rest(self):
        """Every reply until the server closes the connection: [(code, lines)]."""
        out = []
        try:
            while True:
                out.append(self.reply())
        except (EOFError, OSError):
            return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def enhanced(lines):
    m = re.match(rb"([245]\.\d{1,3}\.\d{1,3})\b", lines[0]) if lines else None
    return m.group(1).decode() if m else None


def strip_trace(stored: bytes):
    """Split stored bytes into (Return-Path + first Received block + the
    Authentication-Results field the MX adds, if any; the rest)."""
    assert stored.startswith(b"Return-Path:"), f"stored message starts {stored[:80]!r}"
    pos = stored.index(b"\r\n") + 2
    assert stored[pos:pos + 9].lower() == b"received:", \
        f"no Received after Return-Path: {stored[pos:pos + 80]!r}"

    def skip_field(pos):
        pos = stored.index(b"\r\n", pos) + 2
        while stored[pos:pos + 1] in (b" ", b"\t"):
            pos = stored.index(b"\r\n", pos) + 2
        return pos

    pos = skip_field(pos)
    if stored[pos:pos + 23].lower() == b"authentication-results:":
        pos = skip_field(pos)
    return stored[:pos], stored[pos:]


def decode_words(v) -> str:
    """RFC 2047 decode (and raw UTF-8), whitespace collapsed: for loose comparisons."""
    if v is None:
        return ""
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    v = str(email.header.make_header(email.header.decode_header(v)))
    return re.sub(r"\s+", " ", v).strip()


def collapse_ws(v: bytes) -> bytes:
    return re.sub(rb"\s+", b" ", re.sub(rb"\r\n", b"", v)).strip()


def envelope_fields(env):
    """Parsed ENVELOPE list -> dict with subject and from (name, mailbox, host)."""
    assert isinstance(env, list) and len(env) == 10, f"ENVELOPE has {len(env)} fields: {env!r}"
    frm = env[2]
    first = frm[0] if frm else [None, None, None, None]
    return {
        "date": env[0], "subject": env[1], "from": first,
        "to": env[5], "message-id": env[9],
    }


# --------------------------------------------------------------------------- bulk + sync helpers

def send_many(srv, sender, rcpt, messages):
    """Deliver each of messages (bytes) to rcpt, one SMTP transaction each, one session."""
    s = srv.smtp()
    try:
        for data in messages:
            refused = s.sendmail(sender, [rcpt], data)
            assert not refused, f"recipients refused: {refused}"
    finally:
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            pass


_LIST_RE = re.compile(rb'^\((?P<attrs>[^)]*)\) (?P<delim>NIL|"(?:[^"\\]|\\.)*") (?P<name>.*)$')


def list_mailboxes(conn, ref='""', pattern='"*"'):
    """LIST via imaplib -> {name(str, as sent): set of attributes (lowercase str)}."""
    typ, data = conn.list(ref, pattern)
    assert typ == "OK", f"LIST -> {typ} {data!r}"
    out = {}
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):  # name sent as a literal
            m = _LIST_RE.match(item[0].rsplit(b" {", 1)[0] + b' ""')
            name = item[1]
        else:
            m = _LIST_RE.match(item)
            assert m, f"unparsable LIST response {item!r}"
            name = m.group("name")
            if name.startswith(b'"'):
                name = re.sub(rb'\\(.)', rb'\1', name[1:-1])
        out[name.decode("utf-8")] = {a.lower() for a in
                                     m.group("attrs").decode().split()}
    return out


def mailbox_state(conn, mailbox, readonly=True):
    """EXAMINE mailbox -> {uidvalidity, uidnext, messages: {uid: (flags, size, message-id)}}."""
    exists = select(conn, mailbox, readonly=readonly)
    uv = conn.response("UIDVALIDITY")[1][0]
    un = conn.response("UIDNEXT")[1][0]
    msgs = {}
    if exists:
        for _, it in fetch(conn, "1:*",
                           "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"):
            mid = header_value(it["BODY[HEADER.FIELDS (MESSAGE-ID)]"], "Message-ID")
            flags = frozenset(f.decode() for f in it["FLAGS"]) - {"\\Recent"}
            msgs[int(it["UID"])] = (flags, int(it["RFC822.SIZE"]), mid)
    assert len(msgs) == exists, f"{mailbox}: EXISTS {exists} but {len(msgs)} FETCH responses"
    return {"uidvalidity": int(uv) if uv else None, "uidnext": int(un) if un else None,
            "messages": msgs}


def account_state(srv, user, password):
    """mailbox_state of every mailbox LIST shows (read-only, so nothing changes)."""
    with srv.login(user, password) as im:
        return {name: mailbox_state(im, f'"{name}"')
                for name, attrs in list_mailboxes(im).items() if "\\noselect" not in attrs}


def maildir_state(root):
    """{relative path of every file under root except the sync tools' state: sha256}."""
    import hashlib
    root = pathlib.Path(root)
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out
