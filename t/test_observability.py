"""What an operator sees of the gateway: every $ftgw_* variable in a custom
log_format after each kind of request (success, client error, vendor
error), the audit log that config/ftgw-audit.conf ships (one JSON line per
state-changing call), and /metrics parsed by prometheus_client, its
counters equal to what the test sent and its series bounded."""

from __future__ import annotations

import io
import json
import secrets
import subprocess
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

import harness
from conftest import (CLIENT_KEYS, DATASET, SECRETS, Gateway, _clova_params,
                      _grpc_internal, _internal, _start, assert_logs_clean,
                      error_of)

AUDIT_CONF = harness.ROOT / "config" / "ftgw-audit.conf"
VARS = ("client", "provider", "route", "operation", "job_id", "file_id",
        "vendor_status", "vendor_calls", "vendor_time", "error_code")


def chat_file(n: int = 12) -> bytes:
    return b"".join(json.dumps({"messages": [
        {"role": "user", "content": f"{i} plus one?"},
        {"role": "assistant", "content": f"{i + 1}."}]}).encode() + b"\n"
        for i in range(n))


@pytest.fixture(scope="module")
def obs(workdir, clova_sandbox, yandex_sandbox, yandex_key):
    """clova in front of the CLOVA sandbox (and a route to it), clova_down
    whose vendor refuses connections, yandex_iam with IAM exchanges; a
    log_format of every variable, the shipped audit log, /metrics."""
    prefix = workdir / "obs"
    prefix.mkdir()
    key = harness.write_secret(prefix / "clova.key",
                               SECRETS["clova_api_key"])
    closed = harness.free_port()
    fields = "|".join(f"{v}=$ftgw_{v}" for v in VARS)
    providers = f"""
    include {AUDIT_CONF};
    log_format vars '$request_method $uri $status|{fields}|rid=$ftgw_request_id';
    access_log {prefix}/vars.log vars;
    access_log {prefix}/audit.log ftgw_audit if=$ftgw_audit;
    ftgw_metrics_zone 256k;
    ftgw_provider clova kind=clova endpoint=/_ftgw/clova auth=bearer
                  api_key_file={key} {_clova_params(prefix)};
    ftgw_provider clova_down kind=clova endpoint=/_ftgw/clova_down
                  api_key_file={key} {_clova_params(prefix)};
    ftgw_provider yandex_iam kind=yandex endpoint=/_ftgw/yandex
                  folder_id=b1gsandboxfolder auth=iam
                  service_account_key_file={yandex_key[0]}
                  iam_endpoint=/_ftgw/yandex_iam;
    ftgw_route support-bot provider=clova model=HCX-003;"""
    locations = (_internal("clova", f"http://127.0.0.1:{clova_sandbox.port}/")
                 + _internal("clova_down", f"http://127.0.0.1:{closed}/")
                 + _grpc_internal("yandex",
                                  f"grpc://127.0.0.1:{yandex_sandbox.port}")
                 + _internal("yandex_iam",
                             f"http://127.0.0.1:{yandex_sandbox.http_port}/",
                             kind="yandex-iam")
                 + "\n        location = /metrics { ftgw_metrics; }")
    nginx = _start(prefix, providers, locations)
    yield Gateway(nginx, {"clova": clova_sandbox.port,
                          "yandex": yandex_sandbox.http_port})
    nginx.stop()
    assert_logs_clean(nginx)


def log_lines(gw: Gateway, name: str = "vars.log") -> list[str]:
    path = gw.nginx.prefix / name
    return path.read_text().splitlines() if path.exists() else []


def last_vars(gw: Gateway, before: int, rid: str) -> dict:
    """The vars line of the request whose id is rid, logged after the
    first `before` lines: {"status": ..., "<var>": value or None}."""
    deadline = time.time() + 5
    while time.time() < deadline:
        for line in log_lines(gw)[before:]:
            head, *pairs = line.split("|")
            fields = dict(p.split("=", 1) for p in pairs)
            if fields["rid"] != rid:
                continue
            out = {k: (None if v == "-" else v) for k, v in fields.items()}
            out["status"] = int(head.split()[2])
            return out
        time.sleep(0.05)
    raise AssertionError(f"no log line for {rid}")


def call(gw: Gateway, method: str, path: str, client: str | None = "alice",
         **kw):
    """A request and its log line's variables."""
    before = len(log_lines(gw))
    r = gw.call(method, path, client=client, **kw)
    return r, last_vars(gw, before, r.headers["x-request-id"])


