"""Uploaded files staged to the cloud vendors (docs/api.md, "Uploaded files
on a cloud vendor"): one client script, the same text for every provider,
uploads a file and tunes the route "bot" until the job succeeds on clova,
clova_sig, qianfan, yandex and local, only the route's configuration
changing between the runs.  The sandboxes check each staged object on
their side: its signature with an independent implementation (botocore's
SigV4 for CLOVA's bucket and Yandex's presigned URL, Baidu's bce-auth-v1
signer) and its format with the vendor's rules; the vendor's task reads
what was staged.  A second job on the same file
stages nothing; the data's faults are 400s naming training_file and the
storage's are 502/503/504s, and none leaves a job behind."""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from pathlib import Path

import openai
import pytest
import requests

import harness
from conftest import _slurm_internal, _start, Gateway, SECRETS, YANDEX_FOLDER

sys.path.insert(0, str(Path(__file__).resolve().parent / "slurm"))
from slurmrest import slurm_cluster  # noqa: E402,F401
from test_local import engine, trainer_venv, wait  # noqa: E402,F401

BUCKET = "ftgw-staging"
ROUTE = "ftgw_route bot provider={provider} model={model};"
MODELS = {"clova": "HCX-003", "clova_sig": "HCX-003",
          "qianfan": "Llama-2-7b", "yandex": "yandexgpt-lite",
          "local": "tiny"}


def conversation(i: int) -> dict:
    """Multi-turn, a system prompt, Unicode, and what CSV must quote."""
    return {"messages": [
        {"role": "system", "content": "You add numbers, briefly."},
        {"role": "user", "content": f"What is {i} plus 1?"},
        {"role": "assistant", "content": f"{i + 1}."},
        {"role": "user", "content": f'And "{i}, doubled"\nplease'},
        {"role": "assistant", "content": f"{2 * i}, été ✓"}]}


def jsonl(rows: list) -> bytes:
    return ("\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
            + "\n").encode()


# 120 conversations: over CLOVA's 100 rows and Qianfan's 32 examples
DATA = jsonl([conversation(i) for i in range(120)])
# more than the sockets between nginx and a storage that stops reading
# hold, and less than the store's max_size in the tests (4 MiB)
BIG = jsonl([{"messages": [{"role": "user", "content": "x" * 34000},
                           {"role": "assistant", "content": str(i)}]}
             for i in range(100)])


def client_script(client: openai.OpenAI, data: bytes) -> tuple[str, str]:
    """What an application writes once: the same for every provider."""
    file = client.files.create(file=("train.jsonl", io.BytesIO(data)),
                               purpose="fine-tune")
    job = client.fine_tuning.jobs.create(
        model="bot", training_file=file.id,
        hyperparameters={"n_epochs": 2})
    assert job.training_file == file.id       # not where it was staged
    done, _ = wait(client, job.id, ("succeeded", "failed", "cancelled"))
    assert done.status == "succeeded", (done.error, done.vendor)
    return file.id, job.id


class Sandbox:
    """A sandbox's control API: its request log, faults and objects."""

    log = "/_sandbox/requests"

    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}"

    def requests(self) -> list[dict]:
        return requests.get(self.url + self.log, timeout=5).json()

    def puts(self) -> list[dict]:
        return [r for r in self.requests()
                if r.get("op") in ("s3-put", "bos-put")
                or r.get("method") == "upload"]

    def clear(self) -> None:
        requests.delete(self.url + self.log, timeout=5)
        requests.delete(self.url + "/_sandbox/faults", timeout=5)

    def fault(self, **spec) -> None:
        r = requests.post(self.url + "/_sandbox/faults", json=spec,
                          timeout=5)
        assert r.status_code == 200, r.text

    def object(self, key: str) -> bytes:
        r = requests.get(f"{self.url}/_sandbox/objects/{BUCKET}/{key}",
                         timeout=5)
        assert r.status_code == 200, r.text
        return r.content


