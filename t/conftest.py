"""Integration fixtures: Debian's nginx with the built module (under ASan
when FTGW_PRELOAD names libasan), the CLOVA sandbox on real sockets, and the
official openai SDK as the client.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
from pathlib import Path

import openai
import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sandbox"))
import harness  # noqa: E402

MODULE = os.environ.get(
    "FTGW_MODULE",
    str(harness.ROOT / "build" / "nginx" / "ngx_http_ftgw_module.so"))
PRELOAD = os.environ.get("FTGW_PRELOAD") or None

# Vendor-side credentials: they live only in the gateway's files and the
# sandbox; tests check that they never reach a client or a log line.
SECRETS = {
    "clova_api_key": "nv-test-" + "a1b2c3d4e5f6a7b8c9d0",
    "ncp_access_key": "ncp-access-" + "k3y1d",
    "ncp_secret_key": "ncp-secret-" + "s3cr3tvalue",
    "bucket_access_key": "bucket-access-" + "ak0001",
    "bucket_secret_key": "bucket-secret-" + "sk0001xyz",
    "qianfan_ak": "qianfan-ak-" + "0123456789abcdef",
    "qianfan_sk": "qianfan-sk-" + "fedcba9876543210",
    "yandex_api_key": "AQVN-test-" + "0123456789abcdef",
}
YANDEX_FOLDER = "b1gsandboxfolder"
# IAM tokens live this long in the Yandex sandbox: the gateway refreshes
# them after three quarters of it
YANDEX_TOKEN_TTL = 8.0
CLIENT_KEYS = {
    "alice": "gw-alice-" + "0123456789abcdef",
    "bob": "gw-bob-" + "fedcba9876543210",
}
DATASET = "s3://tuning-data/sets/train.csv"


# the file store's limit in the test gateways (t/test_files.py)
FILES_MAX_SIZE = 4 * 1024 * 1024


# the test gateways' ftgw_secret_file
ID_SECRET = "x" * 16 + "0" * 48


def owner_seal(client: str, unique: str) -> str:
    """The seal of an owner tag, as docs/api.md#owner-tags defines it:
    HMAC-SHA256(secret, "owner" 0 client 0 unique), 6 bytes in hex."""
    return hmac.new(ID_SECRET.encode(), b"owner\0" + client.encode() + b"\0"
                    + unique.encode(), hashlib.sha256).digest()[:6].hex()


def sealed(client: str, unique: str) -> str:
    """A name sealed whole (CLOVA tasks, Slurm jobs): unique.<seal>"""
    return f"{unique}.{owner_seal(client, unique)}"


def _gateway_conf(prefix: Path, port: int, providers: str,
                  locations: str) -> str:
    secret = harness.write_secret(prefix / "id.secret", ID_SECRET)
    clients = "\n".join(
        f"    ftgw_client {name} "
        f"{harness.write_secret(prefix / (name + '.key'), key)};"
        for name, key in CLIENT_KEYS.items())
    return harness.http_prelude(prefix, MODULE) + f"""
    ftgw_secret_file {secret};
    ftgw_files root={prefix}/files max_size={FILES_MAX_SIZE};
{clients}
{providers}
    server {{
        listen 127.0.0.1:{port} reuseport;
        location /v1/ {{
            ftgw_api on;
        }}
{locations}
    }}
}}
"""


def _clova_params(prefix: Path) -> str:
    def f(name):
        return str(harness.write_secret(prefix / f"{name}.secret",
                                        SECRETS[name]))
    return (f"storage_access_key_file={f('bucket_access_key')} "
            f"storage_secret_key_file={f('bucket_secret_key')}")


def _internal(name: str, upstream: str, extra: str = "",
              kind: str = "clova") -> str:
    # the standard directives of the kind's location (config/ftgw-*.conf)
    return f"""
        location /_ftgw/{name}/ {{
            {harness.include(kind)}
            proxy_pass {upstream};
            proxy_connect_timeout 1s;
            proxy_read_timeout 2s;
            proxy_send_timeout 2s;
            {extra}
        }}"""


def _slurm_internal(name: str, socket_path) -> str:
    # the standard directives of a kind=slurm location, then slurmrestd's
    # unix socket
    return f"""
        location /_ftgw/{name}/ {{
            {harness.include("slurm")}
            proxy_pass http://unix:{socket_path}:/;
            proxy_read_timeout 10s;
        }}"""


def _grpc_internal(name: str, upstream: str) -> str:
    # grpc_pass sends the URI as the gRPC path: strip the location prefix
    return f"""
        location /_ftgw/{name}/ {{
            {harness.include("yandex")}
            rewrite ^/_ftgw/{name}(/.*)$ $1 break;
            grpc_pass {upstream};
            grpc_connect_timeout 1s;
            grpc_read_timeout 2s;
            grpc_send_timeout 2s;
        }}"""


def assert_logs_clean(nginx: harness.Nginx) -> None:
    """No alert, crash or sanitizer report in the error log, and no secret
    in either log.  The gateway fixtures check it again when the session
    stops them, after whichever test ran last."""
    assert nginx.log_problems() == []
    for name in ("error.log", "access.log"):
        text = (nginx.prefix / name).read_text()
        for secret in list(SECRETS.values()) + list(CLIENT_KEYS.values()):
            assert secret not in text, (name, secret[:6])


class Gateway:
    def __init__(self, nginx: harness.Nginx, sandboxes: dict[str, int]):
        self.nginx = nginx
        self.base = f"http://127.0.0.1:{nginx.port}"
        self.sandboxes = {vendor: f"http://127.0.0.1:{port}"
                          for vendor, port in sandboxes.items()}
        self.sandbox = self.sandboxes.get("clova")

    def sdk(self, client: str = "alice", **kw) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.base + "/v1",
                             api_key=CLIENT_KEYS[client], max_retries=0,
                             timeout=20, **kw)

    def call(self, method: str, path: str, client: str | None = "alice",
             **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        if client is not None:
            headers.setdefault("Authorization",
                               f"Bearer {CLIENT_KEYS[client]}")
        kw.setdefault("timeout", 20)
        return requests.request(method, self.base + path, headers=headers,
                                **kw)

    # the sandboxes' control API (vendor: "clova" or "qianfan")
    @staticmethod
    def _log(vendor: str) -> str:
        # the Yandex sandbox logs gRPC calls and IAM exchanges as "calls"
        return "/_sandbox/calls" if vendor == "yandex" else "/_sandbox/requests"

    def vendor_requests(self, vendor: str = "clova") -> list[dict]:
        return requests.get(self.sandboxes[vendor] + self._log(vendor),
                            timeout=5).json()

    def clear_vendor_requests(self) -> None:
        for vendor, url in self.sandboxes.items():
            requests.delete(url + self._log(vendor), timeout=5)

    def fault(self, vendor: str = "clova", **spec) -> None:
        r = requests.post(self.sandboxes[vendor] + "/_sandbox/faults",
                          json=spec, timeout=5)
        assert r.status_code == 200, r.text

    def clear_faults(self) -> None:
        for url in self.sandboxes.values():
            requests.delete(url + "/_sandbox/faults", timeout=5)

    def force(self, task_id: str, **state) -> None:
        r = requests.post(self.sandbox + f"/_sandbox/tasks/{task_id}",
                          json=state, timeout=5)
        assert r.status_code == 200, r.text

    def force_yandex(self, task_id: str, **state) -> None:
        r = requests.post(self.sandboxes["yandex"]
                          + f"/_sandbox/tasks/{task_id}", json=state,
                          timeout=5)
        assert r.status_code == 200, r.text

    def iam_exchanges(self) -> int:
        return requests.get(self.sandboxes["yandex"] + "/_sandbox/iam",
                            timeout=5).json()["exchanges"]

    def force_qianfan(self, job_id: str, **state) -> None:
        r = requests.post(self.sandboxes["qianfan"]
                          + f"/_sandbox/jobs/{job_id}", json=state, timeout=5)
        assert r.status_code == 200, r.text


@pytest.fixture(scope="session")
def qianfan_sandbox(workdir):
    proc = harness.start_qianfan_sandbox(
        workdir / "qianfan-sandbox", access_key=SECRETS["qianfan_ak"],
        secret_key=SECRETS["qianfan_sk"], run_seconds=2.0)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def yandex_key(workdir):
    return harness.make_yandex_key(workdir / "yandex-key")


@pytest.fixture(scope="session")
def yandex_sandbox(workdir, yandex_key):
    proc = harness.start_yandex_sandbox(
        workdir / "yandex-sandbox", api_key=SECRETS["yandex_api_key"],
        authorized_key=yandex_key[0], token_ttl=YANDEX_TOKEN_TTL,
        run_seconds=2.0)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ftgw")


@pytest.fixture(scope="session")
def clova_sandbox(workdir):
    proc = harness.start_clova_sandbox(
        workdir, api_key=SECRETS["clova_api_key"],
        access_key=SECRETS["ncp_access_key"],
        secret_key=SECRETS["ncp_secret_key"],
        bucket_access_key=SECRETS["bucket_access_key"],
        bucket_secret_key=SECRETS["bucket_secret_key"],
        wait_seconds=0.5, run_seconds=2.0)
    yield proc
    proc.stop()


def _start(prefix: Path, providers: str, locations: str):
    prefix.mkdir(parents=True, exist_ok=True)
    port = harness.free_port()
    (prefix / "nginx.conf").write_text(
        _gateway_conf(prefix, port, providers, locations))
    nginx = harness.Nginx(prefix, port, env=harness.nginx_env(PRELOAD))
    nginx.start()
    return nginx


@pytest.fixture(scope="session")
def gateway(workdir, clova_sandbox, qianfan_sandbox, yandex_sandbox,
            yandex_key):
    """Providers clova (Bearer) and clova_sig (API Gateway signature v2)
    in front of one CLOVA sandbox, with small vendor pages, and qianfan
    (bce-auth-v1) in front of the Qianfan sandbox."""
    prefix = workdir / "gateway"
    prefix.mkdir()
    key = harness.write_secret(prefix / "clova.key",
                               SECRETS["clova_api_key"])
    ak = harness.write_secret(prefix / "ncp.ak", SECRETS["ncp_access_key"])
    sk = harness.write_secret(prefix / "ncp.sk", SECRETS["ncp_secret_key"])
    qak = harness.write_secret(prefix / "qf.ak", SECRETS["qianfan_ak"])
    qsk = harness.write_secret(prefix / "qf.sk", SECRETS["qianfan_sk"])
    yak = harness.write_secret(prefix / "yandex.key",
                               SECRETS["yandex_api_key"])
    storage = _clova_params(prefix)
    providers = f"""
    ftgw_provider clova kind=clova endpoint=/_ftgw/clova auth=bearer
                  api_key_file={key} {storage} list_page_size=2;
    ftgw_provider clova_sig kind=clova endpoint=/_ftgw/clova_sig auth=apigw
                  access_key_file={ak} secret_key_file={sk} {storage};
    ftgw_provider qianfan kind=qianfan endpoint=/_ftgw/qianfan
                  access_key_file={qak} secret_key_file={qsk};
    ftgw_provider yandex kind=yandex endpoint=/_ftgw/yandex
                  folder_id={YANDEX_FOLDER} api_key_file={yak}
                  list_page_size=3;
    ftgw_provider yandex_iam kind=yandex endpoint=/_ftgw/yandex
                  folder_id={YANDEX_FOLDER} auth=iam
                  service_account_key_file={yandex_key[0]}
                  iam_endpoint=/_ftgw/yandex_iam;
    upstream clova_sandbox {{
        server 127.0.0.1:{clova_sandbox.port};
        keepalive 8;
    }}
    upstream qianfan_sandbox {{
        server 127.0.0.1:{qianfan_sandbox.port};
        keepalive 8;
    }}"""
    locations = (_internal("clova", "http://clova_sandbox/")
                 + _internal("clova_sig", "http://clova_sandbox/")
                 + _internal("qianfan", "http://qianfan_sandbox/",
                             "proxy_set_header Host qianfan.baidubce.com;",
                             kind="qianfan")
                 + _grpc_internal("yandex",
                                  f"grpc://127.0.0.1:{yandex_sandbox.port}")
                 + _internal("yandex_iam",
                             f"http://127.0.0.1:{yandex_sandbox.http_port}/",
                             'proxy_http_version 1.1; '
                             'proxy_set_header Connection "";',
                             kind="yandex-iam")
                 + "\n        location /small/ { ftgw_api on; "
                   "ftgw_vendor_response_max 8k; }")
    nginx = _start(prefix, providers, locations)
    yield Gateway(nginx, {"clova": clova_sandbox.port,
                          "qianfan": qianfan_sandbox.port,
                          "yandex": yandex_sandbox.http_port})
    nginx.stop()
    assert_logs_clean(nginx)


@pytest.fixture(scope="session")
def broken_gateway(workdir, clova_sandbox):
    """A provider whose endpoint refuses connections, and one whose vendor
    key is wrong."""
    prefix = workdir / "broken"
    prefix.mkdir()
    bad = harness.write_secret(prefix / "bad.key", "nv-wrong-key-000000")
    storage = _clova_params(prefix)
    closed = harness.free_port()
    providers = f"""
    ftgw_provider clova_down kind=clova endpoint=/_ftgw/clova_down
                  api_key_file={bad} {storage};
    ftgw_provider clova_badkey kind=clova endpoint=/_ftgw/clova_badkey
                  api_key_file={bad} {storage};"""
    locations = (_internal("clova_down", f"http://127.0.0.1:{closed}/")
                 + _internal("clova_badkey",
                             f"http://127.0.0.1:{clova_sandbox.port}/"))
    nginx = _start(prefix, providers, locations)
    yield Gateway(nginx, {"clova": clova_sandbox.port})
    nginx.stop()
    assert_logs_clean(nginx)


@pytest.fixture(autouse=True)
def _clean_sandbox(request):
    """Each test starts with no queued faults and an empty request log."""
    if "gateway" in request.fixturenames or \
            "broken_gateway" in request.fixturenames:
        gw = request.getfixturevalue("gateway")
        gw.clear_faults()
        gw.clear_vendor_requests()
    yield


def create_job(gw: Gateway, client: str = "alice", model: str = "clova/HCX-003",
               **kw):
    kw.setdefault("training_file", DATASET)
    return gw.sdk(client).fine_tuning.jobs.create(model=model, **kw)


def read_answer(sock) -> tuple[bytes, bytes]:
    """One HTTP answer from a raw socket: its head and its body, read up
    to the Content-Length (nginx may linger before it closes)."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        data = sock.recv(65536)
        assert data, answer
        answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        data = sock.recv(65536)
        assert data, body
        body += data
    return head, body


def error_of(resp: requests.Response) -> dict:
    body = resp.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "param", "code"}, body
    return body["error"]
