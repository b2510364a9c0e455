"""Client authentication, and job ids that are opaque, HMAC-protected and
bound to the client: a tampered or foreign id is a 404 with no vendor call."""

from __future__ import annotations

import openai
import pytest
import requests

from conftest import SECRETS, create_job, error_of, owner_seal, sealed


def test_missing_key_is_401(gateway):
    r = gateway.call("GET", "/v1/fine_tuning/jobs", client=None)
    assert r.status_code == 401
    err = error_of(r)
    assert err["type"] == "authentication_error"
    assert err["code"] == "missing_api_key"
    assert gateway.vendor_requests() == []


@pytest.mark.parametrize("auth", [
    "Bearer wrong-key-0123456789",
    "Bearer gw-alice-0123456789abcde",      # a prefix of alice's key
    "Bearer gw-alice-0123456789abcdef0",    # alice's key and one more
    "Basic Z3ctYWxpY2U6eA==",
    "Bearer ",
])
def test_wrong_key_is_401(gateway, auth):
    r = gateway.call("POST", "/v1/fine_tuning/jobs", client=None,
                     headers={"Authorization": auth},
                     json={"model": "clova/HCX-003",
                           "training_file": "s3://b/p.csv"})
    assert r.status_code == 401
    assert error_of(r)["code"] == "invalid_api_key"
    assert gateway.vendor_requests() == []


def test_sdk_raises_authentication_error(gateway):
    client = openai.OpenAI(base_url=gateway.base + "/v1",
                           api_key="not-a-gateway-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.fine_tuning.jobs.list()


def _tamper(job_id: str, pos: int) -> str:
    c = job_id[pos]
    return job_id[:pos] + ("A" if c != "A" else "B") + job_id[pos + 1:]


def test_tampered_ids_are_404(gateway):
    job = create_job(gateway, suffix="tamper")
    gateway.clear_vendor_requests()
    body_start = len("ftjob-")
    for pos in (body_start, body_start + 5, len(job.id) // 2,
                len(job.id) - 1):
        for path in (f"/v1/fine_tuning/jobs/{_tamper(job.id, pos)}",
                     f"/v1/fine_tuning/jobs/{_tamper(job.id, pos)}/events"):
            r = gateway.call("GET", path)
            assert r.status_code == 404, (pos, r.text)
            assert error_of(r)["code"] == "job_not_found"
    for bad in ("ftjob-", "ftjob-abc", "nothing", "ftjob-" + "A" * 900):
        r = gateway.call("GET", f"/v1/fine_tuning/jobs/{bad}")
        assert r.status_code == 404, bad
    assert gateway.vendor_requests() == []


def test_foreign_ids_are_404(gateway):
    job = create_job(gateway, "alice", suffix="mine")
    gateway.clear_vendor_requests()
    bob = gateway.sdk("bob")
    with pytest.raises(openai.NotFoundError):
        bob.fine_tuning.jobs.retrieve(job.id)
    with pytest.raises(openai.NotFoundError):
        bob.fine_tuning.jobs.cancel(job.id)
    with pytest.raises(openai.NotFoundError):
        bob.fine_tuning.jobs.list_events(job.id)
    assert gateway.vendor_requests() == []
    # alice's job is still there for alice
    assert gateway.sdk("alice").fine_tuning.jobs.retrieve(job.id).id == job.id


def test_lists_show_only_own_jobs(gateway):
    a = create_job(gateway, "alice", suffix="iso-a")
    b = create_job(gateway, "bob", suffix="iso-b")
    alice_ids = [j.id for j in
                 gateway.sdk("alice").fine_tuning.jobs.list(limit=100)]
    bob_ids = [j.id for j in
               gateway.sdk("bob").fine_tuning.jobs.list(limit=100)]
    assert a.id in alice_ids and b.id not in alice_ids
    assert b.id in bob_ids and a.id not in bob_ids
    # a cursor from another client is refused, not silently honoured
    r = gateway.call("GET", f"/v1/fine_tuning/jobs?after={a.id}",
                     client="bob")
    assert r.status_code == 400
    assert error_of(r)["param"] == "after"


def test_client_authorization_never_reaches_vendor(gateway):
    create_job(gateway, suffix="noleak")
    for req in gateway.vendor_requests():
        assert "gw-alice" not in str(req["headers"])
        assert "gw-alice" not in req["body"]


def _plant(gateway, name: str) -> str:
    """A task created in the CLOVA account outside the gateway (the
    vendor's own API, with the account's key): its id"""
    r = requests.post(gateway.sandboxes["clova"] + "/tuning/v2/tasks",
                      headers={"Authorization":
                               f"Bearer {SECRETS['clova_api_key']}"},
                      json={"name": name, "model": "HCX-003",
                            "trainingDatasetBucket": "tuning-data",
                            "trainingDatasetFilePath": "sets/train.csv",
                            "trainingDatasetAccessKey":
                                SECRETS["bucket_access_key"],
                            "trainingDatasetSecretKey":
                                SECRETS["bucket_secret_key"]},
                      timeout=5)
    assert r.status_code == 200, r.text
    return r.json()["result"]["id"]


def test_planted_owner_tags_are_not_listed(gateway):
    """docs/api.md#owner-tags: a task named for alice outside the gateway
    (no seal, a made-up seal, bob's seal on alice's name, alice's seal on
    another name) is listed to nobody; alice's own, sealed, is."""
    own = create_job(gateway, "alice", suffix="sealed")
    planted = [
        _plant(gateway, "alice.planted"),
        _plant(gateway, "alice.forged.0123456789ab"),
        _plant(gateway, "alice.stolen." + owner_seal("bob", "alice.stolen")),
        _plant(gateway, "alice.moved." + owner_seal("alice", "alice.other")),
    ]
    listed = gateway.sdk("alice").fine_tuning.jobs.list(limit=100).data
    vendor_ids = [j.vendor["job_id"] for j in listed]
    assert own.vendor["job_id"] in vendor_ids
    assert not set(planted) & set(vendor_ids), vendor_ids
    assert own.vendor["name"] == sealed("alice", "alice.sealed")
    # and the one made as the gateway would, by the secret's holder, is
    made = _plant(gateway, sealed("alice", "alice.by-hand"))
    listed = gateway.sdk("alice").fine_tuning.jobs.list(limit=100).data
    assert made in [j.vendor["job_id"] for j in listed]
