"""Secrets rotated with `nginx -s reload`, under load (docs/operations.md,
Rotation): a new id key put first in ftgw_secret_file, a new CLOVA API key
and a new client key, reloaded while a client keeps calling.  No call
fails; ids issued before the reload still resolve and the jobs they name
are still listed; ids issued after it are signed with the new key; the
vendor sees the new credential.  Then the old id key is removed: its ids
are 404s, the new ones hold, and files are still listed under new ids."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import signal
import threading
import time

import pytest
import requests

import harness
from conftest import (CLIENT_KEYS, DATASET, ID_SECRET, SECRETS, Gateway,
                      _clova_params, _internal, _start, assert_logs_clean,
                      error_of)
from test_files import GOOD

OLD_ID_KEY = ID_SECRET                 # what _gateway_conf writes
NEW_ID_KEY = "rotated-" + "4f" * 28
OLD_VENDOR_KEY = "nv-rotation-" + "old0123456789abcdef"
NEW_VENDOR_KEY = "nv-rotation-" + "new0123456789abcdef"
NEW_BOB_KEY = "gw-bob-" + "rotated-0123456789ab"


# ---- the id formats of docs/api.md, checked apart from the gateway ----

def _b64url(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def job_id_signed_with(job_id: str, client: str, key: str) -> bool:
    """ftjob- base64url(payload || HMAC(key, client 0 payload)[:16])"""
    raw = _b64url(job_id[len("ftjob-"):])
    payload, tag = raw[:-16], raw[-16:]
    mac = hmac.new(key.encode(), client.encode() + b"\0" + payload,
                   hashlib.sha256).digest()
    return hmac.compare_digest(mac[:16], tag)


def file_id_signed_with(file_id: str, client: str, key: str) -> bool:
    """file- base64url(key16 || HMAC(key, "file" 0 client 0 key16)[:16])"""
    raw = _b64url(file_id[len("file-"):])
    mac = hmac.new(key.encode(), b"file\0" + client.encode() + b"\0"
                   + raw[:16], hashlib.sha256).digest()
    return hmac.compare_digest(mac[:16], raw[16:])


# ---- a gateway of its own: its files change under it ----

@pytest.fixture
def rotating(tmp_path):
    # the sandbox takes both API keys: what it logs says which one came
    sandbox = harness.start_clova_sandbox(
        tmp_path / "sandbox",
        api_key=OLD_VENDOR_KEY + "\n" + NEW_VENDOR_KEY,
        access_key=SECRETS["ncp_access_key"],
        secret_key=SECRETS["ncp_secret_key"],
        bucket_access_key=SECRETS["bucket_access_key"],
        bucket_secret_key=SECRETS["bucket_secret_key"],
        wait_seconds=0.5, run_seconds=60.0)
    prefix = tmp_path / "gateway"
    prefix.mkdir()
    key = harness.write_secret(prefix / "clova.key", OLD_VENDOR_KEY)
    providers = f"""
    ftgw_provider clova kind=clova endpoint=/_ftgw/clova auth=bearer
                  api_key_file={key} {_clova_params(prefix)};
    upstream clova_sandbox {{
        server 127.0.0.1:{sandbox.port};
        keepalive 8;
    }}"""
    nginx = _start(prefix, providers,
                   _internal("clova", "http://clova_sandbox/"))
    try:
        yield Gateway(nginx, {"clova": sandbox.port})
    finally:
        nginx.stop()
        sandbox.stop()
    assert_logs_clean(nginx)
    for name in ("error.log", "access.log"):
        text = (prefix / name).read_text()
        for secret in (OLD_ID_KEY, NEW_ID_KEY, OLD_VENDOR_KEY,
                       NEW_VENDOR_KEY, NEW_BOB_KEY):
            assert secret not in text, (name, secret[:8])


class Load(threading.Thread):
    """alice's retrieve, list, file retrieve and create, in a loop, each
    on a new connection: every answer and error is kept with its time."""

    def __init__(self, gw: Gateway, job_id: str, file_id: str):
        super().__init__(daemon=True)
        self.gw, self.job_id, self.file_id = gw, job_id, file_id
        self.stop = threading.Event()
        self.results: list[tuple[float, str, object]] = []
        self.created: list[tuple[float, str]] = []

    def _one(self, what: str, method: str, path: str, **kw) -> None:
        try:
            r = self.gw.call(method, path, timeout=10, **kw)
            self.results.append((time.monotonic(), what, r.status_code))
            if what == "create" and r.status_code == 200:
                self.created.append((time.monotonic(), r.json()["id"]))
        except requests.RequestException as e:
            self.results.append((time.monotonic(), what, repr(e)))

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            self._one("retrieve", "GET",
                      f"/v1/fine_tuning/jobs/{self.job_id}")
            self._one("list", "GET", "/v1/fine_tuning/jobs?limit=100")
            self._one("file", "GET", f"/v1/files/{self.file_id}")
            if i % 3 == 0:
                self._one("create", "POST", "/v1/fine_tuning/jobs",
                          json={"model": "clova/HCX-003",
                                "training_file": DATASET,
                                "suffix": f"load{i}"})
            i += 1


def _bearer_keys(gw: Gateway) -> set[str]:
    return {e["headers"].get("authorization")
            for e in gw.vendor_requests() if "op" not in e}


def test_rotation_under_load(rotating):
    gw = rotating
    prefix = gw.nginx.prefix
    alice = gw.sdk()

    # issued before the rotation, with the old key
    job = alice.fine_tuning.jobs.create(model="clova/HCX-003",
                                        training_file=DATASET,
                                        suffix="before")
    file = alice.files.create(file=("train.jsonl", io.BytesIO(GOOD)),
                              purpose="fine-tune")
    assert job_id_signed_with(job.id, "alice", OLD_ID_KEY)
    assert file_id_signed_with(file.id, "alice", OLD_ID_KEY)
    assert _bearer_keys(gw) == {"Bearer " + OLD_VENDOR_KEY}
    workers = gw.nginx.workers()

    load = Load(gw, job.id, file.id)
    load.start()
    time.sleep(1.0)

    # the operator: a new id key first, a new vendor key, bob's new key
    (prefix / "id.secret").write_text(
        "# new, 2026-12-07\n" + NEW_ID_KEY + "\n" + OLD_ID_KEY + "\n")
    harness.write_secret(prefix / "clova.key", NEW_VENDOR_KEY)
    harness.write_secret(prefix / "bob.key", NEW_BOB_KEY)
    assert gw.nginx.test_config().returncode == 0
    gw.nginx.reload()
    # the old workers have exited: every vendor call from here on is new
    reloaded = time.monotonic()
    gw.clear_vendor_requests()
    assert gw.nginx.workers().isdisjoint(workers)

    time.sleep(1.5)
    load.stop.set()
    load.join(timeout=30)
    assert not load.is_alive()

    # no call of the load failed, before, during or after the reload
    failed = [r for r in load.results
              if not (isinstance(r[2], int) and 200 <= r[2] < 300)]
    assert failed == []
    after = [r for r in load.results if r[0] > reloaded]
    assert {r[1] for r in after} >= {"retrieve", "list", "file", "create"}

    # the vendor saw only the new key once the reload was done
    assert _bearer_keys(gw) == {"Bearer " + NEW_VENDOR_KEY}

    # ids issued before the reload resolve, and ids issued since are
    # signed with the new key, not the old one
    assert alice.fine_tuning.jobs.retrieve(job.id).id == job.id
    assert alice.files.retrieve(file.id).id == file.id
    new_creates = [i for t, i in load.created if t > reloaded]
    assert new_creates
    for job_id in new_creates:
        assert job_id_signed_with(job_id, "alice", NEW_ID_KEY)
        assert not job_id_signed_with(job_id, "alice", OLD_ID_KEY)
    new_file = alice.files.create(file=("t2.jsonl", io.BytesIO(GOOD)),
                                  purpose="fine-tune")
    assert file_id_signed_with(new_file.id, "alice", NEW_ID_KEY)
    assert not file_id_signed_with(new_file.id, "alice", OLD_ID_KEY)

    # the file is listed under an id of the new key, which reaches it too
    listed_files = {f.filename: f.id for f in alice.files.list().data}
    relisted = listed_files["train.jsonl"]
    assert file_id_signed_with(relisted, "alice", NEW_ID_KEY)
    assert alice.files.retrieve(relisted).id == relisted

    # the job sealed with the old key is still listed, under a new id
    listed = {j.vendor["job_id"]: j.id
              for j in alice.fine_tuning.jobs.list(limit=100).data}
    assert job.vendor["job_id"] in listed
    assert job_id_signed_with(listed[job.vendor["job_id"]], "alice",
                              NEW_ID_KEY)
    assert len(listed) == 1 + len(load.created)

    # the client key file was read again: bob's old key is refused
    r = gw.call("GET", "/v1/fine_tuning/jobs", client="bob")
    assert r.status_code == 401
    assert error_of(r)["code"] == "invalid_api_key"
    r = gw.call("GET", "/v1/fine_tuning/jobs", client=None,
                headers={"Authorization": "Bearer " + NEW_BOB_KEY})
    assert r.status_code == 200, r.text

    # later: the old id key removed; its ids are gone, the new ones hold
    (prefix / "id.secret").write_text(NEW_ID_KEY + "\n")
    gw.nginx.reload()
    r = gw.call("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert r.status_code == 404
    assert error_of(r)["code"] == "job_not_found"
    r = gw.call("GET", f"/v1/files/{file.id}")
    assert r.status_code == 404
    assert error_of(r)["code"] == "file_not_found"
    assert alice.fine_tuning.jobs.retrieve(new_creates[0]).id == \
        new_creates[0]
    assert alice.files.retrieve(new_file.id).id == new_file.id
    # a file outlives the key it was uploaded under: listed, it is reached
    assert relisted in [f.id for f in alice.files.list().data]
    assert alice.files.content(relisted).content == GOOD
    # the jobs sealed with it no longer list (vendor tags are not
    # sealed again): keep the old key while those jobs matter
    listed = {j.vendor["job_id"]
              for j in alice.fine_tuning.jobs.list(limit=100).data}
    assert job.vendor["job_id"] not in listed


def test_a_bad_key_file_keeps_the_running_configuration(rotating):
    """A short key written by mistake: nginx -t says which line, the
    reload is refused, and the gateway keeps serving with the old keys."""
    gw = rotating
    alice = gw.sdk()
    job = alice.fine_tuning.jobs.create(model="clova/HCX-003",
                                        training_file=DATASET)

    (gw.nginx.prefix / "id.secret").write_text(
        NEW_ID_KEY + "\n" + "too-short\n" + OLD_ID_KEY + "\n")
    r = gw.nginx.test_config()
    assert r.returncode != 0
    assert "line 2: the key holds fewer than 32 bytes" in r.stderr
    assert "too-short" not in r.stderr

    workers = gw.nginx.workers()
    gw.nginx.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "line 2: the key holds" not in gw.nginx.error_log.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert gw.nginx.workers() == workers
    assert alice.fine_tuning.jobs.retrieve(job.id).id == job.id

    # the refused reload logged an [emerg]: expected here, and only that
    log = gw.nginx.error_log
    log.write_text("\n".join(
        line for line in log.read_text().splitlines()
        if "line 2: the key holds fewer than 32 bytes" not in line) + "\n")
