#!/usr/bin/env python3
"""Baidu Qianfan fine-tune API v1 emulator ("Qianfan sandbox").

Written from the vendor documentation summarised in
shared/reference/vendor-apis.md section 2. It serves the four v1 console
endpoints under /wenxinworkshop/finetune/ (createTask, createJob, jobDetail,
stopJob), verifies every request's bce-auth-v1 signature with Baidu's own
signer from bce-python-sdk (the oracle; nothing here re-implements it),
moves runs through RUNNING -> FINISH (or FAIL on request) from wall-clock
time, and exposes a small control API under /_sandbox/ for fault injection
and inspection. Standard library plus bce-python-sdk.

A second listener in the same process is Baidu BOS (path-style
/<bucket>/<key>): the place the gateway stages datasets. Its bce-auth-v1
signatures go through the same SDK signer, every object PUT is checked
against the Qianfan SFT dataset rules, and a job created on a stored object
(trainset bosPath) fails when the object breaks them.

Terminology (v1): a *task* is the container, a *job* is one training run
inside it. The OpenAI "fine-tuning job" corresponds to a v1 job.

Run `python3 sandbox/qianfan_sandbox.py --help`; see docs/sandbox.md.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import collections
import dataclasses
import hashlib
import hmac
import json
import logging
import math
import re
import secrets
import signal
import socket
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote_to_bytes, urlsplit

from sandbox_http import (ControlApiMixin, FaultQueueMixin, ObjectControlMixin,
                          ObjectStoreMixin, RequestLogMixin, ResettableHTTPServer,
                          SandboxHandlerBase, StorageHandlerMixin, StorageVerdict,
                          check_storage_fault, parse_pace_fault,
                          parse_stall_body_fault)

try:
    from baidubce import utils as bce_utils
    from baidubce.auth import bce_v1_signer
    from baidubce.auth.bce_credentials import BceCredentials
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("qianfan-sandbox: needs bce-python-sdk (pip install -r requirements.txt)")

# The SDK signer logs its signing key at DEBUG level; never let that out.
logging.getLogger("baidubce").setLevel(logging.WARNING)

# --------------------------------------------------------------------------
# Vendor constants (reference §2)
# --------------------------------------------------------------------------

CST = timezone(timedelta(hours=8))          # Asia/Shanghai, no DST
ZERO_TIME = "0000-00-00 00:00:00"           # finishTime of an unfinished run
API_PREFIX = "/wenxinworkshop/finetune/"
VENDOR_OPS = ("createTask", "createJob", "jobDetail", "stopJob")
CONTROL_PREFIX = "/_sandbox/"

FIRST_TASK_ID = 17000
FIRST_JOB_ID = 6300

# baseTrainType -> its trainTypes (createJob doc, v1).
TRAIN_TYPES = {
    "ERNIE-Bot-turbo": ("ERNIE-Bot-turbo-0516", "ERNIE-Bot-turbo-0704", "ERNIE-Bot-turbo-0725"),
    "Llama-2": ("Llama-2-7b", "Llama-2-13b"),
    "BLOOMZ": ("BLOOMZ-7B",),
    "ChatGLM2": ("ChatGLM2-6B",),
    "Baichuan2": ("Baichuan2-13B",),
    "SQLCoder": ("SQLCoder-7B",),
}
BASE_OF = {train: base for base, trains in TRAIN_TYPES.items() for train in trains}
TRAIN_MODES = ("SFT",)
# peftType per trainType (createJob doc): 0516 ALL only; 0725, SQLCoder-7B,
# ChatGLM2-6B and Baichuan2-13B ALL and LoRA; all others all three.
DEFAULT_PEFT_TYPES = ("ALL", "P-tuning", "LoRA")
ALL_AND_LORA = ("ALL", "LoRA")
PEFT_TYPES = {
    "ERNIE-Bot-turbo-0516": ("ALL",), "ERNIE-Bot-turbo-0725": ALL_AND_LORA,
    "SQLCoder-7B": ALL_AND_LORA, "ChatGLM2-6B": ALL_AND_LORA, "Baichuan2-13B": ALL_AND_LORA,
}
# Base runs an incremental run may start from (increConfig doc). 0922 is in
# the doc's list but not a trainType createJob accepts, so it cannot occur.
INCREMENTAL_TRAIN_TYPES = frozenset({
    "ERNIE-Bot-turbo-0704", "ERNIE-Bot-turbo-0725", "Llama-2-7b", "Llama-2-13b",
    "SQLCoder-7B", "ChatGLM2-6B", "Baichuan2-13B", "BLOOMZ-7B",
})

TRAIN_CONFIG_KEYS = frozenset({"epoch", "learningRate", "batchSize", "maxSeqLen"})
EPOCH_RANGE = (1, 50)
# learningRate per (trainType, peftType) (createJob doc); a trainType not
# named here takes the default range whatever its peftType.
TURBO_RATES = {"ALL": (0.00001, 0.00004), "LoRA": (0.00003, 0.001)}
LEARNING_RATE_RANGES = {
    "ERNIE-Bot-turbo-0704": {**TURBO_RATES, "P-tuning": (0.003, 0.1)},
    "ERNIE-Bot-turbo-0725": TURBO_RATES,
    "Baichuan2-13B": {"ALL": (1e-10, 0.0002), "LoRA": (1e-10, 0.0002)},
}
DEFAULT_LEARNING_RATE_RANGE = (0.0000002, 0.0002)
BATCH_SIZE_RANGES = {"ERNIE-Bot-turbo-0516": (16, 64)}
DEFAULT_BATCH_SIZE_RANGE = (4, 64)
NO_BATCH_SIZE = frozenset({"ERNIE-Bot-turbo-0704", "ERNIE-Bot-turbo-0725"})
MAX_SEQ_LENS = (4096, 8192)
MAX_SEQ_LEN_REQUIRED = frozenset({"ERNIE-Bot-turbo-0725"})
TRAINSET_RATE_RANGE = (0, 50)
DATASET_PLATFORM, DATASET_BOS = 1, 2
BOS_PATH = re.compile(r"bos:/[^/\s]+/\S+")

# Sandbox conventions: a platform dataset version with one of these ids
# changes how the run ends.
FAIL_DATASET_ID = 4040      # FAIL after run_seconds / 2
HANG_DATASET_ID = 4041      # RUNNING forever (progress stops below 100)

RUNNING, FINISH, STOP, FAIL = "RUNNING", "FINISH", "STOP", "FAIL"

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_TEXT = {"name": (2, 20), "description": (0, 500)}

# bce-auth-v1 (reference §2.8)
AUTH_VERSION = "bce-auth-v1"
CLOCK_SKEW_SECONDS = 5 * 60                 # how far a timestamp may be ahead
REQUIRED_SIGNED_HEADERS = ("host", "x-bce-date")
AUTH_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")

DEFAULT_ACCESS_KEY = "sandbox-ak"
DEFAULT_SECRET_KEY = "sandbox-sk"

# BOS (reference: datasets-and-files §5)
DEFAULT_BOS_BUCKET = "ftgw-staging"
BOS_OPS = frozenset({"bos-put", "bos-get", "bos-head", "bos-delete"})
MAX_OBJECT_BYTES = 256 * 1024 * 1024
HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
# Qianfan SFT dataset (JSONL of turn arrays)
MIN_SFT_EXAMPLES = 32
MAX_SFT_TURNS = 150
SFT_TURN_KEYS = frozenset({"prompt", "response", "system"})


class QianfanError(Exception):
    """A console error, answered in the body: {log_id, error_code, error_msg}."""

    def __init__(self, error_code: int, error_msg: str, http_status: int | None = None):
        super().__init__(error_msg)
        self.error_code = error_code
        self.error_msg = error_msg
        self.http_status = http_status      # None: --error-http-status


class BceError(Exception):
    """A BCE gateway/IAM error: {requestId, code, message} and a real HTTP status."""

    def __init__(self, http_status: int, code: str, message: str):
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message


def param_invalid() -> QianfanError:
    return QianfanError(500001, "param invalid")


def train_config_error() -> QianfanError:
    return QianfanError(510401, "train config error")


def dataset_config_error() -> QianfanError:
    return QianfanError(510102, "dataset config error")


TASK_NAME_EXISTS = (510201, "task name exist")
TASK_NOT_EXIST = (510202, "task not exist")
JOB_NOT_EXIST = (510301, "job not exist")
JOB_STATUS_INVALID = (510302, "job status invalid")
JOB_NOT_INCREMENTAL = (510404, "job not support incre train")

BCE_MESSAGES = {
    "AccessDenied": (403, "Access denied."),
    "InvalidAccessKeyId": (403, "Access key ID does not exist."),
    "InvalidHTTPAuthHeader": (400, "The Authorization header you provided is invalid."),
    "RequestExpired": (400, "Request has expired."),
    "SignatureDoesNotMatch": (400, "The request signature we calculated does not match the "
                                   "signature you provided. Check your Secret Access Key and "
                                   "signing method."),
    "InvalidURI": (400, "Could not parse the specified URI."),
    "InvalidHTTPRequest": (400, "There was an error in the body or the HTTP request."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
}


def bce_error(code: str) -> BceError:
    http_status, message = BCE_MESSAGES[code]
    return BceError(http_status, code, message)


# BOS answers with its own statuses (its error-code table), not the BCE ones.
BOS_MESSAGES = {
    "AccessDenied": (403, "Access denied."),
    "InvalidAccessKeyId": (403, "Access key ID does not exist."),
    "InvalidHTTPAuthHeader": (400, "The Authorization header you provided is invalid."),
    "RequestExpired": (403, "Request has expired."),
    "SignatureDoesNotMatch": (403, BCE_MESSAGES["SignatureDoesNotMatch"][1]),
    "BadDigest": (400, "The Content-MD5 or x-bce-content-sha256 you specified did not match "
                       "what we received."),
    "InvalidArgument": (400, "Invalid Argument."),
}


def new_log_id() -> str:
    return str(10**9 + secrets.randbelow(9 * 10**9))


def new_request_id() -> str:
    return str(uuid.uuid4())


def format_cst(epoch_seconds: float) -> str:
    """Vendor date format: "YYYY-MM-DD HH:MM:SS", Asia/Shanghai, no zone."""
    return datetime.fromtimestamp(epoch_seconds, CST).strftime("%Y-%m-%d %H:%M:%S")


def same_secret(given: str, expected: str) -> bool:
    # compare_digest on str refuses non-ASCII, so compare bytes.
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


# --------------------------------------------------------------------------
# bce-auth-v1 through Baidu's signer (reference §2.8)
# --------------------------------------------------------------------------

def _b(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def bce_sign(access_key: str, secret_key: str, method: str, path: str, headers: dict,
             params: dict, timestamp: int, expiration: int,
             headers_to_sign=None) -> str:
    """The Authorization value from bce_v1_signer.sign().

    path is the canonical (already URI-encoded) path; headers and params map
    names to values; headers_to_sign is a list of lower-case names or None
    (the SDK's default set). The SDK works on bytes, so everything is
    converted here and nowhere else.
    """
    result = bce_v1_signer.sign(
        BceCredentials(access_key, secret_key),
        _b(method.upper()),
        _b(path),
        {_b(k): _b(v) for k, v in headers.items()},
        {_b(k): _b(v) for k, v in params.items()},
        int(timestamp),
        int(expiration),
        [_b(name) for name in headers_to_sign] if headers_to_sign else None,
    )
    return result.decode("ascii")


def canonical_request(method: str, path: str, headers: dict, params: dict,
                      headers_to_sign) -> str:
    """The canonical request the signer hashes, from the SDK's own helpers.

    Only for the request log (a debugging aid: it holds no secret); the
    verdict itself always comes from bce_sign().
    """
    query = bce_utils.get_canonical_querystring(
        {_b(k): _b(v) for k, v in params.items()}, True)
    header_lines = bce_v1_signer._get_canonical_headers(
        {_b(k): _b(v) for k, v in headers.items()},
        [_b(name) for name in headers_to_sign] if headers_to_sign else None)
    return b"\n".join([_b(method.upper()), _b(path), _b(query), _b(header_lines)]).decode(
        "utf-8", errors="replace")


# (method, canonical path, headers, params, timestamp, expiration,
#  headers_to_sign, access key, secret key, expected Authorization), §2.8.1.
_VECTOR_AK, _VECTOR_SK = "a" * 32, "b" * 32
_BOS_HEADERS = {
    "Host": "bj.bcebos.com",
    "Date": "Mon, 27 Apr 2015 16:23:49 +0800",
    "Content-Type": "text/plain",
    "Content-Length": "8",
    "Content-Md5": "NFzcPqhviddjRNnSOGo4rw==",
    "x-bce-date": "2015-04-27T08:23:49Z",
}
_BOS_PARAMS = {"partNumber": "9", "uploadId": "a44cc9bab11cbd156984767aad637851"}
_QIANFAN_TS, _QIANFAN_DATE = 1695130630, "2023-09-19T13:37:10Z"
SIGNATURE_VECTORS = (
    # Baidu's published vector (default signed-header set).
    ("PUT", "/v1/test/myfolder/readme.txt", _BOS_HEADERS, _BOS_PARAMS, 1430123029, 1800, None,
     _VECTOR_AK, _VECTOR_SK,
     "bce-auth-v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/2015-04-27T08:23:49Z/1800//"
     "d74a04362e6a848f5b39b15421cb449427f419c95a480fd6b8cf9fc783e2999e"),
    # The same with the default set named explicitly: same signature.
    ("PUT", "/v1/test/myfolder/readme.txt", _BOS_HEADERS, _BOS_PARAMS, 1430123029, 1800,
     ["content-length", "content-md5", "content-type", "host", "x-bce-date"],
     _VECTOR_AK, _VECTOR_SK,
     "bce-auth-v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/2015-04-27T08:23:49Z/1800/"
     "content-length;content-md5;content-type;host;x-bce-date/"
     "d74a04362e6a848f5b39b15421cb449427f419c95a480fd6b8cf9fc783e2999e"),
    # The sample-code page's path without /v1 (a different signature).
    ("PUT", "/test/myfolder/readme.txt", _BOS_HEADERS, _BOS_PARAMS, 1430123029, 1800, None,
     _VECTOR_AK, _VECTOR_SK,
     "bce-auth-v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/2015-04-27T08:23:49Z/1800//"
     "1816c10fce34ba9c9825eddc05fd6058bf82e05fefeddee8da6f869486ea68c0"),
    # Qianfan-shaped vectors.
    ("POST", "/wenxinworkshop/finetune/createJob",
     {"Content-Type": "application/json", "Host": "qianfan.baidubce.com",
      "x-bce-date": _QIANFAN_DATE},
     {}, _QIANFAN_TS, 300, ["content-type", "host", "x-bce-date"], _VECTOR_AK, _VECTOR_SK,
     "bce-auth-v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/2023-09-19T13:37:10Z/300/"
     "content-type;host;x-bce-date/"
     "545c45204c3520be919cb1a5b7cf99a497c4fcfa658d22e18e2b98451f16015b"),
    ("POST", "/v2/finetuning", {"Host": "qianfan.baidubce.com", "x-bce-date": _QIANFAN_DATE},
     {"Action": "CreateFineTuningJob"}, _QIANFAN_TS, 1800, ["host", "x-bce-date"],
     _VECTOR_AK, _VECTOR_SK,
     "bce-auth-v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/2023-09-19T13:37:10Z/1800/host;x-bce-date/"
     "aa0b335a44141b2fd614c6c0a8f4af62ae8007faea43bd5f3650b3cbf73fd942"),
)


def _self_check_signer() -> None:
    # An SDK whose signer differs from Baidu's published vector would make
    # every verdict meaningless, so refuse to load rather than serve them.
    for method, path, headers, params, ts, exp, to_sign, ak, sk, expected in SIGNATURE_VECTORS:
        if bce_sign(ak, sk, method, path, headers, params, ts, exp, to_sign) != expected:
            raise RuntimeError(f"bce-auth-v1 self-check failed for {method} {path}")


_self_check_signer()


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------

@dataclasses.dataclass
class Config:
    access_key: str = DEFAULT_ACCESS_KEY
    secret_key: str = DEFAULT_SECRET_KEY
    run_seconds: float = 4.0
    error_http_status: int = 200
    verbose: bool = False
    bos_buckets: frozenset = frozenset({DEFAULT_BOS_BUCKET})


# --------------------------------------------------------------------------
# Authentication: parse bce-auth-v1, then let Baidu's signer decide
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class AuthOutcome:
    ok: bool
    reason: str
    error: BceError | None = None
    canonical_request: str | None = None


def auth_failure(code: str, reason: str, canonical: str | None = None) -> AuthOutcome:
    return AuthOutcome(False, reason, bce_error(code), canonical)


def parse_query(query: str) -> dict:
    """Query parameters, percent-decoded literally ("+" stays "+").

    A parameter without "=" has an empty value; a repeated name keeps its
    last value (bce-auth-v1 has no rule for repeats).
    """
    params = {}
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        params[unquote_to_bytes(key)] = unquote_to_bytes(value)
    return params


def parse_auth_header(value: str):
    """(access key, timestamp text, expiration, signed header names, signature)."""
    parts = value.strip().split("/")
    if len(parts) != 6 or parts[0] != AUTH_VERSION:
        raise ValueError("Authorization is not bce-auth-v1/{accessKeyId}/{timestamp}/"
                         "{expirationPeriodInSeconds}/{signedHeaders}/{signature}")
    _, access_key, timestamp, expiration, signed_headers, signature = parts
    if not access_key or not signature:
        raise ValueError("empty access key or signature in Authorization")
    if not AUTH_TIMESTAMP.fullmatch(timestamp):
        raise ValueError("timestamp in Authorization is not yyyy-mm-ddThh:mm:ssZ")
    if not (expiration.isascii() and expiration.isdigit()) or int(expiration) < 1:
        raise ValueError("expirationPeriodInSeconds in Authorization is not a positive integer")
    names = signed_headers.split(";") if signed_headers else []
    if any(not name or name != name.strip() for name in names):
        raise ValueError("signedHeaders in Authorization has an empty or padded name")
    return access_key, timestamp, int(expiration), names, signature


def timestamp_seconds(text: str) -> int:
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def check_auth(config: Config, method: str, raw_path: str, headers, now: float) -> AuthOutcome:
    """Verify a request's bce-auth-v1 signature.

    headers is the request's case-insensitive header map; raw_path the
    request target as received (path and query).
    """
    authorization = headers.get("Authorization")
    if authorization is None:
        return auth_failure("InvalidHTTPAuthHeader", "no Authorization header")
    try:
        access_key, timestamp, expiration, names, signature = parse_auth_header(authorization)
        signed_at = timestamp_seconds(timestamp)
    except ValueError as exc:
        return auth_failure("InvalidHTTPAuthHeader", str(exc))
    if not same_secret(access_key, config.access_key):
        return auth_failure("InvalidAccessKeyId", "unknown access key")
    names = [name.lower() for name in names]
    missing = [name for name in REQUIRED_SIGNED_HEADERS if name not in names]
    if missing:
        return auth_failure("InvalidHTTPAuthHeader",
                            f"signedHeaders must include {', '.join(missing)}")
    bce_date = headers.get("x-bce-date")
    if bce_date is None:
        return auth_failure("InvalidHTTPAuthHeader", "no x-bce-date header")
    if bce_date.strip() != timestamp:
        return auth_failure("InvalidHTTPAuthHeader",
                            "x-bce-date header differs from the timestamp in Authorization")
    if now < signed_at - CLOCK_SKEW_SECONDS:
        return auth_failure("RequestExpired", "timestamp is more than 5 minutes in the future")
    if now > signed_at + expiration:
        return auth_failure("RequestExpired", "signature expired (timestamp + expiration is past)")

    # Exactly the headers named in signedHeaders, values as received
    # (http.server decodes header bytes as latin-1, so this is lossless).
    signed = {}
    for name in names:
        value = headers.get(name)
        if value is not None:
            signed[name] = value.encode("latin-1", errors="replace")
    matches, canonical = signature_matches(config, access_key, method, raw_path, signed, names,
                                           signed_at, expiration, signature)
    if not matches:
        return auth_failure("SignatureDoesNotMatch", "signature does not match", canonical)
    return AuthOutcome(True, "ok", None, canonical)


def signature_matches(config: Config, access_key: str, method: str, raw_path: str,
                      headers: dict, names, signed_at: int, expiration: int,
                      signature: str) -> tuple[bool, str]:
    """(whether sign() gives signature, the canonical request) for the
    request's method and target, the headers handed to the signer (it picks
    those in names, or its default set when names is empty, and every
    x-bce-* one) and the Authorization's timestamp and expiration."""
    url = urlsplit(raw_path)
    # Canonical URI: decode what was sent, re-encode the SDK's way
    # (UriEncodeExceptSlash), so an over- or under-encoded path still works.
    path = bce_utils.normalize_string(unquote_to_bytes(url.path or "/"), False)
    params = parse_query(url.query)
    canonical = canonical_request(method, path, headers, params, names)
    expected = bce_sign(access_key, config.secret_key, method, path, headers, params,
                        signed_at, expiration, names)
    return same_secret(signature, expected.rsplit("/", 1)[1]), canonical


