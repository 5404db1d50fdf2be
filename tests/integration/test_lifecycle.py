# SPDX-License-Identifier: AGPL-3.0-or-later
"""valvd's life: SIGHUP reloads the certificate and config without dropping
connections, SIGTERM says goodbye to connected clients, connection limits and idle
timeouts answer the protocol's way, and bad flags are refused."""

import signal
import socket
import ssl
import subprocess
import time

import pytest

import valvharness as vh
from conftest import ALICE, ALICE_PW


def wait_for_log(srv, needle: bytes, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in srv.log_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} not in valvd log:\n{vh.tail(srv.log_text())}")


def read_line(sock, timeout=vh.IO_TIMEOUT):
    sock.settimeout(timeout)
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def peer_cert_der(port, ctx):
    with socket.create_connection((vh.HOST, port), timeout=vh.IO_TIMEOUT) as raw:
        with ctx.wrap_socket(raw, server_hostname=vh.HOST) as tls:
            return tls.getpeercert(binary_form=True)


def new_certificate(tls_dir):
    """Replaces tls/cert.pem and key.pem with a fresh self-signed pair (openssl CLI)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", "/CN=reloaded.test",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(tls_dir / "key.pem"), "-out", str(tls_dir / "cert.pem")],
                   check=True, capture_output=True)
    pem = (tls_dir / "cert.pem").read_text()
    return ssl.PEM_cert_to_DER_cert(pem)


def test_sighup_reloads_certificate_without_dropping_connections(valv):
    srv = valv.server()
    old_ctx = srv.ssl_context()
    old_der = peer_cert_der(srv.ports["imaps"], old_ctx)
    before = srv.login(ALICE, ALICE_PW)           # a session open across the reload
    vh.select(before)

    new_der = new_certificate(srv.datadir / "tls")
    assert new_der != old_der
    srv.proc.send_signal(signal.SIGHUP)
    wait_for_log(srv, b"TLS certificate reloaded")

    assert before.noop()[0] == "OK"               # not dropped
    vh.close_imap(before)
    new_ctx = ssl.create_default_context(cafile=str(srv.datadir / "tls" / "cert.pem"))
    assert peer_cert_der(srv.ports["imaps"], new_ctx) == new_der
    # STARTTLS picks up the new certificate too.
    im = srv.imap("starttls")
    assert im.sock.getpeercert(binary_form=True) == new_der
    vh.close_imap(im)


def test_sighup_with_broken_config_keeps_running(valv, tmp_path):
    conf = tmp_path / "valvd.conf"
    conf.write_text("max_recipients = 2\n")
    srv = valv.server(extra_args=["--config", str(conf)])
    conf.write_text("this is not a config line\n")
    srv.proc.send_signal(signal.SIGHUP)
    wait_for_log(srv, b"reload failed, keeping the running configuration")
    s = srv.smtp()
    assert s.noop()[0] == 250
    s.quit()
    # A good file is taken: the recipient limit drops to 1.
    conf.write_text("max_recipients = 1\n")
    srv.proc.send_signal(signal.SIGHUP)
    wait_for_log(srv, b"configuration reloaded")
    s = srv.smtp()
    s.mail("x@example.com")
    assert s.rcpt(ALICE)[0] == 250
    code, msg = s.rcpt("bob@example.org")
    assert (code, msg[:5]) == (452, b"4.5.3")
    s.quit()


def test_sigterm_says_bye_to_connected_clients(valv):
    srv = valv.server()
    raw = srv.raw_imap(tls=True)
    _, tagged = raw.command(b"a1", b"LOGIN " + ALICE.encode() + b" " + ALICE_PW.encode())
    assert tagged.startswith(b"a1 OK"), tagged
    smtp = socket.create_connection((vh.HOST, srv.ports["smtp"]), timeout=vh.IO_TIMEOUT)
    assert read_line(smtp).startswith(b"220 ")
    srv.proc.send_signal(signal.SIGTERM)
    assert read_line(smtp).startswith(b"421 4.3.2 ")
    assert raw.read_response().startswith(b"* BYE ")
    assert srv.proc.wait(vh.STOP_TIMEOUT) == 0
    smtp.close()
    raw.close()
    srv.proc = None                               # already stopped cleanly
    assert not vh.bad_log_lines(srv.log_text())


def test_connections_per_ip_limit(valv):
    srv = valv.server(extra_args=["--max-connections-per-ip", "3"])
    held = []
    for _ in range(3):
        c = socket.create_connection((vh.HOST, srv.ports["smtp"]), timeout=vh.IO_TIMEOUT)
        assert read_line(c).startswith(b"220 ")
        held.append(c)
    extra = socket.create_connection((vh.HOST, srv.ports["smtp"]), timeout=vh.IO_TIMEOUT)
    assert read_line(extra).startswith(b"421 4.7.0 ")
    extra.close()
    imap = socket.create_connection((vh.HOST, srv.ports["imap"]), timeout=vh.IO_TIMEOUT)
    assert read_line(imap).startswith(b"* BYE ")  # the limit spans protocols
    imap.close()
    held.pop().close()
    # The slot frees once valvd has seen the close; poll, bounded.
    deadline = time.monotonic() + 30
    while True:
        c = socket.create_connection((vh.HOST, srv.ports["smtp"]), timeout=vh.IO_TIMEOUT)
        line = read_line(c)
        c.close()
        if line.startswith(b"220 "):
            break
        assert line.startswith(b"421 ") and time.monotonic() < deadline, line
        time.sleep(0.1)
    for c in held:
        c.close()


def test_idle_timeouts(valv):
    srv = valv.server(extra_args=["--smtp-idle-timeout", "1", "--idle-timeout", "2"])
    smtp = socket.create_connection((vh.HOST, srv.ports["smtp"]), timeout=vh.IO_TIMEOUT)
    assert read_line(smtp).startswith(b"220 ")
    assert read_line(smtp).startswith(b"421 4.4.2 ")
    assert smtp.recv(1) == b""                    # and closed
    smtp.close()
    imap = socket.create_connection((vh.HOST, srv.ports["imap"]), timeout=vh.IO_TIMEOUT)
    assert read_line(imap).startswith(b"* OK ")
    assert read_line(imap).startswith(b"* BYE ")
    imap.close()


def test_tls_handshake_then_plaintext_refused_on_imaps(valv):
    srv = valv.server()
    c = socket.create_connection((vh.HOST, srv.ports["imaps"]), timeout=vh.IO_TIMEOUT)
    c.sendall(b"a1 CAPABILITY\r\n")               # plaintext on the implicit-TLS port
    c.settimeout(vh.IO_TIMEOUT)
    try:
        data = c.recv(4096)
    except ConnectionResetError:
        data = b""
    assert b"CAPABILITY" not in data              # never answered in the clear
    c.close()
    im = srv.login(ALICE, ALICE_PW)               # and the server is fine
    vh.close_imap(im)


@pytest.mark.parametrize("args, message", [
    (["--no-such-option", "1"], b"unknown option"),
    (["--smtp-port", "99999"], b"port number"),
    (["--listen-address", "not-an-ip"], b"not an IP address"),
])
def test_bad_flags_are_refused(args, message):
    r = subprocess.run([str(vh.valvd_path()), *args], capture_output=True, timeout=60)
    assert r.returncode == 2
    assert message in r.stderr


def test_help_lists_every_option():
    r = subprocess.run([str(vh.valvd_path()), "--help"], capture_output=True, timeout=60)
    assert r.returncode == 0
    for flag in (b"--datadir", b"--smtp-port", b"--imap-port", b"--imaps-port", b"--max-message-size",
                 b"--max-connections-per-ip", b"--idle-timeout", b"--ready-file", b"--config"):
        assert flag in r.stdout


def test_missing_datadir_is_a_clear_error(tmp_path):
    r = subprocess.run([str(vh.valvd_path()), "--datadir", str(tmp_path / "none"), "--smtp-port", "0",
                        "--imap-port", "0", "--imaps-port", "0"], capture_output=True, timeout=60)
    assert r.returncode == 1
    assert b"valvctl" in r.stderr and b"init" in r.stderr
