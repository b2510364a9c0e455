"""Yandex Cloud through the gateway, over gRPC: the openai SDK flow in both
auth modes (Api-Key, and IAM tokens from a PS256 JWT, exchanged once and
shared by the workers), every TuningRequest field, the statuses, the gRPC
codes, and refusals before any vendor call."""

from __future__ import annotations

import re
import time

import openai
import pytest

from conftest import (CLIENT_KEYS, SECRETS, YANDEX_FOLDER, YANDEX_TOKEN_TTL,
                      create_job, error_of, owner_seal)

DATASET = "yandex://dataset/fds1train"


def yx_job(gateway, client="alice", provider="yandex", model="yandexgpt-lite",
           **kw):
    kw.setdefault("training_file", DATASET)
    tuning = kw.pop("tuning", {"tuning_type": "lora"})
    return gateway.sdk(client).fine_tuning.jobs.create(
        model=f"{provider}/{model}", extra_body={"tuning": tuning}, **kw)


def grpc_calls(gateway, method=None):
    return [c for c in gateway.vendor_requests("yandex")
            if c["kind"] == "grpc" and (method is None
                                        or c["method"] == method)]


@pytest.mark.parametrize("provider", ["yandex", "yandex_iam"])
def test_sdk_flow(gateway, provider):
    client = gateway.sdk()
    job = yx_job(gateway, provider=provider, suffix="yx-flow",
                 tuning={"tuning_type": "lora", "learning_rate": 1e-4,
                         "lora": {"rank": 8, "alpha": 16}})
    assert job.id.startswith("ftjob-")
    assert job.model == f"{provider}/yandexgpt-lite"
    assert job.status in ("validating_files", "queued")
    assert job.vendor["kind"] == "yandex"
    task_id, op_id = job.vendor["job_id"], job.vendor["secondary_id"]
    assert task_id != op_id

    (tune,) = grpc_calls(gateway, "Tune")
    assert tune["auth_ok"] is True
    auth = tune["metadata"]["authorization"]
    if provider == "yandex":
        assert auth == f"Api-Key {SECRETS['yandex_api_key']}"
    else:
        assert re.fullmatch(r"Bearer t1\..+", auth)
    req = tune["request"]
    assert req["base_model_uri"] == f"gpt://{YANDEX_FOLDER}/yandexgpt-lite/latest"
    assert req["train_datasets"] == [{"dataset_id": "fds1train", "weight": 1.0}]
    assert req["name"] == "yx-flow"
    # the owner, sealed over the tuning's name
    assert req["labels"] == {"ftgw-owner": "alice." + owner_seal("alice",
                                                                 "yx-flow")}
    params = req["text_to_text_completion"]
    assert params["lr"] == 1e-4
    assert params["lora"] == {"rank": "8", "alpha": 16.0}
    assert CLIENT_KEYS["alice"] not in str(tune["metadata"])

    got = None
    for _ in range(60):
        got = client.fine_tuning.jobs.retrieve(job.id)
        if got.status == "running" and got.vendor["progress"]["step"]:
            break
        time.sleep(0.1)
    assert got.status == "running"
    assert got.vendor["progress"]["total_steps"] == 100
    assert got.vendor["status"] == "IN_PROGRESS"
    assert [c["method"] for c in grpc_calls(gateway)][-2:] == \
        ["Describe", "OperationGet"]

    listed = client.fine_tuning.jobs.list(limit=100)
    assert job.id in [j.id for j in listed]

    events = client.fine_tuning.jobs.list_events(job.id).data
    assert any(e.type == "metrics" for e in events)

    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    assert client.fine_tuning.jobs.retrieve(job.id).vendor["status"] == \
        "CANCELED"


def test_runs_to_completion(gateway):
    job = yx_job(gateway, suffix="yx-done")
    for _ in range(80):
        got = gateway.sdk().fine_tuning.jobs.retrieve(job.id)
        if got.status == "succeeded":
            break
        time.sleep(0.1)
    assert got.status == "succeeded"
    assert got.fine_tuned_model.startswith(
        f"gpt://{YANDEX_FOLDER}/yandexgpt-lite/latest@")
    assert got.finished_at is not None


def test_failure_details_from_list_errors(gateway):
    job = yx_job(gateway, suffix="yx-fail",
                 training_file="yandex://dataset/fail-broken")
    for _ in range(80):
        got = gateway.sdk().fine_tuning.jobs.retrieve(job.id)
        if got.status == "failed":
            break
        time.sleep(0.1)
    assert got.status == "failed"
    assert "fail-broken" in got.error.message
    assert grpc_calls(gateway)[-1]["method"] == "ListErrors"


