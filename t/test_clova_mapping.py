"""Every CLOVA status value, every failureReason and every documented error
code, as a client of the gateway sees them. The expectations here are written
from the vendor documentation (shared/reference/vendor-apis.md §1.5, §1.6),
not read from the gateway's tables."""

from __future__ import annotations

import time

import pytest

from conftest import DATASET, create_job, error_of


def new_task(gateway):
    job = create_job(gateway, suffix="mapping")
    return job, job.vendor["job_id"]


@pytest.mark.parametrize("vendor_status,status", [
    ("WAIT", "queued"), ("RUNNING", "running"),
    ("SUCCEEDED", "succeeded"), ("FAILED", "failed"),
])
def test_every_status(gateway, vendor_status, status):
    job, task = new_task(gateway)
    gateway.force(task, status=vendor_status, currStep=7,
                  totalTrainSteps=70, currEpoch=1, totalTrainEpochs=2,
                  trainLoss=0.75, numOfTokens=1000, dataRows=10, estimatedTime=700,
                  endDatetime="2026-11-23T10:00:00+0900")
    got = gateway.sdk().fine_tuning.jobs.retrieve(job.id)
    assert got.status == status
    assert got.vendor["status"] == vendor_status
    progress = got.vendor["progress"]
    assert (progress["step"], progress["total_steps"]) == (7, 70)
    assert (progress["epoch"], progress["total_epochs"]) == (1, 2)
    assert progress["train_loss"] == 0.75
    assert progress["dataset_tokens"] == 1000
    if status in ("succeeded", "failed"):
        assert got.finished_at == 1795395600      # 10:00 KST = 01:00 UTC
    else:
        assert got.finished_at is None
    assert got.trained_tokens == (2000 if status == "succeeded" else None)
    if status == "running":
        # 63 of 70 steps left of a 700 s run: 630 s from now
        assert abs(got.estimated_finish - (time.time() + 630)) < 30


def test_weights_not_saved_is_failed_without_a_model(gateway):
    """Seed 000/001 (CLOVA task object): statusInfo.sendWeightSuccess says
    whether the trained weights were saved. A SUCCEEDED task without them
    has no model to call, so the client sees a failed job and no model."""
    job, task = new_task(gateway)
    gateway.force(task, status="SUCCEEDED", sendWeightSuccess=False,
                  endDatetime="2026-11-23T10:00:00+0900")
    got = gateway.sdk().fine_tuning.jobs.retrieve(job.id)
    assert got.status == "failed"
    assert got.fine_tuned_model is None
    assert got.error.code == "weights_not_saved"
    assert "sendWeightSuccess" in got.error.message
    assert got.finished_at == 1795395600
    assert got.vendor["status"] == "SUCCEEDED"
    assert got.vendor["status_info"]["sendWeightSuccess"] is False
    assert got.vendor["created_client_type"] == "API"
    listed = {j.id: j for j in gateway.sdk().fine_tuning.jobs.list(limit=100)}
    assert listed[job.id].status == "failed"
    assert listed[job.id].fine_tuned_model is None
    events = gateway.sdk().fine_tuning.jobs.list_events(job.id)
    assert any(e.level == "error" for e in events.data), events

    gateway.force(task, sendWeightSuccess=True)
    got = gateway.sdk().fine_tuning.jobs.retrieve(job.id)
    assert got.status == "succeeded"
    assert got.fine_tuned_model == f"clova/tasks/{task}"


def test_unknown_status_is_a_clear_502(gateway):
    job, task = new_task(gateway)
    gateway.force(task, status="PAUSED")
    r = gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert r.status_code == 502
    err = error_of(r)
    assert err["code"] == "unknown_vendor_status"
    assert "PAUSED" in err["message"]
    gateway.force(task, status="WAIT")     # keep the account listable


FAILURES = [
    # failureReason, message from the vendor doc, canonical code
    ("file.extension", "Unavailable file extension. Please check the file "
     "extension again.", "invalid_training_file"),
    ("file.size", "Exceeded the disk usage limit. Please check if the file "
     "size is 1TB or less.", "invalid_training_file"),
    ("file.encoding", "Unsupported charset", "invalid_training_file"),
    ("file.format", "Invalid json format. Expecting value",
     "invalid_training_file"),
    ("file.format", "Invalid dataset: required field empty. Text",
     "invalid_training_file"),
    ("file.format", "Invalid dataset: unexpected column. Text",
     "invalid_training_file"),
    ("file.format", "Invalid dataset: duplicate columns. Text",
     "invalid_training_file"),
    ("file.format", "Invalid dataset: column order", "invalid_training_file"),
    ("file.format", "Invalid dataset: C_ID", "invalid_training_file"),
    ("file.error", None, "training_file_unreadable"),
    ("file.noexist", None, "training_file_not_found"),
    ("File not found", None, "training_file_not_found"),
    ("resource.timeout", None, "resource_unavailable"),
    ("clops.error", None, "vendor_training_error"),
    ("train.unknown", None, "training_error"),
    ("some.new.reason", "whatever", "vendor_training_error"),
]


@pytest.mark.parametrize("reason,message,code", FAILURES)
def test_every_failure_reason(gateway, reason, message, code):
    job, task = new_task(gateway)
    gateway.force(task, status="FAILED", failureReason=reason,
                  message=message)
    got = gateway.sdk().fine_tuning.jobs.retrieve(job.id)
    assert got.status == "failed"
    assert got.error.code == code
    assert reason in got.error.message
    if message:
        assert message in got.error.message
    assert got.vendor["error_code"] == reason
    events = gateway.sdk().fine_tuning.jobs.list_events(job.id).data
    assert events[0].level == "error"