# --------------------------------------------------------------------------
# BOS: the same signer, BOS's rules and statuses
# --------------------------------------------------------------------------

def bos_failure(code: str, reason: str, **fields) -> StorageVerdict:
    status, message = BOS_MESSAGES[code]
    return StorageVerdict(False, status, code, message, reason, **fields)


def check_bos_request(config: Config, method: str, raw_path: str, headers, body: bytes,
                      now: float) -> StorageVerdict:
    """Verify a BOS request's bce-auth-v1 Authorization and payload digests.

    Unlike the Qianfan API, an empty signedHeaders (the SDK's default set:
    host, content-length, content-md5, content-type) is accepted, as BOS
    accepts what BosClient sends; a list given must name host. Every
    received header goes to the signer, which picks the signed ones and
    every x-bce-* header, as it does on the client side.
    """
    authorization = headers.get("Authorization")
    if authorization is None:
        return bos_failure("AccessDenied", "no Authorization header")
    try:
        access_key, timestamp, expiration, names, signature = parse_auth_header(authorization)
        signed_at = timestamp_seconds(timestamp)
    except ValueError as exc:
        return bos_failure("InvalidHTTPAuthHeader", str(exc))
    names = [name.lower() for name in names]
    fields = {"signed_headers": names or ["(default set)"]}
    if not same_secret(access_key, config.access_key):
        return bos_failure("InvalidAccessKeyId", "unknown access key", **fields)
    if names and "host" not in names:
        return bos_failure("InvalidHTTPAuthHeader", "signedHeaders must include host", **fields)
    if headers.get("Host") is None:
        return bos_failure("InvalidHTTPAuthHeader", "no Host header", **fields)
    bce_date = headers.get("x-bce-date")
    if bce_date is not None and bce_date.strip() != timestamp:
        return bos_failure("InvalidHTTPAuthHeader",
                           "x-bce-date header differs from the timestamp in Authorization",
                           **fields)
    if now < signed_at - CLOCK_SKEW_SECONDS:
        return bos_failure("RequestExpired", "timestamp is more than 5 minutes in the future",
                           **fields)
    if now > signed_at + expiration:
        return bos_failure("RequestExpired", "signature expired (timestamp + expiration is "
                           "past)", **fields)
    received = {}
    for name, value in headers.items():
        key = name.lower()
        value = value.encode("latin-1", errors="replace")
        received[key] = received[key] + b"," + value if key in received else value
    matches, canonical = signature_matches(config, access_key, method, raw_path, received,
                                           names, signed_at, expiration, signature)
    fields["canonical_request"] = canonical
    payload_hash = headers.get("x-bce-content-sha256")
    fields["payload_hash"] = payload_hash
    if not matches:
        return bos_failure("SignatureDoesNotMatch", "signature does not match", **fields)
    fields["signature_ok"] = True
    if payload_hash is not None:
        payload_hash = payload_hash.strip().lower()
        if not HEX_SHA256.fullmatch(payload_hash):
            return bos_failure("InvalidArgument", "x-bce-content-sha256 is not a SHA-256 hex "
                               "digest", **fields)
        if payload_hash != hashlib.sha256(body).hexdigest():
            return bos_failure("BadDigest", "body differs from x-bce-content-sha256", **fields)
    content_md5 = headers.get("Content-MD5")
    if content_md5 is not None:
        try:
            digest = base64.b64decode(content_md5.strip(), validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != 16:
            return bos_failure("InvalidArgument", "Content-MD5 is not a base64 MD5", **fields)
        if not hmac.compare_digest(digest, hashlib.md5(body).digest()):
            return bos_failure("BadDigest", "body differs from Content-MD5", **fields)
    return StorageVerdict(True, reason="ok", **fields)


# --------------------------------------------------------------------------
# Qianfan SFT dataset check (JSONL, one example a line)
# --------------------------------------------------------------------------

def _turn_problem(turn, index: int) -> str | None:
    if not isinstance(turn, dict):
        return "is not an object"
    extra = sorted(set(turn) - SFT_TURN_KEYS)
    if extra:
        return f"has an unexpected key {extra[0]!r}"
    if "system" in turn:
        if index > 0:
            return 'has "system", which only the first turn may have'
        if not isinstance(turn["system"], str):
            return '"system" is not a string'
    prompt = turn.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return '"prompt" is not a non-empty string'
    response = turn.get("response")
    if not (isinstance(response, list) and len(response) == 1
            and isinstance(response[0], list) and len(response[0]) == 1
            and isinstance(response[0][0], str) and response[0][0].strip()):
        return '"response" is not [["<non-empty string>"]]'
    return None


def check_sft_dataset(data: bytes) -> dict:
    """{"ok", "rows", "error"} of a Qianfan SFT dataset.

    UTF-8 JSONL; every non-blank line a JSON array of 1 to 150 turns; a turn
    is {"prompt": non-empty string, "response": [[non-empty string]]} plus,
    on the first turn only, an optional "system" string, and no other key;
    at least 32 examples (lines). "rows" counts the examples read (up to the
    first problem).
    """
    rows = 0

    def result(error: str | None) -> dict:
        return {"ok": error is None, "rows": rows, "error": error}

    def reject_constant(_):
        raise ValueError("NaN/Infinity are not JSON")

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return result(f"not UTF-8 (byte {exc.start})")
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        rows += 1
        try:
            example = json.loads(line, parse_constant=reject_constant)
        except ValueError:
            return result(f"line {number}: not JSON")
        if not isinstance(example, list):
            return result(f"line {number}: not a JSON array of turns")
        if not 1 <= len(example) <= MAX_SFT_TURNS:
            return result(f"line {number}: {len(example)} turns, not 1 to {MAX_SFT_TURNS}")
        for index, turn in enumerate(example):
            problem = _turn_problem(turn, index)
            if problem:
                return result(f"line {number}: turn {index + 1} {problem}")
    if rows < MIN_SFT_EXAMPLES:
        return result(f"{rows} examples, at least {MIN_SFT_EXAMPLES} are required")
    return result(None)


# --------------------------------------------------------------------------
# Request validation (reference §2.2-2.5 and the createJob table)
# --------------------------------------------------------------------------

def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def parse_json_object(raw: bytes) -> dict:
    def reject_constant(_):
        raise ValueError("NaN/Infinity are not JSON")
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise param_invalid() from None
    if not isinstance(body, dict):
        raise param_invalid()
    return body


def _text(body: dict, field: str, *, required: bool) -> str:
    """A length-bounded string field; null counts as absent."""
    value = body.get(field)
    if value is None:
        if required:
            raise param_invalid()
        return ""
    low, high = MAX_TEXT[field]
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise param_invalid()
    return value


def _id(body: dict, field: str) -> int:
    value = body.get(field)
    if not _is_int(value):
        raise param_invalid()
    return value


def parse_create_task(body: dict) -> tuple[str, str]:
    # The official SDK also sends baseTrainType and trainType here; the doc
    # does not list them, so they are accepted and ignored.
    return _text(body, "name", required=True), _text(body, "description", required=False)


def parse_job_ref(body: dict) -> tuple[int, int]:
    return _id(body, "taskId"), _id(body, "jobId")


def _choice(body: dict, field: str, choices) -> str:
    value = body.get(field)
    if not isinstance(value, str) or value not in choices:
        raise param_invalid()
    return value


def peft_types(train_type: str) -> tuple:
    return PEFT_TYPES.get(train_type, DEFAULT_PEFT_TYPES)


def learning_rate_range(train_type: str, peft_type: str) -> tuple:
    return LEARNING_RATE_RANGES.get(train_type, {}).get(peft_type, DEFAULT_LEARNING_RATE_RANGE)


def parse_train_config(config, train_type: str, peft_type: str) -> dict:
    """trainConfig checked against the rules of train_type and peft_type;
    510401 if wrong.

    A key with a JSON null value counts as absent.
    """
    if not isinstance(config, dict) or set(config) - TRAIN_CONFIG_KEYS:
        raise train_config_error()
    config = {key: value for key, value in config.items() if value is not None}
    epoch = config.get("epoch")
    if not _is_int(epoch) or not EPOCH_RANGE[0] <= epoch <= EPOCH_RANGE[1]:
        raise train_config_error()
    rate = config.get("learningRate")
    low, high = learning_rate_range(train_type, peft_type)
    if not _is_number(rate) or not low <= rate <= high:
        raise train_config_error()
    if "batchSize" in config:
        batch = config["batchSize"]
        low, high = BATCH_SIZE_RANGES.get(train_type, DEFAULT_BATCH_SIZE_RANGE)
        if train_type in NO_BATCH_SIZE or not _is_int(batch) or not low <= batch <= high:
            raise train_config_error()
    if "maxSeqLen" in config:
        if not _is_int(config["maxSeqLen"]) or config["maxSeqLen"] not in MAX_SEQ_LENS:
            raise train_config_error()
    elif train_type in MAX_SEQ_LEN_REQUIRED:
        raise train_config_error()
    return config


def parse_trainset(trainset) -> list:
    """trainset entries: {"type":1,"id":int} or {"type":2,"bosPath":"bos:/b/p"}."""
    if not isinstance(trainset, list) or not trainset:
        raise dataset_config_error()
    for entry in trainset:
        if not isinstance(entry, dict):
            raise dataset_config_error()
        kind = entry.get("type")
        if _is_int(kind) and kind == DATASET_PLATFORM:
            valid = set(entry) == {"type", "id"} and _is_int(entry["id"]) and entry["id"] > 0
        elif _is_int(kind) and kind == DATASET_BOS:
            path = entry.get("bosPath")
            valid = (set(entry) == {"type", "bosPath"} and isinstance(path, str)
                     and BOS_PATH.fullmatch(path) is not None)
        else:
            valid = False
        if not valid:
            raise dataset_config_error()
    return trainset


def parse_trainset_rate(value):
    if value is None:
        return None
    if not _is_number(value) or not TRAINSET_RATE_RANGE[0] <= value <= TRAINSET_RATE_RANGE[1]:
        raise dataset_config_error()
    return value


def planned_outcome(trainset: list) -> str:
    ids = {entry.get("id") for entry in trainset if entry.get("type") == DATASET_PLATFORM}
    if FAIL_DATASET_ID in ids:
        return "fail"
    if HANG_DATASET_ID in ids:
        return "hang"
    return "finish"


# --------------------------------------------------------------------------
# Tasks, jobs and the job lifecycle (computed from wall-clock time)
# --------------------------------------------------------------------------

@dataclasses.dataclass
class Task:
    id: int
    name: str
    description: str
    created_at: float
    runs: int = 0                   # jobs created in it (version counter)

    def view(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "createTime": format_cst(self.created_at),
        }


@dataclasses.dataclass(frozen=True)
class RunState:
    status: str
    progress: float
    elapsed: float                  # seconds the run has run
    finished_at: float | None       # epoch seconds of FINISH/FAIL, else None


@dataclasses.dataclass
class Job:
    id: int
    task_id: int
    version: int
    description: str
    run_type: int
    incre_config: dict | None
    base_train_type: str
    train_type: str
    train_mode: str
    peft_type: str
    train_config: dict
    trainset: list
    trainset_rate: float | None
    created_at: float
    outcome: str                    # finish | fail | hang
    frozen: RunState | None = None  # set by stopJob or by the control API
    forced: bool = False
    dataset_objects: list = dataclasses.field(default_factory=list)  # stored, read
    dataset_error: str | None = None    # why a stored dataset fails the run

    def state(self, config: Config, now: float) -> RunState:
        if self.frozen is not None:
            return self.frozen
        return natural_state(self.outcome, self.created_at, config.run_seconds, now)

    def detail(self, task_name: str, config: Config, now: float) -> dict:
        state = self.state(config, now)
        return {
            "id": self.id,
            "description": self.description,
            "taskId": self.task_id,
            "taskName": task_name,
            "version": self.version,
            "jobRunType": self.run_type,
            "increConfig": dict(self.incre_config) if self.incre_config else None,
            "trainType": self.train_type,
            "trainMode": self.train_mode,
            "peftType": self.peft_type,
            "trainStatus": state.status,
            "progress": state.progress,
            "runTime": int(state.elapsed),
            "trainTime": int(state.elapsed),
            "startTime": format_cst(self.created_at),
            "finishTime": format_cst(state.finished_at) if state.finished_at else ZERO_TIME,
            "vdlLink": ("https://console.bce.baidu.com/qianfan/visualdl/index"
                        f"?taskId={self.task_id}&jobId={self.id}"),
        }


def _progress(elapsed: float, run_seconds: float) -> float:
    """Percent done while RUNNING; stays below 100 until the run finishes."""
    if run_seconds <= 0:
        return 0.0
    return min(99.99, round(100.0 * elapsed / run_seconds, 2))


def natural_state(outcome: str, created_at: float, run_seconds: float, now: float) -> RunState:
    elapsed = max(0.0, now - created_at)
    if outcome == "fail":
        fail_after = run_seconds / 2
        if elapsed >= fail_after:
            return RunState(FAIL, _progress(fail_after, run_seconds), fail_after,
                            created_at + fail_after)
    elif outcome == "finish" and elapsed >= run_seconds:
        return RunState(FINISH, 100.0, run_seconds, created_at + run_seconds)
    return RunState(RUNNING, _progress(elapsed, run_seconds), elapsed, None)


def forced_state(current: RunState, changes: dict, now: float) -> RunState:
    status = changes.get("trainStatus", current.status)
    if "progress" in changes:
        progress = float(changes["progress"])
    elif status == FINISH:
        progress = 100.0
    else:
        progress = current.progress
    finished_at = None
    if status in (FINISH, FAIL):
        finished_at = current.finished_at or now
    return RunState(status, progress, current.elapsed, finished_at)


def validate_force_body(body: dict) -> None:
    unknown = set(body) - {"trainStatus", "progress"}
    if unknown:
        raise ValueError(f"unknown keys: {sorted(unknown)}")
    if "trainStatus" in body and not isinstance(body["trainStatus"], str):
        raise ValueError("trainStatus must be a string")
    if "progress" in body and (not _is_number(body["progress"])
                               or not 0 <= body["progress"] <= 100):
        raise ValueError("progress must be a number in [0, 100]")


# --------------------------------------------------------------------------
# Fault injection
# --------------------------------------------------------------------------

FAULT_OPS = frozenset({*VENDOR_OPS, "any", *BOS_OPS})
MAX_HUGE_BYTES = 256 * 1024 * 1024


def _fault_int(spec: dict, key: str, default, low: int, high: int):
    value = spec.get(key, default)
    if value is None and default is None:
        return None
    if not _is_int(value) or not low <= value <= high:
        raise ValueError(f"{key} must be an integer in [{low}, {high}]")
    return value


def _fault_str(spec: dict, key: str, default: str) -> str:
    value = spec.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


def _fault_headers(spec: dict) -> dict:
    headers = spec.get("headers", {})
    if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise ValueError("headers must be an object of strings")
    return headers


def _error_fault(spec: dict) -> dict:
    error_code = spec.get("error_code", 500000)
    if not _is_int(error_code):
        raise ValueError("error_code must be an integer")
    return {
        "http": _fault_int(spec, "http", None, 100, 599),   # None: --error-http-status
        "error_code": error_code,
        "error_msg": _fault_str(spec, "error_msg", "console internal error"),
        "headers": _fault_headers(spec),
    }


def _bce_error_fault(spec: dict) -> dict:
    return {
        "http": _fault_int(spec, "http", 500, 100, 599),
        "code": _fault_str(spec, "code", "InternalError"),
        "message": _fault_str(spec, "message", BCE_MESSAGES["InternalError"][1]),
        "headers": _fault_headers(spec),
    }


def _slow_fault(spec: dict) -> dict:
    delay = spec.get("delay", 1.0)
    if not _is_number(delay) or not 0 <= delay <= 3600:
        raise ValueError("delay must be a number of seconds in [0, 3600]")
    return {"delay": float(delay)}


def _huge_fault(spec: dict) -> dict:
    return {"bytes": _fault_int(spec, "bytes", 2 * 1024 * 1024, 0, MAX_HUGE_BYTES)}


def _status_fault(spec: dict) -> dict:
    return {
        "http": _fault_int(spec, "http", 503, 100, 599),
        "body": _fault_str(spec, "body", ""),
        "content_type": _fault_str(spec, "content_type", "text/plain"),
        "headers": _fault_headers(spec),
    }


# fault kind -> parser of its own parameters
FAULT_PARAMETERS = {
    "error": _error_fault,
    "bce_error": _bce_error_fault,
    "slow": _slow_fault,
    "reset": lambda spec: {},
    "drop": lambda spec: {},
    "garbage": lambda spec: {},
    "huge": _huge_fault,
    "status": _status_fault,
    "truncated": lambda spec: {},
    "stall-body": parse_stall_body_fault,
    "trickle": lambda spec: parse_pace_fault(spec, False),
    "stall-answer": lambda spec: parse_pace_fault(spec, True),
}


def parse_fault(spec) -> dict:
    if not isinstance(spec, dict):
        raise ValueError("fault must be a JSON object")
    op = spec.get("op", "any")
    if op not in FAULT_OPS:
        raise ValueError(f"op must be one of {sorted(FAULT_OPS)}")
    kind = spec.get("fault")
    if kind not in FAULT_PARAMETERS:
        raise ValueError(f"fault must be one of {sorted(FAULT_PARAMETERS)}")
    check_storage_fault(op, kind, BOS_OPS, extra_kinds=("bce_error",))
    count = _fault_int(spec, "count", 1, 1, 1_000_000)
    return {"op": op, "fault": kind, "count": count, **FAULT_PARAMETERS[kind](spec)}


def huge_body(size: int) -> bytes:
    """A success-shaped JSON body padded with a long string to exactly size bytes."""
    prefix = b'{"log_id":"1000000000","result":true,"padding":"'
    suffix = b'"}'
    padding = max(0, size - len(prefix) - len(suffix))
    return prefix + b"x" * padding + suffix


# --------------------------------------------------------------------------
# Shared state and the four operations
# --------------------------------------------------------------------------

class Store(FaultQueueMixin, RequestLogMixin, ObjectStoreMixin):
    """Tasks, jobs, BOS objects, queued faults and the request log, behind
    one lock; the API and the BOS listener share it.

    Ids keep counting up across /_sandbox/reset, so an id that a client
    kept from before a reset never names a new object.
    """

    storage_ops = BOS_OPS

    def __init__(self):
        self.lock = threading.Lock()
        self.next_task_id = FIRST_TASK_ID
        self.next_job_id = FIRST_JOB_ID
        self.tasks: dict[int, Task] = {}
        self.jobs: dict[int, Job] = {}
        self.objects: dict = {}
        self.faults: collections.deque = collections.deque()
        self.requests: list[dict] = []

    def reset(self) -> None:
        with self.lock:
            self.tasks.clear()
            self.jobs.clear()
            self.objects.clear()
            self.faults.clear()
            self.requests.clear()

    def stored_trainset(self, trainset) -> list[tuple[str, dict]]:
        """(bos:/<bucket>/<key>, dataset check) of every stored object that
        a BOS entry of trainset names: the object at bosPath, or else every
        object under it (a dataset named by its folder)."""
        found = []
        for entry in trainset if isinstance(trainset, list) else ():
            if not isinstance(entry, dict) or entry.get("type") != DATASET_BOS:
                continue
            path = entry.get("bosPath")
            if not isinstance(path, str) or BOS_PATH.fullmatch(path) is None:
                continue
            bucket, _, key = path[len("bos:/"):].partition("/")
            found += [(f"bos:/{bucket}/{name}", stored.check)
                      for name, stored in self.objects_named(bucket, key)]
        return found

    # -- vendor operations (each runs whole under the lock) ---------------

    def create_task(self, body: dict, now: float) -> dict:
        name, description = parse_create_task(body)
        with self.lock:
            if any(task.name == name for task in self.tasks.values()):
                raise QianfanError(*TASK_NAME_EXISTS)
            task = Task(self.next_task_id, name, description, now)
            self.next_task_id += 1
            self.tasks[task.id] = task
            return task.view()

    def create_job(self, body: dict, config: Config, now: float) -> dict:
        stored = self.stored_trainset(body.get("trainset"))    # before the lock
        failures = [f"dataset {name} is invalid: {check['error']}"
                    for name, check in stored if not check["ok"]]
        task_id = _id(body, "taskId")
        description = _text(body, "description", required=False)
        run_type = body.get("jobRunType")
        if not _is_int(run_type) or run_type not in (0, 1):
            raise param_invalid()
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None:
                raise QianfanError(*TASK_NOT_EXIST)
            if run_type == 0:
                base_train_type = _choice(body, "baseTrainType", TRAIN_TYPES)
                train_type = _choice(body, "trainType", TRAIN_TYPES[base_train_type])
                train_mode = _choice(body, "trainMode", TRAIN_MODES)
                peft_type = _choice(body, "peftType", peft_types(train_type))
                incre_config = None
            else:
                base_job, incre_config = self._incremental_base(body.get("increConfig"),
                                                                config, now)
                base_train_type, train_type = base_job.base_train_type, base_job.train_type
                train_mode, peft_type = self._incremental_choices(body, base_job)
            train_config = parse_train_config(body.get("trainConfig"), train_type, peft_type)
            trainset = parse_trainset(body.get("trainset"))
            trainset_rate = parse_trainset_rate(body.get("trainsetRate"))
            task.runs += 1
            job = Job(
                id=self.next_job_id, task_id=task.id, version=task.runs,
                description=description, run_type=run_type, incre_config=incre_config,
                base_train_type=base_train_type, train_type=train_type,
                train_mode=train_mode, peft_type=peft_type, train_config=train_config,
                trainset=trainset, trainset_rate=trainset_rate, created_at=now,
                outcome="fail" if failures else planned_outcome(trainset),
                dataset_objects=[name for name, _ in stored],
                dataset_error=failures[0] if failures else None,
            )
            self.next_job_id += 1
            self.jobs[job.id] = job
            return {"id": job.id}

    def _incremental_base(self, incre, config: Config, now: float) -> tuple[Job, dict]:
        if not isinstance(incre, dict):
            raise param_invalid()
        base_task_id, base_job_id = parse_job_ref(incre)
        base = self.jobs.get(base_job_id)
        if (base is None or base.task_id != base_task_id
                or base.state(config, now).status != FINISH
                or base.peft_type != "ALL"
                or base.train_type not in INCREMENTAL_TRAIN_TYPES):
            raise QianfanError(*JOB_NOT_INCREMENTAL)
        return base, {"taskId": base_task_id, "jobId": base_job_id}

    @staticmethod
    def _incremental_choices(body: dict, base: Job) -> tuple[str, str]:
        """trainMode and peftType of an incremental run (both optional).

        baseTrainType/trainType come from the base run; if sent they must
        name it.
        """
        for field, expected in (("baseTrainType", base.base_train_type),
                                ("trainType", base.train_type)):
            if body.get(field) is not None and body[field] != expected:
                raise param_invalid()
        train_mode = "SFT"
        if body.get("trainMode") is not None:
            train_mode = _choice(body, "trainMode", TRAIN_MODES)
        peft_type = base.peft_type
        if body.get("peftType") is not None:
            peft_type = _choice(body, "peftType", peft_types(base.train_type))
        return train_mode, peft_type

    def _job_of(self, body: dict) -> Job:
        task_id, job_id = parse_job_ref(body)
        job = self.jobs.get(job_id)
        if job is None or job.task_id != task_id:
            raise QianfanError(*JOB_NOT_EXIST)
        return job

    def job_detail(self, body: dict, config: Config, now: float) -> dict:
        with self.lock:
            job = self._job_of(body)
            return job.detail(self.tasks[job.task_id].name, config, now)

    def stop_job(self, body: dict, config: Config, now: float) -> bool:
        with self.lock:
            job = self._job_of(body)
            state = job.state(config, now)
            if state.status != RUNNING:
                raise QianfanError(*JOB_STATUS_INVALID)
            job.frozen = RunState(STOP, state.progress, state.elapsed, None)
            return True

    # -- control operations -----------------------------------------------

    def control_job(self, job_id: int, config: Config) -> dict | None:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                return None
            return {
                "job": job.detail(self.tasks[job.task_id].name, config, time.time()),
                "forced": job.forced,
                "baseTrainType": job.base_train_type,
                "trainConfig": job.train_config,
                "trainset": job.trainset,
                "trainsetRate": job.trainset_rate,
                "dataset_stored": bool(job.dataset_objects),
                "dataset_objects": job.dataset_objects,
                "dataset_error": job.dataset_error,
            }

    def force(self, job_id: int, changes: dict, config: Config) -> dict | None:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                return None
            now = time.time()
            job.frozen = forced_state(job.state(config, now), changes, now)
            job.forced = True
            return job.detail(self.tasks[job.task_id].name, config, now)


def resolve_vendor_route(method: str, path: str) -> str:
    """The operation; "bad-method" for a known path with another method than
    POST, "unknown" for any other path."""
    if path.startswith(API_PREFIX) and path[len(API_PREFIX):] in VENDOR_OPS:
        return path[len(API_PREFIX):] if method == "POST" else "bad-method"
    return "unknown"


# --------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------

class BodyError(Exception):
    def __init__(self, error: BceError):
        super().__init__(error.message)
        self.error = error


class SandboxServer(ResettableHTTPServer):
    def __init__(self, address, config: Config):
        super().__init__(address, SandboxHandler)
        self.config = config
        self.store = Store()


class SandboxHandler(ObjectControlMixin, ControlApiMixin, SandboxHandlerBase):
    control_resource = "jobs/"
    server_version = "qianfan-sandbox/1.0"
    log_name = "qianfan-sandbox"

    server: SandboxServer

    # -- plumbing ---------------------------------------------------------

    def verbose(self) -> bool:
        return self.server.config.verbose

    @staticmethod
    def _check_dataset(data: bytes) -> dict:
        return check_sft_dataset(data)

    def _send_bce_error(self, error: BceError, headers: dict | None = None):
        request_id = new_request_id()
        self._send_json(error.http_status,
                        {"requestId": request_id, "code": error.code, "message": error.message},
                        {"X-Bce-Request-Id": request_id, **(headers or {})})

    def _send_qianfan_error(self, error: QianfanError, headers: dict | None = None):
        status = error.http_status or self.server.config.error_http_status
        self._send_json(status, {"log_id": new_log_id(), "error_code": error.error_code,
                                 "error_msg": error.error_msg},
                        {"X-Bce-Request-Id": new_request_id(), **(headers or {})})

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not (length.isascii() and length.strip().isdigit()):
            raise BodyError(bce_error("InvalidHTTPRequest"))
        if int(length) > MAX_BODY_BYTES:
            raise BodyError(bce_error("InvalidHTTPRequest"))
        return self.rfile.read(int(length))

    def _read_chunked(self) -> bytes:
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise BodyError(bce_error("InvalidHTTPRequest")) from None
            total += size
            if total > MAX_BODY_BYTES:
                raise BodyError(bce_error("InvalidHTTPRequest"))
            if size == 0:
                break
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)
        while self.rfile.readline(8192).strip():  # trailers
            pass
        return b"".join(chunks)

    def _dispatch(self):
        try:
            body = self._read_body()
        except BodyError as exc:
            self.close_connection = True    # the body's framing is unknown
            self._send_bce_error(exc.error)
            return
        url = urlsplit(self.path)
        if url.path.startswith(CONTROL_PREFIX):
            self._handle_control(url.path[len(CONTROL_PREFIX):], body)
        else:
            self._handle_vendor(url, body)

    # -- vendor API -------------------------------------------------------

    def _handle_vendor(self, url, body: bytes):
        config, store = self.server.config, self.server.store
        op = resolve_vendor_route(self.command, url.path)
        auth = check_auth(config, self.command, self.path, self.headers, time.time())
        if not auth.ok and config.verbose:
            sys.stderr.write(f"qianfan-sandbox: auth {auth.error.code}: {auth.reason}\n")
        store.log_request(self._log_entry(url, body, auth))
        fault = store.take_fault(op)
        if fault is not None and self._apply_fault(fault):
            return
        if not auth.ok:
            self._send_bce_error(auth.error)
            return
        try:
            result = self._vendor_operation(op, body)
        except QianfanError as error:
            self._send_qianfan_error(error)
        except BceError as error:
            self._send_bce_error(error)
        except Exception:   # keep the connection protocol-correct on bugs
            self._send_bce_error(bce_error("InternalError"))
            raise
        else:
            self._send_json(200, {"log_id": new_log_id(), "result": result},
                            {"X-Bce-Request-Id": new_request_id()})

    def _log_entry(self, url, body: bytes, auth: AuthOutcome) -> dict:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return {
            "method": self.command,
            "path": url.path,
            "query": url.query,
            "headers": headers,
            "body": body.decode("utf-8", errors="replace"),
            "auth_ok": auth.ok,
            "auth_code": None if auth.ok else auth.error.code,
            "auth_reason": auth.reason,
            "canonical_request": auth.canonical_request,
        }

    def _vendor_operation(self, op: str, raw: bytes):
        if op == "unknown":
            raise bce_error("InvalidURI")
        if op == "bad-method":
            raise bce_error("InvalidHTTPRequest")
        content_type = self.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise param_invalid()
        body = parse_json_object(raw)
        store, config, now = self.server.store, self.server.config, time.time()
        if op == "createTask":
            return store.create_task(body, now)
        if op == "createJob":
            return store.create_job(body, config, now)
        if op == "jobDetail":
            return store.job_detail(body, config, now)
        return store.stop_job(body, config, now)

    # -- faults -----------------------------------------------------------

    def _apply_fault(self, fault: dict) -> bool:
        """Carry out a fault; True when it took the place of the answer."""
        kind = fault["fault"]
        if kind == "slow":
            time.sleep(fault["delay"])
            return False
        if kind in ("trickle", "stall-answer"):
            # the real answer, paced (sandbox_http.SandboxHandlerBase._send)
            self.pace = (fault["bytes"], fault["delay"],
                         kind == "stall-answer")
            return False
        if kind == "error":
            self._send_qianfan_error(
                QianfanError(fault["error_code"], fault["error_msg"], fault["http"]),
                fault["headers"])
        elif kind == "bce_error":
            self._send_bce_error(BceError(fault["http"], fault["code"], fault["message"]),
                                 fault["headers"])
        elif kind == "status":
            self._send(fault["http"], fault["body"].encode("utf-8"),
                       fault["content_type"], fault["headers"])
        elif kind == "garbage":
            self._send(200, b"<html>oops</html>", "text/html")
        elif kind == "huge":
            self._send(200, huge_body(fault["bytes"]), "application/json")
        elif kind == "reset":
            self.close_connection = True
            self.server.abort_connection(self.connection)
        elif kind == "drop":
            self.close_connection = True    # normal close (FIN), no answer
        elif kind == "truncated":
            self._send_truncated(b'{"log_id": 1, "result": {')
        return True

    # -- control API ------------------------------------------------------

    def _control_store(self):
        return self.server.store

    @staticmethod
    def _parse_fault(spec) -> dict:
        return parse_fault(spec)

    def _control_item(self, method: str, job_text: str, body: bytes) -> tuple[int, object]:
        store, config = self.server.store, self.server.config
        if not (job_text.isascii() and job_text.isdigit()):
            return 404, {"ok": False, "error": f"no job {job_text}"}
        job_id = int(job_text)
        if method == "GET":
            info = store.control_job(job_id, config)
        elif method == "POST":
            changes = self._control_json(body)
            validate_force_body(changes)
            view = store.force(job_id, changes, config)
            info = None if view is None else {"ok": True, "job": view}
        else:
            return 404, {"ok": False,
                         "error": f"no control endpoint {method} /_sandbox/jobs/{{id}}"}
        if info is None:
            return 404, {"ok": False, "error": f"no job {job_id}"}
        return 200, info


