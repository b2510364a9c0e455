"""The Files API through the official SDK: upload (multipart, streamed to
disk, checked line by line in the OpenAI chat format), retrieve, list,
content, delete; bad files and what the store keeps of them; one client's
files hidden from another; a job that names an uploaded file, refused by
the cloud providers for now and trained for real on the local engine;
the whole provider-neutral flow with the Python and the Node SDK."""

from __future__ import annotations

import io
import json
import os
import select
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import openai
import pytest
import requests

from conftest import _slurm_internal, _start, Gateway, error_of, \
    FILES_MAX_SIZE, CLIENT_KEYS, \
    read_answer

import sys
sys.path.insert(0, str(Path(__file__).resolve().parent / "slurm"))
from slurmrest import slurm_cluster  # noqa: E402,F401
from test_local import engine, trainer_venv, wait  # noqa: E402,F401


def chat_lines(n: int) -> list[dict]:
    return [{"messages": [
        {"role": "system", "content": "You add numbers."},
        {"role": "user", "content": f"What is {i % 8} plus {i // 8}?"},
        {"role": "assistant",
         "content": f"{i % 8} plus {i // 8} is {i % 8 + i // 8}."}]}
        for i in range(n)]


def jsonl(rows: list) -> bytes:
    return ("\n".join(json.dumps(r) for r in rows) + "\n").encode()


GOOD = jsonl(chat_lines(100))


def store(gw: Gateway) -> Path:
    return gw.nginx.prefix / "files"


def stored_files(gw: Gateway) -> list[str]:
    """Every file the store holds, tmp folder included."""
    root = store(gw)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file())


def upload(client, data: bytes, name: str = "train.jsonl",
           purpose: str = "fine-tune"):
    return client.files.create(file=(name, io.BytesIO(data)),
                               purpose=purpose)


# ---- the SDK flow ------------------------------------------------------


