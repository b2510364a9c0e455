"""Vendor faults become clear 502/503/504/429 OpenAI errors, never a dropped
connection or a hang, and the next request succeeds."""

from __future__ import annotations

import openai
import pytest

from conftest import DATASET, SECRETS, create_job, error_of

FAULTS = [
    # fault spec, gateway status, error code
    ({"fault": "slow", "delay": 3}, 504, "vendor_timeout"),
    # nginx retries a request once on a fresh connection when a cached
    # keepalive connection fails: three faults outlast the retry
    ({"fault": "reset", "count": 3}, 502, "vendor_unreachable"),
    ({"fault": "drop", "count": 3}, 502, "vendor_unreachable"),
    # an answer cut short of its Content-Length: what came is not the
    # vendor's JSON (docs/api.md#the-vendor-answer-matrix)
    ({"fault": "truncated", "count": 3}, 502, "invalid_vendor_response"),
    ({"fault": "garbage"}, 502, "invalid_vendor_response"),
    ({"fault": "huge", "bytes": 2 * 1024 * 1024}, 502,
     "vendor_response_too_large"),
    ({"fault": "status", "http": 500, "body": "oops"}, 502,
     "invalid_vendor_response"),
    ({"fault": "status", "http": 502, "body": ""}, 502,
     "invalid_vendor_response"),
    ({"fault": "status", "http": 503, "body": "busy"}, 503,
     "vendor_unavailable"),
    ({"fault": "status", "http": 504, "body": "<html></html>"}, 504,
     "vendor_timeout"),
    ({"fault": "status", "http": 429, "body": "slow down"}, 429,
     "rate_limited"),
    ({"fault": "error", "http": 500, "code": "50000",
      "message": "Internal server error"}, 502, "50000"),
    ({"fault": "error", "http": 429, "code": "42901",
      "message": "Too many requests - rate exceeded"}, 429, "42901"),
]


@pytest.mark.parametrize("spec,status,code", FAULTS)
def test_fault_on_retrieve(gateway, spec, status, code):
    job = create_job(gateway, suffix="fault")
    gateway.fault(op="get", **spec)
    r = gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert r.status_code == status, r.text
    assert error_of(r)["code"] == code
    assert r.headers["content-type"] == "application/json"
    gateway.clear_faults()
    ok = gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("spec,status,code", FAULTS[:6])
def test_fault_on_create_and_list(gateway, spec, status, code):
    gateway.fault(op="create", **spec)
    r = gateway.call("POST", "/v1/fine_tuning/jobs",
                     json={"model": "clova/HCX-003", "training_file": DATASET})
    assert r.status_code == status, r.text
    assert error_of(r)["code"] == code
    gateway.clear_faults()
    gateway.fault(op="list", **spec)
    r = gateway.call("GET", "/v1/fine_tuning/jobs")
    assert r.status_code == status, r.text
    assert error_of(r)["code"] == code
    gateway.clear_faults()
    assert gateway.call("GET", "/v1/fine_tuning/jobs").status_code == 200


@pytest.mark.parametrize("spec,status", [
    ({"fault": "error", "http": 429, "code": "42901",
      "message": "Too many requests - rate exceeded"}, 429),
    ({"fault": "status", "http": 429, "body": "slow down"}, 429),
    ({"fault": "status", "http": 503, "body": "busy"}, 503),
])
def test_retry_after_passed_on(gateway, spec, status):
    """A vendor's Retry-After reaches the client on a 429 or 503, where the
    openai SDKs read it to pace their retries."""
    job = create_job(gateway, suffix="retry")
    gateway.fault(op="get", headers={"Retry-After": "17"}, **spec)
    r = gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert r.status_code == status, r.text
    assert r.headers["retry-after"] == "17"
    gateway.clear_faults()
    # neither delay-seconds nor an HTTP-date, or none at all: not passed on
    gateway.fault(op="get", headers={"Retry-After": "17; drop"}, **spec)
    r = gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert r.status_code == status, r.text
    assert "retry-after" not in r.headers
    gateway.clear_faults()
    gateway.fault(op="get", **spec)
    r = gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert "retry-after" not in r.headers
    gateway.clear_faults()