class YandexSandbox(Sandbox):
    """The Yandex sandbox logs its gRPC calls and uploads as calls."""

    log = "/_sandbox/calls"

    def calls(self, method: str) -> list[dict]:
        return [c for c in self.requests() if c.get("method") == method]

    def datasets(self) -> list[dict]:
        return requests.get(self.url + "/_sandbox/datasets",
                            timeout=5).json()

    def dataset(self, dataset_id: str) -> bytes:
        r = requests.get(f"{self.url}/_sandbox/datasets/{dataset_id}/content",
                         timeout=5)
        assert r.status_code == 200, r.text
        return r.content


@pytest.fixture(scope="module")
def sandboxes(workdir, yandex_key):
    clova = harness.start_clova_sandbox(
        workdir / "staging-clova", api_key=SECRETS["clova_api_key"],
        access_key=SECRETS["ncp_access_key"],
        secret_key=SECRETS["ncp_secret_key"],
        bucket_access_key=SECRETS["bucket_access_key"],
        bucket_secret_key=SECRETS["bucket_secret_key"],
        wait_seconds=0.3, run_seconds=1.0)
    qianfan = harness.start_qianfan_sandbox(
        workdir / "staging-qianfan", access_key=SECRETS["qianfan_ak"],
        secret_key=SECRETS["qianfan_sk"], run_seconds=1.0)
    yandex = harness.start_yandex_sandbox(
        workdir / "staging-yandex", api_key=SECRETS["yandex_api_key"],
        authorized_key=yandex_key[0], run_seconds=1.0)
    yield {"clova": clova, "qianfan": qianfan, "yandex": yandex}
    clova.stop()
    qianfan.stop()
    yandex.stop()


@pytest.fixture(scope="module")
def staging(workdir, sandboxes, engine, slurm_cluster,  # noqa: F811
            trainer_venv):  # noqa: F811
    prefix = workdir / "staging-gateway"
    prefix.mkdir()

    def secret(name, value=None):
        return harness.write_secret(prefix / f"{name}.secret",
                                    value or SECRETS[name])

    keys = (f"storage_access_key_file={secret('bucket_access_key')} "
            f"storage_secret_key_file={secret('bucket_secret_key')}")
    store = f"storage_endpoint=/_ftgw/clova_storage storage_bucket={BUCKET}"
    closed = harness.free_port()
    providers = f"""
    ftgw_provider clova kind=clova endpoint=/_ftgw/clova auth=bearer
                  api_key_file={secret('clova_api_key')} {keys} {store};
    ftgw_provider clova_sig kind=clova endpoint=/_ftgw/clova auth=apigw
                  access_key_file={secret('ncp_access_key')}
                  secret_key_file={secret('ncp_secret_key')} {keys} {store};
    ftgw_provider qianfan kind=qianfan endpoint=/_ftgw/qianfan
                  access_key_file={secret('qianfan_ak')}
                  secret_key_file={secret('qianfan_sk')}
                  bos_endpoint=/_ftgw/qianfan_bos bos_bucket={BUCKET};
    ftgw_provider yandex kind=yandex endpoint=/_ftgw/yandex
                  folder_id={YANDEX_FOLDER}
                  api_key_file={secret('yandex_api_key')}
                  upload_endpoint=/_ftgw/yandex_upload;
    ftgw_provider local kind=slurm endpoint=/_ftgw/local
                  models=tiny:{engine}/models/tiny
                  dataset_root={engine}/datasets output_root={engine}/out
                  trainer={trainer_venv}/bin/ftgw-trainer
                  partition=gpu time_limit=30;
    ftgw_provider clova_badstore kind=clova endpoint=/_ftgw/clova
                  api_key_file={secret('clova_api_key')}
                  storage_access_key_file={secret('bucket_access_key')}
                  storage_secret_key_file={secret('wrong', 'not-the-key')}
                  {store};
    ftgw_provider clova_nostore kind=clova endpoint=/_ftgw/clova
                  api_key_file={secret('clova_api_key')} {keys}
                  storage_endpoint=/_ftgw/closed storage_bucket={BUCKET};
    {ROUTE.format(provider="clova", model="HCX-003")}"""

    def location(name, port, extra=""):
        return f"""
        location /_ftgw/{name}/ {{
            {harness.include("clova")}
            proxy_pass http://127.0.0.1:{port}/;
            proxy_connect_timeout 1s;
            proxy_read_timeout 3s;
            proxy_send_timeout 2s;
            client_max_body_size 0;
            {extra}
        }}"""

    locations = (
        location("clova", sandboxes["clova"].port)
        + location("clova_storage", sandboxes["clova"].storage_port,
                   "proxy_set_header Host kr.object.ncloudstorage.com;")
        + location("qianfan", sandboxes["qianfan"].port,
                   "proxy_set_header Host qianfan.baidubce.com;")
        + location("qianfan_bos", sandboxes["qianfan"].storage_port,
                   "proxy_set_header Host bj.bcebos.com;")
        + location("yandex_upload", sandboxes["yandex"].http_port,
                   "proxy_set_header Host storage.yandexcloud.net;")
        + f"""
        location /_ftgw/yandex/ {{
            {harness.include("yandex")}
            rewrite ^/_ftgw/yandex(/.*)$ $1 break;
            grpc_pass grpc://127.0.0.1:{sandboxes["yandex"].port};
            grpc_read_timeout 3s;
        }}"""
        + location("closed", closed)
        + _slurm_internal("local", slurm_cluster.socket_path))
    nginx = _start(prefix, providers, locations)
    gw = Gateway(nginx, {})
    gw.route = "clova"
    yield gw
    nginx.stop()
    assert nginx.log_problems() == []
    for name in ("error.log", "access.log"):
        text = (nginx.prefix / name).read_text()
        for value in SECRETS.values():
            assert value not in text, (name, value[:6])