# --------------------------------------------------------------------------
# BOS listener (path-style)
# --------------------------------------------------------------------------

class BosServer(ResettableHTTPServer):
    def __init__(self, address, config: Config, store: Store):
        super().__init__(address, BosHandler)
        self.config = config
        self.store = store          # the API's: one fault queue, one log


class BosHandler(StorageHandlerMixin, SandboxHandlerBase):
    server_version = "BceBos"
    log_name = "qianfan-bos"
    op_prefix = "bos-"
    max_object_bytes = MAX_OBJECT_BYTES

    server: BosServer

    def verbose(self) -> bool:
        return self.server.config.verbose

    def _buckets(self):
        return self.server.config.bos_buckets

    def _verify(self, body: bytes) -> StorageVerdict:
        verdict = check_bos_request(self.server.config, self.command, self.path, self.headers,
                                    body, time.time())
        if not verdict.ok and self.server.config.verbose:
            sys.stderr.write(f"qianfan-bos: auth {verdict.code}: {verdict.reason}\n")
        return verdict

    @staticmethod
    def _check_dataset(data: bytes) -> dict:
        return check_sft_dataset(data)

    def _storage_error_payload(self, status: int, code: str, message: str, resource: str):
        request_id = new_request_id()
        body = json.dumps({"code": code, "message": message, "requestId": request_id})
        return body.encode("utf-8"), "application/json", {"x-bce-request-id": request_id}

    def _apply_vendor_storage_fault(self, fault: dict) -> bool:
        if fault["fault"] != "bce_error":
            return super()._apply_vendor_storage_fault(fault)
        body, content_type, headers = self._storage_error_payload(
            fault["http"], fault["code"], fault["message"], "")
        self._send(fault["http"], body, content_type, {**headers, **fault["headers"]})
        return True


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def _read_secret_file(path: str) -> str:
    """First non-blank, non-comment line of a file; keeps keys off argv."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#"):
                return line
    raise SystemExit(f"qianfan-sandbox: no key in {path}")


def _pick(value: str | None, file_path: str | None, default: str) -> str:
    if value is not None:
        return value
    if file_path is not None:
        return _read_secret_file(file_path)
    return default


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Baidu Qianfan fine-tune API v1 emulator (offline sandbox).")
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    add("--port", type=int, default=18083,
        help="port to listen on; 0 picks a free one (default 18083)")
    add("--access-key", help=f"BCE access key id (default {DEFAULT_ACCESS_KEY})")
    add("--access-key-file", metavar="PATH", help="file holding the BCE access key id")
    add("--secret-key", help=f"BCE secret access key (default {DEFAULT_SECRET_KEY})")
    add("--secret-key-file", metavar="PATH", help="file holding the BCE secret access key")
    add("--run-seconds", type=float, default=4.0,
        help="seconds a job stays RUNNING before FINISH (default 4.0)")
    add("--error-http-status", type=int, default=200,
        help="HTTP status sent with console (body) errors (default 200, as Baidu)")
    add("--bos-port", type=int, default=0,
        help="port of the BOS listener; 0 picks a free one (default 0)")
    add("--bos-bucket", action="append", default=[], metavar="NAME",
        help=f"a bucket BOS has (repeatable; default {DEFAULT_BOS_BUCKET})")
    add("--verbose", action="store_true",
        help="log request lines, statuses and auth verdicts to stderr")
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    if args.run_seconds < 0 or not math.isfinite(args.run_seconds):
        raise SystemExit("qianfan-sandbox: --run-seconds must be >= 0")
    if not 100 <= args.error_http_status <= 599:
        raise SystemExit("qianfan-sandbox: --error-http-status must be in [100, 599]")
    return Config(
        access_key=_pick(args.access_key, args.access_key_file, DEFAULT_ACCESS_KEY),
        secret_key=_pick(args.secret_key, args.secret_key_file, DEFAULT_SECRET_KEY),
        run_seconds=args.run_seconds,
        error_http_status=args.error_http_status,
        verbose=args.verbose,
        bos_buckets=frozenset(args.bos_bucket or [DEFAULT_BOS_BUCKET]),
    )


def install_stop_handlers(server: SandboxServer) -> None:
    def stop(signum, frame):
        # shutdown() waits for serve_forever(), which runs in this very
        # (main) thread, so it must be called from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    server = SandboxServer((args.host, args.port), config)
    bos = BosServer((args.host, args.bos_port), config, server.store)
    install_stop_handlers(server)
    host, port = server.server_address[:2]
    print(f"qianfan-sandbox listening on {host}:{port}", flush=True)
    bos_host, bos_port = bos.server_address[:2]
    print(f"bos listening on {bos_host}:{bos_port}", flush=True)
    threading.Thread(target=bos.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        bos.shutdown()
        bos.server_close()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
