"""Tests of the Baidu Qianfan fine-tune v1 sandbox (sandbox/qianfan_sandbox.py).

The sandbox runs as a subprocess, exactly as the integration tests and
offline users start it. Every request is signed here with Baidu's own
bce-auth-v1 signer from bce-python-sdk; the sandbox module is imported only
to check its signer wrapper against the reference vectors and its dataset
check. Its BOS listener is driven with the SDK's own BosClient (path-style).
"""

import hashlib
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
from baidubce import utils as bce_utils
from baidubce.auth.bce_credentials import BceCredentials
from baidubce.auth.bce_v1_signer import sign
from baidubce.bce_client_configuration import BceClientConfiguration
from baidubce.exception import BceHttpClientError
from baidubce.retry.retry_policy import NoRetryPolicy
from baidubce.services.bos.bos_client import BosClient

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_SCRIPT = ROOT / "sandbox" / "qianfan_sandbox.py"
sys.path.insert(0, str(SANDBOX_SCRIPT.parent))

import qianfan_sandbox  # noqa: E402

ACCESS_KEY = "test-ak-0123456789"
SECRET_KEY = "test-sk-abcdef9876"
RUN_SECONDS = 1.0
API = "/wenxinworkshop/finetune/"
CST_DATE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
ZERO_TIME = "0000-00-00 00:00:00"
DEFAULT_SIGNED = ("content-type", "host", "x-bce-date")
BUCKET = "ftgw-staging"
OTHER_BUCKET = "other-bucket"


# ---------------------------------------------------------------- helpers

def start_sandbox(*extra_args, stderr=None):
    """Start the sandbox on a free port; return (process, base URL)."""
    proc = subprocess.Popen(
        [sys.executable, str(SANDBOX_SCRIPT), "--port", "0", *extra_args],
        stdout=subprocess.PIPE, stderr=stderr, text=True)
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    if not selector.select(timeout=10):
        proc.kill()
        raise RuntimeError("sandbox did not start")
    line = proc.stdout.readline()
    match = re.fullmatch(r"qianfan-sandbox listening on (\S+):(\d+)\n", line)
    assert match, line
    bos = re.fullmatch(r"bos listening on (\S+):(\d+)\n", proc.stdout.readline())
    assert bos
    return proc, f"http://{match[1]}:{match[2]}", f"http://{bos[1]}:{bos[2]}"


def stop_sandbox(proc):
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=5)


@pytest.fixture(scope="module")
def sandbox_urls(tmp_path_factory):
    keys = tmp_path_factory.mktemp("keys")
    (keys / "ak").write_text(f"# access key\n{ACCESS_KEY}\n")
    (keys / "sk").write_text(f"\n{SECRET_KEY}\n")
    proc, base, bos = start_sandbox("--access-key-file", str(keys / "ak"),
                                    "--secret-key-file", str(keys / "sk"),
                                    "--run-seconds", str(RUN_SECONDS),
                                    "--bos-bucket", BUCKET, "--bos-bucket", OTHER_BUCKET)
    yield base, bos
    assert stop_sandbox(proc) == 0


@pytest.fixture(scope="module")
def sandbox(sandbox_urls):
    return sandbox_urls[0]


@pytest.fixture(scope="module")
def bos(sandbox_urls):
    return sandbox_urls[1]


@pytest.fixture(autouse=True)
def clean_sandbox(request):
    if "sandbox" in request.fixturenames or "bos" in request.fixturenames:
        base = request.getfixturevalue("sandbox_urls")[0]
        assert requests.post(base + "/_sandbox/reset").status_code == 200


def signed_headers(base, method, path, params=None, *, access_key=ACCESS_KEY,
                   secret_key=SECRET_KEY, timestamp=None, expiration=300,
                   to_sign=DEFAULT_SIGNED, bce_date=None, sign_path=None,
                   content_type="application/json"):
    """Headers of a request signed with bce-python-sdk's signer."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": content_type,
        "Host": base.removeprefix("http://"),
        "x-bce-date": bce_date or bce_utils.get_canonical_time(timestamp).decode(),
    }
    authorization = sign(
        BceCredentials(access_key, secret_key), method.encode(),
        (sign_path or path).encode(),
        {name.encode(): value.encode() for name, value in headers.items()},
        {key.encode(): value.encode() for key, value in (params or {}).items()},
        timestamp, expiration, [name.encode() for name in to_sign] or None)
    headers["Authorization"] = authorization.decode()
    return headers


def call(base, op, body, *, query="", params=None, raw=None, **sign_args):
    path = API + op
    headers = signed_headers(base, "POST", path, params, **sign_args)
    data = raw if raw is not None else json.dumps(body)
    return requests.post(base + path + query, data=data, headers=headers)


def ok(response):
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert "error_code" not in envelope, envelope
    assert re.fullmatch(r"\d+", envelope["log_id"])
    return envelope["result"]


def console_error(response):
    envelope = response.json()
    assert set(envelope) == {"log_id", "error_code", "error_msg"}, envelope
    return response.status_code, envelope["error_code"], envelope["error_msg"]


def bce_failure(response):
    envelope = response.json()
    assert set(envelope) == {"requestId", "code", "message"}, envelope
    assert response.headers["X-Bce-Request-Id"] == envelope["requestId"]
    return response.status_code, envelope["code"]


def create_task(base, name="my-task", **fields):
    return ok(call(base, "createTask", {"name": name, **fields}))


# A valid createJob body per trainType (jobRunType 0).
VALID_JOBS = {
    "Llama-2-7b": ("Llama-2", "LoRA", {"epoch": 3, "learningRate": 0.0001, "batchSize": 8}),
    "ERNIE-Bot-turbo-0516": ("ERNIE-Bot-turbo", "ALL",
                             {"epoch": 1, "learningRate": 0.00003, "batchSize": 32}),
    "ERNIE-Bot-turbo-0704": ("ERNIE-Bot-turbo", "ALL", {"epoch": 2, "learningRate": 0.00002}),
    "ERNIE-Bot-turbo-0725": ("ERNIE-Bot-turbo", "ALL",
                             {"epoch": 2, "learningRate": 0.00002, "maxSeqLen": 4096}),
    "Baichuan2-13B": ("Baichuan2", "LoRA", {"epoch": 1, "learningRate": 0.0001}),
}
DROP = object()     # marks a key to remove from a valid body


def job_body(task_id, train_type="Llama-2-7b", train_config=None, **fields):
    base_train_type, peft_type, config = VALID_JOBS[train_type]
    body = {
        "taskId": task_id, "jobRunType": 0, "description": "run",
        "baseTrainType": base_train_type, "trainType": train_type, "trainMode": "SFT",
        "peftType": peft_type, "trainConfig": dict(config),
        "trainset": [{"type": 1, "id": 1234}], "trainsetRate": 20,
    }
    for key, value in (train_config or {}).items():
        if value is DROP:
            body["trainConfig"].pop(key, None)
        else:
            body["trainConfig"][key] = value
    for key, value in fields.items():
        if value is DROP:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def create_job(base, task_id, train_type="Llama-2-7b", **fields):
    return ok(call(base, "createJob", job_body(task_id, train_type, **fields)))["id"]


def detail(base, task_id, job_id):
    return ok(call(base, "jobDetail", {"taskId": task_id, "jobId": job_id}))


def wait_for_status(base, task_id, job_id, status, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = detail(base, task_id, job_id)
        if job["trainStatus"] == status:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {status}")


def queue_fault(base, **spec):
    response = requests.post(base + "/_sandbox/faults", json=spec)
    assert response.status_code == 200, response.text


def force(base, job_id, **changes):
    response = requests.post(f"{base}/_sandbox/jobs/{job_id}", json=changes)
    assert response.status_code == 200, response.text
    return response.json()["job"]


def raw_exchange(base, request_bytes):
    """Send raw bytes; return what the server sends before closing."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request_bytes)
        return sock.recv(65536)