def move_route(gw: Gateway, provider: str) -> None:
    """The operator points "bot" at another provider and reloads."""
    conf = gw.nginx.prefix / "nginx.conf"
    conf.write_text(conf.read_text().replace(
        ROUTE.format(provider=gw.route, model=MODELS[gw.route]),
        ROUTE.format(provider=provider, model=MODELS[provider])))
    assert gw.nginx.test_config().returncode == 0
    gw.nginx.reload()
    deadline = time.monotonic() + 10
    while gw.sdk().models.retrieve("bot").owned_by != provider:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    gw.route = provider


def expected_csv_rows(n: int) -> list[list[str]]:
    rows = [["System_Prompt", "C_ID", "T_ID", "Text", "Completion"]]
    for i in range(n):
        m = conversation(i)["messages"]
        for t, (user, reply) in enumerate(((m[1], m[2]), (m[3], m[4]))):
            rows.append([m[0]["content"], str(i), str(t), user["content"],
                         reply["content"]])
    return rows


def expected_qianfan_lines(n: int) -> list[list[dict]]:
    out = []
    for i in range(n):
        m = conversation(i)["messages"]
        out.append([{"system": m[0]["content"], "prompt": m[1]["content"],
                     "response": [[m[2]["content"]]]},
                    {"prompt": m[3]["content"],
                     "response": [[m[4]["content"]]]}])
    return out


@pytest.mark.parametrize("provider", ["clova", "clova_sig", "qianfan",
                                      "yandex", "local"])