def test_upload_retrieve_list_content_delete(gateway, tmp_path):
    client = gateway.sdk()
    path = tmp_path / "chat.jsonl"
    path.write_bytes(GOOD)

    with path.open("rb") as f:
        file = client.files.create(file=f, purpose="fine-tune")

    assert file.id.startswith("file-")
    assert file.object == "file"
    assert file.bytes == len(GOOD)
    assert file.filename == "chat.jsonl"
    assert file.purpose == "fine-tune"
    assert file.status == "processed"
    assert file.status_details is None
    assert file.model_extra.get("examples") == 100

    got = client.files.retrieve(file.id)
    assert (got.id, got.bytes, got.status, got.created_at) == \
        (file.id, len(GOOD), "processed", file.created_at)

    listed = client.files.list()
    assert file.id in [f.id for f in listed.data]
    assert file.id in [f.id for f in client.files.list(purpose="fine-tune")]
    assert file.id not in [f.id for f in client.files.list(purpose="batch")]

    assert client.files.content(file.id).content == GOOD

    # the content is the file's bytes, sent as nginx sends a static file
    r = gateway.call("GET", f"/v1/files/{file.id}/content")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.content == GOOD

    deleted = client.files.delete(file.id)
    assert (deleted.id, deleted.object, deleted.deleted) == \
        (file.id, "file", True)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(file.id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(file.id)
    with pytest.raises(openai.NotFoundError):
        client.files.delete(file.id)
    assert not [p for p in stored_files(gateway)
                if file.id in p or p.startswith(".tmp/")]


def test_list_order_limit_after(gateway):
    client = gateway.sdk("bob")
    ids = [upload(client, GOOD, f"f{i}.jsonl").id for i in range(3)]
    try:
        page = client.files.list(limit=2, order="asc")
        assert [f.id for f in page.data] == ids[:2]
        assert page.has_more is True
        # the SDK's cursor pages through with after=<last id>
        assert [f.id for f in client.files.list(limit=1, order="asc")] \
            == ids
        assert [f.id for f in client.files.list(order="desc").data] \
            == ids[::-1]

        body = gateway.call("GET", "/v1/files?limit=2&order=desc",
                            client="bob").json()
        assert set(body) == {"object", "data", "first_id", "last_id",
                             "has_more"}
        assert (body["first_id"], body["last_id"], body["has_more"]) == \
            (ids[2], ids[1], True)
    finally:
        for i in ids:
            client.files.delete(i)


@pytest.mark.parametrize("query,param", [
    ("limit=0", "limit"), ("limit=10001", "limit"), ("limit=x", "limit"),
    ("order=up", "order"), ("after=file-nope", "after"),
])
def test_bad_list_queries(gateway, query, param):
    r = gateway.call("GET", f"/v1/files?{query}")
    assert r.status_code == 400, r.text
    assert error_of(r)["param"] == param


# ---- bad files ---------------------------------------------------------


BAD_LINE = (b'{"messages":[{"role":"user","content":"caf\xe9"},'
            b'{"role":"assistant","content":"x"}]}\n')


@pytest.mark.parametrize("data,detail", [
    (b"this is not json\n" * 20,
     "Invalid file format. Line 1 cannot be parsed: it is not valid JSON."),
    (jsonl(chat_lines(20)[:5] + [{"messages": [
        {"role": "user", "content": "Hi"}]}] + chat_lines(20)),
     "Invalid file format. Line 6 has no assistant message."),
    (jsonl(chat_lines(3)) + BAD_LINE * 10,
     "Invalid file format. Line 4 is not valid UTF-8 (byte "
     f"{BAD_LINE.index(0xe9) + 1})."),
    (jsonl(chat_lines(3)),
     "Training file has 3 example(s), but must have at least 10 examples."),
    (jsonl(chat_lines(10)[:2] + [{"messages": [
        {"role": "user", "content": ["a", "list"]},
        {"role": "assistant", "content": "x"}]}] + chat_lines(10)),
     "Invalid file format. Line 3, message 1: \"content\" must be a "
     "string."),
    (jsonl(chat_lines(10) + [{"messages": [
        {"role": "tool", "content": "x"}]}]),
     "Invalid file format. Line 11, message 1 has an unrecognized role "
     "\"tool\" (system, user or assistant)."),
], ids=["not-json", "no-assistant", "bad-utf8", "too-few", "content-list",
        "bad-role"])
def test_bad_content_ends_in_error(gateway, data, detail):
    client = gateway.sdk()
    file = upload(client, data)
    assert file.status == "error"
    assert file.status_details == detail
    assert file.bytes == len(data)
    assert client.files.retrieve(file.id).status_details == detail
    # the whole file is kept, for the client to see; never a partial one
    assert client.files.content(file.id).content == data

    # a job naming it is refused before any vendor call
    gateway.clear_vendor_requests()
    with pytest.raises(openai.BadRequestError) as e:
        client.fine_tuning.jobs.create(model="clova/HCX-003",
                                       training_file=file.id)
    err = e.value.body
    assert (err["param"], err["code"]) == ("training_file",
                                           "invalid_file_status")
    assert "in error" in err["message"] and detail in err["message"]
    assert gateway.vendor_requests() == []
    client.files.delete(file.id)


def _no_partial(gateway, before):
    after = stored_files(gateway)
    assert after == before, (before, after)
    assert not [p for p in after if p.startswith(".tmp/")]


def test_over_max_size(gateway):
    before = stored_files(gateway)
    big = GOOD * (FILES_MAX_SIZE // len(GOOD) + 2)
    with pytest.raises(openai.APIStatusError) as e:
        upload(gateway.sdk(), big)
    assert e.value.status_code == 413
    err = e.value.body
    assert (err["param"], err["code"]) == ("file", "file_too_large")
    assert str(FILES_MAX_SIZE) in err["message"]
    _no_partial(gateway, before)


def test_over_max_size_chunked(gateway):
    """No Content-Length: the limit is found while streaming to disk."""
    before = stored_files(gateway)
    boundary = "b" * 32
    head = (f"--{boundary}\r\nContent-Disposition: form-data; "
            f"name=\"purpose\"\r\n\r\nfine-tune\r\n--{boundary}\r\n"
            "Content-Disposition: form-data; name=\"file\"; "
            "filename=\"x.jsonl\"\r\n\r\n").encode()
    line = json.dumps(chat_lines(1)[0]).encode() + b"\n"

    def body():
        yield head
        sent = 0
        while sent < FILES_MAX_SIZE + 1024 * 1024:
            yield line * 1000
            sent += len(line) * 1000
        yield f"\r\n--{boundary}--\r\n".encode()

    # a raw socket: the answer comes while the body is still being sent,
    # and nginx closes the connection after it
    url = urlsplit(gateway.base)
    with socket.create_connection((url.hostname, url.port), 10) as sock:
        sock.sendall((
            "POST /v1/files HTTP/1.1\r\n"
            f"Host: {url.hostname}\r\n"
            f"Authorization: Bearer {CLIENT_KEYS['alice']}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode())
        try:
            for piece in body():
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                if select.select([sock], [], [], 0)[0]:
                    break
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass        # nginx closed before the whole body was sent
        sock.settimeout(10)
        head, payload = read_answer(sock)
    # nginx's own check of client_max_body_size (max_size + 64 KB) cuts
    # the body while reading; the JSON envelope replaces its HTML page
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"application/json" in head.lower(), head
    err = json.loads(payload)["error"]
    assert (err["param"], err["code"]) == ("file", "file_too_large")
    assert str(FILES_MAX_SIZE) in err["message"]
    _no_partial(gateway, before)


def test_just_under_max_size(gateway):
    """A file up to the limit is taken, whatever the framing adds."""
    client = gateway.sdk()
    row = jsonl(chat_lines(1))
    data = row * (FILES_MAX_SIZE // len(row))
    file = upload(client, data)
    assert (file.status, file.bytes) == ("processed", len(data))
    client.files.delete(file.id)


def test_truncated_multipart(gateway):
    before = stored_files(gateway)
    boundary = "0123456789abcdef0123456789abcdef"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; "
            f"name=\"purpose\"\r\n\r\nfine-tune\r\n--{boundary}\r\n"
            "Content-Disposition: form-data; name=\"file\"; "
            "filename=\"t.jsonl\"\r\n\r\n").encode() + GOOD
    r = gateway.call("POST", "/v1/files", data=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 400, r.text
    err = error_of(r)
    assert err["param"] == "file"
    assert "truncated" in err["message"]
    _no_partial(gateway, before)


@pytest.mark.parametrize("purpose", ["assistants", "batch", "fine-tunes",
                                     ""])
def test_wrong_purpose(gateway, purpose):
    before = stored_files(gateway)
    with pytest.raises(openai.BadRequestError) as e:
        upload(gateway.sdk(), GOOD, purpose=purpose)
    err = e.value.body
    assert err["param"] == "purpose"
    assert f"'{purpose}' is not one of ['fine-tune']" in err["message"]
    _no_partial(gateway, before)


@pytest.mark.parametrize("headers,body,param", [
    ({"Content-Type": "application/json"}, b"{}", "file"),
    ({"Content-Type": "multipart/form-data"}, b"x", "file"),
    ({"Content-Type": "multipart/form-data; boundary=b1"},
     b"--b1\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n"
     b"fine-tune\r\n--b1--\r\n", "file"),
    ({"Content-Type": "multipart/form-data; boundary=b1"},
     b"--b1\r\nContent-Disposition: form-data; name=\"file\"; "
     b"filename=\"a\"\r\n\r\nx\r\n--b1--\r\n", "purpose"),
    ({"Content-Type": "multipart/form-data; boundary=b1"},
     b"--b1\r\nX: y\r\n\r\nx\r\n--b1--\r\n", "file"),
])
def test_malformed_uploads(gateway, headers, body, param):
    before = stored_files(gateway)
    r = gateway.call("POST", "/v1/files", data=body, headers=headers)
    assert r.status_code == 400, r.text
    assert error_of(r)["param"] == param
    _no_partial(gateway, before)


def test_routes_and_auth(gateway):
    assert gateway.call("GET", "/v1/files", client=None).status_code == 401
    assert gateway.call("PUT", "/v1/files").status_code == 405
    assert gateway.call("POST", "/v1/files/file-x").status_code == 405
    r = gateway.call("GET", "/v1/files/file-x/other")
    assert r.status_code == 404
    assert error_of(r)["code"] == "unknown_url"


# ---- isolation ---------------------------------------------------------


def test_another_clients_files(gateway):
    alice, bob = gateway.sdk("alice"), gateway.sdk("bob")
    file = upload(alice, GOOD)

    assert file.id not in [f.id for f in bob.files.list()]
    for call in (bob.files.retrieve, bob.files.content, bob.files.delete):
        with pytest.raises(openai.NotFoundError):
            call(file.id)

    gateway.clear_vendor_requests()
    with pytest.raises(openai.BadRequestError) as e:
        bob.fine_tuning.jobs.create(model="clova/HCX-003",
                                    training_file=file.id)
    assert (e.value.body["param"], e.value.body["code"]) == \
        ("training_file", "file_not_found")
    assert gateway.vendor_requests() == []

    # a tampered id (one character changed) is no id at all
    tampered = file.id[:-3] + ("A" if file.id[-3] != "A" else "B") + \
        file.id[-2:]
    with pytest.raises(openai.NotFoundError):
        alice.files.retrieve(tampered)

    # still alice's, whole
    assert alice.files.content(file.id).content == GOOD
    alice.files.delete(file.id)


# ---- jobs that name files ----------------------------------------------


@pytest.mark.parametrize("model", ["clova/HCX-003", "qianfan/ERNIE-Speed",
                                   "yandex/yandexgpt-lite"])
def test_providers_without_storage_refuse_file_ids(gateway, model):
    client = gateway.sdk()
    file = upload(client, GOOD)
    gateway.clear_vendor_requests()
    with pytest.raises(openai.BadRequestError) as e:
        client.fine_tuning.jobs.create(model=model, training_file=file.id)
    err = e.value.body
    assert (err["param"], err["code"]) == ("training_file",
                                           "unsupported_value")
    assert "cannot take uploaded files" in err["message"]
    assert gateway.vendor_requests() == []
    client.files.delete(file.id)


ROUTE_LOCAL = "ftgw_route support-bot provider=local model=tiny " \
              "learning_rate=0.025;"
ROUTE_OTHER = ROUTE_LOCAL.replace("provider=local", "provider=other")


@pytest.fixture(scope="module")
def files_gateway(workdir, engine, slurm_cluster, trainer_venv):  # noqa
    prefix = workdir / "files-gateway"
    prefix.mkdir()
    providers = f"""
    ftgw_provider local kind=slurm endpoint=/_ftgw/local
                  models=tiny:{engine}/models/tiny
                  dataset_root={engine}/datasets
                  output_root={engine}/out
                  trainer={trainer_venv}/bin/ftgw-trainer
                  partition=gpu time_limit=30;
    ftgw_provider other kind=slurm endpoint=/_ftgw/other
                  models=tiny:{engine}/models/tiny
                  dataset_root={engine}/datasets
                  output_root={engine}/out
                  trainer={trainer_venv}/bin/ftgw-trainer
                  partition=gpu time_limit=30;
    {ROUTE_LOCAL}"""
    locations = "".join(_slurm_internal(name, slurm_cluster.socket_path)
                        for name in ("local", "other"))
    nginx = _start(prefix, providers, locations)
    yield Gateway(nginx, {})
    nginx.stop()
    assert nginx.log_problems() == []


def test_upload_then_train_on_the_local_engine(files_gateway, engine,
                                               tmp_path):
    client = files_gateway.sdk()
    path = tmp_path / "train.jsonl"
    path.write_bytes(GOOD)
    file = client.files.create(file=open(path, "rb"), purpose="fine-tune")
    assert file.status == "processed"
    assert client.files.retrieve(file.id).status == "processed"
    assert file.id in [f.id for f in client.files.list().data]
    assert client.files.content(file.id).content == GOOD

    job = client.fine_tuning.jobs.create(
        model="local/tiny", training_file=file.id, validation_file=file.id,
        hyperparameters={"n_epochs": 2})
    assert job.status in ("queued", "running")

    # staged under the dataset root, the same bytes (a hard link)
    staged = engine / "datasets" / "ftgw-files"
    names = [p.name for p in staged.iterdir()]
    assert len(names) == 1 and names[0].startswith("alice-"), names
    assert (staged / names[0]).read_bytes() == GOOD

    done, _ = wait(client, job.id, ("succeeded", "failed"))
    assert done.status == "succeeded", (done.error, done.vendor)
    result = json.loads((Path(done.fine_tuned_model).parent
                         / "result.json").read_text()) \
        if (Path(done.fine_tuned_model).parent / "result.json").exists() \
        else None
    if result is not None:
        assert len(result["history"]) == 2

    # bob can neither see nor train on it
    bob = files_gateway.sdk("bob")
    with pytest.raises(openai.BadRequestError) as e:
        bob.fine_tuning.jobs.create(model="local/tiny", training_file=file.id)
    assert e.value.body["param"] == "training_file"

    # a deleted file leaves the staged copy of a job that uses it
    client.files.delete(file.id)
    assert (staged / names[0]).exists()
    with pytest.raises(openai.BadRequestError) as e:
        client.fine_tuning.jobs.create(model="local/tiny",
                                       training_file=file.id)
    assert (e.value.body["param"], e.value.body["code"]) == \
        ("training_file", "file_not_found")


def test_local_refuses_a_file_in_error(files_gateway):
    client = files_gateway.sdk()
    file = upload(client, jsonl(chat_lines(3)))
    assert file.status == "error"
    with pytest.raises(openai.BadRequestError) as e:
        client.fine_tuning.jobs.create(model="local/tiny",
                                       training_file=file.id)
    assert (e.value.body["param"], e.value.body["code"]) == \
        ("training_file", "invalid_file_status")
    client.files.delete(file.id)


def _move_route(gw: Gateway, old: str, new: str, provider: str) -> None:
    """The operator edits the route and reloads nginx."""
    conf = gw.nginx.prefix / "nginx.conf"
    conf.write_text(conf.read_text().replace(old, new))
    assert gw.nginx.test_config().returncode == 0
    gw.nginx.reload()
    assert gw.sdk().models.retrieve("support-bot").owned_by == provider


def test_the_provider_neutral_flow(files_gateway, engine):
    """What a client writes once and never changes: upload a file, then
    tune a route with OpenAI's own parameters and metadata.  The job
    trains for real; the metadata finds it; moving the route in the
    configuration sends the next identical create elsewhere."""
    client = files_gateway.sdk()
    file = upload(client, GOOD)
    assert (file.status, file.bytes) == ("processed", len(GOOD))
    assert client.files.retrieve(file.id).filename == "train.jsonl"
    assert file.id in [f.id for f in client.files.list().data]
    assert client.files.content(file.id).content == GOOD

    def create(client):
        return client.fine_tuning.jobs.create(
            model="support-bot", training_file=file.id,
            hyperparameters={"n_epochs": 2, "learning_rate_multiplier": 2},
            metadata={"team": "a"})

    job = create(client)
    assert job.metadata == {"team": "a"}
    assert job.training_file == file.id   # not where it was staged
    assert job.vendor["provider"] == "local"

    done, _ = wait(client, job.id, ("succeeded", "failed"))
    assert done.status == "succeeded", (done.error, done.vendor)
    out = Path(done.fine_tuned_model).parent
    spec = json.loads((out / "spec.json").read_text())
    assert spec["n_epochs"] == 2
    assert spec["learning_rate"] == pytest.approx(0.05)  # 0.025 x 2
    assert spec["metadata"] == {"team": "a"}
    assert done.metadata == {"team": "a"}

    found = client.fine_tuning.jobs.list(metadata={"team": "a"}).data
    assert job.id in [j.id for j in found]
    assert all(j.metadata == {"team": "a"} for j in found)
    assert job.id not in [j.id for j in client.fine_tuning.jobs.list(
        metadata={"team": "b"}).data]

    _move_route(files_gateway, ROUTE_LOCAL, ROUTE_OTHER, "other")
    try:
        moved = create(files_gateway.sdk())
        assert moved.vendor["provider"] == "other"
        assert moved.metadata == {"team": "a"}
        r = files_gateway.call(
            "POST", f"/v1/fine_tuning/jobs/{moved.id}/cancel")
        assert r.status_code in (200, 409), r.text
    finally:
        _move_route(files_gateway, ROUTE_OTHER, ROUTE_LOCAL, "local")


# ---- the official openai Node SDK (t/node, pinned by its lockfile) ------

NODE_DIR = Path(__file__).resolve().parent / "node"


def test_node_sdk_flow(files_gateway, tmp_path):
    if not (NODE_DIR / "node_modules" / "openai").is_dir():
        pytest.fail("t/node is not installed: run `make node-sdk`")
    data = tmp_path / "train.jsonl"
    data.write_bytes(GOOD)
    env = {**os.environ,
           "FTGW_BASE_URL": files_gateway.base + "/v1",
           "FTGW_API_KEY": files_gateway.sdk().api_key,
           "FTGW_TRAINING_FILE": str(data),
           "FTGW_MODEL": "support-bot"}
    r = subprocess.run(["node", str(NODE_DIR / "flow.mjs")], env=env,
                       cwd=NODE_DIR, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)

    assert out["file"]["status"] == "processed"
    assert out["file"]["bytes"] == len(GOOD)
    job = out["job"]
    assert job["object"] == "fine_tuning.job"
    assert job["training_file"] == out["file"]["id"]
    assert job["model"] == "local/tiny"
    assert job["metadata"] == {"client": "node"}
    assert job["vendor"]["provider"] == "local"
    assert out["got"]["id"] == job["id"]
    assert out["got"]["metadata"] == {"client": "node"}
    assert job["id"] in out["listed"]
    assert "support-bot" in out["models"]
    assert out["refused"] == {"status": 404, "param": "model",
                              "code": "model_not_found",
                              "name": "NotFoundError"}

    r = files_gateway.call("POST", f"/v1/fine_tuning/jobs/{job['id']}/cancel")
    assert r.status_code in (200, 409), r.text