def test_failure_through_the_vendor_lifecycle(gateway):
    """The sandbox's own path: a dataset under fail/<reason>/ fails."""
    job = create_job(gateway, training_file="s3://b/fail/file.encoding/x.csv")
    import time
    for _ in range(50):
        got = gateway.sdk().fine_tuning.jobs.retrieve(job.id)
        if got.status == "failed":
            break
        time.sleep(0.1)
    assert got.status == "failed"
    assert got.error.code == "invalid_training_file"
    assert "Unsupported charset" in got.error.message


# (CLOVA code, vendor HTTP, gateway HTTP): client-caused errors keep the
# vendor's status; the vendor's or the gateway credentials' failures are
# 5xx, so the client's SDK does not blame the client's own key
STREAM_ERRORS = [
    ("40000", 400, 400), ("40001", 400, 400), ("40002", 400, 400),
    ("40003", 400, 400), ("40004", 400, 400), ("40005", 400, 400),
    ("40009", 400, 400), ("40055", 400, 400), ("40060", 400, 400),
    ("40061", 400, 400), ("40063", 400, 400), ("40080", 400, 400),
    ("40082", 400, 400), ("40083", 400, 503), ("40084", 400, 400),
    ("40100", 401, 502), ("40101", 401, 502), ("40102", 401, 502),
    ("40103", 401, 502), ("40104", 401, 502), ("40170", 401, 502),
    ("40300", 403, 403), ("40301", 403, 404), ("40400", 404, 404),
    ("40600", 406, 502), ("40800", 408, 504), ("41300", 413, 413),
    ("41500", 415, 502), ("41501", 415, 502), ("42400", 424, 502),
    ("42900", 429, 429), ("42901", 429, 429), ("42902", 429, 429),
    ("42903", 429, 429), ("50000", 500, 502), ("50100", 501, 502),
    ("50400", 504, 504),
    ("49999", 400, 502),        # undocumented: a vendor failure, not ours
]

LEGACY_ERRORS = [
    ("100", 400, 400), ("200", 401, 502), ("210", 401, 502),
    ("300", 404, 404), ("400", 429, 429), ("410", 429, 429),
    ("420", 429, 429), ("430", 413, 413), ("500", 503, 503),
    ("510", 504, 504), ("900", 500, 502),
]


def _check_vendor_error(gateway, code, vendor_http, http, legacy):
    job, _ = new_task(gateway)
    gateway.fault(op="get", fault="error", http=vendor_http, code=code,
                  message=f"vendor says {code}", legacy=legacy)
    r = gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert r.status_code == http, r.text
    err = error_of(r)
    assert err["code"] == code
    assert f"vendor says {code}" in err["message"]
    # the next request succeeds
    assert gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}"
                        ).status_code == 200


@pytest.mark.parametrize("code,vendor_http,http", STREAM_ERRORS)
def test_every_stream_error_code(gateway, code, vendor_http, http):
    _check_vendor_error(gateway, code, vendor_http, http, legacy=False)


@pytest.mark.parametrize("code,vendor_http,http", LEGACY_ERRORS)
def test_every_legacy_gateway_error_code(gateway, code, vendor_http, http):
    _check_vendor_error(gateway, code, vendor_http, http, legacy=True)


def test_create_not_found_names_the_dataset(gateway):
    gateway.fault(op="create", fault="error", http=404, code="40400",
                  message="File not found")
    r = gateway.call("POST", "/v1/fine_tuning/jobs",
                     json={"model": "clova/HCX-003", "training_file": DATASET})
    assert r.status_code == 400
    err = error_of(r)
    assert (err["param"], err["code"]) == ("training_file", "40400")


def test_model_not_found_names_the_model(gateway):
    r = gateway.call("POST", "/v1/fine_tuning/jobs",
                     json={"model": "clova/HCX-999", "training_file": DATASET})
    assert r.status_code == 400
    err = error_of(r)
    assert (err["param"], err["code"]) == ("model", "40080")


def test_deleted_task_is_404(gateway):
    job, task = new_task(gateway)
    import requests
    requests.post(gateway.sandbox + "/_sandbox/reset", timeout=5)
    r = gateway.call("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert r.status_code in (404,)
    assert error_of(r)["code"] == "40400"


def test_cancel_of_finished_job_is_409_and_keeps_the_task(gateway):
    job, task = new_task(gateway)
    gateway.force(task, status="SUCCEEDED")
    r = gateway.call("POST", f"/v1/fine_tuning/jobs/{job.id}/cancel")
    assert r.status_code == 409
    assert error_of(r)["code"] == "job_not_cancellable"
    assert "DELETE" not in [v["method"] for v in gateway.vendor_requests()]
    assert gateway.sdk().fine_tuning.jobs.retrieve(job.id).status == \
        "succeeded"


def test_listing_pages_through_vendor_pages(gateway):
    """list_page_size=2 at the vendor: the canonical cursor walks across
    vendor pages and providers without gaps or repeats."""
    client = gateway.sdk("bob")
    made = {create_job(gateway, "bob", suffix=f"page{i}").id
            for i in range(5)}
    seen = []
    for job in client.fine_tuning.jobs.list(limit=2):   # auto-paginates
        seen.append(job.id)
    assert made <= set(seen)
    assert len(seen) == len(set(seen))
    created = [j.created_at for j in client.fine_tuning.jobs.list(limit=100)]
    assert created == sorted(created, reverse=True)
    queries = [v["query"] for v in gateway.vendor_requests()
               if v["method"] == "GET" and v["path"] == "/tuning/v2/tasks"]
    assert any("page=1" in q and "size=2" in q for q in queries)