def test_one_client_script_on_every_provider(staging, sandboxes, engine,
                                             provider):
    vendor = provider.replace("clova_sig", "clova")
    sandbox = None
    if provider == "yandex":
        sandbox = YandexSandbox(sandboxes["yandex"].http_port)
    elif provider != "local":
        sandbox = Sandbox(sandboxes[vendor].port)
    if sandbox:
        sandbox.clear()
    move_route(staging, provider)

    client = staging.sdk()
    file_id, job_id = client_script(client, DATA)

    if provider == "local":
        staged = list((engine / "datasets" / "ftgw-files").iterdir())
        assert DATA in [p.read_bytes() for p in staged]
        return

    if provider == "yandex":
        check_yandex(staging, sandbox, client, file_id)
        return

    # one object, signed as the vendor's storage checks it, in its format
    (put,) = sandbox.puts()
    assert put["signature_ok"] is True, put
    assert put["format"]["ok"] is True, put
    assert put["bucket"] == BUCKET
    assert put["key"].startswith("ftgw-files/alice-"), put
    staged = sandbox.object(put["key"])
    if vendor == "clova":
        assert put["key"].endswith(".csv")
        rows = list(csv.reader(io.StringIO(staged.decode("utf-8"),
                                           newline="")))
        assert rows == expected_csv_rows(120)
        assert staged.startswith(b"System_Prompt,C_ID,T_ID,Text,Completion"
                                 b"\r\n")
        (task,) = [r for r in sandbox.requests()
                   if r.get("method") == "POST"
                   and r.get("path") == "/tuning/v2/tasks"]
        body = json.loads(task["body"])
        assert body["trainingDatasetBucket"] == BUCKET
        assert body["trainingDatasetFilePath"] == put["key"]
    else:
        assert put["key"].endswith(".jsonl")
        lines = [json.loads(x) for x in staged.decode("utf-8").splitlines()]
        assert lines == expected_qianfan_lines(120)
        (job,) = [r for r in sandbox.requests()
                  if str(r.get("path", "")).endswith("/createJob")]
        assert json.loads(job["body"])["trainset"] == [
            {"type": 2, "bosPath": f"bos:/{BUCKET}/{put['key']}"}]

    # the vendor's task read what was staged
    job = client.fine_tuning.jobs.retrieve(job_id)
    assert job.vendor.get("dataset_stored", True) is not False

    # a second job on the same file stages nothing
    again = client.fine_tuning.jobs.create(model="bot", training_file=file_id)
    assert again.training_file == file_id
    assert len(sandbox.puts()) == 1
    staging.call("POST", f"/v1/fine_tuning/jobs/{again.id}/cancel")


def expected_yandex_lines(n: int) -> list[dict]:
    out = []
    for i in range(n):
        m = [{"role": x["role"], "text": x["content"]}
             for x in conversation(i)["messages"]]
        out.append({"request": m[:2], "response": m[2]["text"]})
        out.append({"request": m[:4], "response": m[4]["text"]})
    return out


def check_yandex(staging, sandbox, client, file_id) -> None:
    """The Dataset API as Yandex's SDK uses it, the upload signed as the
    URL says, the dataset READY, and Tune on it with n_epochs as
    samples"""
    methods = [c["method"] for c in sandbox.requests()]
    first = methods.index("DatasetCreate")
    assert methods[first:first + 4] == [
        "DatasetCreate", "DatasetGetUploadDraftUrl", "upload",
        "DatasetValidate"], methods
    assert "DatasetDescribe" in methods and "DatasetDelete" not in methods
    (upload,) = sandbox.puts()
    assert upload["signature_ok"] is True, upload
    assert upload["format"]["ok"] is True, upload
    (ds,) = [d for d in sandbox.datasets()
             if d["dataset_id"] == upload["dataset_id"]]
    assert ds["status"] == "READY" and ds["labels"] == {
        "ftgw-owner": "alice"}, ds
    lines = [json.loads(x) for x in
             sandbox.dataset(ds["dataset_id"]).decode().splitlines()]
    assert lines == expected_yandex_lines(120)
    (tune,) = sandbox.calls("Tune")
    params = tune["request"]["text_to_text_completion"]
    assert tune["request"]["train_datasets"][0]["dataset_id"] == \
        ds["dataset_id"]
    assert int(params["n_samples"]) == 2 * 240   # n_epochs x rows

    # a second job on the same file stages nothing
    again = client.fine_tuning.jobs.create(model="bot", training_file=file_id)
    assert again.training_file == file_id
    assert len(sandbox.puts()) == 1
    assert [c["method"] for c in sandbox.requests()].count(
        "DatasetCreate") == 1
    staging.call("POST", f"/v1/fine_tuning/jobs/{again.id}/cancel")


