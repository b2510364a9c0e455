"""Tests of the Yandex Cloud Foundation Models tuning sandbox
(sandbox/yandex_sandbox.py).

The sandbox runs as a subprocess, exactly as the integration tests and
offline users start it. Every gRPC call goes through the generated stubs of
Yandex's official `yandexcloud` package over a plaintext channel; JWTs for
the IAM endpoint are built here with `cryptography` (PS256), independently
of the sandbox's verifier. Dataset files go to the presigned upload URL with
`requests`, to the sandbox's HTTP port with the URL's Host, as the gateway's
proxy sends them.
"""

import base64
import calendar
import hashlib
import json
import os
import re
import selectors
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import grpc
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from google.protobuf import json_format, timestamp_pb2
from google.rpc import error_details_pb2, status_pb2
from yandex.cloud.ai.dataset.v1 import (
    dataset_pb2,
    dataset_service_pb2 as dss,
    dataset_service_pb2_grpc,
)
from yandex.cloud.ai.tuning.v1 import (
    tuning_error_pb2,
    tuning_service_pb2 as ts,
    tuning_service_pb2_grpc,
    tuning_task_pb2,
    tuning_types_pb2,
)
from yandex.cloud.operation import operation_service_pb2, operation_service_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_SCRIPT = ROOT / "sandbox" / "yandex_sandbox.py"

FOLDER = "b1gtestfolder0000001"
API_KEY = "AQVN-test-api-key"
FILE_API_KEY = "AQVN-key-from-file"
AUDIENCE = "https://iam.api.cloud.yandex.net/iam/v1/tokens"
TOKEN_TTL = 3600
CREATED, PENDING, RUN = 0.2, 0.2, 1.0
VALIDATE = 0.3
STORAGE_HOST = "storage.yandexcloud.net"
UNAUTHENTICATED = "Token is invalid or has expired."
IAM_TOKEN = re.compile(r"t1\.[A-Z0-9a-z_-]+[=]{0,2}\.[A-Z0-9a-z_-]{86}[=]{0,2}")
YC_ID = re.compile(r"aje[a-z0-9]{17}")
Status = tuning_task_pb2.TuningTask.Status
DatasetStatus = dataset_pb2.DatasetInfo.Status
Code = grpc.StatusCode


# ---------------------------------------------------------------- helpers

class Sandbox:
    def __init__(self, proc, grpc_address, http_base, key):
        self.proc = proc
        self.http = http_base
        self.key = key
        self.channel = grpc.insecure_channel(grpc_address)
        self.tuning = tuning_service_pb2_grpc.TuningServiceStub(self.channel)
        self.operations = operation_service_pb2_grpc.OperationServiceStub(self.channel)
        self.datasets = dataset_service_pb2_grpc.DatasetServiceStub(self.channel)

    def stop(self):
        self.channel.close()
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=5)


