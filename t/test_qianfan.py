"""Baidu Qianfan through the gateway: the openai SDK flow with every request
checked by Baidu's own bce-auth-v1 signer (inside the sandbox), the createJob
rules refused before any vendor call, every status and error code, and
incremental training from an earlier job."""

from __future__ import annotations

import json
import time

import openai
import pytest

from conftest import CLIENT_KEYS, SECRETS, create_job, error_of, owner_seal

DATASET = "qianfan://dataset/1234"
MODEL = "qianfan/ERNIE-Bot-turbo-0725"


def qf_job(gateway, client="alice", model=MODEL, **kw):
    kw.setdefault("training_file", DATASET)
    extra = kw.pop("tuning", {"max_seq_len": 4096})
    return gateway.sdk(client).fine_tuning.jobs.create(
        model=model, extra_body={"tuning": extra}, **kw)


def calls(gateway):
    return gateway.vendor_requests("qianfan")


def test_sdk_flow(gateway):
    client = gateway.sdk()
    job = client.fine_tuning.jobs.create(
        model=MODEL, training_file=DATASET, suffix="qf-flow",
        hyperparameters={"n_epochs": 2},
        extra_body={"tuning": {"max_seq_len": 4096, "learning_rate": 3e-5,
                               "tuning_type": "lora",
                               "validation_split": 0.2}})
    assert job.id.startswith("ftjob-")
    assert job.status == "running"
    assert job.model == MODEL
    assert job.vendor["status"] == "RUNNING"

    made = calls(gateway)
    assert [c["path"] for c in made] == [
        "/wenxinworkshop/finetune/createTask",
        "/wenxinworkshop/finetune/createJob",
        "/wenxinworkshop/finetune/jobDetail"]
    assert all(c["method"] == "POST" and c["auth_ok"] for c in made)
    for c in made:
        h = c["headers"]
        assert h["authorization"].startswith(
            f"bce-auth-v1/{SECRETS['qianfan_ak']}/")
        assert "/content-type;host;x-bce-date/" in h["authorization"]
        assert h["host"] == "qianfan.baidubce.com"
        assert SECRETS["qianfan_sk"] not in json.dumps(c)
        assert CLIENT_KEYS["alice"] not in json.dumps(c)
    task = json.loads(made[0]["body"])
    assert task["name"].startswith("qf-flow-") and len(task["name"]) <= 20
    # the owner, sealed over the container's name, then the run's task id
    assert task["description"] == \
        "ftgw:alice." + owner_seal("alice", task["name"])
    body = json.loads(made[1]["body"])
    assert body == {
        "taskId": body["taskId"],
        "description": "ftgw:alice." + owner_seal("alice",
                                                  str(body["taskId"])),
        "jobRunType": 0, "baseTrainType": "ERNIE-Bot-turbo",
        "trainType": "ERNIE-Bot-turbo-0725", "trainMode": "SFT",
        "peftType": "LoRA",
        "trainConfig": {"epoch": 2, "learningRate": 3e-5, "maxSeqLen": 4096},
        "trainset": [{"type": 1, "id": 1234}], "trainsetRate": 20,
    }

    got = client.fine_tuning.jobs.retrieve(job.id)
    assert got.id == job.id and got.status == "running"
    assert got.vendor["secondary_id"] == job.vendor["secondary_id"]

    page = gateway.call("GET", "/v1/fine_tuning/jobs?limit=100").json()
    assert "qianfan" in page["unlisted_providers"]
    assert job.id not in [j["id"] for j in page["data"]]

    events = client.fine_tuning.jobs.list_events(job.id).data
    assert events[-1].message == "Fine-tuning job created"

    gateway.clear_vendor_requests()
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    assert [c["path"].rsplit("/", 1)[1] for c in calls(gateway)] == \
        ["jobDetail", "stopJob", "jobDetail"]
    assert cancelled.finished_at is not None
    assert client.fine_tuning.jobs.retrieve(job.id).vendor["status"] == "STOP"


