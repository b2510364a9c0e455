"""Idempotency-Key on create: one vendor job per client and key, whatever
the retries, also when they arrive at once, on every cloud vendor; the
retries get the first answer again, byte for byte."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import DATASET, error_of

BODIES = {
    "clova": {"model": "clova/HCX-003", "training_file": DATASET},
    "qianfan": {"model": "qianfan/ERNIE-Bot-turbo-0725",
                "training_file": "qianfan://dataset/1234",
                "tuning": {"max_seq_len": 4096}},
    "yandex": {"model": "yandex/yandexgpt-lite",
               "training_file": "yandex://dataset/fds1train",
               "tuning": {"tuning_type": "lora"}},
}


def creates(gateway, vendor):
    """The vendor's own record of the jobs it was asked to create."""
    calls = gateway.vendor_requests(vendor)
    if vendor == "clova":
        return [c for c in calls if c["method"] == "POST"]
    if vendor == "qianfan":
        return [c for c in calls if c["path"].endswith("createJob")]
    return [c for c in calls if c["kind"] == "grpc" and c["method"] == "Tune"]


def post(gateway, body, key, client="alice"):
    return gateway.call("POST", "/v1/fine_tuning/jobs", client=client,
                        json=body, headers={"Idempotency-Key": key})


@pytest.mark.parametrize("vendor", sorted(BODIES))
def test_concurrent_retries_make_one_job(gateway, vendor):
    key = f"retry-{vendor}-{uuid.uuid4()}"
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(
            lambda _: post(gateway, BODIES[vendor], key), range(20)))
    assert [r.status_code for r in answers] == [200] * 20, \
        [r.text for r in answers if r.status_code != 200]
    assert len({r.content for r in answers}) == 1     # identical answers
    assert len(creates(gateway, vendor)) == 1
    # each answer is its own request: its own id
    assert len({r.headers["x-request-id"] for r in answers}) == 20

    # a later retry: the same job again, no vendor call at all
    gateway.clear_vendor_requests()
    again = post(gateway, BODIES[vendor], key)
    assert again.status_code == 200
    assert again.content == answers[0].content
    assert gateway.vendor_requests(vendor) == []


def test_retries_wait_for_a_create_in_flight(gateway):
    """The vendor takes a second: the 19 retries that come meanwhile find
    the key locked, wait, and get the first request's answer."""
    key = f"slow-{uuid.uuid4()}"
    gateway.fault(op="create", fault="slow", delay=1)
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(
            lambda _: post(gateway, BODIES["clova"], key), range(20)))
    assert [r.status_code for r in answers] == [200] * 20
    assert len({r.content for r in answers}) == 1
    assert len(creates(gateway, "clova")) == 1


def test_the_sdk_retries_with_the_same_key(gateway):
    key = f"sdk-{uuid.uuid4()}"
    client = gateway.sdk()
    first = client.fine_tuning.jobs.create(
        model="clova/HCX-003", training_file=DATASET,
        extra_headers={"Idempotency-Key": key})
    second = client.fine_tuning.jobs.create(
        model="clova/HCX-003", training_file=DATASET,
        extra_headers={"Idempotency-Key": key})
    assert first.id == second.id
    assert len(creates(gateway, "clova")) == 1


def test_keys_belong_to_their_client(gateway):
    key = f"shared-{uuid.uuid4()}"
    a = post(gateway, BODIES["clova"], key, client="alice")
    b = post(gateway, BODIES["clova"], key, client="bob")
    assert a.status_code == b.status_code == 200
    assert a.json()["id"] != b.json()["id"]
    assert b.json()["organization_id"] == "bob"
    assert len(creates(gateway, "clova")) == 2


def test_a_key_with_another_body_is_refused(gateway):
    key = f"reuse-{uuid.uuid4()}"
    assert post(gateway, BODIES["clova"], key).status_code == 200
    r = post(gateway, {**BODIES["clova"], "suffix": "other"}, key)
    assert r.status_code == 400
    err = error_of(r)
    assert (err["param"], err["code"]) == ("Idempotency-Key",
                                           "idempotency_key_reused")
    assert len(creates(gateway, "clova")) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "a b", "caf\u00e9"])
def test_bad_keys(gateway, key):
    r = gateway.call("POST", "/v1/fine_tuning/jobs", json=BODIES["clova"],
                     headers={"Idempotency-Key": key.encode("utf-8")})
    assert r.status_code == 400, r.text
    err = error_of(r)
    assert (err["param"], err["code"]) == ("Idempotency-Key", "invalid_value")
    assert creates(gateway, "clova") == []


def test_a_vendor_failure_is_not_kept(gateway):
    """A 502 says nothing was made: the retry goes to the vendor again."""
    key = f"fail-{uuid.uuid4()}"
    gateway.fault(op="create", fault="status", http=500, body="oops")
    assert post(gateway, BODIES["clova"], key).status_code == 502
    gateway.clear_faults()
    r = post(gateway, BODIES["clova"], key)
    assert r.status_code == 200
    assert post(gateway, BODIES["clova"], key).content == r.content


def test_a_refusal_is_kept(gateway):
    """A 400 before any vendor call is the same answer on every retry."""
    key = f"refused-{uuid.uuid4()}"
    body = {**BODIES["clova"], "seed": 1}
    first = post(gateway, body, key)
    assert first.status_code == 400
    assert post(gateway, body, key).content == first.content
    assert json.loads(first.content)["error"]["param"] == "seed"
