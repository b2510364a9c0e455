"""The gateways' logs: nginx runs the module under ASan when asked, and
the logs hold no alert, crash or sanitizer report, and no secret.

Whatever order the tests run in: the test here drives its own traffic and
checks the logs as far as the suite has gone, and the gateway fixtures
(conftest.py) check them again once the session has stopped nginx, after
its last test."""

from __future__ import annotations

from pathlib import Path

from conftest import PRELOAD, assert_logs_clean


def test_suite_runs_under_asan_when_asked(gateway):
    if not PRELOAD:
        return
    pid = int((gateway.nginx.prefix / "nginx.pid").read_text())
    maps = Path(f"/proc/{pid}/maps").read_text()
    assert "libasan" in maps


def test_logs_are_clean(gateway, broken_gateway):
    # what logs the most: a refused client key, every provider's list,
    # an unreachable vendor and one that refuses the gateway's key
    for gw in (gateway, broken_gateway):
        gw.call("GET", "/v1/fine_tuning/jobs", client=None,
                headers={"Authorization": "Bearer gw-nobody-0000"})
        gw.call("GET", "/v1/fine_tuning/jobs")
        gw.call("GET", "/v1/fine_tuning/jobs", client="bob")

    for gw in (gateway, broken_gateway):
        assert_logs_clean(gw.nginx)