def test_runs_to_finish(gateway):
    job = qf_job(gateway, suffix="qf-done")
    for _ in range(60):
        got = gateway.sdk().fine_tuning.jobs.retrieve(job.id)
        if got.status == "succeeded":
            break
        time.sleep(0.1)
    assert got.status == "succeeded"
    assert got.vendor["progress"]["percent"] == 100
    assert got.finished_at is not None
    assert got.fine_tuned_model.startswith("qianfan/tasks/")


@pytest.mark.parametrize("model,tuning,extra,param,code", [
    # seed 002: 0725 ALL [1e-5, 4e-5], LoRA [3e-5, 1e-3]
    (MODEL, {"max_seq_len": 4096, "learning_rate": 1e-4,
             "tuning_type": "full"}, {},
     "tuning.learning_rate", "invalid_value"),
    (MODEL, {"max_seq_len": 4096, "learning_rate": 2e-3}, {},
     "tuning.learning_rate", "invalid_value"),
    # seed 002: SQLCoder-7B, ChatGLM2-6B, Baichuan2-13B: ALL and LoRA only
    ("qianfan/SQLCoder-7B", {"tuning_type": "prompt_tuning"}, {},
     "tuning.tuning_type", "unsupported_value"),
    ("qianfan/ERNIE-Speed-8K", {}, {}, "model", "unsupported_value"),
    (MODEL, {"max_seq_len": 4096, "learning_rate": 5e-6}, {},
     "tuning.learning_rate", "invalid_value"),
    ("qianfan/Llama-2-7b", {"learning_rate": 3e-4}, {},
     "tuning.learning_rate", "invalid_value"),
    (MODEL, {}, {}, "tuning.max_seq_len", "missing_required_parameter"),
    (MODEL, {"max_seq_len": 2048}, {}, "tuning.max_seq_len",
     "invalid_value"),
    (MODEL, {"max_seq_len": 4096}, {"hyperparameters": {"n_epochs": 51}},
     "hyperparameters.n_epochs", "invalid_value"),
    (MODEL, {"max_seq_len": 4096}, {"hyperparameters": {"batch_size": 8}},
     "hyperparameters.batch_size", "unsupported_parameter"),
    ("qianfan/ERNIE-Bot-turbo-0516", {}, {"hyperparameters":
                                          {"batch_size": 8}},
     "hyperparameters.batch_size", "invalid_value"),
    (MODEL, {"max_seq_len": 4096, "tuning_type": "prompt_tuning"}, {},
     "tuning.tuning_type", "unsupported_value"),
    ("qianfan/ERNIE-Bot-turbo-0516", {"tuning_type": "lora"}, {},
     "tuning.tuning_type", "unsupported_value"),
    ("qianfan/GPT-5", {}, {}, "model", "unsupported_value"),
    (MODEL, {"max_seq_len": 4096, "validation_split": 0.6}, {},
     "tuning.validation_split", "invalid_value"),
    (MODEL, {"max_seq_len": 4096, "task_type": "classification"}, {},
     "tuning.task_type", "unsupported_value"),
    (MODEL, {"max_seq_len": 4096, "lora": {"rank": 8}}, {},
     "tuning.lora.rank", "unsupported_parameter"),
    (MODEL, {"max_seq_len": 4096}, {"seed": 1}, "seed",
     "unsupported_parameter"),
    (MODEL, {"max_seq_len": 4096}, {"training_file": "s3://b/p.csv"},
     "training_file", "invalid_value"),
    (MODEL, {"max_seq_len": 4096}, {"training_file": "qianfan://dataset/x"},
     "training_file", "invalid_value"),
    (MODEL, {"max_seq_len": 4096}, {"suffix": "much-too-long-name"},
     "suffix", "invalid_value"),
])
def test_refused_before_any_vendor_call(gateway, model, tuning, extra, param,
                                        code):
    body = {"model": model, "training_file": DATASET, "tuning": tuning,
            **extra}
    r = gateway.call("POST", "/v1/fine_tuning/jobs", json=body)
    assert r.status_code == 400, r.text
    err = error_of(r)
    assert (err["param"], err["code"]) == (param, code)
    assert calls(gateway) == []