def raw_signed_request(base, op, body):
    headers = signed_headers(base, "POST", API + op)
    payload = json.dumps(body).encode()
    lines = [f"POST {API}{op} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items()),
             f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


# ---------------------------------------------------------------- signer

@pytest.mark.parametrize("vector", qianfan_sandbox.SIGNATURE_VECTORS,
                         ids=["published", "published-explicit", "sample-path",
                              "qianfan-v1", "qianfan-v2"])
def test_signature_vectors(vector):
    method, path, headers, params, timestamp, expiration, to_sign, ak, sk, expected = vector
    assert qianfan_sandbox.bce_sign(ak, sk, method, path, headers, params, timestamp,
                                    expiration, to_sign) == expected
    # ...and straight from the SDK, so the table itself is checked too.
    direct = sign(BceCredentials(ak, sk), method.encode(), path.encode(),
                  {k.encode(): v.encode() for k, v in headers.items()},
                  {k.encode(): v.encode() for k, v in params.items()},
                  timestamp, expiration, [n.encode() for n in to_sign] if to_sign else None)
    assert direct.decode() == expected


def test_published_vector_literal():
    """Baidu's published example (reference §2.8.1), written out in full."""
    headers = {b"Host": b"bj.bcebos.com", b"Date": b"Mon, 27 Apr 2015 16:23:49 +0800",
               b"Content-Type": b"text/plain", b"Content-Length": b"8",
               b"Content-Md5": b"NFzcPqhviddjRNnSOGo4rw==", b"x-bce-date": b"2015-04-27T08:23:49Z"}
    params = {b"partNumber": b"9", b"uploadId": b"a44cc9bab11cbd156984767aad637851"}
    result = sign(BceCredentials("a" * 32, "b" * 32), b"PUT", b"/v1/test/myfolder/readme.txt",
                  headers, params, 1430123029, 1800)
    assert result == (b"bce-auth-v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/2015-04-27T08:23:49Z/1800//"
                      b"d74a04362e6a848f5b39b15421cb449427f419c95a480fd6b8cf9fc783e2999e")


def test_canonical_request_matches_reference():
    canonical = qianfan_sandbox.canonical_request(
        "PUT", "/v1/test/myfolder/readme.txt", qianfan_sandbox._BOS_HEADERS,
        qianfan_sandbox._BOS_PARAMS, None)
    assert canonical == ("PUT\n/v1/test/myfolder/readme.txt\n"
                         "partNumber=9&uploadId=a44cc9bab11cbd156984767aad637851\n"
                         "content-length:8\ncontent-md5:NFzcPqhviddjRNnSOGo4rw%3D%3D\n"
                         "content-type:text%2Fplain\nhost:bj.bcebos.com\n"
                         "x-bce-date:2015-04-27T08%3A23%3A49Z")


# ---------------------------------------------------------------- auth

def test_health_needs_no_auth(sandbox):
    response = requests.get(sandbox + "/_sandbox/health")
    assert response.status_code == 200 and response.json() == {"ok": True}


def test_signed_variants_accepted(sandbox):
    # Minimal signed set, the SDK's 1800 s expiration, and a signed query.
    ok(call(sandbox, "createTask", {"name": "t1"}, to_sign=("host", "x-bce-date"),
            expiration=1800))
    ok(call(sandbox, "createTask", {"name": "t2"}, query="?a=x%20y&flag&b=%2F",
            params={"a": "x y", "flag": "", "b": "/"}))
    # Upper-case names in signedHeaders are matched case-insensitively.
    path = API + "createTask"
    headers = signed_headers(sandbox, "POST", path)
    prefix, names, signature = headers["Authorization"].rsplit("/", 2)
    headers["Authorization"] = f"{prefix}/{names.replace('host', 'Host')}/{signature}"
    ok(requests.post(sandbox + path, data=json.dumps({"name": "t3"}), headers=headers))


def _with_auth(base, authorization):
    headers = signed_headers(base, "POST", API + "createTask")
    if authorization is None:
        del headers["Authorization"]
    else:
        headers["Authorization"] = authorization
    return headers


AUTH_FAILURES = [
    ("bad-secret", lambda b: signed_headers(b, "POST", API + "createTask", secret_key="wrong"),
     (400, "SignatureDoesNotMatch")),
    ("other-path", lambda b: signed_headers(b, "POST", API + "createTask",
                                            sign_path=API + "createJob"),
     (400, "SignatureDoesNotMatch")),
    ("unsigned-query", lambda b: signed_headers(b, "POST", API + "createTask",
                                                params={"x": "1"}),
     (400, "SignatureDoesNotMatch")),
    ("unknown-ak", lambda b: signed_headers(b, "POST", API + "createTask", access_key="other-ak"),
     (403, "InvalidAccessKeyId")),
    ("expired", lambda b: signed_headers(b, "POST", API + "createTask",
                                         timestamp=int(time.time()) - 400, expiration=300),
     (400, "RequestExpired")),
    ("future", lambda b: signed_headers(b, "POST", API + "createTask",
                                        timestamp=int(time.time()) + 400),
     (400, "RequestExpired")),
    ("missing", lambda b: _with_auth(b, None), (400, "InvalidHTTPAuthHeader")),
    ("malformed", lambda b: _with_auth(b, "bce-auth-v1/ak/2023-09-19T13:37:10Z/300"),
     (400, "InvalidHTTPAuthHeader")),
    ("bad-version", lambda b: _with_auth(
        b, signed_headers(b, "POST", API + "createTask")["Authorization"].replace(
            "bce-auth-v1", "bce-auth-v2")), (400, "InvalidHTTPAuthHeader")),
    ("bad-timestamp", lambda b: _with_auth(
        b, f"bce-auth-v1/{ACCESS_KEY}/1695130630/300/host;x-bce-date/{'0' * 64}"),
     (400, "InvalidHTTPAuthHeader")),
    ("date-mismatch", lambda b: signed_headers(b, "POST", API + "createTask",
                                               bce_date="2023-09-19T13:37:10Z"),
     (400, "InvalidHTTPAuthHeader")),
    ("host-unsigned", lambda b: signed_headers(b, "POST", API + "createTask",
                                               to_sign=("content-type", "x-bce-date")),
     (400, "InvalidHTTPAuthHeader")),
    ("date-unsigned", lambda b: signed_headers(b, "POST", API + "createTask",
                                               to_sign=("content-type", "host")),
     (400, "InvalidHTTPAuthHeader")),
    ("default-set", lambda b: signed_headers(b, "POST", API + "createTask", to_sign=()),
     (400, "InvalidHTTPAuthHeader")),
]


@pytest.mark.parametrize("make_headers, expected", [case[1:] for case in AUTH_FAILURES],
                         ids=[case[0] for case in AUTH_FAILURES])
def test_auth_failures(sandbox, make_headers, expected):
    response = requests.post(sandbox + API + "createTask", data=json.dumps({"name": "nope"}),
                             headers=make_headers(sandbox))
    assert bce_failure(response) == expected
    assert requests.get(sandbox + "/_sandbox/requests").json()[-1]["auth_code"] == expected[1]


def test_wrong_host_header_breaks_signature(sandbox):
    headers = signed_headers(sandbox, "POST", API + "createTask")
    headers["Host"] = "qianfan.baidubce.com"
    response = requests.post(sandbox + API + "createTask", data="{}", headers=headers)
    assert bce_failure(response) == (400, "SignatureDoesNotMatch")
    entry = requests.get(sandbox + "/_sandbox/requests").json()[-1]
    assert "host:qianfan.baidubce.com" in entry["canonical_request"]


def test_x_bce_date_header_missing(sandbox):
    headers = signed_headers(sandbox, "POST", API + "createTask")
    del headers["x-bce-date"]
    response = requests.post(sandbox + API + "createTask", data="{}", headers=headers)
    assert bce_failure(response) == (400, "InvalidHTTPAuthHeader")


# ---------------------------------------------------------------- routing

@pytest.mark.parametrize("method, op, expected", [
    ("POST", "listJobs", (400, "InvalidURI")),
    ("GET", "createTask", (400, "InvalidHTTPRequest")),
])
def test_unknown_paths_and_methods(sandbox, method, op, expected):
    path = API + op
    response = requests.request(method, sandbox + path, data="{}",
                                headers=signed_headers(sandbox, method, path))
    assert bce_failure(response) == expected


def test_body_must_be_json(sandbox):
    response = call(sandbox, "createTask", None, raw="{")
    assert console_error(response) == (200, 500001, "param invalid")
    assert console_error(call(sandbox, "createTask", None, raw="[]"))[1] == 500001
    headers = signed_headers(sandbox, "POST", API + "createTask", content_type="text/plain")
    response = requests.post(sandbox + API + "createTask", data='{"name":"ok"}', headers=headers)
    assert console_error(response)[1] == 500001


def test_keep_alive_and_content_length(sandbox):
    host, port = sandbox.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    responses = []
    for op, body in (("createTask", {"name": "ka"}), ("jobDetail", {"taskId": 1, "jobId": 1})):
        headers = signed_headers(sandbox, "POST", API + op)
        conn.request("POST", API + op, body=json.dumps(body), headers=headers)
        response = conn.getresponse()
        payload = response.read()
        assert int(response.getheader("Content-Length")) == len(payload)
        responses.append((response, conn.sock, json.loads(payload)))
    (first, sock1, _), (second, sock2, error) = responses
    assert not first.will_close and sock1 is sock2 and error["error_code"] == 510301
    assert first.getheader("Server") == "qianfan-sandbox/1.0"
    conn.close()


def test_chunked_request_body(sandbox):
    host, port = sandbox.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    payload = json.dumps({"name": "chunky"}).encode()
    conn.request("POST", API + "createTask", body=iter([payload[:5], payload[5:]]),
                 encode_chunked=True, headers=signed_headers(sandbox, "POST", API + "createTask"))
    response = conn.getresponse()
    assert response.status == 200 and json.loads(response.read())["result"]["name"] == "chunky"
    conn.close()


# ---------------------------------------------------------------- createTask

def test_create_task(sandbox):
    first = create_task(sandbox, "task-a", description="first")
    assert first["id"] >= qianfan_sandbox.FIRST_TASK_ID
    assert (first["name"], first["description"]) == ("task-a", "first")
    assert CST_DATE.fullmatch(first["createTime"])
    second = create_task(sandbox, "task-b")
    assert second["id"] == first["id"] + 1 and second["description"] == ""
    # The SDK also sends baseTrainType/trainType: accepted, ignored.
    create_task(sandbox, "task-c", baseTrainType="Llama-2", trainType="Llama-2-7b")


@pytest.mark.parametrize("body, accepted", [
    ({"name": "ab"}, True),
    ({"name": "x" * 20}, True),
    ({"name": "名字"}, True),
    ({"name": "a"}, False),
    ({"name": "x" * 21}, False),
    ({}, False),
    ({"name": 12}, False),
    ({"name": "ok", "description": "d" * 500}, True),
    ({"name": "ok", "description": "d" * 501}, False),
    ({"name": "ok", "description": 5}, False),
])
def test_create_task_validation(sandbox, body, accepted):
    response = call(sandbox, "createTask", body)
    if accepted:
        ok(response)
    else:
        assert console_error(response) == (200, 500001, "param invalid")


def test_duplicate_task_name(sandbox):
    create_task(sandbox, "same")
    assert console_error(call(sandbox, "createTask", {"name": "same"})) == (
        200, 510201, "task name exist")


# ---------------------------------------------------------------- flow

def test_create_job_detail_stop_flow(sandbox):
    task = create_task(sandbox, "flow")
    job_id = create_job(sandbox, task["id"])
    assert job_id >= qianfan_sandbox.FIRST_JOB_ID
    job = detail(sandbox, task["id"], job_id)
    assert job == {**job, "id": job_id, "description": "run", "taskId": task["id"],
                   "taskName": "flow", "version": 1, "jobRunType": 0, "increConfig": None,
                   "trainType": "Llama-2-7b", "trainMode": "SFT", "peftType": "LoRA",
                   "trainStatus": "RUNNING", "finishTime": ZERO_TIME}
    assert set(job) == {"id", "description", "taskId", "taskName", "version", "jobRunType",
                        "increConfig", "trainType", "trainMode", "peftType", "trainStatus",
                        "progress", "runTime", "trainTime", "startTime", "finishTime", "vdlLink"}
    assert 0 <= job["progress"] < 100 and isinstance(job["runTime"], int)
    assert CST_DATE.fullmatch(job["startTime"]) and job["vdlLink"].startswith("https://")
    assert create_job(sandbox, task["id"]) == job_id + 1
    assert detail(sandbox, task["id"], job_id + 1)["version"] == 2

    assert ok(call(sandbox, "stopJob", {"taskId": task["id"], "jobId": job_id})) is True
    stopped = detail(sandbox, task["id"], job_id)
    assert stopped["trainStatus"] == "STOP" and stopped["finishTime"] == ZERO_TIME
    time.sleep(0.1)
    assert detail(sandbox, task["id"], job_id)["progress"] == stopped["progress"]
    assert console_error(call(sandbox, "stopJob", {"taskId": task["id"], "jobId": job_id})) == (
        200, 510302, "job status invalid")


@pytest.mark.parametrize("op", ["jobDetail", "stopJob"])
@pytest.mark.parametrize("make_body, expected", [
    (lambda task_id, job_id: {"taskId": task_id, "jobId": 999999}, 510301),
    (lambda task_id, job_id: {"taskId": str(task_id), "jobId": job_id}, 500001),
    (lambda task_id, job_id: {"taskId": task_id, "jobId": float(job_id)}, 500001),
    (lambda task_id, job_id: {"jobId": job_id}, 500001),
    (lambda task_id, job_id: {"taskId": task_id}, 500001),
], ids=["unknown-job", "string-task", "float-job", "no-task", "no-job"])
def test_unknown_or_bad_job_reference(sandbox, op, make_body, expected):
    task = create_task(sandbox)
    job_id = create_job(sandbox, task["id"])
    assert console_error(call(sandbox, op, make_body(task["id"], job_id)))[1] == expected


def test_job_must_belong_to_task(sandbox):
    task, other = create_task(sandbox, "one"), create_task(sandbox, "two")
    job_id = create_job(sandbox, task["id"])
    response = call(sandbox, "jobDetail", {"taskId": other["id"], "jobId": job_id})
    assert console_error(response) == (200, 510301, "job not exist")


# ---------------------------------------------------------------- lifecycle

def test_lifecycle_running_to_finish_then_incremental(sandbox):
    task = create_task(sandbox)
    job_id = create_job(sandbox, task["id"], peftType="ALL")
    samples = []
    for _ in range(3):
        samples.append(detail(sandbox, task["id"], job_id))
        time.sleep(0.2)
    assert all(s["trainStatus"] == "RUNNING" for s in samples)
    progress = [s["progress"] for s in samples]
    assert progress == sorted(progress) and progress[-1] > progress[0] and progress[-1] < 100
    done = wait_for_status(sandbox, task["id"], job_id, "FINISH")
    assert done["progress"] == 100 and CST_DATE.fullmatch(done["finishTime"])
    assert done["finishTime"] != ZERO_TIME and done["runTime"] == int(RUN_SECONDS)
    stop = call(sandbox, "stopJob", {"taskId": task["id"], "jobId": job_id})
    assert console_error(stop)[1] == 510302
    # A naturally finished ALL run can seed an incremental run.
    incre = {"taskId": task["id"], "jobId": job_id}
    body = {"taskId": task["id"], "jobRunType": 1, "increConfig": incre,
            "trainConfig": {"epoch": 1, "learningRate": 0.0001}, "trainset": [{"type": 1, "id": 7}]}
    new_id = ok(call(sandbox, "createJob", body))["id"]
    job = detail(sandbox, task["id"], new_id)
    assert (job["jobRunType"], job["increConfig"], job["trainType"], job["peftType"],
            job["version"]) == (1, incre, "Llama-2-7b", "ALL", 2)


def test_fail_and_hang_conventions(sandbox):
    task = create_task(sandbox)
    failing = create_job(sandbox, task["id"], trainset=[{"type": 2, "bosPath": "bos:/b/x.jsonl"},
                                                        {"type": 1, "id": 4040}])
    hanging = create_job(sandbox, task["id"], trainset=[{"type": 1, "id": 4041}])
    assert detail(sandbox, task["id"], failing)["trainStatus"] == "RUNNING"
    failed = wait_for_status(sandbox, task["id"], failing, "FAIL", timeout=RUN_SECONDS)
    assert 0 < failed["progress"] <= 50 and failed["finishTime"] != ZERO_TIME
    time.sleep(RUN_SECONDS / 2 + 0.1)
    hung = detail(sandbox, task["id"], hanging)
    assert hung["trainStatus"] == "RUNNING" and hung["progress"] < 100
    stop = call(sandbox, "stopJob", {"taskId": task["id"], "jobId": failing})
    assert console_error(stop)[1] == 510302
    assert ok(call(sandbox, "stopJob", {"taskId": task["id"], "jobId": hanging})) is True


# ---------------------------------------------------------------- createJob rules

TRAIN_CONFIG_ERROR, DATASET_ERROR, PARAM_INVALID = 510401, 510102, 500001

# (train type, train_config overrides, top-level overrides, expected code or None)
JOB_CASES = [
    # run type and model choice
    ("Llama-2-7b", {}, {}, None),
    ("Llama-2-7b", {}, {"jobRunType": 2}, PARAM_INVALID),
    ("Llama-2-7b", {}, {"jobRunType": DROP}, PARAM_INVALID),
    ("Llama-2-7b", {}, {"jobRunType": True}, PARAM_INVALID),
    ("Llama-2-7b", {}, {"taskId": DROP}, PARAM_INVALID),
    ("Llama-2-7b", {}, {"description": "d" * 501}, PARAM_INVALID),
    ("Llama-2-7b", {}, {"baseTrainType": "GPT"}, PARAM_INVALID),
    ("Llama-2-7b", {}, {"baseTrainType": DROP}, PARAM_INVALID),
    ("Llama-2-7b", {}, {"trainType": "ChatGLM2-6B"}, PARAM_INVALID),
    ("Llama-2-7b", {}, {"trainType": DROP}, PARAM_INVALID),
    ("Llama-2-7b", {}, {"trainType": "Llama-2-13b"}, None),
    ("Llama-2-7b", {}, {"baseTrainType": "BLOOMZ", "trainType": "BLOOMZ-7B"}, None),
    ("Llama-2-7b", {}, {"baseTrainType": "ChatGLM2", "trainType": "ChatGLM2-6B"}, None),
    ("Llama-2-7b", {}, {"baseTrainType": "Baichuan2", "trainType": "Baichuan2-13B"}, None),
    ("Llama-2-7b", {}, {"baseTrainType": "SQLCoder", "trainType": "SQLCoder-7B"}, None),
    ("Llama-2-7b", {}, {"trainMode": "DPO"}, PARAM_INVALID),
    ("Llama-2-7b", {}, {"trainMode": DROP}, PARAM_INVALID),
    # peftType per trainType
    ("Llama-2-7b", {}, {"peftType": "P-tuning"}, None),
    ("Llama-2-7b", {}, {"peftType": "ALL"}, None),
    ("Llama-2-7b", {}, {"peftType": "QLoRA"}, PARAM_INVALID),
    ("Llama-2-7b", {}, {"peftType": DROP}, PARAM_INVALID),
    ("ERNIE-Bot-turbo-0516", {}, {}, None),
    ("ERNIE-Bot-turbo-0516", {}, {"peftType": "LoRA"}, PARAM_INVALID),
    ("ERNIE-Bot-turbo-0516", {}, {"peftType": "P-tuning"}, PARAM_INVALID),
    ("ERNIE-Bot-turbo-0725", {}, {"peftType": "ALL"}, None),
    ("ERNIE-Bot-turbo-0725", {}, {"peftType": "P-tuning"}, PARAM_INVALID),
    ("ERNIE-Bot-turbo-0704", {"learningRate": 0.003}, {"peftType": "P-tuning"}, None),
    ("Baichuan2-13B", {}, {}, None),
    ("Baichuan2-13B", {}, {"peftType": "P-tuning"}, PARAM_INVALID),
    ("Llama-2-7b", {}, {"baseTrainType": "SQLCoder", "trainType": "SQLCoder-7B",
                        "peftType": "P-tuning"}, PARAM_INVALID),
    ("Llama-2-7b", {}, {"baseTrainType": "ChatGLM2", "trainType": "ChatGLM2-6B",
                        "peftType": "P-tuning"}, PARAM_INVALID),
    # trainTypes the createJob doc does not list
    ("Llama-2-7b", {}, {"baseTrainType": "ERNIE-Speed", "trainType": "ERNIE-Speed-8K"},
     PARAM_INVALID),
    ("Llama-2-7b", {}, {"baseTrainType": "CodeLlama", "trainType": "CodeLlama-7B"},
     PARAM_INVALID),
    # epoch
    ("Llama-2-7b", {"epoch": 1}, {}, None),
    ("Llama-2-7b", {"epoch": 50}, {}, None),
    ("Llama-2-7b", {"epoch": 0}, {}, TRAIN_CONFIG_ERROR),
    ("Llama-2-7b", {"epoch": 51}, {}, TRAIN_CONFIG_ERROR),
    ("Llama-2-7b", {"epoch": 2.5}, {}, TRAIN_CONFIG_ERROR),
    ("Llama-2-7b", {"epoch": DROP}, {}, TRAIN_CONFIG_ERROR),
    # learningRate, general range
    ("Llama-2-7b", {"learningRate": 0.0000002}, {}, None),
    ("Llama-2-7b", {"learningRate": 0.0002}, {}, None),
    ("Llama-2-7b", {"learningRate": 0.00000019}, {}, TRAIN_CONFIG_ERROR),
    ("Llama-2-7b", {"learningRate": 0.00021}, {}, TRAIN_CONFIG_ERROR),
    ("Llama-2-7b", {"learningRate": "0.0001"}, {}, TRAIN_CONFIG_ERROR),
    ("Llama-2-7b", {"learningRate": DROP}, {}, TRAIN_CONFIG_ERROR),
    ("ERNIE-Bot-turbo-0516", {"learningRate": 0.0002}, {}, None),
    # learningRate, 0704/0725 range
    ("ERNIE-Bot-turbo-0704", {"learningRate": 0.00001}, {}, None),
    ("ERNIE-Bot-turbo-0704", {"learningRate": 0.00004}, {}, None),
    ("ERNIE-Bot-turbo-0704", {"learningRate": 0.0000099}, {}, TRAIN_CONFIG_ERROR),
    ("ERNIE-Bot-turbo-0704", {"learningRate": 0.000041}, {}, TRAIN_CONFIG_ERROR),
    ("ERNIE-Bot-turbo-0725", {"learningRate": 0.0001}, {}, TRAIN_CONFIG_ERROR),
    # learningRate per peftType: 0704/0725 LoRA [3e-5, 1e-3], 0704 P-tuning
    # [0.003, 0.1], Baichuan2-13B [1e-10, 2e-4]
    ("ERNIE-Bot-turbo-0704", {"learningRate": 0.00003}, {"peftType": "LoRA"}, None),
    ("ERNIE-Bot-turbo-0704", {"learningRate": 0.001}, {"peftType": "LoRA"}, None),
    ("ERNIE-Bot-turbo-0704", {"learningRate": 0.00002}, {"peftType": "LoRA"},
     TRAIN_CONFIG_ERROR),
    ("ERNIE-Bot-turbo-0725", {"learningRate": 0.001}, {"peftType": "LoRA"}, None),
    ("ERNIE-Bot-turbo-0725", {"learningRate": 0.0011}, {"peftType": "LoRA"},
     TRAIN_CONFIG_ERROR),
    ("ERNIE-Bot-turbo-0704", {"learningRate": 0.1}, {"peftType": "P-tuning"}, None),
    ("ERNIE-Bot-turbo-0704", {"learningRate": 0.00003}, {"peftType": "P-tuning"},
     TRAIN_CONFIG_ERROR),
    ("ERNIE-Bot-turbo-0704", {"learningRate": 0.11}, {"peftType": "P-tuning"},
     TRAIN_CONFIG_ERROR),
    ("Baichuan2-13B", {"learningRate": 1e-10}, {}, None),
    ("Baichuan2-13B", {"learningRate": 0.9e-10}, {}, TRAIN_CONFIG_ERROR),
    ("Baichuan2-13B", {"learningRate": 0.00021}, {"peftType": "ALL"}, TRAIN_CONFIG_ERROR),
    # batchSize
    ("ERNIE-Bot-turbo-0516", {"batchSize": 16}, {}, None),
    ("ERNIE-Bot-turbo-0516", {"batchSize": 64}, {}, None),
    ("ERNIE-Bot-turbo-0516", {"batchSize": 15}, {}, TRAIN_CONFIG_ERROR),
    ("ERNIE-Bot-turbo-0516", {"batchSize": 65}, {}, TRAIN_CONFIG_ERROR),
    ("ERNIE-Bot-turbo-0704", {"batchSize": 16}, {}, TRAIN_CONFIG_ERROR),
    ("ERNIE-Bot-turbo-0725", {"batchSize": 16}, {}, TRAIN_CONFIG_ERROR),
    ("Llama-2-7b", {"batchSize": 4}, {}, None),
    ("Llama-2-7b", {"batchSize": 64}, {}, None),
    ("Llama-2-7b", {"batchSize": DROP}, {}, None),
    ("Llama-2-7b", {"batchSize": 3}, {}, TRAIN_CONFIG_ERROR),
    ("Llama-2-7b", {"batchSize": 65}, {}, TRAIN_CONFIG_ERROR),
    ("Llama-2-7b", {"batchSize": 8.0}, {}, TRAIN_CONFIG_ERROR),
    # maxSeqLen
    ("Llama-2-7b", {"maxSeqLen": 4096}, {}, None),
    ("Llama-2-7b", {"maxSeqLen": 8192}, {}, None),
    ("Llama-2-7b", {"maxSeqLen": 2048}, {}, TRAIN_CONFIG_ERROR),
    ("ERNIE-Bot-turbo-0725", {"maxSeqLen": 8192}, {}, None),
    ("ERNIE-Bot-turbo-0725", {"maxSeqLen": DROP}, {}, TRAIN_CONFIG_ERROR),
    ("ERNIE-Bot-turbo-0704", {"maxSeqLen": DROP}, {}, None),
    # trainConfig shape
    ("Llama-2-7b", {"warmupRatio": 0.1}, {}, TRAIN_CONFIG_ERROR),
    ("Llama-2-7b", {}, {"trainConfig": DROP}, TRAIN_CONFIG_ERROR),
    ("Llama-2-7b", {}, {"trainConfig": [1]}, TRAIN_CONFIG_ERROR),
    # trainset
    ("Llama-2-7b", {}, {"trainset": [{"type": 2, "bosPath": "bos:/bucket/dir/train.jsonl"}]}, None),
    ("Llama-2-7b", {}, {"trainset": [{"type": 1, "id": 1}, {"type": 1, "id": 2}]}, None),
    ("Llama-2-7b", {}, {"trainset": DROP}, DATASET_ERROR),
    ("Llama-2-7b", {}, {"trainset": []}, DATASET_ERROR),
    ("Llama-2-7b", {}, {"trainset": {"type": 1, "id": 1}}, DATASET_ERROR),
    ("Llama-2-7b", {}, {"trainset": [{"type": 3, "id": 1}]}, DATASET_ERROR),
    ("Llama-2-7b", {}, {"trainset": [{"type": 1}]}, DATASET_ERROR),
    ("Llama-2-7b", {}, {"trainset": [{"type": 1, "id": "12"}]}, DATASET_ERROR),
    ("Llama-2-7b", {}, {"trainset": [{"type": 1, "id": 1, "bosPath": "bos:/b/p"}]}, DATASET_ERROR),
    ("Llama-2-7b", {}, {"trainset": [{"type": 2, "bosPath": "s3://bucket/p"}]}, DATASET_ERROR),
    ("Llama-2-7b", {}, {"trainset": [{"type": 2, "bosPath": "bos://bucket/p"}]}, DATASET_ERROR),
    ("Llama-2-7b", {}, {"trainset": [{"type": 2, "bosPath": "bos:/bucket"}]}, DATASET_ERROR),
    # trainsetRate
    ("Llama-2-7b", {}, {"trainsetRate": 0}, None),
    ("Llama-2-7b", {}, {"trainsetRate": 50}, None),
    ("Llama-2-7b", {}, {"trainsetRate": 12.5}, None),
    ("Llama-2-7b", {}, {"trainsetRate": DROP}, None),
    ("Llama-2-7b", {}, {"trainsetRate": 51}, DATASET_ERROR),
    ("Llama-2-7b", {}, {"trainsetRate": -1}, DATASET_ERROR),
]


def _case_id(case):
    train_type, config, fields, expected = case
    changes = {**config, **fields}
    text = ",".join(f"{k}={'DROP' if v is DROP else v}" for k, v in changes.items())
    return f"{train_type}[{text}]->{expected or 'ok'}"[:90]


@pytest.mark.parametrize("case", JOB_CASES, ids=[_case_id(c) for c in JOB_CASES])
def test_create_job_rules(sandbox, case):
    train_type, config, fields, expected = case
    task = create_task(sandbox)
    response = call(sandbox, "createJob",
                    job_body(task["id"], train_type, train_config=config, **fields))
    if expected is None:
        job_id = ok(response)["id"]
        job = detail(sandbox, task["id"], job_id)
        assert job["trainType"] == fields.get("trainType", train_type)
    else:
        status, code, _ = console_error(response)
        assert (status, code) == (200, expected)


def test_create_job_error_messages(sandbox):
    task = create_task(sandbox)
    cases = [
        ({"taskId": 1}, (510202, "task not exist")),
        ({"trainConfig": {}}, (510401, "train config error")),
        ({"trainset": []}, (510102, "dataset config error")),
        ({"jobRunType": 5}, (500001, "param invalid")),
    ]
    for fields, expected in cases:
        response = call(sandbox, "createJob", job_body(task["id"], **fields))
        assert console_error(response)[1:] == expected


# ---------------------------------------------------------------- incremental

def _incremental(base, task_id, incre, **fields):
    body = {"taskId": task_id, "jobRunType": 1, "increConfig": incre,
            "trainConfig": {"epoch": 1, "learningRate": 0.0001},
            "trainset": [{"type": 1, "id": 9}], **fields}
    return call(base, "createJob", body)


def test_incremental_training(sandbox):
    task = create_task(sandbox)
    full = create_job(sandbox, task["id"], peftType="ALL")
    lora = create_job(sandbox, task["id"], peftType="LoRA")
    old = create_job(sandbox, task["id"], "ERNIE-Bot-turbo-0516")
    for job_id in (full, lora, old):
        assert force(sandbox, job_id, trainStatus="FINISH")["trainStatus"] == "FINISH"
    running = create_job(sandbox, task["id"], peftType="ALL")

    incre = {"taskId": task["id"], "jobId": full}
    other_task = create_task(sandbox, "other")
    new_id = ok(_incremental(sandbox, other_task["id"], incre, peftType="LoRA",
                             trainType="Llama-2-7b"))["id"]
    job = detail(sandbox, other_task["id"], new_id)
    assert (job["jobRunType"], job["increConfig"], job["peftType"], job["version"]) == (
        1, incre, "LoRA", 1)

    not_supported = (200, 510404, "job not support incre train")
    for bad in ({"taskId": task["id"], "jobId": lora},          # not ALL
                {"taskId": task["id"], "jobId": old},           # 0516 cannot seed
                {"taskId": task["id"], "jobId": running},       # not finished
                {"taskId": task["id"], "jobId": 424242},        # no such job
                {"taskId": other_task["id"], "jobId": full}):   # job of another task
        assert console_error(_incremental(sandbox, task["id"], bad)) == not_supported
    for fields in ({"increConfig": None}, {"increConfig": {"taskId": task["id"]}},
                   {"trainType": "Llama-2-13b"}, {"peftType": "QLoRA"}, {"trainMode": "DPO"}):
        response = _incremental(sandbox, task["id"], incre, **fields)
        assert console_error(response)[1] == PARAM_INVALID, fields
    # Incremental runs use the base run's trainConfig rules.
    bad_rate = {"epoch": 1, "learningRate": 0.001}
    assert console_error(_incremental(sandbox, task["id"], incre, trainConfig=bad_rate))[1] == (
        TRAIN_CONFIG_ERROR)


# ---------------------------------------------------------------- control API

def test_force_job_state(sandbox):
    task = create_task(sandbox)
    job_id = create_job(sandbox, task["id"])
    forced = force(sandbox, job_id, trainStatus="FAIL", progress=37.5)
    assert forced["trainStatus"] == "FAIL" and forced["finishTime"] != ZERO_TIME
    job = detail(sandbox, task["id"], job_id)
    assert (job["trainStatus"], job["progress"]) == ("FAIL", 37.5)
    assert force(sandbox, job_id, trainStatus="RUNNING")["finishTime"] == ZERO_TIME
    time.sleep(RUN_SECONDS + 0.1)
    assert detail(sandbox, task["id"], job_id)["trainStatus"] == "RUNNING"   # frozen
    info = requests.get(f"{sandbox}/_sandbox/jobs/{job_id}").json()
    assert info["forced"] is True and info["job"]["id"] == job_id
    assert info["trainConfig"] == VALID_JOBS["Llama-2-7b"][2]
    assert info["trainset"] == [{"type": 1, "id": 1234}] and info["trainsetRate"] == 20
    for body in ({"bogus": 1}, {"progress": 101}, {"trainStatus": 3}):
        assert requests.post(f"{sandbox}/_sandbox/jobs/{job_id}", json=body).status_code == 400
    assert requests.post(f"{sandbox}/_sandbox/jobs/999999", json={}).status_code == 404
    assert requests.get(f"{sandbox}/_sandbox/jobs/abc").status_code == 404
    assert requests.get(f"{sandbox}/_sandbox/nothing").status_code == 404


def test_request_log(sandbox):
    call(sandbox, "createTask", {"name": "logged"}, query="?x=1", params={"x": "1"})
    call(sandbox, "createTask", {"name": "bad"}, secret_key="wrong")
    log = requests.get(sandbox + "/_sandbox/requests").json()
    assert [(e["method"], e["path"], e["query"], e["auth_ok"], e["auth_code"]) for e in log] == [
        ("POST", API + "createTask", "x=1", True, None),
        ("POST", API + "createTask", "", False, "SignatureDoesNotMatch")]
    first, second = log
    assert first["auth_reason"] == "ok" and json.loads(first["body"]) == {"name": "logged"}
    assert first["headers"]["authorization"].startswith(f"bce-auth-v1/{ACCESS_KEY}/")
    assert first["headers"]["content-type"] == "application/json"
    assert first["canonical_request"].startswith(f"POST\n{API}createTask\nx=1\ncontent-type:")
    assert second["auth_reason"] == "signature does not match"
    assert requests.delete(sandbox + "/_sandbox/requests").status_code == 200
    assert requests.get(sandbox + "/_sandbox/requests").json() == []


def test_reset_clears_everything_but_ids_keep_counting(sandbox):
    task = create_task(sandbox, "before")
    job_id = create_job(sandbox, task["id"])
    queue_fault(sandbox, op="jobDetail", fault="garbage")
    assert requests.post(sandbox + "/_sandbox/reset").status_code == 200
    assert requests.get(sandbox + "/_sandbox/requests").json() == []
    assert requests.get(sandbox + "/_sandbox/faults").json()["faults"] == []
    gone = call(sandbox, "jobDetail", {"taskId": task["id"], "jobId": job_id})
    assert console_error(gone)[1] == 510301
    again = create_task(sandbox, "before")          # the name is free again
    assert again["id"] > task["id"] and create_job(sandbox, again["id"]) > job_id


# ---------------------------------------------------------------- faults

def test_fault_error_matches_op_and_count(sandbox):
    queue_fault(sandbox, op="createJob", fault="error", error_code=500000,
                error_msg="console internal error", count=2)
    task = create_task(sandbox)                     # not a createJob: untouched
    for _ in range(2):
        response = call(sandbox, "createJob", job_body(task["id"]))
        assert console_error(response) == (200, 500000, "console internal error")
    ok(call(sandbox, "createJob", job_body(task["id"])))


def test_fault_error_with_http_status_and_headers(sandbox):
    queue_fault(sandbox, op="any", fault="error", error_code=336501, error_msg="rpm limit",
                http=429, headers={"Retry-After": "2"})
    response = call(sandbox, "stopJob", {"taskId": 1, "jobId": 1})
    assert console_error(response) == (429, 336501, "rpm limit")
    assert response.headers["Retry-After"] == "2"


def test_fault_bce_error(sandbox):
    queue_fault(sandbox, op="jobDetail", fault="bce_error", code="AccessDenied",
                message="Access denied.", http=403)
    response = call(sandbox, "jobDetail", {"taskId": 1, "jobId": 1})
    assert bce_failure(response) == (403, "AccessDenied")
    assert response.json()["message"] == "Access denied."
    queue_fault(sandbox, fault="bce_error")
    assert bce_failure(call(sandbox, "createTask", {"name": "x1"})) == (500, "InternalError")


def test_fault_applies_before_auth(sandbox):
    queue_fault(sandbox, op="createTask", fault="status", http=502, body="bad gateway")
    response = call(sandbox, "createTask", {"name": "xx"}, secret_key="wrong")
    assert response.status_code == 502 and response.text == "bad gateway"
    assert requests.get(sandbox + "/_sandbox/requests").json()[-1]["auth_ok"] is False


def test_faults_are_fifo_and_clearable(sandbox):
    queue_fault(sandbox, op="createTask", fault="status", http=502)
    queue_fault(sandbox, op="createTask", fault="status", http=503)
    pending = requests.get(sandbox + "/_sandbox/faults").json()["faults"]
    assert [f["http"] for f in pending] == [502, 503]
    assert call(sandbox, "createTask", {"name": "f1"}).status_code == 502
    assert requests.delete(sandbox + "/_sandbox/faults").status_code == 200
    ok(call(sandbox, "createTask", {"name": "f2"}))


def test_fault_slow(sandbox):
    queue_fault(sandbox, op="createTask", fault="slow", delay=0.3)
    started = time.monotonic()
    ok(call(sandbox, "createTask", {"name": "slow"}))
    assert time.monotonic() - started >= 0.3


def test_fault_garbage(sandbox):
    queue_fault(sandbox, op="jobDetail", fault="garbage")
    response = call(sandbox, "jobDetail", {"taskId": 1, "jobId": 1})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert response.text == "<html>oops</html>"


def test_fault_huge(sandbox):
    queue_fault(sandbox, op="jobDetail", fault="huge", bytes=2097152)
    response = call(sandbox, "jobDetail", {"taskId": 1, "jobId": 1})
    assert response.status_code == 200 and len(response.content) == 2097152
    assert response.json()["result"] is True


def test_fault_status(sandbox):
    queue_fault(sandbox, op="stopJob", fault="status", http=503, body="upstream down",
                headers={"Retry-After": "1"})
    response = call(sandbox, "stopJob", {"taskId": 1, "jobId": 1})
    assert response.status_code == 503 and response.text == "upstream down"
    assert response.headers["Retry-After"] == "1"


def test_fault_reset_sends_rst(sandbox):
    queue_fault(sandbox, op="createTask", fault="reset")
    with pytest.raises(ConnectionResetError):
        raw_exchange(sandbox, raw_signed_request(sandbox, "createTask", {"name": "rst"}))
    queue_fault(sandbox, op="createTask", fault="reset")
    with pytest.raises(requests.ConnectionError):
        call(sandbox, "createTask", {"name": "rst"})


def test_fault_drop_closes_without_answer(sandbox):
    queue_fault(sandbox, op="createTask", fault="drop")
    assert raw_exchange(sandbox, raw_signed_request(sandbox, "createTask", {"name": "drop"})) == b""
    log = requests.get(sandbox + "/_sandbox/requests").json()
    assert json.loads(log[-1]["body"]) == {"name": "drop"}     # read in full
    assert log[-1]["auth_ok"] is True


@pytest.mark.parametrize("spec", [
    {"fault": "explode"},
    {"fault": "error", "op": "listJobs"},
    {"fault": "error", "error_code": "500000"},
    {"fault": "error", "http": 99},
    {"fault": "bce_error", "code": 5},
    {"fault": "slow", "delay": "soon"},
    {"fault": "error", "count": 0},
    {"fault": "huge", "bytes": -1},
    [1, 2],
])
def test_invalid_fault_specs(sandbox, spec):
    assert requests.post(sandbox + "/_sandbox/faults", json=spec).status_code == 400


# ---------------------------------------------------------------- process

def test_error_http_status_option():
    proc, base, _ = start_sandbox("--error-http-status", "400")
    try:
        response = call(base, "createTask", {"name": "x"},
                        access_key="sandbox-ak", secret_key="sandbox-sk")
        assert console_error(response) == (400, 500001, "param invalid")
        queue_fault(base, fault="error")
        response = call(base, "createTask", {"name": "xy"},
                        access_key="sandbox-ak", secret_key="sandbox-sk")
        assert console_error(response) == (400, 500000, "console internal error")
        ok(call(base, "createTask", {"name": "xy"}, access_key="sandbox-ak",
                secret_key="sandbox-sk"))
    finally:
        assert stop_sandbox(proc) == 0


def test_verbose_never_logs_secrets():
    proc, base, _ = start_sandbox("--verbose", "--access-key", ACCESS_KEY,
                                  "--secret-key", SECRET_KEY, stderr=subprocess.PIPE)
    try:
        ok(call(base, "createTask", {"name": "verbose"}))
        call(base, "createTask", {"name": "bad"}, secret_key="wrong")
    finally:
        assert stop_sandbox(proc) == 0
    log = proc.stderr.read()
    assert "POST /wenxinworkshop/finetune/createTask" in log and "SignatureDoesNotMatch" in log
    assert SECRET_KEY not in log and "bce-auth-v1" not in log and "verbose" not in log


def test_sigterm_stops_quickly():
    proc, base, _ = start_sandbox()
    assert requests.get(base + "/_sandbox/health").status_code == 200
    started = time.monotonic()
    assert stop_sandbox(proc) == 0
    assert time.monotonic() - started < 2


def test_bad_options_refused():
    for args in (["--run-seconds", "-1"], ["--error-http-status", "42"]):
        result = subprocess.run([sys.executable, str(SANDBOX_SCRIPT), *args],
                                capture_output=True, text=True, timeout=10)
        assert result.returncode != 0 and "qianfan-sandbox:" in result.stderr


# ---------------------------------------------------------------- BOS

def bos_client(bos, secret_key=SECRET_KEY):
    """bce-python-sdk's BosClient, path-style, no retries."""
    return BosClient(BceClientConfiguration(
        credentials=BceCredentials(ACCESS_KEY, secret_key), endpoint=bos.removeprefix("http://"),
        path_style_enable=True, retry_policy=NoRetryPolicy()))


def signed_bos(method, url, body=b"", *, secret_key=SECRET_KEY, timestamp=None,
               expiration=1800, to_sign=("host", "x-bce-content-sha256", "x-bce-date"),
               payload_hash=None):
    """Headers of a BOS request signed with the SDK's signer."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Host": url.removeprefix("http://").split("/", 1)[0],
        "x-bce-date": bce_utils.get_canonical_time(timestamp).decode(),
        "x-bce-content-sha256": payload_hash or hashlib.sha256(body).hexdigest(),
    }
    path = "/" + url.removeprefix("http://").split("/", 1)[1]
    headers["Authorization"] = sign(
        BceCredentials(ACCESS_KEY, secret_key), method.encode(), path.encode(),
        {name.encode(): value.encode() for name, value in headers.items()}, {},
        timestamp, expiration, [name.encode() for name in to_sign] or None).decode()
    return headers


def bos_error(response):
    body = response.json()
    assert set(body) == {"code", "message", "requestId"}, body
    assert response.headers["x-bce-request-id"] == body["requestId"]
    return response.status_code, body["code"]


def sdk_error(call_it):
    with pytest.raises(BceHttpClientError) as error:
        call_it()
    return error.value.last_error.status_code, error.value.last_error.code


def turn(prompt="hi", response="hello", **extra):
    return {"prompt": prompt, "response": [[response]], **extra}


def sft_jsonl(lines=32, edit=None):
    """A valid SFT JSONL of `lines` examples; edit(index, example) may
    replace an example (a list of turns)."""
    out = []
    for index in range(lines):
        example = [turn(f"q{index}", f"a{index}", system="be brief"), turn("more?", "no")]
        if edit is not None:
            example = edit(index, example)
        out.append(json.dumps(example, ensure_ascii=False))
    return ("\n".join(out) + "\n").encode("utf-8")


def bos_objects(base):
    return requests.get(base + "/_sandbox/objects").json()


def bos_log(base):
    return [e for e in requests.get(base + "/_sandbox/requests").json() if "op" in e]


def test_bos_put_get_head_delete_with_bos_client(sandbox, bos):
    client = bos_client(bos)
    data = sft_jsonl()
    put = client.put_object_from_string(BUCKET, "uploads/file-1 train.jsonl", data)
    assert put.metadata.etag == hashlib.md5(data).hexdigest()
    assert client.get_object_as_string(BUCKET, "uploads/file-1 train.jsonl") == data
    assert int(client.get_object_meta_data(BUCKET, "uploads/file-1 train.jsonl")
               .metadata.content_length) == len(data)
    listed = bos_objects(sandbox)
    assert [(o["bucket"], o["key"], o["bytes"], o["sha256"]) for o in listed] == [
        (BUCKET, "uploads/file-1 train.jsonl", len(data), hashlib.sha256(data).hexdigest())]
    assert listed[0]["check"] == {"ok": True, "rows": 32, "error": None}
    raw = requests.get(f"{sandbox}/_sandbox/objects/{BUCKET}/uploads/file-1%20train.jsonl")
    assert raw.content == data
    client.delete_object(BUCKET, "uploads/file-1 train.jsonl")
    client.delete_object(BUCKET, "uploads/file-1 train.jsonl")     # missing: fine too
    assert sdk_error(lambda: client.get_object_as_string(
        BUCKET, "uploads/file-1 train.jsonl")) == (404, "NoSuchKey")

    log = bos_log(sandbox)
    assert [e["op"] for e in log] == ["bos-put", "bos-get", "bos-head", "bos-delete",
                                      "bos-delete", "bos-get"]
    assert all(e["signature_ok"] for e in log)
    assert log[0]["format"] == {"ok": True, "rows": 32, "error": None}
    assert log[0]["bytes"] == len(data) and log[0]["key"] == "uploads/file-1 train.jsonl"
    dump = json.dumps(requests.get(sandbox + "/_sandbox/requests").json())
    assert SECRET_KEY not in dump


def test_bos_wrong_secret_and_unknown_bucket(sandbox, bos):
    assert sdk_error(lambda: bos_client(bos, "wrong-secret").put_object_from_string(
        BUCKET, "k", b"x")) == (403, "SignatureDoesNotMatch")
    assert sdk_error(lambda: bos_client(bos).put_object_from_string(
        "no-such-bucket", "k", b"x")) == (404, "NoSuchBucket")
    bos_client(bos).put_object_from_string(OTHER_BUCKET, "k", b"x")
    assert [(o["bucket"], o["key"]) for o in bos_objects(sandbox)] == [(OTHER_BUCKET, "k")]
    assert bos_log(sandbox)[0]["auth_code"] == "SignatureDoesNotMatch"


def test_bos_explicit_signed_headers(sandbox, bos):
    url = f"{bos}/{BUCKET}/signed.jsonl"
    response = requests.put(url, data=b"x", headers=signed_bos("PUT", url, b"x"))
    assert response.status_code == 200, response.text
    response = requests.put(url, data=b"x", headers=signed_bos(
        "PUT", url, b"x", to_sign=("x-bce-date",)))
    assert bos_error(response) == (400, "InvalidHTTPAuthHeader")
    assert bos_error(requests.put(url, data=b"x")) == (403, "AccessDenied")


def test_bos_tampered_body_is_a_bad_digest(sandbox, bos):
    url = f"{bos}/{BUCKET}/tampered.jsonl"
    response = requests.put(url, data=b"another body!",
                            headers=signed_bos("PUT", url, b"original body"))
    assert bos_error(response) == (400, "BadDigest")
    assert bos_objects(sandbox) == []
    assert bos_log(sandbox)[-1]["signature_ok"] is True


def test_bos_stale_timestamp_is_refused(sandbox, bos):
    url = f"{bos}/{BUCKET}/stale.jsonl"
    headers = signed_bos("PUT", url, b"x", timestamp=int(time.time()) - 3600)
    assert bos_error(requests.put(url, data=b"x", headers=headers)) == (403, "RequestExpired")
    headers = signed_bos("PUT", url, b"x", timestamp=int(time.time()) + 3600)
    assert bos_error(requests.put(url, data=b"x", headers=headers)) == (403, "RequestExpired")


def _with_turns(count):
    return lambda index, example: [turn()] * count if index == 3 else example


@pytest.mark.parametrize("data, error", [
    (sft_jsonl(), None),
    (sft_jsonl(edit=_with_turns(150)), None),
    (sft_jsonl() + b"\n\n", None),
    (sft_jsonl(31), "31 examples, at least 32 are required"),
    (sft_jsonl(edit=lambda i, ex: [{"prompt": "q", "response": "a"}] if i == 2 else ex),
     'line 3: turn 1 "response" is not [["<non-empty string>"]]'),
    (sft_jsonl(edit=lambda i, ex: [{"prompt": "q", "response": [["a", "b"]]}] if i == 2
               else ex), 'line 3: turn 1 "response" is not [["<non-empty string>"]]'),
    (sft_jsonl(edit=lambda i, ex: [turn(response="")] if i == 2 else ex),
     'line 3: turn 1 "response" is not [["<non-empty string>"]]'),
    (sft_jsonl(edit=lambda i, ex: [turn(), turn(system="late")] if i == 4 else ex),
     'line 5: turn 2 has "system", which only the first turn may have'),
    (sft_jsonl(edit=_with_turns(151)), "line 4: 151 turns, not 1 to 150"),
    (sft_jsonl(edit=lambda i, ex: [] if i == 0 else ex), "line 1: 0 turns, not 1 to 150"),
    (sft_jsonl(edit=lambda i, ex: [turn(prompt=" ")] if i == 0 else ex),
     'line 1: turn 1 "prompt" is not a non-empty string'),
    (sft_jsonl(edit=lambda i, ex: [turn(weight=1)] if i == 0 else ex),
     "line 1: turn 1 has an unexpected key 'weight'"),
    (sft_jsonl(edit=lambda i, ex: {"messages": []} if i == 0 else ex),
     "line 1: not a JSON array of turns"),
    (b"[not json\n" + sft_jsonl(), "line 1: not JSON"),
    (b'[{"prompt": "\xff", "response": [["a"]]}]\n' + sft_jsonl(), "not UTF-8 (byte 13)"),
])
def test_sft_format_check_on_put(sandbox, bos, data, error):
    bos_client(bos).put_object_from_string(BUCKET, "check.jsonl", data)
    check = bos_log(sandbox)[-1]["format"]
    assert (check["ok"], check["error"]) == (error is None, error)
    assert bos_objects(sandbox)[0]["check"] == check      # stored either way


def bos_job(base, bos_path, **fields):
    task_id = create_task(base, "bos-task")["id"]
    trainset = [{"type": 2, "bosPath": bos_path}]
    return task_id, create_job(base, task_id, trainset=trainset, **fields)


def test_job_on_a_good_stored_object_finishes_and_says_so(sandbox, bos):
    bos_client(bos).put_object_from_string(BUCKET, "staged/train.jsonl", sft_jsonl())
    task_id, job_id = bos_job(sandbox, f"bos:/{BUCKET}/staged/train.jsonl")
    view = requests.get(f"{sandbox}/_sandbox/jobs/{job_id}").json()
    assert view["dataset_stored"] is True and view["dataset_error"] is None
    assert view["dataset_objects"] == [f"bos:/{BUCKET}/staged/train.jsonl"]
    wait_for_status(sandbox, task_id, job_id, "FINISH")


def test_job_on_a_stored_folder_reads_every_object_in_it(sandbox, bos):
    client = bos_client(bos)
    client.put_object_from_string(BUCKET, "staged/ds/part-1.jsonl", sft_jsonl())
    client.put_object_from_string(BUCKET, "staged/ds/part-2.jsonl", sft_jsonl(3))
    task_id, job_id = bos_job(sandbox, f"bos:/{BUCKET}/staged/ds")
    view = requests.get(f"{sandbox}/_sandbox/jobs/{job_id}").json()
    assert view["dataset_objects"] == [f"bos:/{BUCKET}/staged/ds/part-1.jsonl",
                                       f"bos:/{BUCKET}/staged/ds/part-2.jsonl"]
    assert view["dataset_error"] == (f"dataset bos:/{BUCKET}/staged/ds/part-2.jsonl is "
                                     "invalid: 3 examples, at least 32 are required")
    wait_for_status(sandbox, task_id, job_id, "FAIL")


def test_job_on_a_bad_stored_object_fails_with_the_reason(sandbox, bos):
    bad = sft_jsonl(edit=lambda i, ex: [turn(), turn(system="late")] if i == 0 else ex)
    bos_client(bos).put_object_from_string(BUCKET, "staged/bad.jsonl", bad)
    task_id, job_id = bos_job(sandbox, f"bos:/{BUCKET}/staged/bad.jsonl")
    failed = wait_for_status(sandbox, task_id, job_id, "FAIL")
    assert failed["finishTime"] != ZERO_TIME
    view = requests.get(f"{sandbox}/_sandbox/jobs/{job_id}").json()
    assert view["dataset_stored"] is True
    assert view["dataset_error"] == (f"dataset bos:/{BUCKET}/staged/bad.jsonl is invalid: "
                                     'line 1: turn 2 has "system", which only the first turn '
                                     "may have")


def test_job_on_an_absent_object_is_unchanged(sandbox, bos):
    bos_client(bos).put_object_from_string(BUCKET, "other.jsonl", b"bad")
    task_id, job_id = bos_job(sandbox, f"bos:/{BUCKET}/staged/absent.jsonl")
    view = requests.get(f"{sandbox}/_sandbox/jobs/{job_id}").json()
    assert view["dataset_stored"] is False and view["dataset_objects"] == []
    wait_for_status(sandbox, task_id, job_id, "FINISH")


def test_control_api_plants_objects(sandbox):
    url = f"{sandbox}/_sandbox/objects/{BUCKET}/planted.jsonl"
    assert requests.put(url, data=sft_jsonl(2)).json()["check"]["ok"] is False
    assert requests.get(url).content == sft_jsonl(2)
    task_id, job_id = bos_job(sandbox, f"bos:/{BUCKET}/planted.jsonl")
    wait_for_status(sandbox, task_id, job_id, "FAIL")


def test_fault_status_on_bos_put_stores_nothing(sandbox, bos):
    queue_fault(sandbox, op="bos-put", fault="status", http=503, body="busy")
    url = f"{bos}/{BUCKET}/k.jsonl"
    response = requests.put(url, data=b"x", headers=signed_bos("PUT", url, b"x"))
    assert response.status_code == 503 and response.text == "busy"
    assert bos_objects(sandbox) == [] and bos_log(sandbox)[-1]["fault"] == "status"
    assert requests.put(url, data=b"x", headers=signed_bos("PUT", url, b"x")).status_code == 200


def test_fault_stall_body_on_bos_put(sandbox, bos):
    queue_fault(sandbox, op="bos-put", fault="stall-body", bytes=100, delay=0.5)
    data = sft_jsonl()
    url = f"{bos}/{BUCKET}/stall.jsonl"
    head = "".join(f"{k}: {v}\r\n" for k, v in signed_bos("PUT", url, data).items())
    request = (f"PUT /{BUCKET}/stall.jsonl HTTP/1.1\r\n{head}"
               f"Content-Length: {len(data)}\r\n\r\n").encode() + data
    started = time.monotonic()
    assert raw_exchange(bos, request) == b""
    assert time.monotonic() - started >= 0.5
    entry = bos_log(sandbox)[-1]
    assert (entry["op"], entry["fault"], entry["bytes"]) == ("bos-put", "stall-body", 100)
    assert bos_objects(sandbox) == []


def test_fault_bce_error_on_bos_get_and_any_leaves_bos_alone(sandbox, bos):
    client = bos_client(bos)
    queue_fault(sandbox, op="any", fault="garbage")
    client.put_object_from_string(BUCKET, "k", b"x")             # not hit by "any"
    queue_fault(sandbox, op="bos-get", fault="bce_error", http=500, code="InternalError")
    assert sdk_error(lambda: client.get_object_as_string(BUCKET, "k")) == (500, "InternalError")
    assert client.get_object_as_string(BUCKET, "k") == b"x"
    assert requests.get(sandbox + "/_sandbox/faults").json()["faults"][0]["fault"] == "garbage"


@pytest.mark.parametrize("spec", [
    {"op": "createJob", "fault": "stall-body"},
    {"op": "bos-get", "fault": "stall-body"},
    {"op": "bos-put", "fault": "error"},
    {"op": "bos-get", "fault": "huge"},
    {"op": "bos-put", "fault": "stall-body", "bytes": "many"},
    {"op": "bos-list", "fault": "status"},
])
def test_invalid_bos_fault_specs(sandbox, spec):
    assert requests.post(sandbox + "/_sandbox/faults", json=spec).status_code == 400
