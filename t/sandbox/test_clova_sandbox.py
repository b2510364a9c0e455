"""Tests of the CLOVA Studio tuning API v2 sandbox (sandbox/clova_sandbox.py).

The sandbox runs as a subprocess, exactly as the integration tests and
offline users start it; only the signer is imported, to check it against
the reference's computed vectors.
"""

import http.client
import json
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

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


# ---------------------------------------------------------------- helpers

def start_sandbox(*extra_args):
    """Start the sandbox on a free port; return (process, base URL)."""
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
    return proc, f"http://{match[1]}:{match[2]}"


def stop_sandbox(proc):
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=5)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    key_file = tmp_path_factory.mktemp("keys") / "api-keys"
    key_file.write_text(f"# comment\n{FILE_API_KEY}\n\n")
    proc, base = start_sandbox(
        "--api-key", API_KEY, "--api-key-file", str(key_file),
        "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
        "--bucket-access-key", BUCKET_ACCESS_KEY, "--bucket-secret-key", BUCKET_SECRET_KEY,
        "--wait-seconds", str(WAIT_SECONDS), "--run-seconds", str(RUN_SECONDS),
        "--total-steps", "100")
    yield base
    assert stop_sandbox(proc) == 0


@pytest.fixture(autouse=True)
def clean_sandbox(request):
    if "sandbox" in request.fixturenames:
        base = request.getfixturevalue("sandbox")
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
    proc, base = start_sandbox("--auth", "apigw", "--api-key", API_KEY,
                               "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY)
    try:
        assert requests.get(base + TASKS, headers=signed("GET", TASKS)).status_code == 200
        rejected = requests.get(base + TASKS, headers=bearer())
        assert rejected.status_code == 401 and rejected.json()["error"]["errorCode"] == "200"
    finally:
        assert stop_sandbox(proc) == 0
    proc, base = start_sandbox("--auth", "bearer", "--api-key", API_KEY,
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
    proc, base = start_sandbox()
    assert requests.get(base + "/_sandbox/health").status_code == 200
    started = time.monotonic()
    assert stop_sandbox(proc) == 0
    assert time.monotonic() - started < 2