def _vendor_creates(sandbox: Sandbox) -> list[dict]:
    return [r for r in sandbox.requests()
            if r.get("path") == "/tuning/v2/tasks"
            or str(r.get("path", "")).endswith("/createTask")]


STORAGE_FAULTS = [
    # fault spec, status, code
    ({"fault": "status", "http": 500}, 502, "dataset_upload_failed"),
    ({"fault": "status", "http": 503}, 503, "vendor_unavailable"),
    ({"fault": "reset", "count": 3}, 502, "vendor_unreachable"),
    ({"fault": "stall-body", "bytes": 4096, "delay": 8}, 504,
     "vendor_timeout"),
]
FAULT_OPS = {"clova": "s3-put", "qianfan": "bos-put", "yandex": "upload"}


def _sandbox(sandboxes, provider) -> Sandbox:
    if provider == "yandex":
        return YandexSandbox(sandboxes["yandex"].http_port)
    return Sandbox(sandboxes[provider].port)


def _created(sandbox: Sandbox) -> list[dict]:
    """the vendor's creates: a CLOVA task, a Qianfan task, a Yandex Tune"""
    return [r for r in sandbox.requests()
            if r.get("path") == "/tuning/v2/tasks"
            or str(r.get("path", "")).endswith("/createTask")
            or r.get("method") == "Tune"]


@pytest.mark.parametrize("provider", ["clova", "qianfan", "yandex"])
@pytest.mark.parametrize("spec,status,code", STORAGE_FAULTS,
                         ids=["500", "503", "reset", "stall-mid-upload"])
def test_storage_faults_leave_no_job(staging, sandboxes, provider, spec,
                                     status, code):
    sandbox = _sandbox(sandboxes, provider)
    sandbox.clear()
    # the Yandex sandbox names the faulted call "method"
    sandbox.fault(**{"method" if provider == "yandex" else "op":
                     FAULT_OPS[provider]}, **spec)

    client = staging.sdk()
    data = BIG if spec["fault"] == "stall-body" else DATA
    file = client.files.create(file=("t.jsonl", io.BytesIO(data)),
                               purpose="fine-tune")
    r = staging.call("POST", "/v1/fine_tuning/jobs", json={
        "model": f"{provider}/{MODELS[provider]}", "training_file": file.id})
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code, r.text
    assert _created(sandbox) == []
    if provider == "yandex":
        # the draft was deleted: a retry leaves no dataset behind
        methods = [c["method"] for c in sandbox.requests()]
        assert methods.count("DatasetCreate") == 1
        assert methods.count("DatasetDelete") == 1, methods
        assert all(d["status"] == "READY" for d in sandbox.datasets())

    # the next create stages and creates
    sandbox.clear()
    job = client.fine_tuning.jobs.create(
        model=f"{provider}/{MODELS[provider]}", training_file=file.id)
    assert job.training_file == file.id
    assert len(sandbox.puts()) == 1
    assert len(_created(sandbox)) == 1
    staging.call("POST", f"/v1/fine_tuning/jobs/{job.id}/cancel")


def test_a_refused_key_and_a_refused_connection(staging, sandboxes):
    sandbox = Sandbox(sandboxes["clova"].port)
    sandbox.clear()
    client = staging.sdk()
    file = client.files.create(file=("t.jsonl", io.BytesIO(DATA)),
                               purpose="fine-tune")

    # the storage's own check refuses the signature
    r = staging.call("POST", "/v1/fine_tuning/jobs", json={
        "model": "clova_badstore/HCX-003", "training_file": file.id})
    assert r.status_code == 502, r.text
    err = r.json()["error"]
    assert err["code"] == "dataset_upload_failed"
    assert "HTTP 403 SignatureDoesNotMatch" in err["message"], err
    (put,) = sandbox.puts()
    assert put["signature_ok"] is False
    assert _created(sandbox) == []

    r = staging.call("POST", "/v1/fine_tuning/jobs", json={
        "model": "clova_nostore/HCX-003", "training_file": file.id})
    assert r.status_code == 502, r.text
    assert r.json()["error"]["code"] == "vendor_unreachable"
    assert _created(sandbox) == []