def make_key(tmp_path, *extra):
    key_json, pem = tmp_path / "key.json", tmp_path / "public.pem"
    result = subprocess.run([sys.executable, str(SANDBOX_SCRIPT), "--make-key",
                             str(key_json), str(pem), *extra],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return json.loads(key_json.read_text()), key_json, pem


def start_sandbox(key, *extra_args):
    proc = subprocess.Popen(
        [sys.executable, str(SANDBOX_SCRIPT), "--grpc-port", "0", "--http-port", "0",
         *extra_args], stdout=subprocess.PIPE, text=True)
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    if not selector.select(timeout=15):
        proc.kill()
        raise RuntimeError("sandbox did not start")
    line = proc.stdout.readline()
    match = re.fullmatch(r"yandex-sandbox listening grpc=(\S+):(\d+) http=(\S+):(\d+)\n", line)
    assert match, line
    return Sandbox(proc, f"{match[1]}:{match[2]}", f"http://{match[3]}:{match[4]}", key)


@pytest.fixture(scope="module")
def key_files(tmp_path_factory):
    return make_key(tmp_path_factory.mktemp("key"))


@pytest.fixture(scope="module")
def sandbox(key_files, tmp_path_factory):
    key, _, pem = key_files
    keys = tmp_path_factory.mktemp("apikeys") / "keys"
    keys.write_text(f"# API keys\n\n{FILE_API_KEY}\n")
    box = start_sandbox(key, "--public-key-file", str(pem), "--key-id", key["id"],
                        "--service-account-id", key["service_account_id"],
                        "--folder-id", FOLDER, "--api-key", API_KEY,
                        "--api-key-file", str(keys), "--token-ttl", str(TOKEN_TTL),
                        "--created-seconds", str(CREATED), "--pending-seconds", str(PENDING),
                        "--run-seconds", str(RUN),
                        "--dataset-validate-seconds", str(VALIDATE))
    yield box
    assert box.stop() == 0


@pytest.fixture(autouse=True)
def clean_sandbox(request):
    if "sandbox" in request.fixturenames:
        box = request.getfixturevalue("sandbox")
        assert requests.post(box.http + "/_sandbox/reset").status_code == 200


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def private_key_of(key: dict):
    return serialization.load_pem_private_key(key["private_key"].encode(), password=None)


def make_jwt(key, *, header=None, claims=None, signer=None, now=None, lifetime=3600,
             salt_length=32, drop=()):
    """A service-account JWT as the Yandex docs describe; overrides break it."""
    now = int(time.time()) if now is None else now
    head = {"typ": "JWT", "alg": "PS256", "kid": key["id"], **(header or {})}
    body = {"iss": key["service_account_id"], "aud": AUDIENCE, "iat": now,
            "exp": now + lifetime, **(claims or {})}
    for name in drop:
        head.pop(name, None)
        body.pop(name, None)
    signing_input = f"{b64url(json.dumps(head).encode())}.{b64url(json.dumps(body).encode())}"
    signer = signer or private_key_of(key)
    signature = signer.sign(signing_input.encode(),
                            padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                        salt_length=salt_length),
                            hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def exchange(box, jwt=None, **body):
    payload = {"jwt": jwt if jwt is not None else make_jwt(box.key)} if not body else body
    return requests.post(box.http + "/iam/v1/tokens", json=payload)


def iam_token(box):
    response = exchange(box)
    assert response.status_code == 200, response.text
    return response.json()["iamToken"]


def api_key(key=API_KEY):
    return [("authorization", f"Api-Key {key}")]


def bearer(token):
    return [("authorization", f"Bearer {token}")]


def rpc_error(call, *args, **kwargs):
    with pytest.raises(grpc.RpcError) as info:
        call(*args, **kwargs)
    return info.value


def status_details(error):
    """The google.rpc.Status of grpc-status-details-bin."""
    for item in error.trailing_metadata() or ():
        if item.key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(item.value)
    return None


def tune_request(**overrides):
    fields = {
        "base_model_uri": f"gpt://{FOLDER}/yandexgpt-lite/latest",
        "train_datasets": [ts.TuningRequest.WeightedDataset(dataset_id="fds1train", weight=1.0)],
        "validation_datasets": [ts.TuningRequest.WeightedDataset(dataset_id="fds2valid",
                                                                 weight=1.0)],
        "text_to_text_completion": ts.TextToTextCompletionTuningParams(
            seed=500, lr=0.0001, n_samples=100,
            lora=tuning_types_pb2.TuningTypeLora(rank=8, alpha=16)),
        "name": "my-tuning",
        "description": "cool tuning",
        "labels": {"good": "yes"},
    }
    fields.update(overrides)
    return ts.TuningRequest(**{k: v for k, v in fields.items() if v is not None})


def tune(box, **overrides):
    return box.tuning.Tune(tune_request(**overrides), metadata=api_key())


def metadata_of(operation):
    metadata = ts.TuningMetadata()
    assert operation.metadata.Unpack(metadata)
    return metadata


def describe(box, task_id):
    return box.tuning.Describe(ts.DescribeTuningRequest(tuning_task_id=task_id),
                               metadata=api_key()).tuning_task


def get_operation(box, operation_id):
    return box.operations.Get(operation_service_pb2.GetOperationRequest(
        operation_id=operation_id), metadata=api_key())


def wait_for_status(box, task_id, status, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = describe(box, task_id)
        if task.status == status:
            return task
        time.sleep(0.03)
    raise AssertionError(f"task {task_id} never reached {Status.Name(status)}")


def queue_fault(box, **spec):
    response = requests.post(box.http + "/_sandbox/faults", json=spec)
    assert response.status_code == 200, response.text


def calls(box):
    return requests.get(box.http + "/_sandbox/calls").json()


# ---------------------------------------------------------------- --make-key

def test_make_key_writes_an_authorized_key(tmp_path):
    key, key_json, pem = make_key(tmp_path, "--service-account-id", "ajeaccountfromflag01")
    assert set(key) == {"id", "service_account_id", "created_at", "key_algorithm",
                        "public_key", "private_key"}
    assert YC_ID.fullmatch(key["id"])
    assert key["service_account_id"] == "ajeaccountfromflag01"
    assert key["key_algorithm"] == "RSA_2048"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", key["created_at"])
    # Yandex's marker line comes before the PEM; PEM readers skip it.
    assert key["private_key"].startswith(
        f"PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <{key['id']}>\n"
        "-----BEGIN PRIVATE KEY-----\n")
    private = private_key_of(key)
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 2048
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert key["public_key"] == public_pem == pem.read_text()
    assert stat.S_IMODE(os.stat(key_json).st_mode) == 0o600
    other, _, _ = make_key(tmp_path)
    assert YC_ID.fullmatch(other["service_account_id"]) and other["id"] != key["id"]


def test_authorized_key_file_and_token_ttl(tmp_path):
    key, key_json, _ = make_key(tmp_path)
    box = start_sandbox(key, "--authorized-key-file", str(key_json), "--token-ttl", "0.6",
                        "--folder-id", FOLDER)
    try:
        response = exchange(box)
        assert response.status_code == 200, response.text
        token = response.json()["iamToken"]
        request = ts.ListTuningsRequest(folder_id=FOLDER)
        box.tuning.List(request, metadata=bearer(token))
        time.sleep(0.7)
        error = rpc_error(box.tuning.List, request, metadata=bearer(token))
        assert error.code() == Code.UNAUTHENTICATED
        # the default API key is on when no key is configured
        box.tuning.List(request, metadata=api_key("AQVNsandbox-api-key"))
    finally:
        assert box.stop() == 0


# ---------------------------------------------------------------- IAM

def test_iam_exchange(sandbox):
    before = time.time()
    response = exchange(sandbox)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"iamToken", "expiresAt"}
    assert IAM_TOKEN.fullmatch(body["iamToken"])
    assert body["expiresAt"].endswith("Z")
    expires = timestamp_pb2.Timestamp()
    expires.FromJsonString(body["expiresAt"])
    assert before + TOKEN_TTL - 1 <= expires.ToSeconds() <= time.time() + TOKEN_TTL + 1
    assert exchange(sandbox).json()["iamToken"] != body["iamToken"]     # a new one each time
    counters = requests.get(sandbox.http + "/_sandbox/iam").json()
    assert counters["exchanges"] == 2 and counters["rejected"] == 0


def test_iam_accepts_edge_values(sandbox):
    now = int(time.time())
    for jwt in (make_jwt(sandbox.key, lifetime=3600),                  # exp - iat == 3600
                make_jwt(sandbox.key, now=now + 200),                  # iat within 5 min ahead
                make_jwt(sandbox.key, claims={"aud": [AUDIENCE]}),     # aud as an array
                make_jwt(sandbox.key, now=now - 3000)):                # old but unexpired
        assert exchange(sandbox, jwt).status_code == 200


def _other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pkcs1_signed(key):
    jwt = make_jwt(key)
    signing_input = jwt.rsplit(".", 1)[0]
    signature = private_key_of(key).sign(signing_input.encode(), padding.PKCS1v15(),
                                         hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def _tampered(key):
    head, _, signature = make_jwt(key).split(".")
    now = int(time.time())
    body = b64url(json.dumps({"iss": key["service_account_id"], "aud": AUDIENCE,
                              "iat": now, "exp": now + 7200}).encode())
    return f"{head}.{body}.{signature}"


JWT_FAILURES = [
    ("alg-RS256", lambda k: make_jwt(k, header={"alg": "RS256"}), "algorithm"),
    ("alg-none", lambda k: make_jwt(k, header={"alg": "none"}), "algorithm"),
    ("no-typ", lambda k: make_jwt(k, drop=("typ",)), "typ"),
    ("no-kid", lambda k: make_jwt(k, drop=("kid",)), "kid"),
    ("other-kid", lambda k: make_jwt(k, header={"kid": "ajeunknownkey0000001"}), "key id"),
    ("other-iss", lambda k: make_jwt(k, claims={"iss": "ajeotheraccount00001"}), "iss"),
    ("no-iss", lambda k: make_jwt(k, drop=("iss",)), "iss"),
    ("other-aud", lambda k: make_jwt(k, claims={"aud": "https://example.com/"}), "aud"),
    ("no-aud", lambda k: make_jwt(k, drop=("aud",)), "aud"),
    ("too-long", lambda k: make_jwt(k, lifetime=3601), "3600"),
    ("expired", lambda k: make_jwt(k, now=int(time.time()) - 3500, lifetime=3000), "expired"),
    ("future-iat", lambda k: make_jwt(k, now=int(time.time()) + 400), "future"),
    ("exp-before-iat", lambda k: make_jwt(k, lifetime=-10), "exp"),
    ("no-exp", lambda k: make_jwt(k, drop=("exp",)), "exp"),
    ("iat-string", lambda k: make_jwt(k, claims={"iat": "now"}), "iat"),
    ("other-signer", lambda k: make_jwt(k, signer=_other_key()), "signature"),
    ("salt-max-length", lambda k: make_jwt(k, salt_length=padding.PSS.MAX_LENGTH), "signature"),
    ("pkcs1-v1_5", _pkcs1_signed, "signature"),
    ("tampered-claims", _tampered, "signature"),
]


@pytest.mark.parametrize("make, reason", [case[1:] for case in JWT_FAILURES],
                         ids=[case[0] for case in JWT_FAILURES])
def test_iam_jwt_failures(sandbox, make, reason):
    response = exchange(sandbox, make(sandbox.key))
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["code"] == 16
    assert reason in body["message"], body["message"]
    # google.rpc.Status with a RequestInfo detail, as in the vendor sample
    status = json_format.ParseDict(body, status_pb2.Status())
    info = error_details_pb2.RequestInfo()
    assert status.details[0].Unpack(info) and info.request_id
    assert requests.get(sandbox.http + "/_sandbox/iam").json()["rejected"] == 1


@pytest.mark.parametrize("body", [
    b"not json", b"[]", b"{}", b'{"jwt": ""}', b'{"jwt": 5}', b'{"jwt": "a.b"}',
    b'{"jwt": "!!!.e30.e30"}', b'{"jwt": "bm90IGpzb24.e30.e30"}',
    b'{"jwt": "x.y.z", "extra": 1}',
    b'{"jwt": "x.y.z", "yandexPassportOauthToken": "y0_x"}',
], ids=["text", "array", "empty", "empty-jwt", "number", "two-parts", "bad-base64",
        "header-not-json", "unknown-field", "two-credentials"])
def test_iam_malformed_requests(sandbox, body):
    response = requests.post(sandbox.http + "/iam/v1/tokens", data=body,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == 3


def test_iam_oauth_token_and_routes(sandbox):
    response = exchange(sandbox, yandexPassportOauthToken="y0_sandbox")
    assert (response.status_code, response.json()["code"]) == (401, 16)
    response = requests.get(sandbox.http + "/iam/v1/tokens")
    assert (response.status_code, response.json()["code"]) == (405, 12)
    response = requests.post(sandbox.http + "/iam/v1/other", json={})
    assert (response.status_code, response.json()["code"]) == (404, 5)


# ---------------------------------------------------------------- gRPC auth

def test_grpc_auth_accepted(sandbox):
    request = ts.ListTuningsRequest(folder_id=FOLDER)
    sandbox.tuning.List(request, metadata=api_key())
    sandbox.tuning.List(request, metadata=api_key(FILE_API_KEY))
    sandbox.tuning.List(request, metadata=[("authorization", f"api-key {API_KEY}")])
    sandbox.tuning.List(request, metadata=bearer(iam_token(sandbox)))


@pytest.mark.parametrize("metadata", [
    [],
    api_key("AQVN-wrong"),
    [("authorization", f"Bearer {API_KEY}")],
    bearer("t1.forged.token"),
    [("authorization", f"Basic {API_KEY}")],
    [("authorization", "Api-Key")],
    [("authorization", f"Api-Key {API_KEY}"), ("authorization", f"Api-Key {API_KEY}")],
], ids=["none", "wrong-key", "key-as-bearer", "unknown-token", "basic", "empty", "twice"])
def test_grpc_auth_rejected(sandbox, metadata):
    for call, request in ((sandbox.tuning.List, ts.ListTuningsRequest(folder_id=FOLDER)),
                          (sandbox.tuning.Tune, tune_request()),
                          (sandbox.operations.Get,
                           operation_service_pb2.GetOperationRequest(operation_id="ftnx"))):
        error = rpc_error(call, request, metadata=metadata)
        assert error.code() == Code.UNAUTHENTICATED
        assert error.details() == UNAUTHENTICATED
        assert status_details(error).code == 16


def test_expired_tokens_are_rejected(sandbox):
    token = iam_token(sandbox)
    request = ts.ListTuningsRequest(folder_id=FOLDER)
    sandbox.tuning.List(request, metadata=bearer(token))
    assert requests.post(sandbox.http + "/_sandbox/iam/expire").json()["expired"] >= 1
    error = rpc_error(sandbox.tuning.List, request, metadata=bearer(token))
    assert error.code() == Code.UNAUTHENTICATED
    sandbox.tuning.List(request, metadata=bearer(iam_token(sandbox)))


# ---------------------------------------------------------------- lifecycle

def test_tune_describe_operation_lifecycle(sandbox):
    token = iam_token(sandbox)
    before = time.time()
    operation = sandbox.tuning.Tune(tune_request(), metadata=bearer(token))
    assert re.fullmatch(r"ftn[a-z0-9]{17}", operation.id)
    assert not operation.done and operation.WhichOneof("result") is None
    assert operation.created_at.ToSeconds() >= int(before)
    metadata = metadata_of(operation)
    task_id = metadata.tuning_task_id
    assert re.fullmatch(r"ftn[a-z0-9]{17}", task_id) and task_id != operation.id
    assert (metadata.status, metadata.total_steps, metadata.current_step) == (
        Status.CREATED, 100, 0)

    task = describe(sandbox, task_id)
    assert task.status == Status.CREATED
    assert task.operation_id == operation.id and task.folder_id == FOLDER
    assert task.created_by == sandbox.key["service_account_id"]
    assert task.source_model_uri == f"gpt://{FOLDER}/yandexgpt-lite/latest"
    assert (task.name, task.description, dict(task.labels)) == (
        "my-tuning", "cool tuning", {"good": "yes"})
    assert not task.HasField("started_at") and not task.target_model_uri

    wait_for_status(sandbox, task_id, Status.PENDING)
    steps, seen = [], set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        operation = get_operation(sandbox, operation.id)
        metadata = metadata_of(operation)
        seen.add(metadata.status)
        if metadata.status == Status.IN_PROGRESS:
            steps.append(metadata.current_step)
            assert not operation.done
        if operation.done:
            break
        time.sleep(0.05)
    assert Status.IN_PROGRESS in seen and operation.done
    assert steps == sorted(steps) and len(set(steps)) > 3 and max(steps) < 100
    assert (metadata.status, metadata.current_step) == (Status.COMPLETED, 100)
    response = ts.TuningResponse()
    assert operation.WhichOneof("result") == "response" and operation.response.Unpack(response)
    assert response.tuning_task_id == task_id and response.status == Status.COMPLETED
    assert re.fullmatch(rf"gpt://{FOLDER}/yandexgpt-lite/latest@tamr[a-z0-9]+",
                        response.target_model_uri)
    assert operation.modified_at.ToNanoseconds() > operation.created_at.ToNanoseconds()

    task = describe(sandbox, task_id)
    assert task.status == Status.COMPLETED
    assert task.target_model_uri == response.target_model_uri
    assert task.created_at.ToNanoseconds() < task.started_at.ToNanoseconds() \
        < task.finished_at.ToNanoseconds()
    errors = sandbox.tuning.ListErrors(ts.ListErrorsRequest(tuning_task_id=task_id),
                                       metadata=api_key())
    assert list(errors.tuning_error) == []


def test_list_paging_newest_first(sandbox):
    created = [metadata_of(tune(sandbox, name=f"run {i}")).tuning_task_id for i in range(5)]
    seen, token, pages = [], "", 0
    while True:
        page = sandbox.tuning.List(ts.ListTuningsRequest(folder_id=FOLDER, page_size=2,
                                                         page_token=token),
                                   metadata=api_key())
        pages += 1
        assert len(page.tuning_tasks) == (2 if page.next_page_token else 1)
        seen += [task.task_id for task in page.tuning_tasks]
        token = page.next_page_token
        if not token:
            break
    assert pages == 3 and seen == created[::-1]
    everything = sandbox.tuning.List(ts.ListTuningsRequest(folder_id=FOLDER), metadata=api_key())
    assert [t.task_id for t in everything.tuning_tasks] == created[::-1]
    assert not everything.next_page_token
    assert everything.tuning_tasks[0].name == "run 4"

    sandbox.tuning.Cancel(ts.CancelTuningRequest(tuning_task_id=created[1]), metadata=api_key())
    canceled = sandbox.tuning.List(ts.ListTuningsRequest(folder_id=FOLDER,
                                                         status=Status.CANCELED),
                                   metadata=api_key())
    assert [t.task_id for t in canceled.tuning_tasks] == [created[1]]


@pytest.mark.parametrize("request_fields, code", [
    ({"folder_id": "b1gotherfolder"}, Code.PERMISSION_DENIED),
    ({}, Code.INVALID_ARGUMENT),
    ({"folder_id": FOLDER, "page_size": 101}, Code.INVALID_ARGUMENT),
    ({"folder_id": FOLDER, "page_size": -1}, Code.INVALID_ARGUMENT),
    ({"folder_id": FOLDER, "page_token": "garbage!"}, Code.INVALID_ARGUMENT),
], ids=["other-folder", "no-folder", "page-size-101", "negative-page-size", "bad-token"])
def test_list_rejections(sandbox, request_fields, code):
    error = rpc_error(sandbox.tuning.List, ts.ListTuningsRequest(**request_fields),
                      metadata=api_key())
    assert error.code() == code


def test_cancel_through_both_services(sandbox):
    first = tune(sandbox)
    task_id = metadata_of(first).tuning_task_id
    answer = sandbox.tuning.Cancel(ts.CancelTuningRequest(tuning_task_id=task_id),
                                   metadata=api_key())
    assert answer.tuning_task_id == task_id
    task = describe(sandbox, task_id)
    assert task.status == Status.CANCELED and task.HasField("finished_at")
    operation = get_operation(sandbox, first.id)
    assert operation.done and operation.WhichOneof("result") == "error"
    assert operation.error.code == 1
    error = rpc_error(sandbox.tuning.Cancel, ts.CancelTuningRequest(tuning_task_id=task_id),
                      metadata=api_key())
    assert error.code() == Code.FAILED_PRECONDITION

    second = tune(sandbox)
    wait_for_status(sandbox, metadata_of(second).tuning_task_id, Status.IN_PROGRESS)
    canceled = sandbox.operations.Cancel(
        operation_service_pb2.CancelOperationRequest(operation_id=second.id), metadata=api_key())
    assert canceled.id == second.id and canceled.done and canceled.error.code == 1
    assert metadata_of(canceled).status == Status.CANCELED
    error = rpc_error(sandbox.operations.Cancel,
                      operation_service_pb2.CancelOperationRequest(operation_id=second.id),
                      metadata=api_key())
    assert error.code() == Code.FAILED_PRECONDITION


def test_cancel_finished_task_and_unknown_ids(sandbox):
    operation = tune(sandbox)
    task_id = metadata_of(operation).tuning_task_id
    requests.post(f"{sandbox.http}/_sandbox/tasks/{task_id}", json={"status": "COMPLETED"})
    error = rpc_error(sandbox.tuning.Cancel, ts.CancelTuningRequest(tuning_task_id=task_id),
                      metadata=api_key())
    assert error.code() == Code.FAILED_PRECONDITION
    for call, request in (
            (sandbox.tuning.Describe, ts.DescribeTuningRequest(tuning_task_id="ftnunknown")),
            (sandbox.tuning.Cancel, ts.CancelTuningRequest(tuning_task_id="ftnunknown")),
            (sandbox.tuning.ListErrors, ts.ListErrorsRequest(tuning_task_id="ftnunknown")),
            (sandbox.tuning.Describe, ts.DescribeTuningRequest(tuning_task_id=operation.id)),
            (sandbox.operations.Get,
             operation_service_pb2.GetOperationRequest(operation_id=task_id)),
            (sandbox.operations.Cancel,
             operation_service_pb2.CancelOperationRequest(operation_id="ftnunknown"))):
        assert rpc_error(call, request, metadata=api_key()).code() == Code.NOT_FOUND
    error = rpc_error(sandbox.tuning.Describe, ts.DescribeTuningRequest(), metadata=api_key())
    assert error.code() == Code.INVALID_ARGUMENT


def test_failing_dataset(sandbox):
    operation = tune(sandbox, train_datasets=[
        ts.TuningRequest.WeightedDataset(dataset_id="fds1good", weight=0.5),
        ts.TuningRequest.WeightedDataset(dataset_id="fail-broken", weight=0.5)])
    task_id = metadata_of(operation).tuning_task_id
    task = wait_for_status(sandbox, task_id, Status.FAILED)
    assert task.HasField("finished_at") and not task.target_model_uri
    operation = get_operation(sandbox, operation.id)
    assert operation.done and operation.WhichOneof("result") == "error"
    assert (operation.error.code, operation.error.message) == (9, "dataset is invalid")
    errors = sandbox.tuning.ListErrors(ts.ListErrorsRequest(tuning_task_id=task_id),
                                       metadata=api_key()).tuning_error
    assert len(errors) == 1
    assert errors[0].tuning_task_id == task_id
    assert errors[0].type == tuning_error_pb2.TuningError.PUBLIC
    assert "fail-broken" in errors[0].message


def test_other_models_and_params_accepted(sandbox):
    for model in ("yandexgpt", "llama-lite", "llama"):
        tune(sandbox, base_model_uri=f"gpt://{FOLDER}/{model}/rc")
    tune(sandbox, text_to_text_completion=None, name=None, labels=None,
         text_classification_multiclass=ts.TextClassificationMulticlassParams(
             prompt_tune=tuning_types_pb2.TuningTypePromptTune(virtual_tokens=20)))
    tune(sandbox, text_to_text_completion=None,
         text_classification_multilabel=ts.TextClassificationMultilabelParams())


W = ts.TuningRequest.WeightedDataset
VALIDATION_CASES = [
    ("no-uri", {"base_model_uri": ""}, Code.INVALID_ARGUMENT, "base_model_uri"),
    ("bad-uri", {"base_model_uri": "yandexgpt-lite"}, Code.INVALID_ARGUMENT, "gpt://"),
    ("uri-no-version", {"base_model_uri": f"gpt://{FOLDER}/yandexgpt-lite"},
     Code.INVALID_ARGUMENT, "gpt://"),
    ("other-folder", {"base_model_uri": "gpt://b1gotherfolder/yandexgpt-lite/latest"},
     Code.PERMISSION_DENIED, "Permission denied"),
    ("unknown-model", {"base_model_uri": f"gpt://{FOLDER}/gpt-4/latest"},
     Code.NOT_FOUND, "model not found"),
    ("no-train", {"train_datasets": []}, Code.INVALID_ARGUMENT, "train_datasets"),
    ("empty-dataset-id", {"train_datasets": [W(dataset_id="", weight=1.0)]},
     Code.INVALID_ARGUMENT, "dataset_id"),
    ("zero-weight", {"train_datasets": [W(dataset_id="fds1")]}, Code.INVALID_ARGUMENT, "weight"),
    ("weight-above-1", {"train_datasets": [W(dataset_id="fds1", weight=1.5)]},
     Code.INVALID_ARGUMENT, "weight"),
    ("negative-weight", {"train_datasets": [W(dataset_id="fds1", weight=-0.5)]},
     Code.INVALID_ARGUMENT, "weight"),
    ("validation-weight", {"validation_datasets": [W(dataset_id="fds2", weight=2)]},
     Code.INVALID_ARGUMENT, "validation_datasets[0].weight"),
    ("no-params", {"text_to_text_completion": None}, Code.INVALID_ARGUMENT, "tuning_params"),
    ("embedding-pair", {"text_to_text_completion": None,
                        "text_embedding_pair_params": ts.TextEmbeddingPairParams()},
     Code.UNIMPLEMENTED, "text_embedding_pair_params"),
    ("embedding-triplet", {"text_to_text_completion": None,
                           "text_embedding_triplet_params": ts.TextEmbeddingTripletParams()},
     Code.UNIMPLEMENTED, "text_embedding_triplet_params"),
    ("lora-rank", {"text_to_text_completion": ts.TextToTextCompletionTuningParams(
        lora=tuning_types_pb2.TuningTypeLora(rank=0, alpha=16))},
     Code.INVALID_ARGUMENT, "lora.rank"),
    ("lora-alpha", {"text_to_text_completion": ts.TextToTextCompletionTuningParams(
        lora=tuning_types_pb2.TuningTypeLora(rank=8, alpha=-1))},
     Code.INVALID_ARGUMENT, "lora.alpha"),
    ("classifier-lora-rank", {"text_to_text_completion": None,
                              "text_classification_multiclass":
                                  ts.TextClassificationMulticlassParams(
                                      lora=tuning_types_pb2.TuningTypeLora(rank=-2, alpha=1))},
     Code.INVALID_ARGUMENT, "lora.rank"),
    ("negative-lr", {"text_to_text_completion": ts.TextToTextCompletionTuningParams(lr=-0.1)},
     Code.INVALID_ARGUMENT, "lr"),
    ("short-name", {"name": "ab"}, Code.INVALID_ARGUMENT, "name"),
    ("long-name", {"name": "a" * 101}, Code.INVALID_ARGUMENT, "name"),
    ("name-characters", {"name": "my/tuning"}, Code.INVALID_ARGUMENT, "name"),
]


@pytest.mark.parametrize("overrides, code, fragment", [case[1:] for case in VALIDATION_CASES],
                         ids=[case[0] for case in VALIDATION_CASES])
def test_tune_validation(sandbox, overrides, code, fragment):
    error = rpc_error(tune, sandbox, **overrides)
    assert error.code() == code
    assert fragment in error.details(), error.details()
    details = status_details(error)
    assert details.code == code.value[0] and details.message == error.details()
    listed = sandbox.tuning.List(ts.ListTuningsRequest(folder_id=FOLDER), metadata=api_key())
    assert not listed.tuning_tasks


def test_unimplemented_methods(sandbox):
    request = ts.GetOptionsRequest(task_id="ftnx")
    error = rpc_error(sandbox.tuning.GetOptions, request, metadata=api_key())
    assert error.code() == Code.UNIMPLEMENTED
    error = rpc_error(sandbox.tuning.GetOptions, request, metadata=api_key("wrong"))
    assert error.code() == Code.UNAUTHENTICATED


# ---------------------------------------------------------------- control API

def test_force_task_state(sandbox):
    operation = tune(sandbox)
    task_id = metadata_of(operation).tuning_task_id
    url = f"{sandbox.http}/_sandbox/tasks/{task_id}"
    forced = requests.post(url, json={"status": "IN_PROGRESS", "current_step": 42}).json()
    assert forced["task"]["status"] == "IN_PROGRESS" and forced["forced"]
    time.sleep(CREATED + PENDING + RUN)       # the clock no longer moves it
    metadata = metadata_of(get_operation(sandbox, operation.id))
    assert (metadata.status, metadata.current_step) == (Status.IN_PROGRESS, 42)
    assert describe(sandbox, task_id).HasField("started_at")

    requests.post(url, json={"status": "FAILED", "error_message": "out of memory"})
    errors = sandbox.tuning.ListErrors(ts.ListErrorsRequest(tuning_task_id=task_id),
                                       metadata=api_key()).tuning_error
    assert [e.message for e in errors] == ["out of memory"]
    operation = get_operation(sandbox, operation.id)
    assert operation.done and (operation.error.code, operation.error.message) == (
        9, "out of memory")

    requests.post(url, json={"status": "COMPLETED"})
    task = describe(sandbox, task_id)
    assert task.status == Status.COMPLETED and task.target_model_uri
    assert metadata_of(get_operation(sandbox, operation.id)).current_step == 100

    for status in Status.keys():
        assert requests.post(url, json={"status": status}).status_code == 200
        assert describe(sandbox, task_id).status == Status.Value(status)
    state = requests.get(url).json()
    assert state["task"]["task_id"] == task_id
    assert state["request"]["train_datasets"][0]["dataset_id"] == "fds1train"
    for bad in ({"status": "DONE"}, {"current_step": 101}, {"current_step": "5"},
                {"steps": 1}, {"error_message": 5}):
        assert requests.post(url, json=bad).status_code == 400, bad
    assert requests.post(url, data="nope").status_code == 400
    assert requests.post(f"{sandbox.http}/_sandbox/tasks/ftnnone", json={}).status_code == 404


def test_call_log(sandbox):
    exchange(sandbox)
    exchange(sandbox, make_jwt(sandbox.key, header={"alg": "RS256"}))
    tune(sandbox, labels={"k": "v"})
    rpc_error(sandbox.tuning.List, ts.ListTuningsRequest(folder_id=FOLDER),
              metadata=api_key("wrong") + [("x-client-request-id", "req-1")])
    log = calls(sandbox)
    assert [entry["method"] for entry in log] == ["IamToken", "IamToken", "Tune", "List"]
    iam_ok, iam_bad, tune_entry, list_entry = log
    assert iam_ok["auth_ok"] and iam_ok["http_status"] == 200
    assert iam_ok["request"]["jwt"].count(".") == 2 and iam_ok["path"] == "/iam/v1/tokens"
    assert iam_ok["metadata"]["content-type"] == "application/json"
    assert not iam_bad["auth_ok"] and iam_bad["http_status"] == 401
    assert "algorithm" in iam_bad["reason"]
    assert tune_entry["path"] == "/yandex.cloud.ai.tuning.v1.TuningService/Tune"
    assert tune_entry["auth_ok"] and tune_entry["code"] == 0
    assert tune_entry["metadata"]["authorization"] == f"Api-Key {API_KEY}"
    assert all(key == key.lower() for key in tune_entry["metadata"])
    request = tune_entry["request"]
    assert request["base_model_uri"] == f"gpt://{FOLDER}/yandexgpt-lite/latest"
    assert request["train_datasets"] == [{"dataset_id": "fds1train", "weight": 1.0}]
    assert request["text_to_text_completion"]["lora"] == {"rank": "8", "alpha": 16.0}
    assert request["labels"] == {"k": "v"}
    assert not list_entry["auth_ok"] and list_entry["code"] == 16
    assert list_entry["metadata"]["x-client-request-id"] == "req-1"
    assert list_entry["request"] == {"folder_id": FOLDER}
    assert requests.delete(sandbox.http + "/_sandbox/calls").json() == {"ok": True}
    assert calls(sandbox) == []


def test_reset_keeps_tokens(sandbox):
    token = iam_token(sandbox)
    tune(sandbox)
    queue_fault(sandbox, method="Describe", fault="grpc_error")
    assert requests.post(sandbox.http + "/_sandbox/reset").json() == {"ok": True}
    listed = sandbox.tuning.List(ts.ListTuningsRequest(folder_id=FOLDER), metadata=bearer(token))
    assert not listed.tuning_tasks
    assert requests.get(sandbox.http + "/_sandbox/faults").json()["faults"] == []
    counters = requests.get(sandbox.http + "/_sandbox/iam").json()
    assert counters["exchanges"] == 0 and counters["active_tokens"] >= 1
    assert [entry["method"] for entry in calls(sandbox)] == ["List"]


def test_control_routes(sandbox):
    assert requests.get(sandbox.http + "/_sandbox/health").json() == {"ok": True}
    assert requests.get(sandbox.http + "/_sandbox/nothing").status_code == 404
    assert requests.put(sandbox.http + "/_sandbox/calls").status_code == 404


# ---------------------------------------------------------------- faults

def test_fault_grpc_error_count_and_clear(sandbox):
    queue_fault(sandbox, method="List", fault="grpc_error", code=8,
                message="Quota exceeded", count=2)
    request = ts.ListTuningsRequest(folder_id=FOLDER)
    for _ in range(2):
        error = rpc_error(sandbox.tuning.List, request, metadata=api_key())
        assert (error.code(), error.details()) == (Code.RESOURCE_EXHAUSTED, "Quota exceeded")
    sandbox.tuning.List(request, metadata=api_key())
    queue_fault(sandbox, method="Describe", fault="grpc_error", code=14)
    assert len(requests.get(sandbox.http + "/_sandbox/faults").json()["faults"]) == 1
    assert requests.delete(sandbox.http + "/_sandbox/faults").json() == {"ok": True}
    sandbox.tuning.List(request, metadata=api_key())
    assert [entry["fault"] for entry in calls(sandbox)] == ["grpc_error", "grpc_error", None,
                                                            None]


def test_fault_applies_before_auth_and_any_matches(sandbox):
    queue_fault(sandbox, fault="grpc_error", code=13, message="boom")     # method "any"
    error = rpc_error(sandbox.operations.Get,
                      operation_service_pb2.GetOperationRequest(operation_id="x"),
                      metadata=api_key("wrong"))
    assert (error.code(), error.details()) == (Code.INTERNAL, "boom")
    # an "any" fault of a gRPC kind leaves the IAM endpoint alone
    queue_fault(sandbox, fault="grpc_error", code=13)
    assert exchange(sandbox).status_code == 200
    assert rpc_error(tune, sandbox).code() == Code.INTERNAL


def test_fault_grpc_ok_answers_empty_message(sandbox):
    queue_fault(sandbox, method="Describe", fault="grpc_error", code=0)
    answer = sandbox.tuning.Describe(ts.DescribeTuningRequest(tuning_task_id="ftnunknown"),
                                     metadata=api_key())
    assert not answer.HasField("tuning_task")


def test_fault_op_error(sandbox):
    operation = tune(sandbox)
    queue_fault(sandbox, method="OperationGet", fault="op_error", code=13, message="GPU lost")
    failed = get_operation(sandbox, operation.id)
    assert failed.id == operation.id and failed.done
    assert (failed.error.code, failed.error.message) == (13, "GPU lost")
    assert metadata_of(failed).tuning_task_id == metadata_of(operation).tuning_task_id
    assert not get_operation(sandbox, operation.id).done          # one-shot
    queue_fault(sandbox, method="OperationCancel", fault="op_error", code=10, message="busy")
    answer = sandbox.operations.Cancel(
        operation_service_pb2.CancelOperationRequest(operation_id=operation.id),
        metadata=api_key())
    assert answer.done and answer.error.code == 10
    assert describe(sandbox, metadata_of(operation).tuning_task_id).status != Status.CANCELED


def test_fault_slow(sandbox):
    queue_fault(sandbox, method="List", fault="slow", delay=0.4)
    started = time.monotonic()
    sandbox.tuning.List(ts.ListTuningsRequest(folder_id=FOLDER), metadata=api_key())
    assert time.monotonic() - started >= 0.4
    queue_fault(sandbox, method="IamToken", fault="slow", delay=0.3)
    started = time.monotonic()
    assert exchange(sandbox).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_fault_reset_grpc_connection(sandbox):
    request = ts.ListTuningsRequest(folder_id=FOLDER)
    sandbox.tuning.List(request, metadata=api_key())           # connection is up
    queue_fault(sandbox, method="List", fault="reset")
    error = rpc_error(sandbox.tuning.List, request, metadata=api_key(), timeout=5)
    assert error.code() == Code.UNAVAILABLE
    assert "reset" in error.details().lower() or "closed" in error.details().lower(), \
        error.details()
    sandbox.tuning.List(request, metadata=api_key(), timeout=5)    # the channel reconnects
    assert calls(sandbox)[1]["fault"] == "reset" and calls(sandbox)[1]["code"] is None


def test_fault_reset_iam(sandbox):
    queue_fault(sandbox, method="IamToken", fault="reset")
    with pytest.raises(requests.ConnectionError):
        exchange(sandbox)
    assert exchange(sandbox).status_code == 200


def test_fault_iam_error(sandbox):
    queue_fault(sandbox, method="IamToken", fault="iam_error", http=503, code=14,
                message="Service unavailable")
    response = exchange(sandbox)
    assert response.status_code == 503
    assert response.json() == {"code": 14, "message": "Service unavailable"}
    queue_fault(sandbox, method="IamToken", fault="iam_error", http=502, body="<html>bad</html>",
                content_type="text/html")
    response = exchange(sandbox)
    assert (response.status_code, response.text) == (502, "<html>bad</html>")
    assert response.headers["Content-Type"] == "text/html"
    assert requests.get(sandbox.http + "/_sandbox/iam").json()["exchanges"] == 0


@pytest.mark.parametrize("spec", [
    {"method": "Delete", "fault": "slow"},
    {"method": "Tune", "fault": "explode"},
    {"method": "Describe", "fault": "op_error"},
    {"method": "Tune", "fault": "iam_error"},
    {"method": "IamToken", "fault": "grpc_error"},
    {"method": "List", "fault": "grpc_error", "code": 17},
    {"method": "OperationGet", "fault": "op_error", "code": 0},
    {"method": "List", "fault": "slow", "delay": -1},
    {"method": "List", "fault": "slow", "count": 0},
    {"method": "IamToken", "fault": "iam_error", "http": 99},
], ids=["method", "kind", "op_error-describe", "iam_error-tune", "grpc_error-iam", "code",
        "op-code-0", "delay", "count", "http"])
def test_invalid_fault_specs(sandbox, spec):
    response = requests.post(sandbox.http + "/_sandbox/faults", json=spec)
    assert response.status_code == 400 and not response.json()["ok"]


# ---------------------------------------------------------------- datasets

GOOD_ROWS = [
    {"request": [{"role": "system", "text": "You are terse."},
                 {"role": "user", "text": "Capital of France?"}], "response": "Paris"},
    {"request": [{"role": "user", "text": "2+2?"}, {"role": "assistant", "text": "4"},
                 {"role": "user", "text": "and 3+3?"}], "response": "6"},
    {"request": [{"role": "user", "text": "Привет"}], "response": "Здравствуйте"},
]
UPLOAD_URL = re.compile(
    rf"https://{re.escape(STORAGE_HOST)}/(?P<bucket>[a-z0-9.-]+)/(?P<dataset>fds[a-z0-9]{{17}})/"
    r"(?P<name>[0-9a-f]{32})\.jsonl\?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    r"&X-Amz-Credential=(?P<ak>YCAJE[A-Za-z0-9]{20})%2F(?P<date>\d{8})%2Fus-east-1%2Fs3%2F"
    r"aws4_request&X-Amz-Date=(?P=date)T\d{6}Z&X-Amz-Expires=(?P<expires>\d+)"
    r"&X-Amz-SignedHeaders=content-length%3Bhost&X-Amz-Signature=[0-9a-f]{64}")


def jsonl(rows) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def create_dataset(box, metadata=None, **overrides):
    fields = {"folder_id": FOLDER, "name": "support chats", "task_type": "TextToTextGeneration",
              "upload_format": "jsonlines", "labels": {"team": "ml"}}
    fields.update(overrides)
    return box.datasets.Create(dss.CreateDatasetRequest(**fields),
                               metadata=metadata or api_key())


def upload_url(box, dataset_id, size, metadata=None):
    return box.datasets.GetUploadDraftUrl(
        dss.GetUploadDraftUrlRequest(dataset_id=dataset_id, size_bytes=size),
        metadata=metadata or api_key()).upload_url


def put_file(box, url, data, host=STORAGE_HOST, headers=None, **kwargs):
    """PUT to the sandbox's HTTP port with the URL's path and query, as the
    gateway's proxy forwards it."""
    parts = urlsplit(url)
    return requests.put(f"{box.http}{parts.path}?{parts.query}", data=data,
                        headers={"Host": host, **(headers or {})}, timeout=10, **kwargs)


def describe_dataset(box, dataset_id):
    return box.datasets.Describe(dss.DescribeDatasetRequest(dataset_id=dataset_id),
                                 metadata=api_key()).dataset


def wait_for_dataset(box, dataset_id, status, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dataset = describe_dataset(box, dataset_id)
        if dataset.status == status:
            return dataset
        time.sleep(0.03)
    raise AssertionError(f"dataset {dataset_id} never reached {DatasetStatus.Name(status)}")


def uploaded_dataset(box, data, **overrides):
    """A DRAFT dataset with data uploaded: its id."""
    dataset_id = create_dataset(box, **overrides).dataset_id
    response = put_file(box, upload_url(box, dataset_id, len(data)), data)
    assert response.status_code == 200, response.text
    return dataset_id


def ready_dataset(box, rows=GOOD_ROWS):
    dataset_id = uploaded_dataset(box, jsonl(rows))
    box.datasets.Validate(dss.ValidateDatasetRequest(dataset_id=dataset_id), metadata=api_key())
    wait_for_dataset(box, dataset_id, DatasetStatus.READY)
    return dataset_id


def s3_error(response):
    """(Code, Message) of an S3 XML error answer."""
    assert response.headers["Content-Type"] == "application/xml", response.headers
    code = re.search(r"<Code>(.*?)</Code>", response.text)
    message = re.search(r"<Message>(.*?)</Message>", response.text)
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Error>')
    return code[1], message[1]


def uploads(box):
    return [entry for entry in calls(box) if entry["method"] == "upload"]


def test_dataset_flow_to_tune(sandbox):
    token = iam_token(sandbox)
    before = time.time()
    created = create_dataset(sandbox, metadata=bearer(token), description="from the gateway")
    dataset_id = created.dataset_id
    assert re.fullmatch(r"fds[a-z0-9]{17}", dataset_id)
    info = created.dataset
    assert (info.dataset_id, info.folder_id, info.name, info.description) == (
        dataset_id, FOLDER, "support chats", "from the gateway")
    assert info.status == DatasetStatus.DRAFT and info.task_type == "TextToTextGeneration"
    assert dict(info.labels) == {"team": "ml"} and (info.rows, info.size_bytes) == (0, 0)
    assert info.created_by == sandbox.key["service_account_id"]
    assert info.created_at.ToSeconds() >= int(before)

    data = jsonl(GOOD_ROWS)
    url = upload_url(sandbox, dataset_id, len(data), metadata=bearer(token))
    match = UPLOAD_URL.fullmatch(url)
    assert match, url
    assert match["dataset"] == dataset_id and match["expires"] == "86400"
    query = parse_qs(urlsplit(url).query)
    assert abs(calendar.timegm(time.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ"))
               - time.time()) < 60

    response = put_file(sandbox, url, data)
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    info = describe_dataset(sandbox, dataset_id)
    assert info.status == DatasetStatus.DRAFT
    assert (info.rows, info.size_bytes) == (3, len(data))

    operation = sandbox.datasets.Validate(dss.ValidateDatasetRequest(dataset_id=dataset_id),
                                          metadata=bearer(token))
    validation_id = operation.id
    assert re.fullmatch(r"fdo[a-z0-9]{17}", operation.id) and not operation.done
    metadata = dss.ValidateDatasetMetadata()
    assert operation.metadata.Unpack(metadata) and metadata.dataset_id == dataset_id
    assert metadata.total_rows == 3
    assert describe_dataset(sandbox, dataset_id).status == DatasetStatus.VALIDATING
    error = rpc_error(sandbox.datasets.Validate, dss.ValidateDatasetRequest(dataset_id=dataset_id),
                      metadata=api_key())
    assert error.code() == Code.FAILED_PRECONDITION and "VALIDATING" in error.details()
    error = rpc_error(tune, sandbox, train_datasets=[W(dataset_id=dataset_id, weight=1.0)])
    assert error.code() == Code.FAILED_PRECONDITION and "VALIDATING" in error.details()

    info = wait_for_dataset(sandbox, dataset_id, DatasetStatus.READY)
    assert (info.rows, info.size_bytes) == (3, len(data)) and not info.validation_error
    assert info.updated_at.ToNanoseconds() > info.created_at.ToNanoseconds()
    done = get_operation(sandbox, operation.id)
    result = dss.ValidateDatasetResponse()
    assert done.done and done.response.Unpack(result)
    assert (result.dataset_id, result.is_valid, list(result.errors)) == (dataset_id, True, [])
    assert done.metadata.Unpack(metadata) and (metadata.processed_rows,
                                               metadata.valid_rows) == (3, 3)
    error = rpc_error(sandbox.operations.Cancel,
                      operation_service_pb2.CancelOperationRequest(operation_id=operation.id),
                      metadata=api_key())
    assert error.code() == Code.FAILED_PRECONDITION
    # the URL of a dataset past DRAFT takes nothing any more
    response = put_file(sandbox, url, data)
    assert response.status_code == 403 and s3_error(response)[0] == "AccessDenied"

    operation = sandbox.tuning.Tune(tune_request(train_datasets=[W(dataset_id=dataset_id,
                                                                   weight=1.0)]),
                                    metadata=bearer(token))
    task_id = metadata_of(operation).tuning_task_id
    view = requests.get(f"{sandbox.http}/_sandbox/tasks/{task_id}").json()
    assert view["dataset_stored"] is True and view["stored_datasets"] == [dataset_id]
    plain = metadata_of(tune(sandbox)).tuning_task_id        # fds1train: not the sandbox's
    view = requests.get(f"{sandbox.http}/_sandbox/tasks/{plain}").json()
    assert view["dataset_stored"] is False and view["stored_datasets"] == []

    listed = requests.get(sandbox.http + "/_sandbox/datasets").json()
    assert listed == [{"dataset_id": dataset_id, "name": "support chats", "status": "READY",
                       "rows": 3, "size_bytes": len(data), "labels": {"team": "ml"},
                       "sha256": hashlib.sha256(data).hexdigest()}]
    content = requests.get(f"{sandbox.http}/_sandbox/datasets/{dataset_id}/content")
    assert content.status_code == 200 and content.content == data
    view = requests.get(f"{sandbox.http}/_sandbox/datasets/{dataset_id}").json()
    assert view["dataset"]["status"] == "READY" and view["format"] == {
        "ok": True, "rows": 3, "error": None}
    assert view["operation_id"] == validation_id

    methods = [entry["method"] for entry in calls(sandbox)]
    assert methods[:4] == ["IamToken", "DatasetCreate", "DatasetGetUploadDraftUrl", "upload"]
    assert "DatasetValidate" in methods and "Tune" in methods
    first, refused = uploads(sandbox)
    assert first["path"] == urlsplit(url).path and first["kind"] == "upload"
    assert (first["bytes"], first["content_length"], first["declared_bytes"]) == (
        len(data), len(data), len(data))
    assert first["signature_ok"] and first["auth_ok"] and first["http_status"] == 200
    assert first["format"] == {"ok": True, "rows": 3, "error": None}
    assert first["host"] == STORAGE_HOST and first["dataset_id"] == dataset_id
    assert first["signed_headers"] == ["content-length", "host"] and first["fault"] is None
    assert first["sha256"] == hashlib.sha256(data).hexdigest()
    assert "authorization" not in first["headers"] and "X-Amz-Signature" in first["query_params"]
    assert query["X-Amz-Signature"][0] not in json.dumps(first)     # no secret in the log
    assert refused["signature_ok"] and not refused["auth_ok"]
    assert refused["http_status"] == 403


def test_dataset_zero_validate_seconds_and_expired_url(tmp_path):
    box = start_sandbox(None, "--folder-id", FOLDER, "--api-key", API_KEY,
                        "--dataset-validate-seconds", "0", "--upload-url-expires", "2")
    try:
        data = jsonl(GOOD_ROWS[:1])
        dataset_id = create_dataset(box).dataset_id
        url = upload_url(box, dataset_id, len(data))
        assert "&X-Amz-Expires=2&" in url
        assert put_file(box, url, data).status_code == 200     # within the 2 seconds
        operation = box.datasets.Validate(dss.ValidateDatasetRequest(dataset_id=dataset_id),
                                          metadata=api_key())
        result = dss.ValidateDatasetResponse()
        assert operation.done and operation.response.Unpack(result) and result.is_valid
        assert describe_dataset(box, dataset_id).status == DatasetStatus.READY

        other = create_dataset(box).dataset_id
        url = upload_url(box, other, len(data))
        time.sleep(3.1)
        response = put_file(box, url, data)
        assert response.status_code == 403
        assert s3_error(response) == ("AccessDenied", "Request has expired")
        entry = uploads(box)[-1]
        assert entry["signature_ok"] and not entry["auth_ok"] and entry["expires"] == 2
        assert describe_dataset(box, other).size_bytes == 0
    finally:
        assert box.stop() == 0


BAD_ROWS = [
    (b'{"request": [{"role": "user", "text": "hi"}], "response": "ok"}', None),
    (b"\xff\xfe not utf-8", "NOT_UTF8"),
    (b'{"request": [{"role": "user", "text": "hi"}], "response": "ok"', "INVALID_JSON"),
    (b'["request", "response"]', "NOT_AN_OBJECT"),
    (b'{"request": [{"role": "user", "text": "hi"}]}', "INVALID_KEYS"),
    (b'{"request": [{"role": "user", "text": "hi"}], "response": "ok", "x": 1}',
     "INVALID_KEYS"),
    (b'{"request": [], "response": "ok"}', "INVALID_REQUEST"),
    (b'{"request": "hi", "response": "ok"}', "INVALID_REQUEST"),
    (b'{"request": [{"role": "user", "content": "hi"}], "response": "ok"}', "INVALID_MESSAGE"),
    (b'{"request": [{"role": "user", "text": "hi", "name": "x"}], "response": "ok"}',
     "INVALID_MESSAGE"),
    (b'{"request": [{"role": "bot", "text": "hi"}], "response": "ok"}', "INVALID_ROLE"),
    (b'{"request": [{"role": "user", "text": ""}], "response": "ok"}', "EMPTY_TEXT"),
    (b'{"request": [{"role": "user", "text": 5}], "response": "ok"}', "EMPTY_TEXT"),
    (b'{"request": [{"role": "user", "text": "a"}, {"role": "system", "text": "b"}, '
     b'{"role": "user", "text": "c"}], "response": "ok"}', "SYSTEM_NOT_FIRST"),
    (b'{"request": [{"role": "system", "text": "a"}], "response": "ok"}', "LAST_NOT_USER"),
    (b'{"request": [{"role": "user", "text": "a"}, {"role": "assistant", "text": "b"}], '
     b'"response": "ok"}', "LAST_NOT_USER"),
    (b'{"request": [{"role": "user", "text": "a"}], "response": ""}', "INVALID_RESPONSE"),
    (b'{"request": [{"role": "user", "text": "a"}], "response": ["x"]}', "INVALID_RESPONSE"),
]


def test_dataset_invalid_file_names_rows(sandbox):
    # blank lines count for row numbers (lines of the file) but not as rows
    lines = [row for row, _ in BAD_ROWS[:3]] + [b"", b"   "] + [row for row, _ in BAD_ROWS[3:]]
    data = b"\n".join(lines) + b"\r\n"
    expected: dict[str, list[int]] = {}
    for number, line in enumerate(lines, 1):
        code = dict(BAD_ROWS).get(line)
        if code:
            expected.setdefault(code, []).append(number)
    dataset_id = uploaded_dataset(sandbox, data)
    entry = uploads(sandbox)[-1]
    assert entry["http_status"] == 200 and entry["format"]["ok"] is False
    assert entry["format"]["rows"] == len(BAD_ROWS)
    assert entry["format"]["error"] == "NOT_UTF8: the line is not valid UTF-8 (rows 2)"

    operation = sandbox.datasets.Validate(dss.ValidateDatasetRequest(dataset_id=dataset_id),
                                          metadata=api_key())
    info = wait_for_dataset(sandbox, dataset_id, DatasetStatus.INVALID)
    assert info.rows == len(BAD_ROWS) and info.size_bytes == len(data)
    found = {error.error: list(error.row_numbers) for error in info.validation_error}
    assert found == expected
    firsts = [error.row_numbers[0] for error in info.validation_error]
    assert firsts == sorted(firsts)                    # the earliest row's error first
    assert all(error.error_description for error in info.validation_error)
    result = dss.ValidateDatasetResponse()
    assert get_operation(sandbox, operation.id).response.Unpack(result)
    assert not result.is_valid and {e.error for e in result.errors} == set(expected)
    error = rpc_error(tune, sandbox, train_datasets=[W(dataset_id=dataset_id, weight=1.0)])
    assert error.code() == Code.FAILED_PRECONDITION and "INVALID" in error.details()
    # a DRAFT dataset named as validation data is refused too
    draft = create_dataset(sandbox).dataset_id
    error = rpc_error(tune, sandbox, validation_datasets=[W(dataset_id=draft, weight=1.0)])
    assert error.code() == Code.FAILED_PRECONDITION and "DRAFT" in error.details()
    assert requests.get(sandbox.http + "/_sandbox/datasets").json()[0]["status"] == "INVALID"


def test_dataset_without_rows_is_invalid(sandbox):
    dataset_id = uploaded_dataset(sandbox, b"\n \n")
    sandbox.datasets.Validate(dss.ValidateDatasetRequest(dataset_id=dataset_id),
                              metadata=api_key())
    info = wait_for_dataset(sandbox, dataset_id, DatasetStatus.INVALID)
    assert info.rows == 0
    assert [(e.error, list(e.row_numbers)) for e in info.validation_error] == [
        ("TOO_FEW_ROWS", [])]


def _tampered_signature(url):
    return url[:-1] + ("0" if url[-1] != "0" else "1")


UPLOAD_REFUSALS = [
    ("tampered-signature", lambda url: (_tampered_signature(url), {}, None),
     403, "SignatureDoesNotMatch", False),
    ("tampered-expires", lambda url: (url.replace("X-Amz-Expires=86400", "X-Amz-Expires=90000"),
                                      {}, None), 403, "SignatureDoesNotMatch", False),
    ("other-host", lambda url: (url, {}, "127.0.0.1"), 403, "SignatureDoesNotMatch", False),
    ("other-path", lambda url: (url.replace(".jsonl?", ".json?"), {}, None),
     403, "SignatureDoesNotMatch", False),
    ("longer-body", lambda url: (url, {"extra": b"x"}, None), 400, "InvalidArgument", False),
    ("shorter-body", lambda url: (url, {"cut": 1}, None), 400, "InvalidArgument", False),
    ("no-signature", lambda url: (url.split("?")[0] + "?", {}, None), 403, "AccessDenied",
     False),
    ("missing-param", lambda url: (re.sub(r"&X-Amz-Date=[^&]*", "", url), {}, None),
     400, "AuthorizationQueryParametersError", False),
    ("other-region", lambda url: (url.replace("us-east-1", "ru-central1"), {}, None),
     400, "AuthorizationQueryParametersError", False),
    ("unknown-access-key", lambda url: (re.sub(r"YCAJE\w+%2F", "YCAJEunknownkey000000000%2F",
                                               url), {}, None),
     403, "InvalidAccessKeyId", False),
    ("authorization-header", lambda url: (url, {"headers": {"Authorization": f"Api-Key {API_KEY}"}},
                                          None), 400, "InvalidArgument", True),
]


@pytest.mark.parametrize("change, status, code, signature_ok",
                         [case[1:] for case in UPLOAD_REFUSALS],
                         ids=[case[0] for case in UPLOAD_REFUSALS])
def test_upload_refusals(sandbox, change, status, code, signature_ok):
    data = jsonl(GOOD_ROWS)
    dataset_id = create_dataset(sandbox).dataset_id
    url = upload_url(sandbox, dataset_id, len(data))
    url, extra, host = change(url)
    body = data + extra.get("extra", b"")
    body = body[:len(body) - extra.get("cut", 0)]
    response = put_file(sandbox, url, body, host=host or STORAGE_HOST,
                        headers=extra.get("headers"))
    assert response.status_code == status, response.text
    assert s3_error(response)[0] == code
    assert response.headers.get("x-amz-request-id")
    entry = uploads(sandbox)[-1]
    assert (entry["http_status"], entry["auth_ok"]) == (status, False)
    assert entry["reason"] and entry["bytes"] == len(body)
    assert entry["signature_ok"] is signature_ok
    # nothing was stored: the dataset still has no file
    assert describe_dataset(sandbox, dataset_id).size_bytes == 0
    error = rpc_error(sandbox.datasets.Validate, dss.ValidateDatasetRequest(dataset_id=dataset_id),
                      metadata=api_key())
    assert error.code() == Code.FAILED_PRECONDITION and "no uploaded file" in error.details()
    # and the URL as issued still works
    assert put_file(sandbox, upload_url(sandbox, dataset_id, len(data)), data).status_code == 200


def test_upload_needs_content_length(sandbox):
    data = jsonl(GOOD_ROWS)
    url = upload_url(sandbox, create_dataset(sandbox).dataset_id, len(data))
    response = put_file(sandbox, url, iter([data]))            # chunked
    assert response.status_code == 501 and s3_error(response)[0] == "NotImplemented"


def test_dataset_delete(sandbox):
    data = jsonl(GOOD_ROWS)
    dataset_id = create_dataset(sandbox).dataset_id
    url = upload_url(sandbox, dataset_id, len(data))
    answer = sandbox.datasets.Delete(dss.DeleteDatasetRequest(dataset_id=dataset_id),
                                     metadata=api_key())
    assert answer == dss.DeleteDatasetResponse()
    for call, request in (
            (sandbox.datasets.Describe, dss.DescribeDatasetRequest(dataset_id=dataset_id)),
            (sandbox.datasets.Delete, dss.DeleteDatasetRequest(dataset_id=dataset_id)),
            (sandbox.datasets.Validate, dss.ValidateDatasetRequest(dataset_id=dataset_id)),
            (sandbox.datasets.GetUploadDraftUrl,
             dss.GetUploadDraftUrlRequest(dataset_id=dataset_id, size_bytes=1))):
        assert rpc_error(call, request, metadata=api_key()).code() == Code.NOT_FOUND
    response = put_file(sandbox, url, data)
    assert response.status_code == 404 and s3_error(response)[0] == "NoSuchKey"
    assert uploads(sandbox)[-1]["signature_ok"] is True
    assert requests.get(sandbox.http + "/_sandbox/datasets").json() == []
    assert requests.get(f"{sandbox.http}/_sandbox/datasets/{dataset_id}").status_code == 404

    ready = ready_dataset(sandbox)
    sandbox.datasets.Delete(dss.DeleteDatasetRequest(dataset_id=ready), metadata=api_key())
    error = rpc_error(tune, sandbox, train_datasets=[W(dataset_id=ready, weight=1.0)])
    assert error.code() == Code.FAILED_PRECONDITION and "deleted" in error.details()


CREATE_CASES = [
    ("no-folder", {"folder_id": ""}, Code.INVALID_ARGUMENT, "folder_id"),
    ("other-folder", {"folder_id": "b1gotherfolder"}, Code.PERMISSION_DENIED,
     "Permission denied"),
    ("no-name", {"name": ""}, Code.INVALID_ARGUMENT, "name"),
    ("long-name", {"name": "n" * 64}, Code.INVALID_ARGUMENT, "name"),
    ("task-type", {"task_type": "TextClassificationMultilabel"}, Code.INVALID_ARGUMENT,
     "task_type"),
    ("no-task-type", {"task_type": ""}, Code.INVALID_ARGUMENT, "task_type"),
    ("upload-format", {"upload_format": "csv"}, Code.INVALID_ARGUMENT, "upload_format"),
    ("label-key", {"labels": {"Team": "ml"}}, Code.INVALID_ARGUMENT, "labels"),
    ("label-value", {"labels": {"team": "M L"}}, Code.INVALID_ARGUMENT, "labels"),
]


@pytest.mark.parametrize("overrides, code, fragment", [case[1:] for case in CREATE_CASES],
                         ids=[case[0] for case in CREATE_CASES])
def test_dataset_create_validation(sandbox, overrides, code, fragment):
    error = rpc_error(create_dataset, sandbox, **overrides)
    assert error.code() == code and fragment in error.details(), error.details()
    assert status_details(error).code == code.value[0]
    assert requests.get(sandbox.http + "/_sandbox/datasets").json() == []


def test_dataset_create_edges_and_rpc_refusals(sandbox):
    assert create_dataset(sandbox, name="n" * 63, labels={}).dataset.name == "n" * 63
    dataset_id = create_dataset(sandbox, name="x").dataset_id
    for size, code in ((0, Code.INVALID_ARGUMENT), (-5, Code.INVALID_ARGUMENT)):
        error = rpc_error(upload_url, sandbox, dataset_id, size)
        assert error.code() == code and "size_bytes" in error.details()
    for call, request, code in (
            (sandbox.datasets.GetUploadDraftUrl,
             dss.GetUploadDraftUrlRequest(dataset_id="fdsunknown", size_bytes=10),
             Code.NOT_FOUND),
            (sandbox.datasets.Describe, dss.DescribeDatasetRequest(), Code.INVALID_ARGUMENT),
            (sandbox.datasets.Validate, dss.ValidateDatasetRequest(dataset_id="fdsunknown"),
             Code.NOT_FOUND),
            (sandbox.datasets.Validate, dss.ValidateDatasetRequest(dataset_id=dataset_id),
             Code.FAILED_PRECONDITION),
            (sandbox.datasets.List, dss.ListDatasetsRequest(folder_id=FOLDER),
             Code.UNIMPLEMENTED),
            (sandbox.datasets.Update, dss.UpdateDatasetRequest(dataset_id=dataset_id),
             Code.UNIMPLEMENTED)):
        assert rpc_error(call, request, metadata=api_key()).code() == code
    ready = ready_dataset(sandbox)
    error = rpc_error(upload_url, sandbox, ready, 10)
    assert error.code() == Code.FAILED_PRECONDITION and "READY" in error.details()


@pytest.mark.parametrize("metadata", [[], api_key("AQVN-wrong"), bearer("t1.forged.token")],
                         ids=["none", "wrong-key", "unknown-token"])
def test_dataset_auth_rejected(sandbox, metadata):
    dataset_id = create_dataset(sandbox).dataset_id
    for call, request in (
            (sandbox.datasets.Create, dss.CreateDatasetRequest(
                folder_id=FOLDER, name="x", task_type="TextToTextGeneration",
                upload_format="jsonlines")),
            (sandbox.datasets.GetUploadDraftUrl,
             dss.GetUploadDraftUrlRequest(dataset_id=dataset_id, size_bytes=10)),
            (sandbox.datasets.Validate, dss.ValidateDatasetRequest(dataset_id=dataset_id)),
            (sandbox.datasets.Describe, dss.DescribeDatasetRequest(dataset_id=dataset_id)),
            (sandbox.datasets.Delete, dss.DeleteDatasetRequest(dataset_id=dataset_id))):
        error = rpc_error(call, request, metadata=metadata)
        assert error.code() == Code.UNAUTHENTICATED and error.details() == UNAUTHENTICATED
    assert describe_dataset(sandbox, dataset_id).status == DatasetStatus.DRAFT
    assert len(requests.get(sandbox.http + "/_sandbox/datasets").json()) == 1


def test_upload_fault_status(sandbox):
    data = jsonl(GOOD_ROWS)
    dataset_id = create_dataset(sandbox).dataset_id
    url = upload_url(sandbox, dataset_id, len(data))
    queue_fault(sandbox, method="upload", fault="status")
    queue_fault(sandbox, method="upload", fault="status", http=500, code="InternalError",
                message="We encountered an internal error. Please try again.")
    response = put_file(sandbox, url, data)
    assert response.status_code == 503
    assert s3_error(response) == ("ServiceUnavailable", "Service is unable to handle request.")
    response = put_file(sandbox, url, data)
    assert response.status_code == 500 and s3_error(response)[0] == "InternalError"
    assert describe_dataset(sandbox, dataset_id).size_bytes == 0      # a faulted PUT stores nothing
    assert put_file(sandbox, url, data).status_code == 200
    assert describe_dataset(sandbox, dataset_id).size_bytes == len(data)
    faulted = uploads(sandbox)
    assert [(e["fault"], e["http_status"]) for e in faulted] == [
        ("status", 503), ("status", 500), (None, 200)]
    assert faulted[0]["signature_ok"] and faulted[0]["format"]["ok"]


def test_upload_fault_stall_body(sandbox):
    data = jsonl(GOOD_ROWS * 50)
    url = upload_url(sandbox, create_dataset(sandbox).dataset_id, len(data))
    queue_fault(sandbox, method="upload", fault="stall-body", bytes=100, delay=0.5)
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        put_file(sandbox, url, data)
    assert time.monotonic() - started >= 0.5
    (entry,) = uploads(sandbox)
    assert (entry["fault"], entry["bytes"], entry["http_status"]) == ("stall-body", 100, None)
    assert entry["format"] is None
    assert put_file(sandbox, url, data).status_code == 200


@pytest.mark.parametrize("spec", [{"fault": "reset"}, {"fault": "drop"}], ids=["reset", "drop"])
def test_upload_fault_connection(sandbox, spec):
    data = jsonl(GOOD_ROWS)
    dataset_id = create_dataset(sandbox).dataset_id
    url = upload_url(sandbox, dataset_id, len(data))
    queue_fault(sandbox, method="upload", **spec)
    with pytest.raises(requests.ConnectionError):
        put_file(sandbox, url, data)
    assert describe_dataset(sandbox, dataset_id).size_bytes == 0
    assert put_file(sandbox, url, data).status_code == 200


def test_upload_fault_slow_and_any(sandbox):
    data = jsonl(GOOD_ROWS)
    url = upload_url(sandbox, create_dataset(sandbox).dataset_id, len(data))
    queue_fault(sandbox, fault="slow", delay=5)             # "any" leaves uploads alone
    started = time.monotonic()
    assert put_file(sandbox, url, data).status_code == 200
    assert time.monotonic() - started < 2
    requests.delete(sandbox.http + "/_sandbox/faults")
    queue_fault(sandbox, method="upload", fault="slow", delay=0.4)
    started = time.monotonic()
    assert put_file(sandbox, url, data).status_code == 200
    assert time.monotonic() - started >= 0.4
    assert uploads(sandbox)[-1]["fault"] == "slow"


def test_dataset_grpc_faults(sandbox):
    queue_fault(sandbox, method="DatasetCreate", fault="grpc_error", code=8,
                message="Quota exceeded")
    error = rpc_error(create_dataset, sandbox)
    assert (error.code(), error.details()) == (Code.RESOURCE_EXHAUSTED, "Quota exceeded")
    data = jsonl(GOOD_ROWS)
    dataset_id = uploaded_dataset(sandbox, data)
    operation = sandbox.datasets.Validate(dss.ValidateDatasetRequest(dataset_id=dataset_id),
                                          metadata=api_key())
    queue_fault(sandbox, method="OperationGet", fault="op_error", code=13, message="lost")
    failed = get_operation(sandbox, operation.id)
    assert failed.done and (failed.error.code, failed.error.message) == (13, "lost")
    queue_fault(sandbox, method="DatasetDescribe", fault="slow", delay=0.3)
    started = time.monotonic()
    describe_dataset(sandbox, dataset_id)
    assert time.monotonic() - started >= 0.3
    assert [e["method"] for e in calls(sandbox)][0] == "DatasetCreate"


@pytest.mark.parametrize("spec", [
    {"method": "Tune", "fault": "status"},
    {"method": "IamToken", "fault": "stall-body"},
    {"method": "upload", "fault": "grpc_error"},
    {"method": "upload", "fault": "iam_error"},
    {"method": "upload", "fault": "stall-body", "bytes": -1},
    {"method": "upload", "fault": "stall-body", "delay": "long"},
    {"method": "upload", "fault": "status", "http": 600},
    {"method": "DatasetList", "fault": "drop"},
    {"method": "Create", "fault": "slow"},
], ids=["status-tune", "stall-iam", "grpc-upload", "iam-upload", "bytes", "delay", "http",
        "drop-grpc", "bare-create"])
def test_invalid_upload_fault_specs(sandbox, spec):
    response = requests.post(sandbox.http + "/_sandbox/faults", json=spec)
    assert response.status_code == 400 and not response.json()["ok"]


def test_reset_forgets_datasets(sandbox):
    data = jsonl(GOOD_ROWS)
    dataset_id = create_dataset(sandbox).dataset_id
    url = upload_url(sandbox, dataset_id, len(data))
    requests.post(sandbox.http + "/_sandbox/reset")
    assert requests.get(sandbox.http + "/_sandbox/datasets").json() == []
    assert rpc_error(describe_dataset, sandbox, dataset_id).code() == Code.NOT_FOUND
    assert put_file(sandbox, url, data).status_code == 404
    assert requests.get(f"{sandbox.http}/_sandbox/datasets/{dataset_id}/content").status_code \
        == 404


# ---------------------------------------------------------------- process

def test_sigterm_and_bad_options(tmp_path):
    box = start_sandbox(None)
    started = time.monotonic()
    assert box.stop() == 0 and time.monotonic() - started < 3
    for args in (["--total-steps", "0"], ["--run-seconds", "-1"],
                 ["--public-key-file", str(tmp_path / "missing.pem")]):
        result = subprocess.run([sys.executable, str(SANDBOX_SCRIPT), *args],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode != 0, args
