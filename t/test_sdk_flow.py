"""The official openai SDK, unchanged, against the gateway and the CLOVA
sandbox: create -> retrieve -> list -> list_events -> cancel, in both of
CLOVA's auth modes, with what the vendor received checked on its side."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests

import harness
from conftest import (CLIENT_KEYS, DATASET, PRELOAD, SECRETS, _gateway_conf,
                      create_job, sealed)


def wait_for(fn, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


@pytest.mark.parametrize("provider", ["clova", "clova_sig"])
def test_sdk_full_flow(gateway, provider):
    client = gateway.sdk()
    job = client.fine_tuning.jobs.create(
        model=f"{provider}/HCX-003",
        training_file=DATASET,
        hyperparameters={"n_epochs": 3},
        suffix="flow-test",
        extra_body={"tuning": {"learning_rate": 1e-4,
                               "tuning_type": "lora",
                               "task_type": "generation",
                               "lora": {"rank": 8, "alpha": 16}}})

    assert job.id.startswith("ftjob-")
    assert job.object == "fine_tuning.job"
    assert job.status == "queued"
    assert job.model == f"{provider}/HCX-003"
    assert job.training_file == DATASET
    assert job.hyperparameters.n_epochs == 3
    assert job.vendor["status"] == "WAIT"
    assert job.vendor["provider"] == provider

    # what CLOVA received for the create
    (create,) = [r for r in gateway.vendor_requests() if r["method"] == "POST"]
    assert create["path"] == "/tuning/v2/tasks"
    assert create["auth_ok"] is True
    body = json.loads(create["body"])
    assert body == {
        "name": sealed("alice", "alice.flow-test"), "model": "HCX-003",
        "tuningType": "PEFT", "taskType": "GENERATION",
        "trainEpochs": 3, "learningRate": 1e-4, "loraR": 8, "loraAlpha": 16,
        "trainingDatasetFilePath": "sets/train.csv",
        "trainingDatasetBucket": "tuning-data",
        "trainingDatasetAccessKey": SECRETS["bucket_access_key"],
        "trainingDatasetSecretKey": SECRETS["bucket_secret_key"],
    }
    headers = create["headers"]
    assert headers["content-type"] == "application/json"
    if provider == "clova":
        assert headers["authorization"] == f"Bearer {SECRETS['clova_api_key']}"
        assert "x-ncp-apigw-signature-v2" not in headers
    else:
        assert "authorization" not in headers
        assert headers["x-ncp-iam-access-key"] == SECRETS["ncp_access_key"]
        assert abs(int(headers["x-ncp-apigw-timestamp"])
                   - time.time() * 1000) < 60_000
    assert CLIENT_KEYS["alice"] not in json.dumps(headers)
    assert headers["x-ncp-clovastudio-request-id"]

    got = client.fine_tuning.jobs.retrieve(job.id)
    assert got.id == job.id
    assert got.status in ("queued", "running")

    running = wait_for(lambda: client.fine_tuning.jobs.retrieve(job.id)
                       if client.fine_tuning.jobs.retrieve(job.id).status
                       == "running" else None)
    assert running is not None
    assert running.vendor["status"] == "RUNNING"
    assert running.vendor["progress"]["total_steps"] == 100

    listed = client.fine_tuning.jobs.list(limit=100)
    assert job.id in [j.id for j in listed.data]

    events = client.fine_tuning.jobs.list_events(job.id)
    kinds = [e.type for e in events.data]
    assert "message" in kinds and "metrics" in kinds

    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.id == job.id
    assert cancelled.status == "cancelled"
    assert [r["method"] for r in gateway.vendor_requests()][-2:] == \
        ["GET", "DELETE"]
    assert all(r["auth_ok"] for r in gateway.vendor_requests())


def test_sdk_job_succeeds_with_progress(gateway):
    client = gateway.sdk()
    job = create_job(gateway, hyperparameters={"n_epochs": 2},
                     suffix="to-the-end")
    done = wait_for(lambda: (lambda j: j if j.status == "succeeded"
                             else None)(client.fine_tuning.jobs.retrieve(
                                 job.id)), timeout=15)
    assert done is not None
    assert done.finished_at is not None and done.finished_at >= job.created_at
    assert done.trained_tokens == 250_000 * 2
    assert done.fine_tuned_model == f"clova/tasks/{done.vendor['job_id']}"
    assert done.vendor["progress"]["step"] == 100
    events = client.fine_tuning.jobs.list_events(job.id).data
    assert events[0].message == "The job has successfully completed"


def test_request_id_passed_through_and_returned(gateway):
    r = gateway.call("POST", "/v1/fine_tuning/jobs",
                     headers={"X-Request-Id": "client-req-42"},
                     json={"model": "clova/HCX-003",
                           "training_file": DATASET})
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"] == "client-req-42"
    (create,) = gateway.vendor_requests()
    assert create["headers"]["x-ncp-clovastudio-request-id"] == \
        "client-req-42"


def test_request_id_generated_when_absent(gateway):
    r = gateway.call("GET", "/v1/fine_tuning/jobs?limit=1")
    assert r.status_code == 200, r.text
    rid = r.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid), rid
    assert all(v["headers"]["x-ncp-clovastudio-request-id"] == rid
               for v in gateway.vendor_requests())
    # a fresh id for every request, and nginx's $request_id is the same id,
    # so the access log names it
    ids = {gateway.call("GET", "/v1/fine_tuning/jobs/ftjob-x")
           .headers["x-request-id"] for _ in range(20)}
    assert len(ids) == 20 and rid not in ids
    log = gateway.nginx.prefix / "access.log"
    deadline = time.monotonic() + 5
    while f"rid={rid}" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"rid={rid}" in log.read_text()


# proxy_set_header's values are compiled when locations merge, after
# the http{} block is read
NAMED_BY_PROXY_HEADER = """
        location /_ftgw/x/ {
            internal;
            proxy_pass http://127.0.0.1:9/;
            proxy_set_header X-Request-Id $request_id;
        }"""


@pytest.mark.parametrize("locations,prefixes", [("", 2),
                                                (NAMED_BY_PROXY_HEADER, 20)])
def test_request_id_when_no_log_names_it(tmp_path, locations, prefixes):
    """Where no directive names $request_id, the gateway makes its own ids
    (a worker's random prefix and a counter) instead of nginx's random
    ones, in the same shape; where one does, the id is nginx's. nginx's
    $request_id is never written."""
    port = harness.free_port()
    conf = _gateway_conf(tmp_path, port, "", locations)
    assert "rid=$request_id" in conf
    conf = conf.replace("rid=$request_id", "rid=-")
    assert ("$request_id" in conf) == bool(locations)
    (tmp_path / "nginx.conf").write_text(conf)
    nginx = harness.Nginx(tmp_path, port, env=harness.nginx_env(PRELOAD))
    nginx.start()
    try:
        ids = [requests.get(f"http://127.0.0.1:{port}/v1/fine_tuning/jobs",
                            headers={"Authorization":
                                     f"Bearer {CLIENT_KEYS['alice']}"},
                            timeout=10).headers["x-request-id"]
               for _ in range(20)]
    finally:
        nginx.stop()
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids), ids
    assert len(set(ids)) == 20
    # own ids: two workers, so two prefixes at most, each followed by its
    # counter; nginx's: 16 random bytes each
    if prefixes == 2:
        assert len({rid[:16] for rid in ids}) <= 2, ids
    else:
        assert len({rid[:16] for rid in ids}) == 20, ids
    assert nginx.log_problems() == []