def metrics(gw: Gateway) -> dict:
    """{(sample name, frozenset(labels)): value} of a /metrics scrape."""
    r = requests.get(gw.base + "/metrics", timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(m: dict, name: str, **labels) -> float:
    return m.get((name, frozenset(labels.items())), 0.0)


# ---- variables -------------------------------------------------------


def test_variables_of_a_create_and_a_retrieve(obs):
    obs.clear_vendor_requests()
    r, v = call(obs, "POST", "/v1/fine_tuning/jobs",
                json={"model": "support-bot", "training_file": DATASET})
    assert r.status_code == 200, r.text
    job = r.json()
    assert v["status"] == 200
    assert v["client"] == "alice"
    assert v["provider"] == "clova"
    assert v["route"] == "support-bot"
    assert v["operation"] == "create"
    assert v["job_id"] == job["id"]
    assert v["file_id"] is None
    assert v["error_code"] is None
    assert int(v["vendor_calls"]) == len(obs.vendor_requests())
    assert float(v["vendor_time"]) >= 0.0

    obs.clear_vendor_requests()
    r, v = call(obs, "GET", f"/v1/fine_tuning/jobs/{job['id']}")
    assert r.status_code == 200
    assert v["operation"] == "retrieve"
    assert v["job_id"] == job["id"]
    assert v["provider"] == "clova"
    assert v["route"] is None
    # the vendor's own status word, as the job's vendor object has it
    assert v["vendor_status"] == r.json()["vendor"]["status"]
    assert v["vendor_calls"] == "1"


def test_variables_of_client_errors(obs):
    r, v = call(obs, "POST", "/v1/fine_tuning/jobs",
                json={"model": "clova/HCX-003", "training_file": DATASET,
                      "hyperparameters": {"n_epochs": "many"}})
    assert r.status_code == 400
    assert v["error_code"] == error_of(r)["code"]
    assert v["client"] == "alice" and v["operation"] == "create"
    assert v["vendor_calls"] == "0" and v["vendor_time"] == "0.000"

    r, v = call(obs, "GET", "/v1/fine_tuning/jobs/ftjob-not-a-real-id")
    assert r.status_code == 404
    assert v["error_code"] == "job_not_found"
    # an id that did not verify is client text: never logged as a job id
    assert v["job_id"] is None and v["provider"] is None

    r, v = call(obs, "GET", "/v1/fine_tuning/jobs", client=None,
                headers={"Authorization": "Bearer wrong-key"})
    assert r.status_code == 401
    assert v["client"] is None
    assert v["error_code"] == error_of(r)["code"]


def test_variables_of_vendor_errors(obs):
    r, v = call(obs, "POST", "/v1/fine_tuning/jobs",
                json={"model": "clova_down/HCX-003",
                      "training_file": DATASET})
    assert r.status_code == 502
    assert v["provider"] == "clova_down"
    assert v["error_code"] == error_of(r)["code"] == "vendor_unreachable"
    assert v["vendor_calls"] == "1"
    assert v["vendor_status"] is None      # no vendor answered

    obs.fault(op="create", fault="error", http=429, code="42901",
              message="Too many requests - rate exceeded")
    try:
        r, v = call(obs, "POST", "/v1/fine_tuning/jobs",
                    json={"model": "clova/HCX-003",
                          "training_file": DATASET})
    finally:
        obs.clear_faults()
    assert r.status_code == 429
    assert v["error_code"] == "42901"
    assert v["vendor_status"] == "429"


def test_variables_of_the_files_api(obs):
    data = chat_file()
    before = len(log_lines(obs))
    f = obs.sdk().files.create(file=("t.jsonl", io.BytesIO(data)),
                               purpose="fine-tune")
    # the SDK sends no request id: the line is the one naming the file
    deadline = time.time() + 5
    while not any(f"file_id={f.id}|" in line
                  for line in log_lines(obs)[before:]):
        assert time.time() < deadline, log_lines(obs)[before:]
        time.sleep(0.05)
    line, = [line for line in log_lines(obs)[before:]
             if f"file_id={f.id}|" in line]
    assert "operation=file_upload|" in line and "client=alice|" in line
    assert line.startswith("POST /v1/files 200|")

    r, v = call(obs, "GET", f"/v1/files/{f.id}")
    assert v["operation"] == "file_retrieve" and v["file_id"] == f.id
    r, v = call(obs, "GET", "/v1/files")
    assert v["operation"] == "file_list" and v["file_id"] is None
    r, v = call(obs, "GET", f"/v1/files/{f.id}", client="bob")
    assert r.status_code == 404 and v["client"] == "bob"
    assert v["file_id"] is None and v["error_code"] == "file_not_found"
    r, v = call(obs, "DELETE", f"/v1/files/{f.id}")
    assert r.status_code == 200
    assert v["operation"] == "file_delete" and v["file_id"] == f.id


def test_audit_log_is_one_json_line_per_state_change(obs):
    before = len(log_lines(obs, "audit.log"))
    job = obs.call("POST", "/v1/fine_tuning/jobs",
                   json={"model": "support-bot",
                         "training_file": DATASET}).json()
    obs.call("GET", f"/v1/fine_tuning/jobs/{job['id']}")
    obs.call("GET", "/v1/fine_tuning/jobs")
    cancel = obs.call("POST", f"/v1/fine_tuning/jobs/{job['id']}/cancel")
    refused = obs.call("POST", "/v1/fine_tuning/jobs", client="bob",
                       json={"model": "nope/x", "training_file": DATASET})
    deadline = time.time() + 5
    while len(log_lines(obs, "audit.log")) < before + 3:
        assert time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.2)
    lines = log_lines(obs, "audit.log")[before:]
    records = [json.loads(line) for line in lines]
    assert [(a["operation"], a["status"]) for a in records] == [
        ("create", 200), ("cancel", cancel.status_code),
        ("create", refused.status_code)]
    create, cancelled, bad = records
    assert create["client"] == "alice" and create["route"] == "support-bot"
    assert create["provider"] == "clova" and create["job_id"] == job["id"]
    assert create["vendor_calls"] >= 1
    assert isinstance(create["vendor_time"], float | int)
    assert cancelled["job_id"] == job["id"]
    assert bad["client"] == "bob" and bad["provider"] == ""
    assert bad["error_code"] == error_of(refused)["code"]
    assert bad["request_id"] == refused.headers["x-request-id"]


