"""Bad client input gets a 4xx OpenAI error naming the param, and the vendor
sees no call."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import openai
import pytest

from conftest import CLIENT_KEYS, DATASET, error_of, read_answer

GOOD = {"model": "clova/HCX-003", "training_file": DATASET}


def post(gateway, body, **kw):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return gateway.call("POST", "/v1/fine_tuning/jobs", data=data,
                        headers={"Content-Type": "application/json"}, **kw)


CASES = [
    # (body, status, param, code)
    ("{not json", 400, None, "invalid_json"),
    ("[1, 2]", 400, None, "invalid_json"),
    ('{"model": "clova/HCX-003"} trailing', 400, None, "invalid_json"),
    ({"training_file": DATASET}, 400, "model", "missing_required_parameter"),
    ({"model": "clova/HCX-003"}, 400, "training_file",
     "missing_required_parameter"),
    ({**GOOD, "model": 7}, 400, "model", "invalid_type"),
    # a name without a provider is a route; none is configured here
    ({**GOOD, "model": "HCX-003"}, 404, "model", "model_not_found"),
    ({**GOOD, "model": "HCX 003"}, 400, "model", "invalid_value"),
    ({**GOOD, "model": "nosuch/HCX-003"}, 400, "model", "unknown_provider"),
    ({**GOOD, "colour": "blue"}, 400, "colour", "unknown_parameter"),
    # a string other than "auto" where "auto" or an integer is expected
    ({**GOOD, "hyperparameters": {"n_epochs": "three"}}, 400,
     "hyperparameters.n_epochs", "invalid_value"),
    ({**GOOD, "hyperparameters": {"n_epochs": [3]}}, 400,
     "hyperparameters.n_epochs", "invalid_type"),
    ({**GOOD, "hyperparameters": {"n_epochs": 2.5}}, 400,
     "hyperparameters.n_epochs", "invalid_type"),
    ({**GOOD, "hyperparameters": {"epochs": 2}}, 400,
     "hyperparameters.epochs", "unknown_parameter"),
    ({**GOOD, "tuning": {"lora": {"rank": "8"}}}, 400, "tuning.lora.rank",
     "invalid_type"),
    ({**GOOD, "tuning": {"lora": {"colour": 1}}}, 400, "tuning.lora.colour",
     "unknown_parameter"),
    ({**GOOD, "method": {"type": "dpo"}}, 400, "method.type",
     "unsupported_value"),
    # control characters in anything that could reach a vendor
    ({**GOOD, "training_file": "s3://b/p\r\nX-Evil: 1"}, 400,
     "training_file", "invalid_value"),
    ({**GOOD, "suffix": "a\nb"}, 400, "suffix", "invalid_value"),
    ({**GOOD, "suffix": "a/../b"}, 400, "suffix", "invalid_value"),
    ({**GOOD, "model": "clova/HCX\u0001"}, 400, "model", "invalid_value"),
    # bidirectional overrides and line separators spoof a vendor console
    ({**GOOD, "training_file": "s3://b/\u202etxt.csv"}, 400,
     "training_file", "invalid_value"),
    ({**GOOD, "tuning": {"description": "ok\u2028fake line"}}, 400,
     "tuning.description", "invalid_value"),
    ({**GOOD, "tuning": {"description": "a\u2066b\u2069"}}, 400,
     "tuning.description", "invalid_value"),
    ({**GOOD, "metadata": {"team": "\u202dx"}}, 400, "metadata.team",
     "invalid_value"),
    # CLOVA's own limits, checked before any vendor call
    ({**GOOD, "hyperparameters": {"n_epochs": 21}}, 400,
     "hyperparameters.n_epochs", "invalid_value"),
    ({**GOOD, "tuning": {"lora": {"rank": 65}}}, 400, "tuning.lora.rank",
     "invalid_value"),
    ({**GOOD, "tuning": {"lora": {"alpha": 1}}}, 400, "tuning.lora.alpha",
     "invalid_value"),
    ({**GOOD, "tuning": {"validation_split": 0.2}}, 400,
     "tuning.validation_split", "invalid_value"),
    ({**GOOD, "tuning": {"tuning_type": "full"}}, 400, "tuning.tuning_type",
     "unsupported_value"),
    ({**GOOD, "tuning": {"task_type": "classification_multilabel"}}, 400,
     "tuning.task_type", "unsupported_value"),
    ({**GOOD, "model": "clova/HCX-005"}, 400, "model", "unsupported_value"),
    # a Files API id that is none of this client's files
    ({**GOOD, "training_file": "file-abc123"}, 400, "training_file",
     "file_not_found"),
    # what CLOVA cannot honour is refused, never dropped
    ({**GOOD, "seed": 42}, 400, "seed", "unsupported_parameter"),
    ({**GOOD, "validation_file": "s3://b/v.csv"}, 400, "validation_file",
     "unsupported_parameter"),
    ({**GOOD, "hyperparameters": {"batch_size": 8}}, 400,
     "hyperparameters.batch_size", "unsupported_parameter"),
    ({**GOOD, "hyperparameters": {"learning_rate_multiplier": 2}}, 400,
     "hyperparameters.learning_rate_multiplier", "unsupported_parameter"),
    ({**GOOD, "metadata": {"team": "x"}}, 400, "metadata",
     "unsupported_parameter"),
    ({**GOOD, "tuning": {"scheduler": {"type": "cosine"}}}, 400,
     "tuning.scheduler", "unsupported_parameter"),
    ({**GOOD, "tuning": {"continue_from": "ftjob-abc"}}, 400,
     "tuning.continue_from", "unsupported_parameter"),
]


@pytest.mark.parametrize("body,status,param,code", CASES)
def test_bad_create_input(gateway, body, status, param, code):
    r = post(gateway, body)
    assert r.status_code == status, r.text
    err = error_of(r)
    assert err["param"] == param, err
    assert err["code"] == code, err
    assert err["type"] == ("not_found_error" if status == 404
                           else "invalid_request_error")
    assert gateway.vendor_requests() == []


def test_oversize_body_is_413(gateway):
    body = {**GOOD, "suffix": "x", "tuning": {"description": "y" * 1000}}
    big = json.dumps(body).replace('"x"', '"' + "x" * 64 + '"')
    big = big[:-1] + ', "pad": "' + "z" * 100_000 + '"}'
    r = post(gateway, big)
    assert r.status_code == 413
    assert error_of(r)["code"] == "request_too_large"
    assert gateway.vendor_requests() == []


def test_oversize_chunked_body_is_413(gateway):
    def chunks():
        yield b'{"model": "clova/HCX-003", "pad": "'
        for _ in range(100):
            yield b"z" * 1024
        yield b'"}'
    r = gateway.call("POST", "/v1/fine_tuning/jobs", data=chunks(),
                     headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert gateway.vendor_requests() == []


def _post_head_only(gateway, *headers: str) -> tuple[bytes, bytes]:
    """A create whose head (with these extra headers) is sent and its body
    never: the answer, read from a raw socket (requests would send the
    body, or wait for 100 Continue itself)."""
    url = urlsplit(gateway.base)
    with socket.create_connection((url.hostname, url.port), 5) as sock:
        sock.settimeout(5)
        sock.sendall(("POST /v1/fine_tuning/jobs HTTP/1.1\r\n"
                      f"Host: {url.hostname}\r\n"
                      f"Authorization: Bearer {CLIENT_KEYS['alice']}\r\n"
                      "Content-Type: application/json\r\n"
                      + "".join(h + "\r\n" for h in headers)
                      + "\r\n").encode())
        return read_answer(sock)


def test_expect_continue_over_limit_is_413_without_100(gateway):
    """A declared length over ftgw_max_body_size is answered 413 before
    any 100 Continue, so the client never uploads the body (issue 17)."""
    head, _ = _post_head_only(gateway, "Content-Length: 200000",
                              "Expect: 100-continue")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert gateway.vendor_requests() == []


def test_over_client_max_body_size_is_json_413(gateway):
    """nginx's own 413 (a Content-Length over client_max_body_size, 1m
    here) comes in the OpenAI envelope, not as nginx's HTML page."""
    head, payload = _post_head_only(gateway, "Content-Length: 2000000")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"application/json" in head.lower(), head
    err = json.loads(payload)["error"]
    assert err["code"] == "request_too_large", err
    assert err["type"] == "invalid_request_error"
    assert gateway.vendor_requests() == []