def test_retry_after_not_on_other_errors(gateway):
    job = create_job(gateway, suffix="retry")
    gateway.fault(op="get", fault="error", http=500, code="50000",
                  message="Internal server error", headers={"Retry-After": "5"})
    r = gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert r.status_code == 502, r.text
    assert "retry-after" not in r.headers
    gateway.clear_faults()


def test_sdk_sees_rate_limit_and_server_errors(gateway):
    job = create_job(gateway, suffix="sdk-fault")
    client = gateway.sdk()
    gateway.fault(op="get", fault="error", http=429, code="42900",
                  message="Too many requests")
    with pytest.raises(openai.RateLimitError):
        client.fine_tuning.jobs.retrieve(job.id)
    gateway.fault(op="get", fault="reset", count=3)
    with pytest.raises(openai.InternalServerError) as e:
        client.fine_tuning.jobs.retrieve(job.id)
    assert e.value.status_code == 502
    gateway.clear_faults()
    assert client.fine_tuning.jobs.retrieve(job.id).id == job.id


def test_response_over_the_location_limit(gateway):
    """/small/ allows 8k from a vendor: a list page larger than that is a
    clear 502, and the connection stays usable."""
    for i in range(12):
        create_job(gateway, suffix=f"bulk{i}")
    import requests
    with requests.Session() as s:
        s.headers["Authorization"] = "Bearer gw-alice-0123456789abcdef"
        r = s.get(gateway.base + "/small/fine_tuning/jobs?limit=100",
                  timeout=20)
        assert r.status_code == 502
        assert error_of(r)["code"] == "vendor_response_too_large"
        r = s.get(gateway.base + "/small/fine_tuning/jobs/ftjob-x",
                  timeout=20)
        assert r.status_code == 404


def test_vendor_message_never_carries_a_secret(gateway):
    job = create_job(gateway, suffix="redact")
    leak = f"bad key {SECRETS['bucket_secret_key']} for bucket"
    gateway.fault(op="get", fault="error", http=400, code="40001",
                  message=leak)
    r = gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert r.status_code == 400
    assert SECRETS["bucket_secret_key"] not in r.text
    assert "[redacted]" in error_of(r)["message"]


def test_refused_connection(broken_gateway):
    r = broken_gateway.call(
        "POST", "/v1/fine_tuning/jobs",
        json={"model": "clova_down/HCX-003", "training_file": DATASET})
    assert r.status_code == 502
    err = error_of(r)
    assert err["code"] == "vendor_unreachable"
    assert "clova_down" in err["message"]
    r = broken_gateway.call("GET", "/v1/fine_tuning/jobs")
    assert r.status_code == 502


def test_vendor_rejects_the_gateway_credentials(broken_gateway):
    r = broken_gateway.call(
        "POST", "/v1/fine_tuning/jobs",
        json={"model": "clova_badkey/HCX-003", "training_file": DATASET})
    assert r.status_code == 502
    err = error_of(r)
    assert err["code"] == "40104"
    assert err["type"] == "upstream_error"
    assert "nv-wrong-key" not in r.text


def test_client_gone_during_a_vendor_call(gateway):
    """A client that hangs up while the vendor is slow leaves the worker
    healthy: no crash, no sanitizer report, the next request is served."""
    import requests
    job = create_job(gateway, suffix="hangup")
    gateway.fault(op="get", fault="slow", delay=1.5)
    with pytest.raises(requests.exceptions.Timeout):
        gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}", timeout=0.3)
    import time
    time.sleep(1.8)
    assert gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}"
                        ).status_code == 200
    assert gateway.nginx.log_problems() == []
