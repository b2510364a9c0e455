"""Tests of the CLOVA Studio tuning API v2 sandbox (sandbox/clova_sandbox.py).

The sandbox runs as a subprocess, exactly as the integration tests and
offline users start it; only the signers and the dataset check are
imported, to check them against the reference's vectors. Its Object
Storage listener is driven with botocore's own S3 client, and requests
that a client would refuse to send (a stale date, a tampered body) are
signed with botocore's S3SigV4Auth.
"""

import csv
import hashlib
import http.client
import io
import json
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import botocore.session
import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_SCRIPT = ROOT / "sandbox" / "clova_sandbox.py"
sys.path.insert(0, str(SANDBOX_SCRIPT.parent))

import clova_sandbox  # noqa: E402

API_KEY = "nv-test-key"
FILE_API_KEY = "nv-key-from-file"
ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
BUCKET_ACCESS_KEY = "bucket-ak"
BUCKET_SECRET_KEY = "bucket-sk"
WAIT_SECONDS = 0.3
RUN_SECONDS = 1.0
TASKS = "/tuning/v2/tasks"
KST_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0900")
BUCKET = "ftgw-staging"
OTHER_BUCKET = "other-bucket"
REGION = "kr-standard"


# ---------------------------------------------------------------- helpers

def start_sandbox(*extra_args):
    """Start the sandbox on a free port; return (process, base URL,
    storage URL)."""
    proc = subprocess.Popen(
        [sys.executable, str(SANDBOX_SCRIPT), "--port", "0", *extra_args],
        stdout=subprocess.PIPE, text=True)
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    if not selector.select(timeout=10):
        proc.kill()
        raise RuntimeError("sandbox did not start")
    line = proc.stdout.readline()
    match = re.fullmatch(r"clova-sandbox listening on (\S+):(\d+)\n", line)
    assert match, line
    storage = re.fullmatch(r"storage listening on (\S+):(\d+)\n", proc.stdout.readline())
    assert storage
    return proc, f"http://{match[1]}:{match[2]}", f"http://{storage[1]}:{storage[2]}"


def stop_sandbox(proc):
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=5)


@pytest.fixture(scope="module")
def sandbox_urls(tmp_path_factory):
    key_file = tmp_path_factory.mktemp("keys") / "api-keys"
    key_file.write_text(f"# comment\n{FILE_API_KEY}\n\n")
    proc, base, storage = start_sandbox(
        "--api-key", API_KEY, "--api-key-file", str(key_file),
        "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
        "--bucket-access-key", BUCKET_ACCESS_KEY, "--bucket-secret-key", BUCKET_SECRET_KEY,
        "--wait-seconds", str(WAIT_SECONDS), "--run-seconds", str(RUN_SECONDS),
        "--total-steps", "100", "--bucket", BUCKET, "--bucket", OTHER_BUCKET)
    yield base, storage
    assert stop_sandbox(proc) == 0


@pytest.fixture(scope="module")
def sandbox(sandbox_urls):
    return sandbox_urls[0]


@pytest.fixture(scope="module")
def storage(sandbox_urls):
    return sandbox_urls[1]


@pytest.fixture(autouse=True)
def clean_sandbox(request):
    if "sandbox" in request.fixturenames or "storage" in request.fixturenames:
        base = request.getfixturevalue("sandbox_urls")[0]
        assert requests.post(base + "/_sandbox/reset").status_code == 200


def bearer(key=API_KEY):
    return {"Authorization": f"Bearer {key}"}


def signed(method, uri, timestamp=None, access_key=ACCESS_KEY, secret_key=SECRET_KEY):
    timestamp = str(timestamp if timestamp is not None else int(time.time() * 1000))
    return {
        "X-NCP-APIGW-TIMESTAMP": timestamp,
        "X-NCP-IAM-ACCESS-KEY": access_key,
        "X-NCP-APIGW-SIGNATURE-V2": clova_sandbox.sign_v2(method, uri, timestamp, access_key, secret_key),
    }


def create_body(path="data/train.csv", **fields):
    body = {
        "model": "HCX-003",
        "trainingDatasetFilePath": path,
        "trainingDatasetBucket": "my-bucket",
        "trainingDatasetAccessKey": BUCKET_ACCESS_KEY,
        "trainingDatasetSecretKey": BUCKET_SECRET_KEY,
    }
    body.update(fields)
    return body


def create(base, path="data/train.csv", **fields):
    response = requests.post(base + TASKS, json=create_body(path, **fields), headers=bearer())
    assert response.status_code == 200, response.text
    return response.json()["result"]


def get_task(base, task_id):
    response = requests.get(f"{base}{TASKS}/{task_id}", headers=bearer())
    assert response.status_code == 200, response.text
    return response.json()["result"]


def wait_for_status(base, task_id, status, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = get_task(base, task_id)
        if task["status"] == status:
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} never reached {status}")


def queue_fault(base, **spec):
    response = requests.post(base + "/_sandbox/faults", json=spec)
    assert response.status_code == 200, response.text


def clova_status(response):
    return response.status_code, response.json()["status"]["code"]


