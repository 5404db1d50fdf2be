# SPDX-License-Identifier: AGPL-3.0-or-later
"""MTA-STS (RFC 8461) between two valvd hosts: A sends to b.test, which publishes a policy.

dnsmasq serves b.test's MX, the _mta-sts TXT record and mta-sts.b.test's address; a
Python HTTPS server on 127.0.0.5:443 serves the policy with a certificate from a CA the
test makes (openssl), which A trusts through --remote-tls-ca-file. B presents a
certificate for mx.b.test from the same CA (or, in one test, its own self-signed one).

- enforce + matching MX + valid certificate: delivered, and A logged a verified TLS
  delivery;
- enforce + a policy that does not name B's MX: not delivered, the queue says why;
- enforce + B's certificate not from a trusted CA: not delivered (never in the clear);
- testing mode + mismatching MX: delivered anyway (testing only reports).
No timing assertions: "not delivered" is shown by several failed attempts in the queue.
"""

import http.server
import ssl
import subprocess
import threading

import pytest

import dnsfixture
import outbound as ob
import valvharness as vh

DNS_ADDRESS = "127.0.0.58"
POLICY_IP = "127.0.0.5"
POLICY_HOST = "mta-sts.b.test"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=120)


def make_pki(d):
    """ca.pem/ca.key, then mx.pem+mx.key and web.pem+web.key signed by the CA."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=Valv test CA", cwd=d)
    for name, host in (("mx", ob.B_MX), ("web", POLICY_HOST)):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={host}", cwd=d)
        (d / f"{name}.ext").write_text(f"subjectAltName=DNS:{host}\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    return d


class PolicyServer:
    """HTTPS on POLICY_IP:443 serving /.well-known/mta-sts.txt = self.policy."""

    def __init__(self, pki):
        self.policy = b""
        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                if self.path != "/.well-known/mta-sts.txt":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(outer.policy)))
                self.end_headers()
                self.wfile.write(outer.policy)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((POLICY_IP, 443), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(pki / "web.pem"), str(pki / "web.key"))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def policy(mode, *mx):
    lines = ["version: STSv1", f"mode: {mode}", *[f"mx: {m}" for m in mx], "max_age: 86400"]
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    web = PolicyServer(pki)
    dns = dnsfixture.DnsServer(tmp_path_factory.mktemp("dns"), DNS_ADDRESS)
    yield pki, web, dns
    web.close()
    dns.stop()


def start_hosts(valv, world, policy_id, *, b_cert=True):
    pki, web, dns = world
    dns.clear()
    ob.publish_hosts(dns)
    dns.txt(f"_mta-sts.{ob.B_DOMAIN}", f"v=STSv1; id={policy_id};")
    dns.a(POLICY_HOST, POLICY_IP)
    dns.start()
    b_args = ob.host_args(dns)
    if b_cert:
        b_args += ["--tls-cert", str(pki / "mx.pem"), "--tls-key", str(pki / "mx.key")]
    b = ob.make_host(valv, ob.B_IP, ob.B_DOMAIN, {ob.BOB: ob.BOB_PW}, extra_args=b_args)
    if b_cert:
        # The test reads B's mailbox over IMAPS: trust the test CA (B's name is mx.b.test,
        # reached by address).
        def b_context():
            ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
            ctx.check_hostname = False
            return ctx
        b.ssl_context = b_context
    b.start()
    a = ob.make_host(valv, ob.A_IP, ob.A_DOMAIN, {ob.ALICE: ob.ALICE_PW},
                     extra_args=ob.host_args(dns, remote_port=b.ports["smtp"], retry_min=1, retry_max=1,
                                             extra=["--remote-tls-ca-file", pki / "ca.pem"]))
    a.start()
    return a, b


def wait_failed_attempts(a, n=3):
    """The queue entry once its recipient failed n times; its last_error."""
    def look():
        entries = ob.queue_list(a)
        if entries and entries[0]["recipients"][0]["attempts"] >= n:
            return entries[0]["recipients"][0]
        return None
    return ob.wait_until(f"{n} failed delivery attempts", look)


def test_enforce_delivers_over_verified_tls(valv, world):
    _, web, _ = world
    web.policy = policy("enforce", ob.B_MX)
    a, b = start_hosts(valv, world, "enf1")
    ob.submit(a, ob.ALICE, ob.ALICE_PW, ob.ALICE, ob.BOB, ob.message("sts enforce ok"))
    got = ob.wait_for_message(b, ob.BOB, ob.BOB_PW, b"sts enforce ok")
    assert b"with ESMTPS" in got[0]
    assert web.requests >= 1
    log = a.log_text()
    assert b"(TLS, verified)" in log, vh.tail(log)


def test_enforce_refuses_an_mx_the_policy_does_not_name(valv, world):
    _, web, _ = world
    web.policy = policy("enforce", "*.elsewhere.test")
    a, b = start_hosts(valv, world, "enf2")
    ob.submit(a, ob.ALICE, ob.ALICE_PW, ob.ALICE, ob.BOB, ob.message("sts wrong mx"))
    rcpt = wait_failed_attempts(a)
    assert rcpt["state"] == "pending"
    assert "MTA-STS" in rcpt["last_error"], rcpt
    assert not [m for m in ob.inbox(b, ob.BOB, ob.BOB_PW) if b"sts wrong mx" in m]


def test_enforce_refuses_an_untrusted_certificate(valv, world):
    _, web, _ = world
    web.policy = policy("enforce", ob.B_MX)
    a, b = start_hosts(valv, world, "enf3", b_cert=False)  # B keeps its self-signed cert
    ob.submit(a, ob.ALICE, ob.ALICE_PW, ob.ALICE, ob.BOB, ob.message("sts bad cert"))
    rcpt = wait_failed_attempts(a)
    assert rcpt["state"] == "pending"
    assert not [m for m in ob.inbox(b, ob.BOB, ob.BOB_PW) if b"sts bad cert" in m]
    # It never fell back to the clear: B saw no message at all.
    assert b"message from" not in b.log_text()


def test_testing_mode_delivers_despite_a_mismatch(valv, world):
    _, web, _ = world
    web.policy = policy("testing", "*.elsewhere.test")
    a, b = start_hosts(valv, world, "test1")
    ob.submit(a, ob.ALICE, ob.ALICE_PW, ob.ALICE, ob.BOB, ob.message("sts testing"))
    ob.wait_for_message(b, ob.BOB, ob.BOB_PW, b"sts testing")
    assert b"testing: used anyway" in a.log_text()
