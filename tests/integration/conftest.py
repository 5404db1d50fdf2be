# SPDX-License-Identifier: AGPL-3.0-or-later
"""pytest fixtures: a fresh data dir per test (or per module), valvd on port 0.

Users every standard server has (see STANDARD_*): alice and bob @example.org,
aliases sales@ -> alice, team@ -> alice+bob, and a catch-all for example.net -> bob.
"""

import os
import re

import pytest

import valvharness as vh

ALICE = "alice@example.org"
ALICE_PW = "alice-Secret-42"
BOB = "bob@example.org"
BOB_PW = "bob-Secret-77"

STANDARD_DOMAINS = ("example.org", "example.net")
STANDARD_USERS = {ALICE: ALICE_PW, BOB: BOB_PW}
STANDARD_ALIASES = (
    ("sales@example.org", ALICE),
    ("team@example.org", f"{ALICE},{BOB}"),
    ("@example.net", BOB),
)


def pytest_report_header(config):
    return [f"valv build dir: {vh.build_dir()}  (VALV_BUILD_DIR)",
            f"valvd: {vh.valvd_path()}  valvctl: {vh.valvctl_path()}"]


@pytest.fixture(scope="session", autouse=True)
def binaries():
    """Fail (not skip) when the binaries are missing: a run that tests nothing is a failure."""
    missing = [str(p) for p in (vh.valvd_path(), vh.valvctl_path())
               if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail("missing binaries (build valvd and valvctl, or set VALV_BUILD_DIR): "
                    + ", ".join(missing), pytrace=False)


class ServerFactory:
    """Creates initialised data dirs and valvd processes; stops them all at teardown."""

    def __init__(self, tmp_path_factory, name):
        self.tmp_path_factory = tmp_path_factory
        self.name = name
        self.servers = []

    def datadir(self, *, domains=STANDARD_DOMAINS, users=None, aliases=STANDARD_ALIASES,
                extra_init=("--no-demo",), hostname="mx.example.org"):
        work = self.tmp_path_factory.mktemp(self.name)
        datadir = work / "data"
        info = vh.init_datadir(datadir, hostname=hostname, domains=domains,
                               users=STANDARD_USERS if users is None else users,
                               aliases=aliases, extra_init=extra_init)
        return work, datadir, info

    def server(self, *, extra_args=(), start=True, host=vh.HOST, **kw):
        work, datadir, info = self.datadir(**kw)
        srv = vh.Valvd(datadir, work, extra_args, host=host)
        srv.init_info = info
        self.servers.append(srv)
        if start:
            srv.start()
        return srv

    def on_datadir(self, datadir, work, extra_args=(), host=vh.HOST):
        srv = vh.Valvd(datadir, work, extra_args, host=host)
        self.servers.append(srv)
        return srv

    def finish(self):
        """Stop every server still running; a dirty exit fails the test that owns it."""
        errors = []
        for srv in self.servers:
            try:
                srv.stop(check=True)
            except AssertionError as e:
                errors.append(str(e))
        if errors:
            pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture
def valv(tmp_path_factory, request):
    """Per-test factory: valv.server(...) gives a fresh, running, standard server."""
    f = ServerFactory(tmp_path_factory, re.sub(r"[^\w.-]", "_", request.node.name)[:40])
    yield f
    f.finish()


@pytest.fixture(scope="module")
def module_valv(tmp_path_factory, request):
    f = ServerFactory(tmp_path_factory, request.module.__name__)
    yield f
    f.finish()


@pytest.fixture(scope="module")
def server(module_valv):
    """One standard server shared by the tests of a module (they don't interfere)."""
    return module_valv.server()
