"""Per-client limits with nginx's own directives, as docs/operations.md
configures them: limit_req keyed on $ftgw_client for creates and uploads,
limit_conn keyed on it for concurrent calls.  $ftgw_client is known before
the content handler runs, a refusal is the OpenAI error envelope (429
rate_limit_exceeded, which the SDKs understand), and one client's limit
never touches another's."""

from __future__ import annotations

import io
import threading

import openai
import pytest

import harness
from conftest import (DATASET, SECRETS, Gateway, _clova_params, _internal,
                      _start, assert_logs_clean, error_of)


@pytest.fixture(scope="module")
def limited(workdir, clova_sandbox):
    prefix = workdir / "limited"
    prefix.mkdir()
    key = harness.write_secret(prefix / "clova.key",
                               SECRETS["clova_api_key"])
    # what docs/operations.md ("Per-client limits") gives, with a burst of
    # 2 creates or uploads a client, then one a minute
    providers = f"""
    map $request_method $ftgw_create_key {{
        POST     $ftgw_client;
        default  "";
    }}
    limit_req_zone $ftgw_create_key zone=ftgw_creates:1m rate=1r/m;
    limit_conn_zone $ftgw_client zone=ftgw_conns:1m;
    limit_req zone=ftgw_creates burst=2 nodelay;
    limit_req_status 429;
    limit_conn ftgw_conns 2;
    limit_conn_status 429;
    ftgw_provider clova kind=clova endpoint=/_ftgw/clova auth=bearer
                  api_key_file={key} {_clova_params(prefix)};"""
    # vendor calls are subrequests: the limits count the client's request
    # once, not its vendor calls
    locations = _internal("clova", f"http://127.0.0.1:{clova_sandbox.port}/")
    nginx = _start(prefix, providers, locations)
    yield Gateway(nginx, {"clova": clova_sandbox.port})
    nginx.stop()
    assert_logs_clean(nginx)


def create(gw: Gateway, client: str):
    return gw.call("POST", "/v1/fine_tuning/jobs", client=client,
                   json={"model": "clova/HCX-003", "training_file": DATASET})


def test_creates_are_limited_per_client(limited):
    assert [create(limited, "alice").status_code for _ in range(3)] == [
        200, 200, 200]
    refused = create(limited, "alice")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/json"
    err = error_of(refused)
    assert err["code"] == "rate_limit_exceeded"
    assert err["type"] == "rate_limit_error"
    # the official SDK reads it as what it is
    with pytest.raises(openai.RateLimitError):
        limited.sdk("alice").fine_tuning.jobs.create(
            model="clova/HCX-003", training_file=DATASET)
    # uploads are creates too
    with pytest.raises(openai.RateLimitError):
        limited.sdk("alice").files.create(
            file=("t.jsonl", io.BytesIO(b"{}\n")), purpose="fine-tune")

    # reads are not limited, nor is another client
    assert limited.call("GET", "/v1/fine_tuning/jobs",
                        client="alice").status_code == 200
    assert create(limited, "bob").status_code == 200

    # nor does a key that does not authenticate use anyone's allowance
    bad = limited.call("POST", "/v1/fine_tuning/jobs", client=None,
                       headers={"Authorization": "Bearer nobody"},
                       json={"model": "clova/HCX-003"})
    assert bad.status_code == 401
    assert create(limited, "bob").status_code == 200


def test_concurrent_calls_are_limited_per_client(limited):
    """Three lists of alice at once, each held at the vendor: the third is
    refused; bob's list at the same time is served."""
    limited.fault(op="list", fault="slow", delay=1.5, count=4)
    results: dict[str, list[int]] = {"alice": [], "bob": []}

    def list_jobs(client):
        r = limited.call("GET", "/v1/fine_tuning/jobs", client=client)
        results[client].append(r.status_code)
        if r.status_code == 429:
            assert error_of(r)["code"] == "rate_limit_exceeded"

    threads = [threading.Thread(target=list_jobs, args=(c,))
               for c in ("alice", "alice", "alice", "bob")]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    finally:
        limited.clear_faults()
    assert sorted(results["alice"]) == [200, 200, 429], results
    assert results["bob"] == [200], results