def raw_exchange(base, request_bytes):
    """Send raw bytes; return what the server sends before closing."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request_bytes)
        return sock.recv(65536)


# ---------------------------------------------------------------- signature

@pytest.mark.parametrize("vector", clova_sandbox.SIGNATURE_VECTORS)
def test_signature_vectors(vector):
    method, uri, timestamp, access_key, secret_key, expected = vector
    assert clova_sandbox.sign_v2(method, uri, timestamp, access_key, secret_key) == expected


def test_reference_create_vector():
    assert clova_sandbox.sign_v2("POST", "/tuning/v2/tasks", "1700000000000", "ACCESS_KEY_ID",
                                 "SECRET_KEY") == "4miyMWS4KVbiO/Azgvd67y7IbfnkqR4UiqJUX6301CI="


# ---------------------------------------------------------------- auth

def test_health_needs_no_auth(sandbox):
    response = requests.get(sandbox + "/_sandbox/health")
    assert response.status_code == 200 and response.json() == {"ok": True}


@pytest.mark.parametrize("key", [API_KEY, FILE_API_KEY])
def test_bearer_accepted(sandbox, key):
    assert requests.get(sandbox + TASKS, headers=bearer(key)).status_code == 200


@pytest.mark.parametrize("headers, code", [
    ({}, "40100"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, "40100"),
    ({"Authorization": "Bearer"}, "40100"),
    (bearer("nv-wrong"), "40104"),
])
def test_bearer_rejected(sandbox, headers, code):
    response = requests.get(sandbox + TASKS, headers=headers)
    assert clova_status(response) == (401, code)


def test_signature_accepted_with_raw_query(sandbox):
    uri = TASKS + "?page=0&size=20"
    assert requests.get(sandbox + uri, headers=signed("GET", uri)).status_code == 200
    body = create_body()
    response = requests.post(sandbox + TASKS, json=body, headers=signed("POST", TASKS))
    assert response.status_code == 200


def _now_ms():
    return int(time.time() * 1000)


# Built inside the test so that timestamps are fresh when the request is sent.
@pytest.mark.parametrize("make_headers", [
    lambda: signed("GET", TASKS, secret_key="wrong-secret"),
    lambda: signed("GET", TASKS + "?page=0"),               # query not in the request
    lambda: signed("POST", TASKS),                          # wrong method signed
    lambda: signed("GET", TASKS, access_key="unknown-access-key"),
    lambda: signed("GET", TASKS, timestamp=_now_ms() - 5 * 60 * 1000 - 1000),
    lambda: signed("GET", TASKS, timestamp=_now_ms() + 5 * 60 * 1000 + 1000),
    lambda: {"X-NCP-APIGW-TIMESTAMP": str(_now_ms()), "X-NCP-IAM-ACCESS-KEY": ACCESS_KEY},
], ids=["bad-secret", "query", "method", "access-key", "stale", "future", "no-signature"])
def test_signature_rejected_with_legacy_body(sandbox, make_headers):
    response = requests.get(sandbox + TASKS, headers=make_headers())
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["errorCode"] == "200" and error["message"] == "Authentication Failed"


def test_auth_modes_are_exclusive():
    proc, base, _ = start_sandbox("--auth", "apigw", "--api-key", API_KEY,
                               "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY)
    try:
        assert requests.get(base + TASKS, headers=signed("GET", TASKS)).status_code == 200
        rejected = requests.get(base + TASKS, headers=bearer())
        assert rejected.status_code == 401 and rejected.json()["error"]["errorCode"] == "200"
    finally:
        assert stop_sandbox(proc) == 0
    proc, base, _ = start_sandbox("--auth", "bearer", "--api-key", API_KEY,
                               "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY)
    try:
        assert requests.get(base + TASKS, headers=bearer()).status_code == 200
        assert clova_status(requests.get(base + TASKS, headers=signed("GET", TASKS))) == (401, "40100")
    finally:
        assert stop_sandbox(proc) == 0


# ---------------------------------------------------------------- CRUD

def test_create_get_list_delete(sandbox):
    response = requests.post(sandbox + TASKS, json=create_body(name="my-task", learningRate=1e-5),
                             headers=bearer())
    assert response.status_code == 200
    envelope = response.json()
    assert envelope["status"] == {"code": "20000", "message": "OK"}
    task = envelope["result"]
    assert re.fullmatch(r"[a-z0-9]{8}", task["id"])
    assert task["name"] == "my-task" and task["model"] == "HCX-003"
    assert task["method"] == "LoRA" and task["taskType"] == "GENERATION"
    assert task["trainEpochs"] == 8 and task["learningRate"] == 1e-5
    assert task["status"] == "WAIT" and task["createdClientType"] == "API"
    assert set(task["statusInfo"]) == set(clova_sandbox.STATUS_INFO_KEYS)
    assert all(value is None for value in task["statusInfo"].values())
    assert KST_DATE.fullmatch(task["createdDate"]) and KST_DATE.fullmatch(task["updatedDate"])

    assert get_task(sandbox, task["id"])["id"] == task["id"]
    listed = requests.get(sandbox + TASKS, headers=bearer()).json()["result"]
    assert [t["id"] for t in listed["content"]] == [task["id"]]

    deleted = requests.delete(f"{sandbox}{TASKS}/{task['id']}", headers=bearer())
    assert deleted.status_code == 200 and deleted.json() == {"status": {"code": "20000", "message": "OK"}}
    assert clova_status(requests.get(f"{sandbox}{TASKS}/{task['id']}", headers=bearer())) == (404, "40400")
    assert clova_status(requests.delete(f"{sandbox}{TASKS}/{task['id']}", headers=bearer())) == (404, "40400")


def test_default_name_is_creation_date(sandbox):
    assert re.fullmatch(r"\d{6}-\d{6}", create(sandbox)["name"])


def test_numeric_strings_and_defaults(sandbox):
    task = create(sandbox, trainEpochs="4", learningRate="2e-5", loraR="16",
                  taskType="CLASSIFICATION", tuningType="PEFT", validationSplitRatio=0.1)
    assert task["trainEpochs"] == 4 and task["learningRate"] == 2e-5
    assert task["taskType"] == "CLASSIFICATION"


@pytest.mark.parametrize("fields, code", [
    ({"model": "HCX-005"}, "40080"),
    ({"model": None}, "40001"),
    ({"tuningType": "FULL"}, "40009"),
    ({"taskType": "SUMMARY"}, "40001"),
    ({"trainEpochs": 0}, "40001"),
    ({"trainEpochs": 21}, "40001"),
    ({"trainEpochs": 1.5}, "40001"),
    ({"trainEpochs": "many"}, "40001"),
    ({"learningRate": 0}, "40001"),
    ({"learningRate": 1.5}, "40001"),
    ({"validationSplitRatio": 0.2}, "40001"),
    ({"loraR": 1}, "40001"),
    ({"loraR": 65}, "40001"),
    ({"loraAlpha": 513}, "40001"),
    ({"trainingDatasetSecretKey": None}, "40001"),
    ({"trainingDatasetBucket": ""}, "40001"),
    ({"epochs": 3}, "40002"),
])
def test_create_validation(sandbox, fields, code):
    response = requests.post(sandbox + TASKS, json=create_body(**fields), headers=bearer())
    assert clova_status(response) == (400, code)


def test_create_rejects_bad_json_and_media_type(sandbox):
    headers = {**bearer(), "Content-Type": "application/json"}
    assert clova_status(requests.post(sandbox + TASKS, data="{", headers=headers)) == (400, "40000")
    assert clova_status(requests.post(sandbox + TASKS, data="[]", headers=headers)) == (400, "40000")
    text = {**bearer(), "Content-Type": "text/plain"}
    assert clova_status(requests.post(sandbox + TASKS, data="{}", headers=text)) == (415, "41500")


def test_chunked_request_body(sandbox):
    host, port = sandbox.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    payload = json.dumps(create_body()).encode()
    conn.request("POST", TASKS, body=iter([payload[:10], payload[10:]]), encode_chunked=True,
                 headers={**bearer(), "Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200 and json.loads(response.read())["result"]["status"] == "WAIT"
    conn.close()


def test_list_order_and_paging(sandbox):
    ids = [create(sandbox, name=f"task-{n}")["id"] for n in range(3)]
    newest_first = list(reversed(ids))

    def page(query):
        response = requests.get(f"{sandbox}{TASKS}?{query}", headers=bearer())
        assert response.status_code == 200
        return response.json()["result"]

    everything = page("page=0&size=20")
    assert [t["id"] for t in everything["content"]] == newest_first
    assert all(t["method"] == "LoRA" and "taskType" in t for t in everything["content"])
    first = page("page=0&size=2")
    assert (first["totalPages"], first["totalElements"], first["size"], first["number"]) == (2, 3, 2, 0)
    assert [t["id"] for t in first["content"]] == newest_first[:2]
    assert [t["id"] for t in page("page=1&size=2")["content"]] == newest_first[2:]
    assert page("page=5&size=2")["content"] == []


@pytest.mark.parametrize("query", ["size=0", "size=101", "page=-1", "page=abc"])
def test_list_rejects_bad_paging(sandbox, query):
    assert clova_status(requests.get(f"{sandbox}{TASKS}?{query}", headers=bearer())) == (400, "40001")


@pytest.mark.parametrize("method, path, expected", [
    ("GET", "/tuning/v2/models", (404, "40400")),
    ("GET", "/tuning/v2/tasks/abc/extra", (404, "40400")),
    ("PUT", TASKS, (400, "40000")),
    ("POST", TASKS + "/abcdefgh", (400, "40000")),
])
def test_unknown_paths_and_methods(sandbox, method, path, expected):
    assert clova_status(requests.request(method, sandbox + path, headers=bearer())) == expected


def test_keep_alive(sandbox):
    host, port = sandbox.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", TASKS, headers=bearer())
    first = conn.getresponse()
    first.read()
    sock = conn.sock
    conn.request("GET", "/tuning/v2/tasks/nosuchid", headers=bearer())
    second = conn.getresponse()
    second.read()
    assert not first.will_close and second.status == 404 and conn.sock is sock
    conn.close()


# ---------------------------------------------------------------- lifecycle

def test_lifecycle_wait_running_succeeded(sandbox):
    task = create(sandbox, trainEpochs=4)
    assert task["status"] == "WAIT"
    samples = [wait_for_status(sandbox, task["id"], "RUNNING")]
    for _ in range(2):
        time.sleep(0.25)
        samples.append(get_task(sandbox, task["id"]))
    running = [s for s in samples if s["status"] == "RUNNING"]
    assert len(running) >= 2
    info = running[0]["statusInfo"]
    assert info["totalTrainSteps"] == 100 and info["totalTrainEpochs"] == 4
    assert info["dataRows"] and info["numOfTokens"] and info["estimatedTime"] is not None
    steps = [s["statusInfo"]["currStep"] for s in running]
    losses = [s["statusInfo"]["trainLoss"] for s in running]
    assert steps == sorted(steps) and steps[-1] > steps[0]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))

    done = wait_for_status(sandbox, task["id"], "SUCCEEDED")["statusInfo"]
    assert done["currStep"] == 100 and done["currEpoch"] == 4
    assert done["sendWeightSuccess"] is True and done["failureReason"] is None
    assert KST_DATE.fullmatch(done["endDatetime"]) and done["trainLoss"] < losses[-1]


FILE_FORMAT = clova_sandbox.FILE_FORMAT_MESSAGES
FAILURE_CASES = [
    ("fail/file.extension/x.txt", "file.extension",
     "Unavailable file extension. Please check the file extension again."),
    ("fail/file.size/x.csv", "file.size",
     "Exceeded the disk usage limit. Please check if the file size is 1TB or less."),
    ("fail/file.encoding/x.csv", "file.encoding", "Unsupported charset"),
    ("fail/file.format/x.csv", "file.format", "Invalid json format. Expecting value"),
    ("fail/file.format/1/x.csv", "file.format", "Invalid dataset: required field empty. Text"),
    ("fail/file.format/2/x.csv", "file.format", "Invalid dataset: unexpected column. Text"),
    ("fail/file.format/3/x.csv", "file.format", "Invalid dataset: duplicate columns. Text"),
    ("fail/file.format/4/x.csv", "file.format", "Invalid dataset: column order"),
    ("fail/file.format/5/x.csv", "file.format", "Invalid dataset: Text"),
    ("fail/file.format/9/x.csv", "file.format", "Invalid json format. Expecting value"),
    ("fail/file.error/x.csv", "file.error", None),
    ("fail/file.noexist/x.csv", "file.noexist", None),
    ("fail/File not found/x.csv", "File not found", None),
    ("fail/resource.timeout/x.csv", "resource.timeout", None),
    ("fail/clops.error/x.csv", "clops.error", None),
    ("fail/train.unknown/x.csv", "train.unknown", None),
    ("fail/made.up/x.csv", "made.up", None),
]


def test_failures_on_request(sandbox):
    tasks = [(create(sandbox, path)["id"], reason, message) for path, reason, message in FAILURE_CASES]
    wrong_keys = create(sandbox, trainingDatasetAccessKey="other-ak")
    assert get_task(sandbox, tasks[0][0])["status"] == "WAIT"
    time.sleep(WAIT_SECONDS + 0.05)
    for task_id, reason, message in tasks + [(wrong_keys["id"], "file.noexist", None)]:
        task = get_task(sandbox, task_id)
        info = task["statusInfo"]
        assert (task["status"], info["failureReason"], info["message"]) == ("FAILED", reason, message)
        assert KST_DATE.fullmatch(info["endDatetime"]) and info["currStep"] is None


def test_six_file_format_messages_are_distinct():
    assert len(set(FILE_FORMAT)) == 6


# ---------------------------------------------------------------- control API

def test_force_task_state_freezes_lifecycle(sandbox):
    task = create(sandbox)
    response = requests.post(f"{sandbox}/_sandbox/tasks/{task['id']}",
                             json={"status": "FAILED", "failureReason": "train.unknown",
                                   "statusInfo": {"currStep": 7}})
    assert response.status_code == 200
    time.sleep(WAIT_SECONDS + 0.05)
    forced = get_task(sandbox, task["id"])
    info = forced["statusInfo"]
    assert forced["status"] == "FAILED" and info["failureReason"] == "train.unknown"
    assert info["currStep"] == 7 and KST_DATE.fullmatch(info["endDatetime"])
    running = requests.post(f"{sandbox}/_sandbox/tasks/{task['id']}", json={"status": "RUNNING"})
    assert running.json()["task"]["status"] == "RUNNING"
    assert get_task(sandbox, task["id"])["status"] == "RUNNING"
    assert requests.post(f"{sandbox}/_sandbox/tasks/{task['id']}", json={"bogus": 1}).status_code == 400
    assert requests.post(f"{sandbox}/_sandbox/tasks/nosuchid", json={}).status_code == 404


def test_request_log(sandbox):
    requests.post(sandbox + TASKS, json=create_body(),
                  headers={**bearer(), "X-NCP-CLOVASTUDIO-REQUEST-ID": "req-123"})
    requests.get(sandbox + TASKS + "?page=0&size=5", headers=bearer("nv-wrong"))
    log = requests.get(sandbox + "/_sandbox/requests").json()
    assert [(e["method"], e["path"], e["query"], e["auth_ok"]) for e in log] == [
        ("POST", TASKS, "", True), ("GET", TASKS, "page=0&size=5", False)]
    assert log[0]["headers"]["x-ncp-clovastudio-request-id"] == "req-123"
    assert log[0]["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert json.loads(log[0]["body"])["model"] == "HCX-003"

    task_id = requests.get(sandbox + TASKS, headers=bearer()).json()["result"]["content"][0]["id"]
    assert requests.get(f"{sandbox}/_sandbox/tasks/{task_id}").json()["requestId"] == "req-123"
    assert requests.delete(sandbox + "/_sandbox/requests").status_code == 200
    assert requests.get(sandbox + "/_sandbox/requests").json() == []


def test_reset_clears_everything(sandbox):
    create(sandbox)
    queue_fault(sandbox, op="get", fault="garbage")
    assert requests.post(sandbox + "/_sandbox/reset").status_code == 200
    assert requests.get(sandbox + "/_sandbox/requests").json() == []
    assert requests.get(sandbox + "/_sandbox/faults").json()["faults"] == []
    assert requests.get(sandbox + TASKS, headers=bearer()).json()["result"]["totalElements"] == 0


# ---------------------------------------------------------------- faults

def test_fault_error_clova_envelope_matches_op_and_count(sandbox):
    queue_fault(sandbox, op="create", fault="error", http=400, code="40080",
                message="Model not found", count=2)
    assert requests.get(sandbox + TASKS, headers=bearer()).status_code == 200   # not a create
    for _ in range(2):
        response = requests.post(sandbox + TASKS, json=create_body(), headers=bearer())
        assert response.status_code == 400
        assert response.json() == {"status": {"code": "40080", "message": "Model not found"}}
    assert requests.post(sandbox + TASKS, json=create_body(), headers=bearer()).status_code == 200


def test_fault_error_legacy_body(sandbox):
    queue_fault(sandbox, op="any", fault="error", http=429, code="420", message="Rate Limited",
                legacy=True, headers={"Retry-After": "1"})
    response = requests.get(sandbox + TASKS, headers=bearer())
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert response.json()["error"]["errorCode"] == "420"
    assert response.json()["error"]["message"] == "Rate Limited"


def test_faults_are_fifo_and_clearable(sandbox):
    queue_fault(sandbox, op="list", fault="status", http=502)
    queue_fault(sandbox, op="list", fault="status", http=503)
    assert [f["http"] for f in requests.get(sandbox + "/_sandbox/faults").json()["faults"]] == [502, 503]
    assert requests.get(sandbox + TASKS, headers=bearer()).status_code == 502
    assert requests.delete(sandbox + "/_sandbox/faults").status_code == 200
    assert requests.get(sandbox + TASKS, headers=bearer()).status_code == 200


def test_fault_slow(sandbox):
    queue_fault(sandbox, op="list", fault="slow", delay=0.3)
    started = time.monotonic()
    response = requests.get(sandbox + TASKS, headers=bearer())
    assert response.status_code == 200 and time.monotonic() - started >= 0.3


def test_fault_garbage(sandbox):
    queue_fault(sandbox, op="list", fault="garbage")
    response = requests.get(sandbox + TASKS, headers=bearer())
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert response.text == "<html>oops</html>"


def test_fault_huge(sandbox):
    queue_fault(sandbox, op="get", fault="huge", bytes=2097152)
    response = requests.get(sandbox + TASKS + "/whatever", headers=bearer())
    assert response.status_code == 200 and len(response.content) == 2097152
    assert response.json()["status"]["code"] == "20000"


def test_fault_status(sandbox):
    queue_fault(sandbox, op="delete", fault="status", http=503, body="upstream down")
    response = requests.delete(sandbox + TASKS + "/whatever", headers=bearer())
    assert response.status_code == 503 and response.text == "upstream down"


def test_fault_reset_sends_rst(sandbox):
    queue_fault(sandbox, op="list", fault="reset")
    with pytest.raises(ConnectionResetError):
        raw_exchange(sandbox, f"GET {TASKS} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    queue_fault(sandbox, op="list", fault="reset")
    with pytest.raises(requests.ConnectionError):
        requests.get(sandbox + TASKS, headers=bearer())


def test_fault_drop_closes_without_answer(sandbox):
    queue_fault(sandbox, op="create", fault="drop")
    body = json.dumps(create_body()).encode()
    request = (f"POST {TASKS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    assert raw_exchange(sandbox, request) == b""
    log = requests.get(sandbox + "/_sandbox/requests").json()
    assert json.loads(log[-1]["body"]) == create_body()   # the request was read in full


@pytest.mark.parametrize("spec", [
    {"fault": "explode"},
    {"fault": "error", "op": "update"},
    {"fault": "slow", "delay": "soon"},
    {"fault": "error", "count": 0},
    {"fault": "huge", "bytes": -1},
])
def test_invalid_fault_specs(sandbox, spec):
    assert requests.post(sandbox + "/_sandbox/faults", json=spec).status_code == 400


# ---------------------------------------------------------------- process

def test_sigterm_stops_quickly():
    proc, base, _ = start_sandbox()
    assert requests.get(base + "/_sandbox/health").status_code == 200
    started = time.monotonic()
    assert stop_sandbox(proc) == 0
    assert time.monotonic() - started < 2


# ---------------------------------------------------------------- Object Storage

def s3_client(storage, access_key=BUCKET_ACCESS_KEY, secret_key=BUCKET_SECRET_KEY,
              region=REGION):
    """botocore's own S3 client, path-style, as NAVER documents it."""
    return botocore.session.get_session().create_client(
        "s3", endpoint_url=storage, region_name=region, aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=BotoConfig(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                          request_checksum_calculation="when_required",
                          response_checksum_validation="when_required"))