@pytest.mark.parametrize("provider,rows,needle", [
    ("clova", [conversation(0)] * 40, "at least 100"),
    ("qianfan", [conversation(0)] * 31, "510101"),
    ("clova", [conversation(0)] * 119 + [{"messages": [
        {"role": "user", "content": "q"},
        {"role": "system", "content": "late"},
        {"role": "assistant", "content": "a"}]}],
     "line 120: message 2: a system message after"),
    ("qianfan", [conversation(0)] * 40 + [{"messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a", "weight": 0},
        {"role": "user", "content": "r"},
        {"role": "assistant", "content": "b"}]}], "\"weight\": 0"),
])
def test_the_datas_faults_are_400s_before_any_call(staging, sandboxes,
                                                   provider, rows, needle):
    sandbox = Sandbox(sandboxes[provider].port)
    sandbox.clear()
    client = staging.sdk()
    file = client.files.create(file=("t.jsonl", io.BytesIO(jsonl(rows))),
                               purpose="fine-tune")
    assert file.status == "processed"
    with pytest.raises(openai.BadRequestError) as e:
        client.fine_tuning.jobs.create(
            model=f"{provider}/{MODELS[provider]}", training_file=file.id)
    err = e.value.body
    assert (err["param"], err["code"]) == ("training_file",
                                           "invalid_training_file"), err
    assert needle in err["message"], err
    assert sandbox.requests() == []


def test_deleting_the_file_deletes_its_staged_copies(staging, sandboxes):
    """docs/api.md#uploaded-files-on-a-cloud-vendor: DELETE /v1/files/{id}
    deletes what the gateway staged of it, each vendor's way (a signed
    DELETE of the object, DatasetService/Delete), and says so"""
    clova = Sandbox(sandboxes["clova"].port)
    qianfan = Sandbox(sandboxes["qianfan"].port)
    yandex = YandexSandbox(sandboxes["yandex"].http_port)
    for sb in (clova, qianfan, yandex):
        sb.clear()
    client = staging.sdk()
    file = client.files.create(file=("t.jsonl", io.BytesIO(DATA)),
                               purpose="fine-tune")
    for provider in ("clova", "qianfan", "yandex"):
        job = client.fine_tuning.jobs.create(
            model=f"{provider}/{MODELS[provider]}", training_file=file.id)
        staging.call("POST", f"/v1/fine_tuning/jobs/{job.id}/cancel")

    objects = {name: [o["key"] for o in requests.get(
        sb.url + "/_sandbox/objects", timeout=5).json()]
        for name, sb in (("clova", clova), ("qianfan", qianfan))}
    fkey = file_key(staging, file.id)
    keys = {name: next(k for k in found if fkey in k)
            for name, found in objects.items()}
    dataset = next(c for c in yandex.requests()
                   if c.get("method") == "upload")["dataset_id"]

    r = staging.call("DELETE", f"/v1/files/{file.id}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["id"], body["object"], body["deleted"]) == \
        (file.id, "file", True)
    assert body["vendor"]["staged"] == [
        {"provider": p, "deleted": True} for p in ("clova", "qianfan",
                                                   "yandex")]

    for name, sb in (("clova", clova), ("qianfan", qianfan)):
        assert keys[name] not in [o["key"] for o in requests.get(
            sb.url + "/_sandbox/objects", timeout=5).json()]
        (delete,) = [r for r in sb.requests()
                     if r.get("op") in ("s3-delete", "bos-delete")]
        assert delete["signature_ok"] is True
    assert dataset not in [d["dataset_id"] for d in yandex.datasets()]
    assert staging.call("GET", f"/v1/files/{file.id}").status_code == 404


def file_key(gw: Gateway, file_id: str) -> str:
    """the store key of a file: its metadata file's name"""
    for meta in (gw.nginx.prefix / "files" / "alice").glob("*.json"):
        if json.loads(meta.read_text()).get("id") == file_id:
            return meta.stem
    raise AssertionError(file_id)