def test_bos_and_several_datasets(gateway):
    qf_job(gateway, model="qianfan/Llama-2-7b", training_file=None,
           tuning={"training_datasets": [
               {"ref": "bos://my-bucket/sets/a.jsonl"},
               {"ref": "qianfan://dataset/77"}]})
    body = json.loads(calls(gateway)[1]["body"])
    assert body["trainset"] == [{"type": 2, "bosPath": "bos:/my-bucket/sets/"
                                 "a.jsonl"}, {"type": 1, "id": 77}]
    assert body["peftType"] == "LoRA"
    assert body["trainConfig"] == {"epoch": 1, "learningRate": 3e-5}


def test_incremental_training(gateway):
    base = qf_job(gateway, suffix="qf-base",
                  tuning={"max_seq_len": 4096, "tuning_type": "full"})
    gateway.force_qianfan(base.vendor["secondary_id"], trainStatus="FINISH",
                          progress=100)
    gateway.clear_vendor_requests()
    more = qf_job(gateway, tuning={"continue_from": base.id,
                                   "tuning_type": "full", "max_seq_len": 4096})
    assert more.status == "running"
    # seed 002's incremental example: the run joins the base run's task
    # (taskId = increConfig.taskId); no createTask is sent
    assert [c["path"].rsplit("/", 1)[1] for c in calls(gateway)] == [
        "createJob", "jobDetail"]
    body = json.loads(calls(gateway)[0]["body"])
    assert body["jobRunType"] == 1
    assert body["taskId"] == int(base.vendor["job_id"])
    assert body["increConfig"] == {"taskId": int(base.vendor["job_id"]),
                                   "jobId": int(base.vendor["secondary_id"])}
    assert "baseTrainType" not in body and "trainType" not in body
    assert more.vendor["job_id"] == base.vendor["job_id"]
    assert more.vendor["secondary_id"] != base.vendor["secondary_id"]
    assert more.vendor["version"] == 2
    got = gateway.sdk().fine_tuning.jobs.retrieve(more.id)
    assert got.vendor["secondary_id"] == more.vendor["secondary_id"]


def test_incremental_training_needs_own_qianfan_job(gateway):
    clova = create_job(gateway, suffix="not-qf")
    for ref in (clova.id, "ftjob-bogus"):
        r = gateway.call("POST", "/v1/fine_tuning/jobs", json={
            "model": MODEL, "training_file": DATASET,
            "tuning": {"continue_from": ref, "max_seq_len": 4096}})
        assert r.status_code == 400
        assert error_of(r)["param"] == "tuning.continue_from"
    other = qf_job(gateway, "bob", suffix="bobs")
    r = gateway.call("POST", "/v1/fine_tuning/jobs", json={
        "model": MODEL, "training_file": DATASET,
        "tuning": {"continue_from": other.id, "max_seq_len": 4096}})
    assert r.status_code == 400
    assert calls(gateway)[-1]["path"].endswith("jobDetail")   # bob's only


@pytest.mark.parametrize("vendor_status,status", [
    ("RUNNING", "running"), ("FINISH", "succeeded"), ("STOP", "cancelled"),
    ("FAIL", "failed"),
])
def test_every_status(gateway, vendor_status, status):
    job = qf_job(gateway, suffix="qf-st")
    gateway.force_qianfan(job.vendor["secondary_id"],
                          trainStatus=vendor_status, progress=42)
    got = gateway.sdk().fine_tuning.jobs.retrieve(job.id)
    assert got.status == status
    assert got.vendor["status"] == vendor_status
    assert got.vendor["progress"]["percent"] == 42
    if status == "failed":
        assert got.error.code == "training_error"


def test_unknown_status_is_502(gateway):
    job = qf_job(gateway, suffix="qf-unk")
    gateway.force_qianfan(job.vendor["secondary_id"], trainStatus="PAUSE")
    r = gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert r.status_code == 502
    assert error_of(r)["code"] == "unknown_vendor_status"


# (error_code, gateway HTTP, param on create)
CONSOLE_ERRORS = [
    (500000, 502, None), (500001, 400, None), (500002, 502, None),
    (510101, 400, "training_file"), (510102, 400, "training_file"),
    (510201, 409, "suffix"), (510202, 404, "tuning.continue_from"),
    (510203, 429, None), (510301, 404, "tuning.continue_from"),
    (510302, 409, None), (510401, 400, "hyperparameters"),
    (510402, 429, None), (510403, 429, None),   # 510403: insufficient_quota
    (510404, 400, "tuning.continue_from"),
    (18, 429, None), (336100, 503, None), (999999, 502, None),
]