def test_bad_request_id_is_400(gateway):
    r = gateway.call("GET", "/v1/fine_tuning/jobs",
                     headers={"X-Request-Id": "has spaces in it"})
    assert r.status_code == 400
    assert error_of(r)["param"] == "x-request-id"
    r = gateway.call("GET", "/v1/fine_tuning/jobs",
                     headers={"X-Request-Id": "r" * 129})
    assert r.status_code == 400
    assert gateway.vendor_requests() == []


@pytest.mark.parametrize("query,param", [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=abc", "limit"),
    ("after=ftjob-garbage", "after"), ("metadata=v", "metadata"),
    ("metadata[]=v", "metadata"), ("metadata[k=v", "metadata"),
])
def test_bad_list_query(gateway, query, param):
    r = gateway.call("GET", f"/v1/fine_tuning/jobs?{query}")
    assert r.status_code == 400, r.text
    assert error_of(r)["param"] == param
    assert gateway.vendor_requests() == []


@pytest.mark.parametrize("method,path,status", [
    ("DELETE", "/v1/fine_tuning/jobs", 405),
    ("PUT", "/v1/fine_tuning/jobs", 405),
    ("GET", "/v1/fine_tuning/jobs/ftjob-x/cancel", 405),
    ("GET", "/v1/fine_tuning/nothing", 404),
    ("POST", "/v1/models", 405),
    ("GET", "/v1/models/a/b", 404),
])
def test_routes(gateway, method, path, status):
    r = gateway.call(method, path)
    assert r.status_code == status
    error_of(r)


def test_sdk_maps_400_to_bad_request(gateway):
    with pytest.raises(openai.BadRequestError) as e:
        gateway.sdk().fine_tuning.jobs.create(
            model="clova/HCX-003", training_file=DATASET,
            hyperparameters={"n_epochs": 99})
    assert e.value.param == "hyperparameters.n_epochs"