def test_every_tuning_request_field(gateway):
    yx_job(gateway, model="yandexgpt@rc", suffix="yx-all",
           seed=7, validation_file="yandex://dataset/fds2valid",
           tuning={"training_datasets": [
                       {"ref": "yandex://dataset/fdsA", "weight": 0.7},
                       {"ref": "yandex://dataset/fdsB", "weight": 0.3}],
                   "task_type": "classification_multilabel",
                   "learning_rate": 2e-4, "n_samples": 1000,
                   "tuning_type": "lora",
                   "lora": {"rank": 16, "alpha": 32,
                            "initialization": "kaiming", "type": "lora"},
                   "scheduler": {"type": "cosine", "min_lr": 1e-6,
                                 "warmup_ratio": 0.1},
                   "optimizer": {"type": "adamw", "beta1": 0.9,
                                 "beta2": 0.999, "eps": 1e-8,
                                 "weight_decay": 0.01},
                   "description": "all the fields",
                   "labels": {"team": "ml"}},
           training_file=None)
    req = grpc_calls(gateway, "Tune")[-1]["request"]
    assert req["base_model_uri"] == f"gpt://{YANDEX_FOLDER}/yandexgpt/rc"
    assert req["train_datasets"] == [
        {"dataset_id": "fdsA", "weight": 0.7},
        {"dataset_id": "fdsB", "weight": 0.3}]
    assert req["validation_dataset"] == {"dataset_id": "fds2valid",
                                         "weight": 1.0}
    assert req["description"] == "all the fields"
    assert req["labels"] == {
        "ftgw-owner": "alice." + owner_seal("alice", req["name"]),
        "team": "ml"}
    p = req["text_classification_multilabel"]
    assert p == {
        "seed": "7", "lr": 2e-4, "n_samples": "1000",
        "lora": {"rank": "16", "alpha": 32.0, "initialization": "kaiming",
                 "type": "lora"},
        "scheduler": {"cosine": {"min_lr": 1e-6}, "warmup_ratio": 0.1},
        "optimizer": {"adamw": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                                "weight_decay": 0.01}},
    }


def test_prompt_tuning_multiclass(gateway):
    yx_job(gateway, suffix="yx-pt",
           tuning={"task_type": "classification_multiclass",
                   "tuning_type": "prompt_tuning",
                   "prompt_tuning": {"virtual_tokens": 20},
                   "scheduler": {"type": "linear", "min_lr": 0},
                   "learning_rate": 1e-4})
    p = grpc_calls(gateway, "Tune")[-1]["request"][
        "text_classification_multiclass"]
    assert p["prompt_tune"] == {"virtual_tokens": "20"}
    assert "linear" in p["scheduler"]


@pytest.mark.parametrize("tuning,extra,param,code", [
    ({"task_type": "embedding_pair"}, {}, "tuning.task_type",
     "unsupported_value"),
    ({"task_type": "embedding_triplet"}, {}, "tuning.task_type",
     "unsupported_value"),
    ({"tuning_type": "full"}, {}, "tuning.tuning_type", "unsupported_value"),
    ({}, {"hyperparameters": {"n_epochs": 3}}, "hyperparameters.n_epochs",
     "unsupported_parameter"),
    ({}, {"hyperparameters": {"batch_size": 4}},
     "hyperparameters.batch_size", "unsupported_parameter"),
    ({"lora": {"dropout": 0.1}}, {}, "tuning.lora.dropout",
     "unsupported_parameter"),
    ({"max_seq_len": 4096}, {}, "tuning.max_seq_len",
     "unsupported_parameter"),
    ({"validation_split": 0.1}, {}, "tuning.validation_split",
     "unsupported_parameter"),
    ({"labels": {"ftgw-owner": "bob"}}, {}, "tuning.labels",
     "invalid_value"),
    ({}, {"suffix": "ab"}, "suffix", "invalid_value"),
    ({}, {"suffix": "a.b.c"}, "suffix", "invalid_value"),
    ({}, {"training_file": "s3://b/p.csv"}, "training_file", "invalid_value"),
    ({}, {"validation_file": "bos://b/v"}, "validation_file",
     "invalid_value"),
])
def test_refused_before_any_vendor_call(gateway, tuning, extra, param, code):
    body = {"model": "yandex/yandexgpt-lite", "training_file": DATASET,
            "tuning": tuning, **extra}
    r = gateway.call("POST", "/v1/fine_tuning/jobs", json=body)
    assert r.status_code == 400, r.text
    err = error_of(r)
    assert (err["param"], err["code"]) == (param, code)
    assert grpc_calls(gateway) == []