# ---- metrics ---------------------------------------------------------


def test_metrics_count_what_was_sent(obs):
    before = metrics(obs)
    job = obs.call("POST", "/v1/fine_tuning/jobs", client="bob",
                   json={"model": "clova/HCX-003",
                         "training_file": DATASET}).json()
    for _ in range(3):
        assert obs.call("GET", f"/v1/fine_tuning/jobs/{job['id']}",
                        client="bob").status_code == 200
    for _ in range(2):
        assert obs.call("GET", "/v1/fine_tuning/jobs/ftjob-x",
                        client="bob").status_code == 404
    assert obs.call("POST", "/v1/fine_tuning/jobs", client="bob",
                    json={"model": "clova_down/HCX-003",
                          "training_file": DATASET}).status_code == 502
    obs.call("GET", "/v1/fine_tuning/jobs", client=None,
             headers={"Authorization": "Bearer nobody"})
    after = metrics(obs)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    req = "ftgw_requests_total"
    assert delta(req, client="bob", provider="clova", operation="create",
                 code="2xx") == 1
    assert delta(req, client="bob", provider="clova", operation="retrieve",
                 code="2xx") == 3
    assert delta(req, client="bob", provider="", operation="retrieve",
                 code="4xx") == 2
    assert delta(req, client="bob", provider="clova_down",
                 operation="create", code="5xx") == 1
    # a key that does not authenticate: nothing else is known of it
    assert delta(req, client="", provider="", operation="",
                 code="4xx") == 1

    calls = "ftgw_vendor_calls_total"
    assert delta(calls, provider="clova", method="POST", outcome="2xx") == 1
    assert delta(calls, provider="clova", method="GET", outcome="2xx") == 3
    assert delta(calls, provider="clova_down", method="POST",
                 outcome="unreachable") == 1
    hist = "ftgw_vendor_call_duration_seconds"
    assert delta(hist + "_count", provider="clova", method="GET") == 3
    assert delta(hist + "_bucket", provider="clova", method="GET",
                 le="+Inf") == 3
    assert delta(hist + "_sum", provider="clova", method="GET") >= 0


def test_metrics_iam_exchanges(obs):
    before = metrics(obs)
    r = obs.call("POST", "/v1/fine_tuning/jobs",
                 json={"model": "yandex_iam/yandexgpt-lite",
                       "training_file": "yandex://dataset/fds1train",
                       "tuning": {"tuning_type": "lora"}})
    assert r.status_code == 200, r.text
    after = metrics(obs)
    name = "ftgw_iam_exchanges_total"
    got = (value(after, name, provider="yandex_iam", outcome="2xx")
           - value(before, name, provider="yandex_iam", outcome="2xx"))
    # one exchange, or none while the shared token is still fresh
    assert got in (0, 1)
    assert value(after, name, provider="yandex_iam", outcome="2xx") >= 1
    # the exchange is no tuning call
    assert value(after, "ftgw_vendor_calls_total", provider="yandex_iam",
                 method="POST", outcome="2xx") >= 1