def signed_s3(method, url, body=b"", *, access_key=BUCKET_ACCESS_KEY,
              secret_key=BUCKET_SECRET_KEY, region=REGION, when=None, payload_hash=None,
              extra=None):
    """Headers of a request signed with botocore's S3SigV4Auth at `when`."""
    timestamp = (when or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    request = AWSRequest(method=method, url=url, data=body)
    request.headers["Host"] = urlsplit(url).netloc
    request.headers["X-Amz-Date"] = timestamp
    request.headers["X-Amz-Content-SHA256"] = payload_hash or hashlib.sha256(body).hexdigest()
    for name, value in (extra or {}).items():
        request.headers[name] = value
    request.context["timestamp"] = timestamp
    signer = S3SigV4Auth(Credentials(access_key, secret_key), "s3", region)
    signature = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request)
    signed = signer.signed_headers(signer.headers_to_sign(request))
    headers = dict(request.headers.items())
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={signer.scope(request)}, "
                                f"SignedHeaders={signed}, Signature={signature}")
    return headers


def s3_error(response):
    assert response.headers["Content-Type"] == "application/xml", response.headers
    code = re.search(r"<Code>([^<]*)</Code>", response.text)
    assert code and "<Message>" in response.text, response.text
    return response.status_code, code[1]