STATUSES = [
    ("CREATED", "validating_files"), ("PENDING", "queued"),
    ("IN_PROGRESS", "running"), ("COMPLETED", "succeeded"),
    ("FAILED", "failed"), ("CANCELED", "cancelled"), ("DRAFT", "queued"),
    ("ARCHIVED", "succeeded"), ("PAID", "succeeded"),
]


@pytest.mark.parametrize("vendor_status,status", STATUSES)
def test_every_status(gateway, vendor_status, status):
    job = yx_job(gateway, suffix="yx-status")
    gateway.force_yandex(job.vendor["job_id"], status=vendor_status,
                         current_step=40)
    got = gateway.sdk().fine_tuning.jobs.retrieve(job.id)
    assert got.vendor["status"] == vendor_status
    assert got.status == status


def test_unspecified_status_follows_the_operation(gateway):
    job = yx_job(gateway, suffix="yx-unspec")
    gateway.force_yandex(job.vendor["job_id"], status="STATUS_UNSPECIFIED")
    got = gateway.sdk().fine_tuning.jobs.retrieve(job.id)
    assert got.vendor["status"] == "STATUS_UNSPECIFIED"
    assert got.status in ("running", "succeeded", "failed")


# google.rpc.Code -> gateway HTTP status (vendor failures are 5xx)
GRPC_CODES = [
    (1, 502), (2, 502), (3, 400), (4, 504), (5, 404), (6, 409), (7, 403),
    (8, 429), (9, 400), (10, 409), (11, 400), (12, 501), (13, 502),
    (14, 503), (15, 502), (16, 502),
]
NAMES = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
         "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
         "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
         "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE",
         "DATA_LOSS", "UNAUTHENTICATED"]


@pytest.mark.parametrize("code,http", GRPC_CODES)
def test_every_grpc_code(gateway, code, http):
    job = yx_job(gateway, suffix="yx-codes")
    gateway.fault("yandex", method="Describe", fault="grpc_error", code=code,
                  message=f"vendor said {code}")
    r = gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert r.status_code == http, r.text
    err = error_of(r)
    assert err["code"] == NAMES[code]
    assert f"vendor said {code}" in err["message"]
    gateway.clear_faults()
    assert gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}"
                        ).status_code == 200


def test_operation_error_is_the_jobs_error(gateway):
    job = yx_job(gateway, suffix="yx-operr")
    gateway.force_yandex(job.vendor["job_id"], status="IN_PROGRESS")
    gateway.fault("yandex", method="OperationGet", fault="op_error", code=13,
                  message="trainer crashed")
    got = gateway.sdk().fine_tuning.jobs.retrieve(job.id)
    assert got.error.code == "INTERNAL"
    assert "trainer crashed" in got.error.message


def test_tune_of_an_unknown_model_names_the_model(gateway):
    r = gateway.call("POST", "/v1/fine_tuning/jobs", json={
        "model": "yandex/gpt-9000", "training_file": DATASET})
    assert r.status_code == 400
    err = error_of(r)
    assert (err["param"], err["code"]) == ("model", "NOT_FOUND")


def test_cancel_of_a_finished_task_is_409(gateway):
    job = yx_job(gateway, suffix="yx-fin")
    gateway.force_yandex(job.vendor["job_id"], status="COMPLETED")
    with pytest.raises(openai.ConflictError):
        gateway.sdk().fine_tuning.jobs.cancel(job.id)


def test_listing_pages_and_owners(gateway):
    made = {yx_job(gateway, "bob", suffix=f"yx-page{i}").id
            for i in range(4)}
    seen = [j.id for j in gateway.sdk("bob").fine_tuning.jobs.list(limit=2)]
    assert made <= set(seen)
    assert len(seen) == len(set(seen))
    alice = [j.id for j in gateway.sdk("alice").fine_tuning.jobs.list(
        limit=100)]
    assert not made & set(alice)
    tokens = [c["request"].get("page_token") for c in
              grpc_calls(gateway, "List")]
    assert any(tokens)