def test_metrics_files_stored(obs):
    name, size = "ftgw_files_stored", "ftgw_files_stored_bytes"
    before = metrics(obs)
    data = chat_file(20)
    sdk = obs.sdk("bob")
    f = sdk.files.create(file=("a.jsonl", io.BytesIO(data)),
                         purpose="fine-tune")
    mid = metrics(obs)
    assert value(mid, name, client="bob") == value(before, name,
                                                   client="bob") + 1
    assert value(mid, size, client="bob") == value(before, size,
                                                   client="bob") + len(data)

    # a reload counts the store again: the same figures
    obs.nginx.reload()
    assert value(metrics(obs), name, client="bob") == value(mid, name,
                                                            client="bob")
    assert value(metrics(obs), size, client="bob") == value(mid, size,
                                                            client="bob")
    sdk.files.delete(f.id)
    end = metrics(obs)
    assert value(end, name, client="bob") == value(before, name,
                                                   client="bob")
    assert value(end, size, client="bob") == value(before, size,
                                                   client="bob")


def test_metrics_series_stay_bounded(obs):
    """10,000 requests with distinct job ids add no series: no id, and
    nothing a client typed, is ever a label value."""
    def series():
        r = requests.get(obs.base + "/metrics", timeout=5)
        return sum(1 for line in r.text.splitlines()
                   if line and not line.startswith("#"))

    # the series these requests use exist once one of each has been made
    s = requests.Session()
    headers = {"Authorization": f"Bearer {CLIENT_KEYS['alice']}"}
    for path in ("/v1/fine_tuning/jobs/ftjob-warm",
                 "/v1/files/file-warm", "/v1/fine_tuning/jobs/x/events"):
        s.get(obs.base + path, headers=headers, timeout=5)
    start = series()
    for i in range(10_000):
        path = ("/v1/fine_tuning/jobs/ftjob-" if i % 3 == 0
                else "/v1/files/file-" if i % 3 == 1
                else "/v1/fine_tuning/jobs/")
        tail = "/events" if i % 3 == 2 else ""
        r = s.get(obs.base + path + secrets.token_hex(8) + tail,
                  headers=headers, timeout=5)
        assert r.status_code == 404
    assert series() == start
    assert "ftgw_metrics_series_dropped_total 0" in requests.get(
        obs.base + "/metrics", timeout=5).text


def test_metrics_refuses_other_methods(obs):
    r = requests.post(obs.base + "/metrics", timeout=5)
    assert r.status_code == 405


PROMETHEUS = harness.ROOT / "build" / "prometheus" / "usr" / "bin"


@pytest.mark.skipif(not (PROMETHEUS / "prometheus").exists(),
                    reason="Debian's prometheus is not unpacked in "
                    "build/prometheus (make it does it)")
def test_promtool_and_prometheus_read_it(obs, tmp_path):
    """Prometheus's own linter accepts the exposition, and Debian's
    prometheus scrapes the endpoint and answers a query over it."""
    obs.call("GET", "/v1/fine_tuning/jobs", client="bob")
    text = requests.get(obs.base + "/metrics", timeout=5).text
    lint = subprocess.run([str(PROMETHEUS / "promtool"), "check",
                           "metrics"], input=text, capture_output=True,
                          text=True, timeout=30)
    assert lint.returncode == 0, lint.stdout + lint.stderr

    port = harness.free_port()
    (tmp_path / "prometheus.yml").write_text(f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: ftgw
    static_configs:
      - targets: ["127.0.0.1:{obs.nginx.port}"]
""")
    proc = subprocess.Popen(
        [str(PROMETHEUS / "prometheus"),
         f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        query = (f"http://127.0.0.1:{port}/api/v1/query?query="
                 'ftgw_requests_total{client="bob",operation="list"}')
        deadline = time.time() + 30
        result = []
        while time.time() < deadline and not result:
            try:
                r = requests.get(query, timeout=2).json()
                result = r["data"]["result"]
            except (requests.RequestException, KeyError, ValueError):
                pass
            time.sleep(0.5)
        assert result, "prometheus never scraped the gateway"
        assert float(result[0]["value"][1]) >= 1
        up = requests.get(f"http://127.0.0.1:{port}/api/v1/query?query=up",
                          timeout=2).json()["data"]["result"]
        assert up[0]["metric"]["job"] == "ftgw" and up[0]["value"][1] == "1"
    finally:
        proc.terminate()
        proc.wait(10)
