"""The fault matrix (docs/api.md, "The vendor answer matrix"): every
fault of a vendor's HTTP answer, on every call an operation makes, gets
the one documented status and code, the same for every vendor; the
workers survive and the next call succeeds."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest
import requests

import harness
from conftest import (DATASET, SECRETS, YANDEX_FOLDER, Gateway, _start,
                      error_of)

sys.path.insert(0, str(Path(__file__).resolve().parent / "slurm"))
import fault_proxy  # noqa: E402
from slurmrest import slurm_cluster  # noqa: E402,F401

QF_MODEL = "qianfan/ERNIE-Bot-turbo-0725"
QF_DATASET = "qianfan://dataset/1234"
YX_DATASET = "yandex://dataset/fds1train"

# fault spec, gateway status, error code (faults with a count outlast
# nginx's one retry on a fresh connection)
FAULTS = {
    "timeout-before-header": ({"fault": "slow", "delay": 3}, 504,
                              "vendor_timeout"),
    "reset": ({"fault": "reset", "count": 3}, 502, "vendor_unreachable"),
    "closed-without-answer": ({"fault": "drop", "count": 3}, 502,
                              "vendor_unreachable"),
    "cut-short": ({"fault": "truncated", "count": 3}, 502,
                  "invalid_vendor_response"),
    # half the answer, then silence past proxy_read_timeout (2 s here):
    # nginx ends the subrequest with the part it got, as for an answer cut
    # short, so the client hears the same (docs/api.md)
    "timeout-mid-body": ({"fault": "stall-answer", "delay": 4}, 502,
                         "invalid_vendor_response"),
    "html-200": ({"fault": "garbage"}, 502, "invalid_vendor_response"),
    "oversize": ({"fault": "huge", "bytes": 2 * 1024 * 1024}, 502,
                 "vendor_response_too_large"),
    "html-500": ({"fault": "status", "http": 500, "content_type": "text/html",
                  "body": "<html><body>500</body></html>"}, 502,
                 "invalid_vendor_response"),
    "502": ({"fault": "status", "http": 502, "body": ""}, 502,
            "invalid_vendor_response"),
    "503": ({"fault": "status", "http": 503, "body": "busy"}, 503,
            "vendor_unavailable"),
    "504": ({"fault": "status", "http": 504, "body": "late"}, 504,
            "vendor_timeout"),
    "429-retry-after": ({"fault": "status", "http": 429, "body": "slow down",
                         "headers": {"Retry-After": "17"}}, 429,
                        "rate_limited"),
}

# (vendor, operation, the sandbox's name of the faulted call)
CALLS = [
    ("clova", "create", "create"),
    ("clova", "retrieve", "get"),
    ("clova", "list", "list"),
    ("clova", "cancel", "delete"),
    ("clova", "events", "get"),
    ("qianfan", "create", "createTask"),
    ("qianfan", "create", "createJob"),
    ("qianfan", "retrieve", "jobDetail"),
    ("qianfan", "cancel", "stopJob"),
    ("qianfan", "events", "jobDetail"),
]


# a create body for each provider the cells use
CREATE_BODIES = {
    "clova": {"model": "clova/HCX-003", "training_file": DATASET},
    "qianfan": {"model": QF_MODEL, "training_file": QF_DATASET,
                "tuning": {"max_seq_len": 4096}},
    "yandex": {"model": "yandex/yandexgpt-lite", "training_file": YX_DATASET,
               "tuning": {"tuning_type": "lora"}},
    # the provider that signs in by IAM
    "local": {"model": "local/tiny",
              "training_file": "local://datasets/chat.jsonl"},
    "yandex_iam": {"model": "yandex_iam/yandexgpt-lite",
                   "training_file": YX_DATASET,
                   "tuning": {"tuning_type": "lora"}},
}


def _create(gateway, provider):
    return gateway.call("POST", "/v1/fine_tuning/jobs",
                        json=CREATE_BODIES[provider])


def _operation(gateway, vendor, operation, job_id):
    if operation == "create":
        return _create(gateway, vendor)
    if operation == "list":
        return gateway.call("GET", "/v1/fine_tuning/jobs")
    path = f"/v1/fine_tuning/jobs/{job_id}"
    if operation == "cancel":
        return gateway.call("POST", path + "/cancel")
    if operation == "events":
        return gateway.call("GET", path + "/events")
    return gateway.call("GET", path)


def _cell(gateway, provider, operation, sandbox, fault, status, code,
          before_fault=None):
    """One cell: fault (a sandbox fault spec) on the `sandbox` vendor's
    next matching call while `provider` serves `operation`; the client
    gets status and code in the envelope, the workers survive, and the
    next call is served."""
    job_id = None
    if operation != "create":
        created = _create(gateway, provider)
        assert created.status_code == 200, created.text
        job_id = created.json()["id"]
    workers = gateway.nginx.workers()

    if before_fault is not None:
        before_fault()
    gateway.fault(sandbox, **fault)
    try:
        r = _operation(gateway, provider, operation, job_id)
    finally:
        gateway.clear_faults()

    assert r.status_code == status, r.text
    err = error_of(r)
    assert err["code"] == code, err
    assert r.headers["content-type"] == "application/json"
    assert "PRIVATE" not in r.text
    if "Retry-After" in fault.get("headers", {}):
        assert r.headers.get("retry-after") == fault["headers"]["Retry-After"]
    assert gateway.nginx.workers() == workers

    # the next call is served; a stalled answer was the vendor's real one
    # (a CLOVA task deleted before its answer stalled is gone: a 404)
    again = _operation(gateway, provider,
                       "retrieve" if job_id else "list", job_id)
    if fault.get("fault") == "stall-answer":
        assert again.status_code in (200, 404), again.text
    else:
        assert again.status_code == 200, again.text


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("vendor,operation,call", CALLS,
                         ids=[f"{v}-{o}-{c}" for v, o, c in CALLS])
def test_fault_cell(gateway, vendor, operation, call, fault):
    spec, status, code = FAULTS[fault]
    _cell(gateway, vendor, operation, vendor, {"op": call, **spec}, status,
          code)


def _trickle(gateway, vendor, operation, call, chunk=16):
    """The answer `chunk` bytes at a time, 0.05 s apart: each read comes
    within proxy_read_timeout, so the operation succeeds, late (nginx has
    no limit on an answer's whole time: docs/api.md)"""
    job_id = None
    if operation != "create":
        created = _create(gateway, vendor)
        assert created.status_code == 200, created.text
        job_id = created.json()["id"]
    workers = gateway.nginx.workers()
    gateway.fault(vendor, op=call, fault="trickle", bytes=chunk, delay=0.05)
    try:
        r = _operation(gateway, vendor, operation, job_id)
    finally:
        gateway.clear_faults()
    assert r.status_code == 200, r.text
    assert r.json()["object"] in ("fine_tuning.job", "list")
    assert gateway.nginx.workers() == workers


@pytest.mark.parametrize("vendor,operation,call", CALLS,
                         ids=[f"{v}-{o}-{c}" for v, o, c in CALLS])
def test_slow_trickle_cell(gateway, vendor, operation, call):
    _trickle(gateway, vendor, operation, call)


# Yandex over gRPC: fault spec, gateway status, error code
GRPC_FAULTS = {
    "timeout-before-header": ({"fault": "slow", "delay": 3}, 504,
                              "vendor_timeout"),
    "reset": ({"fault": "reset", "count": 3}, 502, "vendor_unreachable"),
    "UNAVAILABLE": ({"fault": "grpc_error", "code": 14}, 503, "UNAVAILABLE"),
    "DEADLINE_EXCEEDED": ({"fault": "grpc_error", "code": 4}, 504,
                          "DEADLINE_EXCEEDED"),
    "RESOURCE_EXHAUSTED": ({"fault": "grpc_error", "code": 8}, 429,
                           "RESOURCE_EXHAUSTED"),
}

# (operation, the sandbox's name of the faulted gRPC method)
GRPC_CALLS = [("create", "Tune"), ("retrieve", "Describe"), ("list", "List"),
              ("cancel", "Cancel"), ("events", "Describe")]


@pytest.mark.parametrize("fault", sorted(GRPC_FAULTS))
@pytest.mark.parametrize("operation,method", GRPC_CALLS,
                         ids=[f"yandex-{o}-{m}" for o, m in GRPC_CALLS])
def test_grpc_fault_cell(gateway, operation, method, fault):
    spec, status, code = GRPC_FAULTS[fault]
    _cell(gateway, "yandex", operation, "yandex", {"method": method, **spec},
          status, code)


# the Yandex IAM exchange (a JWT for an IAM token), made when the cached
# token has expired: fault spec, gateway status, error code
IAM_FAULTS = {
    "timeout-before-header": ({"fault": "slow", "delay": 3}, 504,
                              "vendor_timeout"),
    "reset": ({"fault": "reset", "count": 3}, 502, "vendor_unreachable"),
    "html-500": ({"fault": "iam_error", "http": 500, "count": 3,
                  "body": "<html>500</html>"}, 502, "iam_exchange_failed"),
    "401": ({"fault": "iam_error", "http": 401, "count": 3,
             "body": '{"code": 16, "message": "bad jwt"}'}, 502,
            "iam_exchange_failed"),
}


@pytest.mark.parametrize("fault", sorted(IAM_FAULTS))
@pytest.mark.parametrize("operation", ["create", "retrieve", "list"])
def test_iam_fault_cell(gateway, operation, fault):
    spec, status, code = IAM_FAULTS[fault]

    def expire_token():
        requests.post(gateway.sandboxes["yandex"] + "/_sandbox/iam/expire",
                      timeout=5)

    _cell(gateway, "yandex_iam", operation, "yandex",
          {"method": "IamToken", **spec}, status, code,
          before_fault=expire_token)


# A gRPC answer whose frame is broken: cut short of the length it declares,
# or flagged compressed (the gateway asks for no compression, so a
# compressed message is not one it can read).  The Python sandbox's gRPC
# stack writes only whole frames, so an HTTP/2 server of nginx's own
# serves these, as the bench's mock does: the request read first (mirror),
# the static file as the answer, grpc-status 0 in the trailers.
BROKEN_FRAMES = {
    "truncated-frame": b"\0\0\0\0\x64" + b"\x0a\x04ftn1",
    "compressed-frame": b"\x01\0\0\0\x06" + b"\x0a\x04ftn1",
}
FRAME_METHODS = {"create": "/yandex.cloud.ai.tuning.v1.TuningService/Tune",
                 "list": "/yandex.cloud.ai.tuning.v1.TuningService/List"}


@pytest.fixture(scope="module", params=sorted(BROKEN_FRAMES))
def frames_gateway(workdir, request):
    """a gateway whose one Yandex provider, "broken", is answered by
    nginx's HTTP/2 server with the frame request.param names"""
    name = request.param
    prefix = workdir / f"frames-{name}"
    prefix.mkdir()
    (prefix / "frame.bin").write_bytes(BROKEN_FRAMES[name])
    h2c = harness.free_port()
    key = harness.write_secret(prefix / "yandex.key",
                               SECRETS["yandex_api_key"])
    routes = "\n".join(f"""
        location = {path} {{
            mirror /_read_body;
            alias {prefix}/frame.bin;
            error_page 405 =200 /_frame/frame.bin;
        }}""" for path in FRAME_METHODS.values())
    providers = f"""
    ftgw_provider broken kind=yandex endpoint=/_ftgw/broken
                  folder_id={YANDEX_FOLDER} api_key_file={key};
    server {{
        listen 127.0.0.1:{h2c} http2;
        default_type application/grpc;
        add_trailer grpc-status 0 always;
        location = /_read_body {{ internal; return 204; }}
        location /_frame/ {{ internal; alias {prefix}/; }}
{routes}
    }}"""
    locations = f"""
        location /_ftgw/broken/ {{
            {harness.include("yandex")}
            rewrite ^/_ftgw/broken(/.*)$ $1 break;
            grpc_pass grpc://127.0.0.1:{h2c};
            grpc_read_timeout 2s;
        }}"""
    nginx = _start(prefix, providers, locations)
    yield name, Gateway(nginx, {})
    nginx.stop()
    assert nginx.log_problems() == []


@pytest.mark.parametrize("operation", sorted(FRAME_METHODS))
def test_broken_grpc_frame_cell(frames_gateway, operation):
    frame, gw = frames_gateway
    workers = gw.nginx.workers()
    if operation == "create":
        r = gw.call("POST", "/v1/fine_tuning/jobs", json={
            "model": "broken/yandexgpt-lite", "training_file": YX_DATASET,
            "tuning": {"tuning_type": "lora"}})
    else:
        r = gw.call("GET", "/v1/fine_tuning/jobs")
    assert r.status_code == 502, r.text
    err = error_of(r)
    assert err["code"] == "invalid_vendor_response", err
    assert ("a truncated gRPC message" if frame == "truncated-frame"
            else "no uncompressed gRPC message") in err["message"], err
    assert gw.nginx.workers() == workers


# The local engine: slurmrestd is the real daemon, so a fault proxy sits
# between nginx and its socket (t/slurm/fault_proxy.py) and takes the
# same faults as the HTTP sandboxes.  The jobs run /bin/true: the cells
# are about slurmrestd's answers, not about training.
SLURM_CALLS = [
    ("create", "submit"), ("create", "job"), ("retrieve", "job"),
    ("list", "jobs"), ("cancel", "job"), ("cancel", "cancel"),
    ("events", "job"),
]


class LocalGateway(Gateway):
    def __init__(self, nginx, proxy):
        super().__init__(nginx, {"local": proxy.server_address[1]})
        self.proxy = proxy


@pytest.fixture(scope="module")
def local_faults(workdir, slurm_cluster):  # noqa: F811
    root = Path(tempfile.mkdtemp(prefix="ftgw-faults-", dir="/tmp"))
    root.chmod(0o755)
    for d in ("models/tiny", "datasets", "out"):
        (root / d).mkdir(parents=True)
        (root / d).chmod(0o777)
    proxy = fault_proxy.start(slurm_cluster.socket_path)
    providers = f"""
    ftgw_provider local kind=slurm endpoint=/_ftgw/local
                  models=tiny:{root}/models/tiny
                  dataset_root={root}/datasets output_root={root}/out
                  trainer=/bin/true partition=gpu time_limit=5;"""
    locations = f"""
        location /_ftgw/local/ {{
            {harness.include("slurm")}
            proxy_pass http://127.0.0.1:{proxy.server_address[1]}/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_connect_timeout 1s;
            proxy_read_timeout 2s;
        }}"""
    nginx = _start(workdir / "local-faults", providers, locations)
    yield LocalGateway(nginx, proxy)
    nginx.stop()
    proxy.shutdown()
    assert nginx.log_problems() == []


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("operation,call", SLURM_CALLS,
                         ids=[f"local-{o}-{c}" for o, c in SLURM_CALLS])
def test_local_fault_cell(local_faults, operation, call, fault):
    spec, status, code = FAULTS[fault]
    _cell(local_faults, "local", operation, "local", {"op": call, **spec},
          status, code)


@pytest.mark.parametrize("operation,call", SLURM_CALLS,
                         ids=[f"local-{o}-{c}" for o, c in SLURM_CALLS])
def test_local_slow_trickle_cell(local_faults, operation, call):
    # slurmrestd's job lists grow with the cluster's jobs: larger chunks
    _trickle(local_faults, "local", operation, call, chunk=2048)