def test_iam_token_is_exchanged_once_and_shared_by_workers(gateway):
    """Many requests over fresh connections (spread over both workers by
    reuseport) use one IAM token; a new one is fetched once it is due."""
    import requests
    base = gateway.iam_exchanges()
    job = yx_job(gateway, provider="yandex_iam", suffix="yx-iam")
    first = gateway.iam_exchanges()
    assert first - base <= 1
    for _ in range(30):
        r = requests.get(gateway.base + f"/v1/fine_tuning/jobs/{job.id}",
                         headers={"Authorization":
                                  f"Bearer {CLIENT_KEYS['alice']}",
                                  "Connection": "close"}, timeout=10)
        assert r.status_code == 200
    pids = set(re.findall(r"pid=(\d+)", gateway.nginx.prefix.joinpath(
        "access.log").read_text()[-8000:]))
    assert len(pids) == 2, "both workers served requests"
    assert gateway.iam_exchanges() == first
    time.sleep(YANDEX_TOKEN_TTL * 0.8)
    assert gateway.sdk().fine_tuning.jobs.retrieve(job.id).id == job.id
    assert gateway.iam_exchanges() == first + 1
    for _ in range(5):
        gateway.sdk().fine_tuning.jobs.retrieve(job.id)
    assert gateway.iam_exchanges() == first + 1


def test_failed_iam_exchange_is_a_clear_error(gateway):
    import requests
    requests.post(gateway.sandboxes["yandex"] + "/_sandbox/iam/expire",
                  timeout=5)
    gateway.fault("yandex", method="IamToken", fault="iam_error", http=500,
                  count=5, body='{"code": 13, "message": "iam is down"}')
    r = gateway.call("GET", "/v1/fine_tuning/jobs?limit=1")
    assert r.status_code == 502
    err = error_of(r)
    assert err["code"] == "iam_exchange_failed"
    assert "BEGIN" not in r.text and "PRIVATE" not in r.text
    gateway.clear_faults()
    assert gateway.call("GET", "/v1/fine_tuning/jobs?limit=1"
                        ).status_code == 200


@pytest.mark.parametrize("spec,status", [
    ({"fault": "slow", "delay": 3}, 504),
    ({"fault": "reset", "count": 3}, 502),
])
def test_transport_faults(gateway, spec, status):
    job = yx_job(gateway, suffix="yx-tr")
    gateway.fault("yandex", method="Describe", **spec)
    r = gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert r.status_code == status, r.text
    gateway.clear_faults()
    assert gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}"
                        ).status_code == 200


def test_same_client_code_moves_between_three_vendors(gateway):
    """Only the model and the dataset reference change."""
    def submit(model, dataset):
        return gateway.sdk().fine_tuning.jobs.create(
            model=model, training_file=dataset, suffix="swap-all",
            extra_body={"tuning": {"learning_rate": 3e-5,
                                   "tuning_type": "lora"}})
    jobs = [submit("clova/HCX-003", "s3://tuning-data/train.csv"),
            submit("qianfan/Llama-2-7b", "bos://tuning-data/train.jsonl"),
            submit("yandex/yandexgpt-lite", "yandex://dataset/fdsswap")]
    assert [j.vendor["kind"] for j in jobs] == ["clova", "qianfan", "yandex"]
    tune = grpc_calls(gateway, "Tune")[-1]["request"]
    assert tune["text_to_text_completion"]["lr"] == 3e-5
    assert "lora" in tune["text_to_text_completion"]
    for job in jobs:
        assert gateway.sdk().fine_tuning.jobs.retrieve(job.id).id == job.id


def test_metadata_rides_in_labels(gateway):
    """OpenAI's metadata on Yandex: sent as labels, returned as the job's
    metadata, and found by the SDK's metadata filter."""
    client = gateway.sdk()
    job = client.fine_tuning.jobs.create(
        model="yandex/yandexgpt-lite", training_file=DATASET,
        metadata={"team": "search", "run": "md-1"},
        extra_body={"tuning": {"tuning_type": "lora"}})
    (tune,) = grpc_calls(gateway, "Tune")
    labels = tune["request"]["labels"]
    assert labels["team"] == "search" and labels["run"] == "md-1"
    assert job.metadata == {"team": "search", "run": "md-1"}
    assert client.fine_tuning.jobs.retrieve(job.id).metadata == {
        "team": "search", "run": "md-1"}

    # both Yandex providers here share one folder: each lists the task
    found = client.fine_tuning.jobs.list(metadata={"run": "md-1"})
    assert job.id in [j.id for j in found.data]
    assert {j.vendor["job_id"] for j in found.data} == {job.vendor["job_id"]}
    assert all(j.metadata["run"] == "md-1" for j in found.data)
    assert client.fine_tuning.jobs.list(
        metadata={"run": "md-1", "team": "other"}).data == []

    # what a label cannot hold is refused by name, before any call
    gateway.clear_vendor_requests()
    r = gateway.call("POST", "/v1/fine_tuning/jobs", json={
        "model": "yandex/yandexgpt-lite", "training_file": DATASET,
        "metadata": {"team": "Search Quality"}})
    assert r.status_code == 400
    assert error_of(r)["param"] == "metadata.team"
    assert grpc_calls(gateway) == []