def clova_csv(rows=100, *, header=("System_Prompt", "C_ID", "T_ID", "Text", "Completion"),
              edit=None, bom=False):
    """A valid CLOVA CSV of `rows` data rows (conversations of two turns);
    edit(index, row) may change a row (a list) or return None to drop it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for index in range(rows):
        row = ["You are terse.", str(index // 2), str(index % 2), f"question {index}",
               f"answer {index}"]
        if edit is not None:
            row = edit(index, row)
        if row is not None:
            writer.writerow(row)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def objects(base):
    return requests.get(base + "/_sandbox/objects").json()


def storage_log(base):
    return [e for e in requests.get(base + "/_sandbox/requests").json() if "op" in e]


@pytest.mark.parametrize("vector", clova_sandbox.S3_SIGNATURE_VECTORS)
def test_s3_signer_vectors(vector):
    method, url, headers, timestamp, expected = vector
    signature, _ = clova_sandbox.sigv4_s3_signature(
        "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1",
        method, url, headers, timestamp)
    assert signature == expected


def test_s3_put_get_head_delete_with_botocore(sandbox, storage):
    client = s3_client(storage)
    data = clova_csv()
    put = client.put_object(Bucket=BUCKET, Key="uploads/file-1 train.csv", Body=data,
                            ContentType="text/csv")
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = client.get_object(Bucket=BUCKET, Key="uploads/file-1 train.csv")
    assert got["Body"].read() == data and got["ContentType"] == "text/csv"
    assert client.head_object(Bucket=BUCKET, Key="uploads/file-1 train.csv")[
        "ContentLength"] == len(data)
    assert objects(sandbox) == [{
        "bucket": BUCKET, "key": "uploads/file-1 train.csv", "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(), "etag": put["ETag"],
        "content_type": "text/csv",
        "check": {"ok": True, "rows": 100, "error": None, "failureReason": None}}]
    raw = requests.get(f"{sandbox}/_sandbox/objects/{BUCKET}/uploads/file-1%20train.csv")
    assert raw.status_code == 200 and raw.content == data

    assert client.delete_object(Bucket=BUCKET, Key="uploads/file-1 train.csv")[
        "ResponseMetadata"]["HTTPStatusCode"] == 204
    assert client.delete_object(Bucket=BUCKET, Key="uploads/file-1 train.csv")[
        "ResponseMetadata"]["HTTPStatusCode"] == 204       # missing: 204 too
    with pytest.raises(ClientError) as error:
        client.get_object(Bucket=BUCKET, Key="uploads/file-1 train.csv")
    assert error.value.response["Error"]["Code"] == "NoSuchKey"
    assert objects(sandbox) == []

    log = storage_log(sandbox)
    assert [e["op"] for e in log] == ["s3-put", "s3-get", "s3-head", "s3-delete", "s3-delete",
                                      "s3-get"]
    put_entry = log[0]
    assert put_entry["method"] == "PUT" and put_entry["bucket"] == BUCKET
    assert put_entry["key"] == "uploads/file-1 train.csv" and put_entry["bytes"] == len(data)
    assert put_entry["signature_ok"] is True and put_entry["auth_code"] is None
    assert put_entry["payload_hash"] == hashlib.sha256(data).hexdigest()
    assert {"host", "x-amz-content-sha256", "x-amz-date"} <= set(put_entry["signed_headers"])
    assert "authorization" in put_entry["headers"]
    assert put_entry["format"] == {"ok": True, "rows": 100, "error": None,
                                   "failureReason": None}
    assert all(e["format"] is None for e in log[1:])
    dump = json.dumps(requests.get(sandbox + "/_sandbox/requests").json())
    assert BUCKET_SECRET_KEY not in dump and "Signature=" not in dump


def test_s3_second_bucket_and_unknown_bucket(sandbox, storage):
    client = s3_client(storage)
    client.put_object(Bucket=OTHER_BUCKET, Key="k", Body=b"x")
    with pytest.raises(ClientError) as error:
        client.put_object(Bucket="no-such-bucket", Key="k", Body=b"x")
    assert error.value.response["Error"]["Code"] == "NoSuchBucket"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert [(o["bucket"], o["key"]) for o in objects(sandbox)] == [(OTHER_BUCKET, "k")]


@pytest.mark.parametrize("client_args, status, code", [
    ({"secret_key": "wrong-secret"}, 403, "SignatureDoesNotMatch"),
    ({"access_key": "unknown-key"}, 403, "InvalidAccessKeyId"),
    ({"region": "us-east-1"}, 400, "AuthorizationHeaderMalformed"),
])
def test_s3_refuses_bad_credentials(sandbox, storage, client_args, status, code):
    with pytest.raises(ClientError) as error:
        s3_client(storage, **client_args).put_object(Bucket=BUCKET, Key="k", Body=b"x")
    assert error.value.response["Error"]["Code"] == code
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert objects(sandbox) == []
    entry = storage_log(sandbox)[-1]
    assert entry["signature_ok"] is False and entry["auth_code"] == code


def test_s3_tampered_body_is_a_payload_mismatch(sandbox, storage):
    url = f"{storage}/{BUCKET}/tampered.csv"
    headers = signed_s3("PUT", url, b"original body")
    response = requests.put(url, data=b"another body!", headers=headers)
    assert s3_error(response) == (400, "XAmzContentSHA256Mismatch")
    assert objects(sandbox) == []
    entry = storage_log(sandbox)[-1]
    assert entry["signature_ok"] is True and entry["auth_code"] == "XAmzContentSHA256Mismatch"


def test_s3_unsigned_payload_and_chunked_body(sandbox, storage):
    url = f"{storage}/{BUCKET}/unsigned.csv"
    data = clova_csv()
    response = requests.put(url, data=data,
                            headers=signed_s3("PUT", url, payload_hash="UNSIGNED-PAYLOAD"))
    assert response.status_code == 200, response.text
    url = f"{storage}/{BUCKET}/chunked.csv"
    headers = signed_s3("PUT", url, data)
    response = requests.put(url, data=iter([data[:1000], data[1000:]]), headers=headers)
    assert response.status_code == 200, response.text
    assert requests.get(f"{sandbox}/_sandbox/objects/{BUCKET}/chunked.csv").content == data


@pytest.mark.parametrize("minutes", [-20, 20])
def test_s3_refuses_a_skewed_date(sandbox, storage, minutes):
    url = f"{storage}/{BUCKET}/stale.csv"
    when = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    response = requests.put(url, data=b"x", headers=signed_s3("PUT", url, b"x", when=when))
    assert s3_error(response) == (403, "RequestTimeTooSkewed")


def test_s3_needs_auth_and_signed_amz_headers(sandbox, storage):
    url = f"{storage}/{BUCKET}/k"
    assert s3_error(requests.put(url, data=b"x")) == (403, "AccessDenied")
    headers = signed_s3("PUT", url, b"x")
    headers["x-amz-meta-extra"] = "not signed"
    assert s3_error(requests.put(url, data=b"x", headers=headers)) == (403, "AccessDenied")
    headers = signed_s3("PUT", url, b"x")
    del headers["X-Amz-Content-SHA256"]
    assert s3_error(requests.put(url, data=b"x", headers=headers)) == (400, "InvalidRequest")
    response = requests.head(url)
    assert response.status_code == 403 and response.content == b""
    assert objects(sandbox) == []


def test_s3_content_md5_is_checked(sandbox, storage):
    url = f"{storage}/{BUCKET}/md5.csv"
    wrong = "1B2M2Y8AsgTpgAmY7PhCfg=="         # md5 of b""
    response = requests.put(url, data=b"x", headers=signed_s3(
        "PUT", url, b"x", extra={"Content-MD5": wrong}))
    assert s3_error(response) == (400, "BadDigest")


def _drop_rows(*numbers):
    return lambda index, row: None if index in numbers else row


def _set_field(number, field, value):
    def edit(index, row):
        if index == number:
            row[field] = value
        return row
    return edit


@pytest.mark.parametrize("data, reason, error", [
    (clova_csv(bom=True), None, None),
    (clova_csv(header=("system_prompt", "c_id", "t_id", "TEXT", "completion")), None, None),
    (clova_csv(header=("C_ID", "System_Prompt", "T_ID", "Text", "Completion")),
     "file.format", "Invalid dataset: column order"),
    (clova_csv(header=("System_Prompt", "C_ID", "T_ID", "Text", "Answer")),
     "file.format", "Invalid dataset: unexpected column. Answer"),
    (clova_csv(header=("System_Prompt", "C_ID", "T_ID", "Text", "text")),
     "file.format", "Invalid dataset: duplicate columns. text"),
    (clova_csv(header=("System_Prompt", "C_ID", "T_ID", "Text")),
     "file.format", "Invalid dataset: required field empty. Completion"),
    (clova_csv(edit=_set_field(10, 3, "")),
     "file.format", "Invalid dataset: required field empty. Text"),
    (clova_csv(edit=_set_field(11, 4, "  ")),
     "file.format", "Invalid dataset: required field empty. Completion"),
    (clova_csv(edit=_set_field(0, 1, "1")), "file.format", "Invalid dataset: C_ID"),
    (clova_csv(edit=_set_field(20, 1, "12")), "file.format", "Invalid dataset: C_ID"),
    (clova_csv(edit=_set_field(20, 1, "x")), "file.format", "Invalid dataset: C_ID"),
    (clova_csv(edit=_drop_rows(20, 21)),          # conversation 10 missing
     "file.format", "Invalid dataset: C_ID"),
    (clova_csv(edit=_drop_rows(20)),              # conversation 10 starts at turn 1
     "file.format", "Invalid dataset: T_ID"),
    (clova_csv(edit=_set_field(21, 2, "2")), "file.format", "Invalid dataset: T_ID"),
    (clova_csv(edit=_set_field(20, 2, "1")), "file.format", "Invalid dataset: T_ID"),
    (clova_csv(edit=_set_field(21, 0, "Another prompt.")),
     "file.format", "Invalid dataset: System_Prompt"),
    (clova_csv(edit=lambda index, row: row + ["extra"] if index == 5 else row),
     "file.format", "Invalid dataset: unexpected column. field 6 of row 6"),
    (clova_csv(edit=lambda index, row: row[:3] if index == 5 else row),
     "file.format", "Invalid dataset: required field empty. Text"),
    (clova_csv(rows=98), "file.format",
     "Invalid dataset: at least 100 rows are required, found 98"),
    (clova_csv().replace(b"answer 7", b"answer \xff"), "file.encoding", "Unsupported charset"),
    (clova_csv().decode().encode("utf-16"), "file.encoding", "Unsupported charset"),
    (b"", "file.format", "Invalid dataset: required field empty. System_Prompt"),
])
def test_dataset_format_check_on_put(sandbox, storage, data, reason, error):
    s3_client(storage).put_object(Bucket=BUCKET, Key="check.csv", Body=data)
    check = storage_log(sandbox)[-1]["format"]
    assert (check["ok"], check["failureReason"], check["error"]) == (error is None, reason, error)
    assert objects(sandbox)[0]["check"] == check      # stored either way


def test_dataset_check_skips_blank_lines_and_counts_rows():
    check = clova_sandbox.check_clova_dataset(clova_csv(rows=120) + b"\r\n\r\n")
    assert check == {"ok": True, "rows": 120, "error": None, "failureReason": None}


def stored_task(sandbox, storage, data, key="staged/train.csv"):
    s3_client(storage).put_object(Bucket=BUCKET, Key=key, Body=data)
    return create(sandbox, key, trainingDatasetBucket=BUCKET)


def test_task_on_a_good_stored_object_runs_and_says_so(sandbox, storage):
    task = stored_task(sandbox, storage, clova_csv(rows=140))
    running = wait_for_status(sandbox, task["id"], "RUNNING")
    assert running["statusInfo"]["dataRows"] == 140
    view = requests.get(f"{sandbox}/_sandbox/tasks/{task['id']}").json()
    assert view["dataset_stored"] is True and view["dataset_check"]["ok"] is True
    assert wait_for_status(sandbox, task["id"], "SUCCEEDED")["statusInfo"]["failureReason"] is None


@pytest.mark.parametrize("data, reason, message", [
    (clova_csv(header=("C_ID", "System_Prompt", "T_ID", "Text", "Completion")),
     "file.format", "Invalid dataset: column order"),
    (clova_csv(rows=10), "file.format",
     "Invalid dataset: at least 100 rows are required, found 10"),
    (b"\xff\xfe" + "System_Prompt".encode("utf-16-le"), "file.encoding", "Unsupported charset"),
])
def test_task_on_a_bad_stored_object_fails_with_the_reason(sandbox, storage, data, reason,
                                                           message):
    task = stored_task(sandbox, storage, data)
    failed = wait_for_status(sandbox, task["id"], "FAILED")
    assert failed["statusInfo"]["failureReason"] == reason
    assert failed["statusInfo"]["message"] == message
    assert requests.get(f"{sandbox}/_sandbox/tasks/{task['id']}").json()["dataset_stored"]


def test_task_on_an_absent_object_is_unchanged(sandbox, storage):
    s3_client(storage).put_object(Bucket=BUCKET, Key="other.csv", Body=b"bad")
    task = create(sandbox, "data/train.csv", trainingDatasetBucket=BUCKET)
    assert not requests.get(f"{sandbox}/_sandbox/tasks/{task['id']}").json()["dataset_stored"]
    assert wait_for_status(sandbox, task["id"], "RUNNING")["statusInfo"]["dataRows"] == 1000
    failing = create(sandbox, "fail/file.encoding/x.csv", trainingDatasetBucket=BUCKET)
    assert wait_for_status(sandbox, failing["id"], "FAILED")["statusInfo"][
        "failureReason"] == "file.encoding"


def test_wrong_bucket_keys_still_fail_a_stored_task(sandbox, storage):
    s3_client(storage).put_object(Bucket=BUCKET, Key="good.csv", Body=clova_csv())
    task = create(sandbox, "good.csv", trainingDatasetBucket=BUCKET,
                  trainingDatasetSecretKey="wrong")
    assert wait_for_status(sandbox, task["id"], "FAILED")["statusInfo"][
        "failureReason"] == "file.noexist"


def test_control_api_plants_and_reads_objects(sandbox):
    url = f"{sandbox}/_sandbox/objects/{BUCKET}/planted/bad.csv"
    planted = requests.put(url, data=clova_csv(rows=5), headers={"Content-Type": "text/csv"})
    assert planted.status_code == 200 and planted.json()["check"]["ok"] is False
    assert requests.get(url).content == clova_csv(rows=5)
    assert requests.get(f"{sandbox}/_sandbox/objects/{BUCKET}/nothing").status_code == 404
    task = create(sandbox, "planted/bad.csv", trainingDatasetBucket=BUCKET)
    assert wait_for_status(sandbox, task["id"], "FAILED")["statusInfo"][
        "failureReason"] == "file.format"
    assert requests.delete(url).json() == {"ok": True, "deleted": True}
    requests.put(url, data=b"x")
    assert requests.delete(sandbox + "/_sandbox/objects").status_code == 200
    assert objects(sandbox) == []


def test_reset_clears_objects(sandbox, storage):
    s3_client(storage).put_object(Bucket=BUCKET, Key="k", Body=b"x")
    assert requests.post(sandbox + "/_sandbox/reset").status_code == 200
    assert objects(sandbox) == []


def test_fault_status_on_s3_put_stores_nothing(sandbox, storage):
    queue_fault(sandbox, op="s3-put", fault="status", http=503, body="busy")
    url = f"{storage}/{BUCKET}/k.csv"
    response = requests.put(url, data=b"x", headers=signed_s3("PUT", url, b"x"))
    assert response.status_code == 503 and response.text == "busy"
    assert objects(sandbox) == []
    assert storage_log(sandbox)[-1]["fault"] == "status"
    assert requests.put(url, data=b"x", headers=signed_s3("PUT", url, b"x")).status_code == 200


def test_any_fault_leaves_storage_alone(sandbox, storage):
    queue_fault(sandbox, op="any", fault="status", http=500)
    s3_client(storage).put_object(Bucket=BUCKET, Key="k", Body=b"x")
    assert requests.get(sandbox + TASKS, headers=bearer()).status_code == 500


def test_fault_stall_body_reads_part_then_closes_silently(sandbox, storage):
    queue_fault(sandbox, op="s3-put", fault="stall-body", bytes=1000, delay=0.5)
    data = clova_csv()
    headers = signed_s3("PUT", f"{storage}/{BUCKET}/stall.csv", data)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (f"PUT /{BUCKET}/stall.csv HTTP/1.1\r\n{head}"
               f"Content-Length: {len(data)}\r\n\r\n").encode() + data
    started = time.monotonic()
    assert raw_exchange(storage, request) == b""
    assert time.monotonic() - started >= 0.5
    entry = storage_log(sandbox)[-1]
    assert (entry["op"], entry["fault"], entry["bytes"]) == ("s3-put", "stall-body", 1000)
    assert objects(sandbox) == []


@pytest.mark.parametrize("kind", ["reset", "drop"])
def test_fault_on_s3_get_drops_the_connection(sandbox, storage, kind):
    client = s3_client(storage)
    client.put_object(Bucket=BUCKET, Key="k", Body=b"x")
    queue_fault(sandbox, op="s3-get", fault=kind)
    with pytest.raises(Exception):
        client.get_object(Bucket=BUCKET, Key="k")
    assert client.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"x"


def test_fault_s3_delete_and_slow_put(sandbox, storage):
    client = s3_client(storage)
    queue_fault(sandbox, op="s3-delete", fault="status", http=500)
    with pytest.raises(ClientError):
        client.delete_object(Bucket=BUCKET, Key="k")
    queue_fault(sandbox, op="s3-put", fault="slow", delay=0.3)
    started = time.monotonic()
    client.put_object(Bucket=BUCKET, Key="k", Body=b"x")     # slow, then stored
    assert time.monotonic() - started >= 0.3 and len(objects(sandbox)) == 1


@pytest.mark.parametrize("spec", [
    {"op": "create", "fault": "stall-body"},
    {"op": "s3-get", "fault": "stall-body"},
    {"op": "any", "fault": "stall-body"},
    {"op": "s3-put", "fault": "error"},
    {"op": "s3-get", "fault": "huge"},
    {"op": "s3-put", "fault": "stall-body", "bytes": -1},
    {"op": "s3-put", "fault": "stall-body", "delay": "long"},
    {"op": "s3-list", "fault": "status"},
])
def test_invalid_storage_fault_specs(sandbox, spec):
    assert requests.post(sandbox + "/_sandbox/faults", json=spec).status_code == 400