@pytest.mark.parametrize("code,http,param", CONSOLE_ERRORS)
def test_every_console_error_code(gateway, code, http, param):
    gateway.fault("qianfan", op="createJob", fault="error", error_code=code,
                  error_msg=f"message {code}")
    r = gateway.call("POST", "/v1/fine_tuning/jobs", json={
        "model": MODEL, "training_file": DATASET,
        "tuning": {"max_seq_len": 4096}})
    assert r.status_code == http, r.text
    err = error_of(r)
    assert err["code"] == str(code)
    assert err["param"] == param
    # seed 002: 510403 "charge quota not enough" is OpenAI's insufficient_quota
    if code == 510403:
        assert err["type"] == "insufficient_quota"
    assert f"message {code}" in err["message"]
    assert "log_id" in err["message"]
    gateway.clear_faults()
    assert qf_job(gateway).status == "running"


@pytest.mark.parametrize("code,vendor_http,http", [
    ("AccessDenied", 403, 502), ("InvalidAccessKeyId", 403, 502),
    ("SignatureDoesNotMatch", 400, 502), ("RequestExpired", 400, 502),
    ("InvalidHTTPAuthHeader", 400, 502), ("MalformedJSON", 400, 502),
    ("InternalError", 500, 502), ("InvalidVersion", 404, 502),
    ("ServiceUnavailable", 503, 503), ("Throttling", 429, 429),
])
def test_bce_common_errors(gateway, code, vendor_http, http):
    job = qf_job(gateway, suffix="qf-bce")
    gateway.fault("qianfan", op="jobDetail", fault="bce_error", code=code,
                  message=f"bce {code}", http=vendor_http)
    r = gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert r.status_code == http, r.text
    assert error_of(r)["code"] == code
    gateway.clear_faults()
    assert gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}"
                        ).status_code == 200


def test_cancel_of_a_finished_run_is_409(gateway):
    job = qf_job(gateway, suffix="qf-fin")
    gateway.force_qianfan(job.vendor["secondary_id"], trainStatus="FINISH")
    with pytest.raises(openai.ConflictError):
        gateway.sdk().fine_tuning.jobs.cancel(job.id)


@pytest.mark.parametrize("spec,status", [
    ({"fault": "slow", "delay": 3}, 504),
    ({"fault": "reset", "count": 3}, 502),
    ({"fault": "garbage"}, 502),
    ({"fault": "huge", "bytes": 2 * 1024 * 1024}, 502),
])
def test_transport_faults(gateway, spec, status):
    job = qf_job(gateway, suffix="qf-tr")
    gateway.fault("qianfan", op="jobDetail", **spec)
    r = gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert r.status_code == status
    gateway.clear_faults()
    assert gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}"
                        ).status_code == 200


def test_same_client_code_moves_between_vendors(gateway):
    """Only the model and the dataset reference change."""
    def submit(model, dataset):
        return gateway.sdk().fine_tuning.jobs.create(
            model=model, training_file=dataset, suffix="swap",
            hyperparameters={"n_epochs": 2},
            extra_body={"tuning": {"learning_rate": 3e-5,
                                   "tuning_type": "lora"}})
    a = submit("clova/HCX-003", "s3://tuning-data/sets/train.csv")
    b = submit("qianfan/Llama-2-7b", "bos://tuning-data/sets/train.jsonl")
    assert a.status == "queued" and b.status == "running"
    assert a.vendor["kind"] == "clova" and b.vendor["kind"] == "qianfan"
    clova_body = json.loads([r for r in gateway.vendor_requests("clova")
                             if r["method"] == "POST"][-1]["body"])
    qf_body = json.loads(calls(gateway)[1]["body"])
    assert clova_body["trainEpochs"] == qf_body["trainConfig"]["epoch"] == 2
    assert clova_body["learningRate"] == \
        qf_body["trainConfig"]["learningRate"] == 3e-5
    assert clova_body["tuningType"] == "PEFT"
    assert qf_body["peftType"] == "LoRA"
