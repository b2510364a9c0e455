"""Runs last: after the whole suite, the gateways' logs hold no alert, crash
or sanitizer report, and no secret. (Each gateway fixture checks its log
again after a graceful shutdown.)"""

from __future__ import annotations

from pathlib import Path

from conftest import CLIENT_KEYS, PRELOAD, SECRETS


def test_suite_runs_under_asan_when_asked(gateway):
    if not PRELOAD:
        return
    pid = int((gateway.nginx.prefix / "nginx.pid").read_text())
    maps = Path(f"/proc/{pid}/maps").read_text()
    assert "libasan" in maps


def test_error_logs_are_clean(gateway, broken_gateway):
    for gw in (gateway, broken_gateway):
        assert gw.nginx.log_problems() == []


def test_no_secret_in_any_log(gateway, broken_gateway):
    for gw in (gateway, broken_gateway):
        for name in ("error.log", "access.log"):
            text = (gw.nginx.prefix / name).read_text()
            for secret in list(SECRETS.values()) + list(CLIENT_KEYS.values()):
                assert secret not in text, (name, secret[:6])
