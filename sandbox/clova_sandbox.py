#!/usr/bin/env python3
"""NAVER CLOVA Studio tuning API v2 emulator ("CLOVA sandbox").

Written from the vendor documentation summarised in
shared/reference/vendor-apis.md section 1. It serves the four tuning
endpoints under /tuning/v2/tasks, checks both documented auth schemes on its
own (Bearer API key and the legacy API Gateway signature v2), moves tasks
through WAIT -> RUNNING -> SUCCEEDED (or FAILED on request) from wall-clock
time, and exposes a small control API under /_sandbox/ for fault injection
and inspection.

A second listener in the same process is NAVER Object Storage (S3
compatible, path-style /<bucket>/<key>, region kr-standard): the place the
gateway stages datasets. Its SigV4 signatures are verified with botocore's
own signer (the oracle; nothing here re-implements SigV4), and every object
PUT is checked against the CLOVA instruction dataset rules; a task created
on a stored object fails the way CLOVA fails it when the object breaks them.
Standard library plus botocore.

Run `python3 sandbox/clova_sandbox.py --help`; see docs/sandbox.md.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import collections
import copy
import csv
import dataclasses
import hashlib
import hmac
import io
import json
import logging
import math
import re
import secrets
import signal
import socket
import string
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.sax.saxutils import escape as xml_escape

from sandbox_http import (ControlApiMixin, FaultQueueMixin, ObjectControlMixin,
                          ObjectStoreMixin, RequestLogMixin, ResettableHTTPServer,
                          SandboxHandlerBase, StorageHandlerMixin, StorageVerdict,
                          check_storage_fault, parse_pace_fault,
                          parse_stall_body_fault)

try:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("clova-sandbox: needs botocore (pip install -r requirements.txt)")

# botocore logs canonical requests and signatures at DEBUG level; keep quiet.
logging.getLogger("botocore").setLevel(logging.WARNING)

# --------------------------------------------------------------------------
# Vendor constants (reference §1)
# --------------------------------------------------------------------------

KST = timezone(timedelta(hours=9))
TASKS_PATH = "/tuning/v2/tasks"
CONTROL_PREFIX = "/_sandbox/"

SUPPORTED_MODELS = frozenset({"HCX-003", "HCX-DASH-001"})
TASK_TYPES = frozenset({"GENERATION", "CLASSIFICATION"})
TUNING_TYPES = frozenset({"PEFT"})
STATUS_INFO_KEYS = (
    "label", "dataRows", "numOfTokens", "currStep", "totalTrainSteps",
    "currEpoch", "totalTrainEpochs", "estimatedTime", "trainLoss",
    "sendWeightSuccess", "failureReason", "message", "endDatetime",
)
DATASET_FIELDS = (
    "trainingDatasetFilePath", "trainingDatasetBucket",
    "trainingDatasetAccessKey", "trainingDatasetSecretKey",
)
# Every field the create endpoint knows; anything else is 40002.
# trainingDatasetUri is the public-sector (gov) region's extra field.
CREATE_FIELDS = frozenset({
    "name", "model", "tuningType", "taskType", "trainEpochs", "learningRate",
    "validationSplitRatio", "loraR", "loraAlpha", "trainingDatasetUri",
    *DATASET_FIELDS,
})

MAX_BODY_BYTES = 50 * 1024 * 1024        # vendor answers 41300 above 50 MB
TIMESTAMP_WINDOW_MS = 5 * 60 * 1000      # gateway rejects a skew of >= 5 min
SIGNATURE_HEADERS = (
    "X-NCP-APIGW-TIMESTAMP", "X-NCP-IAM-ACCESS-KEY", "X-NCP-APIGW-SIGNATURE-V2",
)
REQUEST_ID_HEADER = "X-NCP-CLOVASTUDIO-REQUEST-ID"

# Figures reported while a simulated training runs.
DATA_ROWS = 1000
NUM_OF_TOKENS = 250_000
LOSS_START, LOSS_END = 2.5, 0.4
CLASSIFICATION_LABELS = ["positive", "negative"]

# The six documented file.format messages; fail/file.format/<n>/... picks one.
FILE_FORMAT_MESSAGES = (
    "Invalid json format. {reason}",
    "Invalid dataset: required field empty. {column}",
    "Invalid dataset: unexpected column. {column}",
    "Invalid dataset: duplicate columns. {column}",
    "Invalid dataset: column order",
    "Invalid dataset: {column}",
)
# failureReason -> documented message template (None: no documented message).
FAILURE_MESSAGES = {
    "file.extension": "Unavailable file extension. Please check the file extension again.",
    "file.size": "Exceeded the disk usage limit. Please check if the file size is {limit} or less.",
    "file.encoding": "Unsupported charset",
    "file.format": FILE_FORMAT_MESSAGES[0],
    "file.error": None,
    "file.noexist": None,
    "File not found": None,
    "resource.timeout": None,
    "clops.error": None,
    "train.unknown": None,
}
# Values substituted into the templates' placeholders.
MESSAGE_PLACEHOLDERS = {"reason": "Expecting value", "column": "Text", "limit": "1TB"}

DEFAULT_API_KEY = "nv-sandbox-key"
DEFAULT_ACCESS_KEY = "sandbox-access-key"
DEFAULT_SECRET_KEY = "sandbox-secret-key"

# Object Storage (reference: datasets-and-files §4, §7)
STORAGE_REGION = "kr-standard"
STORAGE_SERVICE = "s3"
DEFAULT_BUCKET = "ftgw-staging"
# Object Storage keys when --bucket-*-key leaves them open ("any" for tasks).
DEFAULT_BUCKET_ACCESS_KEY = "sandbox-bucket-access-key"
DEFAULT_BUCKET_SECRET_KEY = "sandbox-bucket-secret-key"
S3_SKEW_SECONDS = 15 * 60
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
S3_REQUIRED_SIGNED = ("host", "x-amz-content-sha256", "x-amz-date")
AMZ_DATE = "%Y%m%dT%H%M%SZ"
HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_OBJECT_BYTES = 256 * 1024 * 1024
STORAGE_OPS = frozenset({"s3-put", "s3-get", "s3-head", "s3-delete"})

# CLOVA instruction dataset (reference: datasets-and-files §4, vendor-apis §1)
DATASET_COLUMNS = ("System_Prompt", "C_ID", "T_ID", "Text", "Completion")
MIN_DATASET_ROWS = 100
csv.field_size_limit(MAX_OBJECT_BYTES)


class ClovaError(Exception):
    """A vendor error answered with the CLOVA envelope and a real HTTP status."""

    def __init__(self, http_status: int, code: str, message: str):
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message


def bad_request() -> ClovaError:
    return ClovaError(400, "40000", "Bad request")


def invalid_parameter() -> ClovaError:
    return ClovaError(400, "40001", "Invalid parameter")


def not_found() -> ClovaError:
    return ClovaError(404, "40400", "Not found")


def clova_envelope(code: str, message: str, result=None, *, with_result=False) -> dict:
    body = {"status": {"code": code, "message": message}}
    if with_result:
        body["result"] = result
    return body


def ok_envelope(result) -> dict:
    return clova_envelope("20000", "OK", result, with_result=True)


def legacy_error_body(error_code: str, message: str, details: str) -> dict:
    """Body used by the legacy API Gateway (apigw host, signature auth)."""
    return {"error": {"errorCode": error_code, "message": message, "details": details}}


def format_kst(epoch_seconds: float) -> str:
    """Vendor date format: ISO-8601 with a colon-less offset, e.g. +0900."""
    return datetime.fromtimestamp(epoch_seconds, KST).strftime("%Y-%m-%dT%H:%M:%S%z")


def default_task_name(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, KST).strftime("%y%m%d-%H%M%S")


def same_secret(given: str, expected: str) -> bool:
    # compare_digest on str refuses non-ASCII, so compare bytes.
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


# --------------------------------------------------------------------------
# API Gateway signature v2 (reference §1.2.3)
# --------------------------------------------------------------------------

def sign_v2(method: str, uri: str, timestamp: str, access_key: str, secret_key: str) -> str:
    """Base64(HMAC-SHA256(secret, "METHOD URI\\nTIMESTAMP\\nACCESSKEY")).

    uri is the path plus "?" and the raw query exactly as sent.
    """
    message = f"{method} {uri}\n{timestamp}\n{access_key}"
    digest = hmac.new(secret_key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


# (method, uri, timestamp, access key, secret key, expected) from §1.2.4.
SIGNATURE_VECTORS = (
    ("GET", "/photos/puppy.jpg?query1=&query2", "1700000000000", "ACCESS_KEY_ID",
     "ncp-secret-example", "iPe1hFfjl7BPGhFZJGCY5XZgH6eWMwCWlSdSkKU+SPE="),
    ("POST", "/tuning/v2/tasks", "1700000000000", "ACCESS_KEY_ID",
     "SECRET_KEY", "4miyMWS4KVbiO/Azgvd67y7IbfnkqR4UiqJUX6301CI="),
    ("GET", "/tuning/v2/tasks?page=0&size=20", "1700000000000", "ACCESS_KEY_ID",
     "SECRET_KEY", "z7gIH8qm/RakiKZ/OeZUlfoSwRarnFK68MZqeDcA8ds="),
)


def _self_check_signer() -> None:
    # A signer that drifts from the reference would make every signature
    # test meaningless, so refuse to load rather than serve wrong answers.
    for method, uri, ts, ak, sk, expected in SIGNATURE_VECTORS:
        if sign_v2(method, uri, ts, ak, sk) != expected:
            raise RuntimeError(f"signature self-check failed for {method} {uri}")


_self_check_signer()


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------

@dataclasses.dataclass
class Config:
    auth: str = "both"                      # bearer | apigw | both
    api_keys: frozenset = frozenset({DEFAULT_API_KEY})
    access_key: str = DEFAULT_ACCESS_KEY
    secret_key: str = DEFAULT_SECRET_KEY
    bucket_access_key: str | None = None    # None: any bucket key is accepted
    bucket_secret_key: str | None = None
    wait_seconds: float = 1.0
    run_seconds: float = 4.0
    total_steps: int = 100
    verbose: bool = False
    storage_region: str = STORAGE_REGION
    buckets: frozenset = frozenset({DEFAULT_BUCKET})

    def bucket_keys_match(self, access_key: str, secret_key: str) -> bool:
        checks = ((self.bucket_access_key, access_key), (self.bucket_secret_key, secret_key))
        return all(expected is None or same_secret(given, expected) for expected, given in checks)

    def storage_keys(self) -> tuple[str, str]:
        """The key pair Object Storage requests must be signed with."""
        return (self.bucket_access_key or DEFAULT_BUCKET_ACCESS_KEY,
                self.bucket_secret_key or DEFAULT_BUCKET_SECRET_KEY)


# --------------------------------------------------------------------------
# Authentication (reference §1.2), checked independently of any client
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class AuthOutcome:
    ok: bool
    http_status: int = 200
    body: dict | None = None


AUTH_OK = AuthOutcome(True)


def clova_auth_failure(code: str, message: str) -> AuthOutcome:
    return AuthOutcome(False, 401, clova_envelope(code, message))


def legacy_auth_failure(details: str) -> AuthOutcome:
    return AuthOutcome(False, 401, legacy_error_body("200", "Authentication Failed", details))


def check_auth(config: Config, headers, method: str, uri: str, now_ms: int) -> AuthOutcome:
    """Pick the scheme from the headers present, then check only that one.

    In "both" mode a request with an Authorization header is a Bearer
    request; one with signature headers is a signature request; one with
    neither is treated as a Bearer request without a key (40100).
    """
    has_authorization = headers.get("Authorization") is not None
    has_signature = any(headers.get(name) is not None for name in SIGNATURE_HEADERS)
    use_bearer = config.auth == "bearer" or (
        config.auth == "both" and (has_authorization or not has_signature))
    if use_bearer:
        return check_bearer(config, headers.get("Authorization"))
    return check_signature(config, headers, method, uri, now_ms)


def check_bearer(config: Config, authorization: str | None) -> AuthOutcome:
    scheme, _, key = (authorization or "").strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return clova_auth_failure("40100", "Unauthorized")
    if not any(same_secret(key, accepted) for accepted in config.api_keys):
        return clova_auth_failure("40104", "Invalid key")
    return AUTH_OK


def check_signature(config: Config, headers, method: str, uri: str, now_ms: int) -> AuthOutcome:
    timestamp, access_key, signature = (headers.get(name) for name in SIGNATURE_HEADERS)
    if not (timestamp and access_key and signature):
        return legacy_auth_failure("Missing authentication headers")
    if not (timestamp.isascii() and timestamp.isdigit()):
        return legacy_auth_failure("Invalid timestamp")
    if abs(now_ms - int(timestamp)) >= TIMESTAMP_WINDOW_MS:
        return legacy_auth_failure("Timestamp differs from server time by 5 minutes or more")
    if not same_secret(access_key, config.access_key):
        return legacy_auth_failure("Invalid access key")
    expected = sign_v2(method, uri, timestamp, access_key, config.secret_key)
    if not same_secret(signature, expected):
        return legacy_auth_failure("Signature mismatch")
    return AUTH_OK


# --------------------------------------------------------------------------
# Create request validation (reference §1.4.1)
# --------------------------------------------------------------------------

def _as_int(value) -> int:
    """JSON integer, integral float or numeric string (docs type it String)."""
    if isinstance(value, bool):
        raise invalid_parameter()
    if isinstance(value, int):
        return value
    number = _as_float(value)
    if not number.is_integer():
        raise invalid_parameter()
    return int(number)


def _as_float(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise invalid_parameter()
    try:
        number = float(value)
    except ValueError:
        raise invalid_parameter() from None
    if not math.isfinite(number):
        raise invalid_parameter()
    return number


def _in_range(number, low, high):
    if not low <= number <= high:
        raise invalid_parameter()
    return number


def _optional_string(body: dict, field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise invalid_parameter()
    return value


def _learning_rate(value) -> float:
    rate = _as_float(value)
    # The documented range is printed inverted; (0, 1] is the sane reading.
    if not 0 < rate <= 1:
        raise invalid_parameter()
    return rate


@dataclasses.dataclass
class CreateRequest:
    name: str | None
    model: str
    task_type: str
    train_epochs: int
    learning_rate: float
    validation_split_ratio: float
    lora_r: int
    lora_alpha: int
    dataset: dict           # the four DATASET_FIELDS


def parse_json_object(raw: bytes) -> dict:
    def reject_constant(_):
        raise ValueError("NaN/Infinity are not JSON")
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise bad_request() from None
    if not isinstance(body, dict):
        raise bad_request()
    return body


def parse_create_request(raw: bytes) -> CreateRequest:
    body = parse_json_object(raw)
    if set(body) - CREATE_FIELDS:
        raise ClovaError(400, "40002", "Unsupported parameter")
    # JSON null means "not given" for every field.
    body = {key: value for key, value in body.items() if value is not None}
    model = _optional_string(body, "model")
    if not model:
        raise invalid_parameter()
    if model not in SUPPORTED_MODELS:
        raise ClovaError(400, "40080", "Model not found")
    if body.get("tuningType", "PEFT") not in TUNING_TYPES:
        raise ClovaError(400, "40009", "Unsupported function")
    task_type = body.get("taskType", "GENERATION")
    if task_type not in TASK_TYPES:
        raise invalid_parameter()
    dataset = {field: _optional_string(body, field) for field in DATASET_FIELDS}
    if not all(dataset.values()):
        raise invalid_parameter()
    _optional_string(body, "trainingDatasetUri")
    return CreateRequest(
        name=_optional_string(body, "name") or None,
        model=model,
        task_type=task_type,
        train_epochs=_in_range(_as_int(body.get("trainEpochs", 8)), 1, 20),
        learning_rate=_learning_rate(body.get("learningRate", 1e-4)),
        validation_split_ratio=_in_range(_as_float(body.get("validationSplitRatio", 0.0)), 0.0, 0.1),
        lora_r=_in_range(_as_int(body.get("loraR", 8)), 2, 64),
        lora_alpha=_in_range(_as_int(body.get("loraAlpha", 64)), 2, 512),
        dataset=dataset,
    )


# --------------------------------------------------------------------------
# Object Storage: SigV4 verified with botocore's signer (the oracle)
# --------------------------------------------------------------------------

def sigv4_s3_signature(access_key: str, secret_key: str, region: str, method: str,
                       url: str, headers, timestamp: str) -> tuple[str, str]:
    """(signature, canonical request) from botocore's S3SigV4Auth.

    The request is rebuilt from url (scheme, host, the canonical path, the
    raw query) and exactly the (name, value) pairs in headers; timestamp is
    the X-Amz-Date value. The payload hash is the x-amz-content-sha256
    header, as botocore takes it when the header is present.
    """
    request = AWSRequest(method=method, url=url)
    for name, value in headers:
        request.headers[name] = value       # HTTPHeaders: a repeat appends
    request.context["timestamp"] = timestamp
    signer = S3SigV4Auth(Credentials(access_key, secret_key), STORAGE_SERVICE, region)
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request), canonical


_AWS_AK, _AWS_SK = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
_AWS_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
# AWS's worked examples of header-based SigV4 for S3 (GET Object, PUT Object):
# (method, url, headers, X-Amz-Date, expected signature).
S3_SIGNATURE_VECTORS = (
    ("GET", "https://examplebucket.s3.amazonaws.com/test.txt",
     (("host", "examplebucket.s3.amazonaws.com"), ("range", "bytes=0-9"),
      ("x-amz-content-sha256", _AWS_EMPTY), ("x-amz-date", "20130524T000000Z")),
     "20130524T000000Z", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
    ("PUT", "https://examplebucket.s3.amazonaws.com/test%24file.text",
     (("host", "examplebucket.s3.amazonaws.com"), ("date", "Fri, 24 May 2013 00:00:00 GMT"),
      ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
      ("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
      ("x-amz-date", "20130524T000000Z")),
     "20130524T000000Z", "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
)


def _self_check_s3_signer() -> None:
    for method, url, headers, timestamp, expected in S3_SIGNATURE_VECTORS:
        signature, _ = sigv4_s3_signature(_AWS_AK, _AWS_SK, "us-east-1", method, url,
                                          headers, timestamp)
        if signature != expected:
            raise RuntimeError(f"SigV4 self-check failed for {method} {url}")


_self_check_s3_signer()


def s3_failure(status: int, code: str, message: str, reason: str, **fields) -> StorageVerdict:
    return StorageVerdict(False, status, code, message, reason, **fields)


S3_MESSAGES = {
    "AccessDenied": "Access Denied",
    "AuthorizationHeaderMalformed": "The authorization header is malformed",
    "InvalidAccessKeyId": "The AWS Access Key Id you provided does not exist in our records.",
    "RequestTimeTooSkewed": "The difference between the request time and the current time "
                            "is too large.",
    "SignatureDoesNotMatch": "The request signature we calculated does not match the "
                             "signature you provided. Check your key and signing method.",
    "XAmzContentSHA256Mismatch": "The provided 'x-amz-content-sha256' header does not match "
                                 "what was computed.",
    "BadDigest": "The Content-MD5 you specified did not match what we received.",
    "InvalidDigest": "The Content-MD5 you specified is not valid.",
}


def parse_sigv4_authorization(value: str):
    """(access key, scope date, region, service, terminator, signed header
    names, signature) of "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
    Signature=…"; ValueError when malformed."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme != "AWS4-HMAC-SHA256":
        raise ValueError("the scheme is not AWS4-HMAC-SHA256")
    fields = {}
    for item in rest.split(","):
        name, sep, field = item.strip().partition("=")
        if not sep:
            raise ValueError(f"{item.strip()!r} is not name=value")
        fields[name] = field
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
    if missing:
        raise ValueError(f"no {', '.join(missing)} in Authorization")
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or not scope[0]:
        raise ValueError("Credential is not <key>/<date>/<region>/<service>/aws4_request")
    names = fields["SignedHeaders"].split(";")
    if any(not name for name in names):
        raise ValueError("SignedHeaders has an empty name")
    return (*scope, names, fields["Signature"])


def check_s3_request(config: Config, method: str, raw_path: str, headers, body: bytes,
                     now: float) -> StorageVerdict:
    """Verify a storage request's SigV4 Authorization and payload digests.

    headers is the request's case-insensitive header map; raw_path the
    request target as received. The signature is botocore's over the
    request rebuilt as http://<Host><path>[?query] with exactly the headers
    named in SignedHeaders, the path decoded and encoded again the way
    botocore encodes keys (so an over- or under-encoded path still works).
    """
    authorization = headers.get("Authorization")
    if authorization is None:
        return s3_failure(403, "AccessDenied", S3_MESSAGES["AccessDenied"],
                          "no Authorization header")
    if not authorization.strip().startswith("AWS4-HMAC-SHA256"):
        return s3_failure(400, "InvalidArgument", "Only AWS4-HMAC-SHA256 is supported "
                          "by the sandbox", "not a SigV4 Authorization")
    try:
        (access_key, scope_date, region, service, terminator, names,
         signature) = parse_sigv4_authorization(authorization)
    except ValueError as exc:
        return s3_failure(400, "AuthorizationHeaderMalformed",
                          S3_MESSAGES["AuthorizationHeaderMalformed"], str(exc))
    names = [name.lower() for name in names]
    fields = {"signed_headers": names}
    expected_key, secret_key = config.storage_keys()
    if not same_secret(access_key, expected_key):
        return s3_failure(403, "InvalidAccessKeyId", S3_MESSAGES["InvalidAccessKeyId"],
                          "unknown access key", **fields)
    amz_date = (headers.get("x-amz-date") or "").strip()
    try:
        signed_at = datetime.strptime(amz_date, AMZ_DATE).replace(tzinfo=timezone.utc)
    except ValueError:
        return s3_failure(403, "AccessDenied", "AWS authentication requires a valid Date "
                          "or x-amz-date header", "no valid x-amz-date header", **fields)
    if scope_date != amz_date[:8]:
        return s3_failure(400, "AuthorizationHeaderMalformed", "Invalid credential date. "
                          "Date is not the same as X-Amz-Date.", "scope date", **fields)
    if region != config.storage_region:
        return s3_failure(400, "AuthorizationHeaderMalformed",
                          f"The authorization header is malformed; the region '{region}' "
                          f"is wrong; expecting '{config.storage_region}'", "region", **fields)
    if service != STORAGE_SERVICE or terminator != "aws4_request":
        return s3_failure(400, "AuthorizationHeaderMalformed",
                          S3_MESSAGES["AuthorizationHeaderMalformed"],
                          "scope is not …/s3/aws4_request", **fields)
    payload_hash = headers.get("x-amz-content-sha256")
    fields["payload_hash"] = payload_hash
    if payload_hash is None:
        return s3_failure(400, "InvalidRequest", "Missing required header for this request: "
                          "x-amz-content-sha256", "no x-amz-content-sha256", **fields)
    payload_hash = payload_hash.strip()
    if payload_hash != UNSIGNED_PAYLOAD and not HEX_SHA256.fullmatch(payload_hash):
        return s3_failure(400, "InvalidArgument", "x-amz-content-sha256 must be "
                          "UNSIGNED-PAYLOAD or a SHA-256 hex digest (the sandbox takes no "
                          "streaming uploads)", "x-amz-content-sha256 value", **fields)
    present = {name.lower() for name in headers.keys()}
    unsigned = [name for name in S3_REQUIRED_SIGNED if name not in names]
    unsigned += sorted(name for name in present
                       if name.startswith("x-amz-") and name not in names)
    if unsigned:
        return s3_failure(403, "AccessDenied", "There were headers present in the request "
                          "which were not signed", f"not signed: {', '.join(unsigned)}",
                          **fields)
    if abs(now - signed_at.timestamp()) > S3_SKEW_SECONDS:
        return s3_failure(403, "RequestTimeTooSkewed", S3_MESSAGES["RequestTimeTooSkewed"],
                          "X-Amz-Date more than 15 minutes from now", **fields)
    url = urlsplit(raw_path)
    target = quote(unquote(url.path), safe="/~") + (f"?{url.query}" if url.query else "")
    signed = [(name, value) for name in names for value in (headers.get_all(name) or [])]
    expected, canonical = sigv4_s3_signature(
        access_key, secret_key, region, method, f"http://{headers.get('Host', '')}{target}",
        signed, amz_date)
    fields["canonical_request"] = canonical
    if not same_secret(signature, expected):
        absent = [name for name in names if name not in present]
        reason = f"signed header(s) absent: {', '.join(absent)}" if absent else \
            "signature does not match"
        return s3_failure(403, "SignatureDoesNotMatch", S3_MESSAGES["SignatureDoesNotMatch"],
                          reason, **fields)
    fields["signature_ok"] = True
    if payload_hash != UNSIGNED_PAYLOAD and payload_hash != hashlib.sha256(body).hexdigest():
        return s3_failure(400, "XAmzContentSHA256Mismatch",
                          S3_MESSAGES["XAmzContentSHA256Mismatch"],
                          "body differs from x-amz-content-sha256", **fields)
    digest_problem = content_md5_problem(headers.get("Content-MD5"), body)
    if digest_problem:
        return s3_failure(400, digest_problem, S3_MESSAGES[digest_problem], "Content-MD5",
                          **fields)
    return StorageVerdict(True, reason="ok", **fields)


def content_md5_problem(value: str | None, body: bytes) -> str | None:
    """None, InvalidDigest or BadDigest for a Content-MD5 header."""
    if value is None:
        return None
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return "InvalidDigest"
    if len(digest) != 16:
        return "InvalidDigest"
    return None if hmac.compare_digest(digest, hashlib.md5(body).digest()) else "BadDigest"


def s3_error_xml(code: str, message: str, resource: str, request_id: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{xml_escape(code)}</Code><Message>{xml_escape(message)}</Message>"
            f"<Resource>{xml_escape(resource)}</Resource>"
            f"<RequestId>{request_id}</RequestId></Error>").encode("utf-8")


# --------------------------------------------------------------------------
# CLOVA instruction dataset check (CSV)
# --------------------------------------------------------------------------

def _index(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def _header_problem(header) -> str | None:
    required, unexpected, duplicate, order = (FILE_FORMAT_MESSAGES[1], FILE_FORMAT_MESSAGES[2],
                                              FILE_FORMAT_MESSAGES[3], FILE_FORMAT_MESSAGES[4])
    if not header:
        return required.format(column=DATASET_COLUMNS[0])
    names = [name.strip() for name in header]
    expected = [column.lower() for column in DATASET_COLUMNS]
    seen = set()
    for name in names:
        if name.lower() in seen:
            return duplicate.format(column=name)
        seen.add(name.lower())
    for name in names:
        if name.lower() not in expected:
            return unexpected.format(column=name)
    for column in DATASET_COLUMNS:
        if column.lower() not in seen:
            return required.format(column=column)
    if [name.lower() for name in names] != expected:
        return order
    return None


def _row_problem(row: list, previous: list | None, number: int) -> str | None:
    """The first rule a data row breaks, given the row before it."""
    if len(row) > len(DATASET_COLUMNS):
        return FILE_FORMAT_MESSAGES[2].format(
            column=f"field {len(DATASET_COLUMNS) + 1} of row {number}")
    if len(row) < len(DATASET_COLUMNS):
        return FILE_FORMAT_MESSAGES[1].format(column=DATASET_COLUMNS[len(row)])
    system, c_text, t_text, text, completion = row
    c_id, t_id = _index(c_text), _index(t_text)
    bad_id = FILE_FORMAT_MESSAGES[5]
    if c_id is None:
        return bad_id.format(column="C_ID")
    if t_id is None:
        return bad_id.format(column="T_ID")
    last_c = _index(previous[1]) if previous else -1
    last_t = _index(previous[2]) if previous else -1
    if c_id == last_c:
        if t_id != last_t + 1:
            return bad_id.format(column="T_ID")
        if system != previous[0]:
            return bad_id.format(column="System_Prompt")
    elif c_id == last_c + 1:
        if t_id != 0:
            return bad_id.format(column="T_ID")
    else:
        return bad_id.format(column="C_ID")
    if not text.strip():
        return FILE_FORMAT_MESSAGES[1].format(column="Text")
    if not completion.strip():
        return FILE_FORMAT_MESSAGES[1].format(column="Completion")
    return None


def check_clova_dataset(data: bytes) -> dict:
    """{"ok", "rows", "error", "failureReason"} of a CSV instruction dataset.

    UTF-8 (a leading BOM is fine) or file.encoding; then file.format with
    the documented messages: the header is exactly System_Prompt, C_ID,
    T_ID, Text, Completion (names case-insensitive); every row has five
    fields; C_ID counts conversations from 0 (+1 each, rows of one
    conversation together), T_ID counts turns from 0 within one; Text and
    Completion are not empty; System_Prompt is the same on every row of a
    conversation; at least 100 data rows. Blank lines are skipped; "rows"
    counts the data rows read (up to the first problem).
    """
    rows = 0

    def result(reason: str | None, error: str | None) -> dict:
        return {"ok": error is None, "rows": rows, "error": error, "failureReason": reason}

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return result("file.encoding", FAILURE_MESSAGES["file.encoding"])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        problem = _header_problem(next(reader, None))
        if problem:
            return result("file.format", problem)
        previous = None
        for row in reader:
            if not row:
                continue
            rows += 1
            problem = _row_problem(row, previous, rows)
            if problem:
                return result("file.format", problem)
            previous = row
    except csv.Error as exc:
        return result("file.format", FILE_FORMAT_MESSAGES[5].format(column=f"CSV {exc}"))
    if rows < MIN_DATASET_ROWS:
        return result("file.format", FILE_FORMAT_MESSAGES[5].format(
            column=f"at least {MIN_DATASET_ROWS} rows are required, found {rows}"))
    return result(None, None)


# --------------------------------------------------------------------------
# Failure on request: trainingDatasetFilePath = "fail/<failureReason>/..."
# --------------------------------------------------------------------------

def failure_message(reason: str, selector: str | None) -> str | None:
    template = FAILURE_MESSAGES.get(reason)
    if reason == "file.format" and selector and selector.isascii() and selector.isdigit():
        index = int(selector)
        if index < len(FILE_FORMAT_MESSAGES):
            template = FILE_FORMAT_MESSAGES[index]
    return None if template is None else template.format_map(MESSAGE_PLACEHOLDERS)


def failure_from_path(file_path: str) -> tuple[str, str | None] | None:
    """(failureReason, message) when the dataset path asks for a failure."""
    parts = file_path.lstrip("/").split("/")
    if len(parts) < 2 or parts[0] != "fail" or not parts[1]:
        return None
    reason = parts[1]
    selector = parts[2] if len(parts) > 2 else None
    return reason, failure_message(reason, selector)


def planned_failure(config: Config, dataset: dict,
                    stored_check: dict | None = None) -> tuple[str, str | None] | None:
    """stored_check: the dataset check of the object the task names, when
    the sandbox's Object Storage holds it (then it decides, not the path)."""
    # The real service only finds out it cannot read the bucket once the
    # task is picked up, so wrong bucket keys surface as a later FAILED task.
    if not config.bucket_keys_match(dataset["trainingDatasetAccessKey"],
                                    dataset["trainingDatasetSecretKey"]):
        return "file.noexist", None
    if stored_check is not None:
        return None if stored_check["ok"] else (stored_check["failureReason"],
                                                stored_check["error"])
    return failure_from_path(dataset["trainingDatasetFilePath"])


# --------------------------------------------------------------------------
# Tasks and their lifecycle (computed from wall-clock time; no thread)
# --------------------------------------------------------------------------

ID_ALPHABET = string.ascii_lowercase + string.digits


def new_task_id() -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(8))


def empty_status_info() -> dict:
    return dict.fromkeys(STATUS_INFO_KEYS)


@dataclasses.dataclass
class Task:
    id: str
    name: str
    model: str
    task_type: str
    train_epochs: int
    learning_rate: float
    created_at: float                       # epoch seconds
    failure: tuple[str, str | None] | None  # planned (failureReason, message)
    request_id: str | None
    dataset_bucket: str
    dataset_path: str
    forced: dict | None = None              # frozen view once forced
    dataset_stored: bool = False            # created on an object in the storage
    dataset_check: dict | None = None       # that object's dataset check

    def view(self, config: Config, now: float) -> dict:
        if self.forced is not None:
            return copy.deepcopy(self.forced)
        status, info, updated_at = lifecycle_state(self, config, now)
        return self.task_object(status, info, updated_at)

    def task_object(self, status: str, info: dict, updated_at: float) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "model": self.model,
            "method": "LoRA",
            "taskType": self.task_type,
            "trainEpochs": self.train_epochs,
            "learningRate": self.learning_rate,
            "status": status,
            "statusInfo": info,
            "createdClientType": "API",
            "createdDate": format_kst(self.created_at),
            "updatedDate": format_kst(updated_at),
        }


def lifecycle_state(task: Task, config: Config, now: float) -> tuple[str, dict, float]:
    """(status, statusInfo, updated_at) of an unforced task at time now."""
    elapsed = now - task.created_at
    started_at = task.created_at + config.wait_seconds
    ended_at = started_at + config.run_seconds
    info = empty_status_info()
    if elapsed < config.wait_seconds:
        return "WAIT", info, task.created_at
    if task.failure is not None:
        info["failureReason"], info["message"] = task.failure
        info["endDatetime"] = format_kst(started_at)
        return "FAILED", info, started_at
    if now < ended_at:
        info.update(training_progress(task, config, (now - started_at) / config.run_seconds))
        return "RUNNING", info, now
    info.update(training_progress(task, config, 1.0))
    info["sendWeightSuccess"] = True
    info["endDatetime"] = format_kst(ended_at)
    return "SUCCEEDED", info, ended_at


def training_progress(task: Task, config: Config, progress: float) -> dict:
    epochs = task.train_epochs
    return {
        "label": list(CLASSIFICATION_LABELS) if task.task_type == "CLASSIFICATION" else None,
        "dataRows": task.dataset_check["rows"] if task.dataset_check else DATA_ROWS,
        "numOfTokens": NUM_OF_TOKENS,
        "currStep": min(config.total_steps, int(progress * config.total_steps)),
        "totalTrainSteps": config.total_steps,
        "currEpoch": min(epochs, int(progress * epochs) + 1),
        "totalTrainEpochs": epochs,
        "estimatedTime": math.ceil(config.run_seconds),
        "trainLoss": round(LOSS_START - (LOSS_START - LOSS_END) * progress, 4),
    }


def force_task_state(view: dict, changes: dict, now: float) -> dict:
    """Apply a /_sandbox/tasks/{id} body to a task view (validated already)."""
    info = view["statusInfo"]
    info.update(changes.get("statusInfo", {}))
    info.update({key: value for key, value in changes.items() if key in STATUS_INFO_KEYS})
    if "status" in changes:
        view["status"] = changes["status"]
        if changes["status"] in ("FAILED", "SUCCEEDED") and info["endDatetime"] is None:
            info["endDatetime"] = format_kst(now)
    view["updatedDate"] = format_kst(now)
    return view


def validate_force_body(body: dict) -> None:
    unknown = set(body) - {"status", "statusInfo", *STATUS_INFO_KEYS}
    if unknown:
        raise ValueError(f"unknown keys: {sorted(unknown)}")
    if "status" in body and not isinstance(body["status"], str):
        raise ValueError("status must be a string")
    nested = body.get("statusInfo", {})
    if not isinstance(nested, dict) or set(nested) - set(STATUS_INFO_KEYS):
        raise ValueError("statusInfo must be an object with statusInfo keys")


# --------------------------------------------------------------------------
# Fault injection
# --------------------------------------------------------------------------

FAULT_OPS = frozenset({"create", "get", "list", "delete", "any", *STORAGE_OPS})
ERROR_DEFAULTS = {False: ("50000", "Internal server error"), True: ("900", "Unexpected Error")}
MAX_HUGE_BYTES = 256 * 1024 * 1024


def _fault_int(spec: dict, key: str, default: int, low: int, high: int) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
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
    legacy = bool(spec.get("legacy", False))
    code, message = ERROR_DEFAULTS[legacy]
    return {
        "http": _fault_int(spec, "http", 500, 100, 599),
        "code": str(spec.get("code", code)),
        "message": _fault_str(spec, "message", message),
        "details": _fault_str(spec, "details", "sandbox fault"),
        "legacy": legacy,
        "headers": _fault_headers(spec),
    }


def _slow_fault(spec: dict) -> dict:
    delay = spec.get("delay", 1.0)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 3600:
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
    "slow": _slow_fault,
    "reset": lambda spec: {},
    "garbage": lambda spec: {},
    "huge": _huge_fault,
    "status": _status_fault,
    "drop": lambda spec: {},
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
    check_storage_fault(op, kind, STORAGE_OPS)
    count = _fault_int(spec, "count", 1, 1, 1_000_000)
    return {"op": op, "fault": kind, "count": count, **FAULT_PARAMETERS[kind](spec)}


def huge_body(size: int) -> bytes:
    """A JSON envelope padded with a long string to exactly size bytes."""
    prefix = b'{"status":{"code":"20000","message":"OK"},"padding":"'
    suffix = b'"}'
    padding = max(0, size - len(prefix) - len(suffix))
    return prefix + b"x" * padding + suffix


# --------------------------------------------------------------------------
# Shared state
# --------------------------------------------------------------------------

class Store(FaultQueueMixin, RequestLogMixin, ObjectStoreMixin):
    """Tasks, stored objects, queued faults and the request log, behind one
    lock; the API and the Object Storage listener share it."""

    storage_ops = STORAGE_OPS

    def __init__(self):
        self.lock = threading.Lock()
        self.tasks: dict[str, Task] = {}
        self.objects: dict = {}
        self.faults: collections.deque = collections.deque()
        self.requests: list[dict] = []

    def reset(self) -> None:
        with self.lock:
            self.tasks.clear()
            self.objects.clear()
            self.faults.clear()
            self.requests.clear()

    def stored_dataset(self, bucket: str, path: str):
        """The object a task's bucket and file path name, or None."""
        return self.get_object(bucket, path) or self.get_object(bucket, path.lstrip("/"))

    def add_task(self, make_task) -> Task:
        with self.lock:
            task_id = new_task_id()
            while task_id in self.tasks:
                task_id = new_task_id()
            task = make_task(task_id)
            self.tasks[task_id] = task
            return task

    def get_task(self, task_id: str) -> Task | None:
        with self.lock:
            return self.tasks.get(task_id)

    def delete_task(self, task_id: str) -> bool:
        with self.lock:
            return self.tasks.pop(task_id, None) is not None

    def newest_first(self) -> list[Task]:
        with self.lock:
            tasks = list(self.tasks.values())
        return sorted(tasks, key=lambda t: (t.created_at, t.id), reverse=True)

    def force(self, task_id: str, changes: dict, config: Config) -> dict | None:
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None:
                return None
            now = time.time()
            task.forced = force_task_state(task.view(config, now), changes, now)
            return copy.deepcopy(task.forced)


# --------------------------------------------------------------------------
# Vendor routing
# --------------------------------------------------------------------------

def resolve_vendor_route(method: str, path: str) -> tuple[str, str | None]:
    """(operation, task id). Operation "bad-method" is a known path with a
    method it does not serve; "unknown" is any other path."""
    if path == TASKS_PATH:
        return {"POST": "create", "GET": "list"}.get(method, "bad-method"), None
    prefix = TASKS_PATH + "/"
    task_id = path[len(prefix):] if path.startswith(prefix) else ""
    if task_id and "/" not in task_id:
        return {"GET": "get", "DELETE": "delete"}.get(method, "bad-method"), task_id
    return "unknown", None


def _page_parameter(query: dict, name: str, default: int, low: int, high: int) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        value = int(values[0])
    except ValueError:
        raise invalid_parameter() from None
    return _in_range(value, low, high)


# --------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------

class BodyError(Exception):
    def __init__(self, error: ClovaError):
        super().__init__(error.message)
        self.error = error


class SandboxServer(ResettableHTTPServer):
    def __init__(self, address, config: Config):
        super().__init__(address, SandboxHandler)
        self.config = config
        self.store = Store()


class SandboxHandler(ObjectControlMixin, ControlApiMixin, SandboxHandlerBase):
    server_version = "clova-sandbox/1.0"
    log_name = "clova-sandbox"

    server: SandboxServer

    # -- plumbing ---------------------------------------------------------

    def verbose(self) -> bool:
        return self.server.config.verbose

    @staticmethod
    def _check_dataset(data: bytes) -> dict:
        return check_clova_dataset(data)

    def _send_clova_error(self, error: ClovaError):
        self._send_json(error.http_status, clova_envelope(error.code, error.message))

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not (length.isascii() and length.strip().isdigit()):
            raise BodyError(bad_request())
        if int(length) > MAX_BODY_BYTES:
            raise BodyError(ClovaError(413, "41300", "Request body size exceeded"))
        return self.rfile.read(int(length))

    def _read_chunked(self) -> bytes:
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise BodyError(bad_request()) from None
            total += size
            if total > MAX_BODY_BYTES:
                raise BodyError(ClovaError(413, "41300", "Request body size exceeded"))
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
            self._send_clova_error(exc.error)
            return
        url = urlsplit(self.path)
        if url.path.startswith(CONTROL_PREFIX):
            self._handle_control(url.path[len(CONTROL_PREFIX):], body)
        else:
            self._handle_vendor(url, body)

    # -- vendor API -------------------------------------------------------

    def _handle_vendor(self, url, body: bytes):
        config, store = self.server.config, self.server.store
        op, task_id = resolve_vendor_route(self.command, url.path)
        auth = check_auth(config, self.headers, self.command, self.path, int(time.time() * 1000))
        store.log_request(self._log_entry(url, body, auth.ok))
        fault = store.take_fault(op)
        if fault is not None and self._apply_fault(fault):
            return
        if not auth.ok:
            self._send_json(auth.http_status, auth.body)
            return
        try:
            payload = self._vendor_operation(op, task_id, url, body)
        except ClovaError as error:
            self._send_clova_error(error)
        except Exception:   # keep the connection protocol-correct on bugs
            self._send_clova_error(ClovaError(500, "50000", "Internal server error"))
            raise
        else:
            self._send_json(200, payload)

    def _log_entry(self, url, body: bytes, auth_ok: bool) -> dict:
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
            "auth_ok": auth_ok,
        }

    def _vendor_operation(self, op: str, task_id: str | None, url, body: bytes) -> dict:
        if op == "create":
            return self._create_task(body)
        if op == "list":
            return self._list_tasks(parse_qs(url.query, keep_blank_values=True))
        if op == "get":
            return self._get_task(task_id)
        if op == "delete":
            return self._delete_task(task_id)
        if op == "bad-method":
            raise bad_request()
        raise not_found()

    def _create_task(self, body: bytes) -> dict:
        content_type = self.headers.get("Content-Type")
        if content_type and content_type.split(";")[0].strip().lower() != "application/json":
            raise ClovaError(415, "41500", "MediaType error")
        request = parse_create_request(body)
        config, now = self.server.config, time.time()
        stored = self.server.store.stored_dataset(request.dataset["trainingDatasetBucket"],
                                                  request.dataset["trainingDatasetFilePath"])
        check = stored.check if stored is not None else None

        def make_task(task_id: str) -> Task:
            return Task(
                id=task_id,
                name=request.name or default_task_name(now),
                model=request.model,
                task_type=request.task_type,
                train_epochs=request.train_epochs,
                learning_rate=request.learning_rate,
                created_at=now,
                failure=planned_failure(config, request.dataset, check),
                request_id=self.headers.get(REQUEST_ID_HEADER),
                dataset_bucket=request.dataset["trainingDatasetBucket"],
                dataset_path=request.dataset["trainingDatasetFilePath"],
                dataset_stored=stored is not None,
                dataset_check=check,
            )

        task = self.server.store.add_task(make_task)
        return ok_envelope(task.view(config, now))

    def _get_task(self, task_id: str) -> dict:
        task = self.server.store.get_task(task_id)
        if task is None:
            raise not_found()
        return ok_envelope(task.view(self.server.config, time.time()))

    def _list_tasks(self, query: dict) -> dict:
        page = _page_parameter(query, "page", 0, 0, 2**31 - 1)
        size = _page_parameter(query, "size", 20, 1, 100)
        tasks = self.server.store.newest_first()
        now, config = time.time(), self.server.config
        content = [task.view(config, now) for task in tasks[page * size:(page + 1) * size]]
        return ok_envelope({
            "totalPages": math.ceil(len(tasks) / size),
            "totalElements": len(tasks),
            "size": size,
            "number": page,
            "content": content,
        })

    def _delete_task(self, task_id: str) -> dict:
        if not self.server.store.delete_task(task_id):
            raise not_found()
        return clova_envelope("20000", "OK")

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
            self._send_json(fault["http"], self._error_fault_body(fault), fault["headers"])
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
            self._send_truncated(b'{"status":{"code":"20000","message":"OK"},"result":{')
        return True

    @staticmethod
    def _error_fault_body(fault: dict) -> dict:
        if fault["legacy"]:
            return legacy_error_body(fault["code"], fault["message"], fault["details"])
        return clova_envelope(fault["code"], fault["message"])

    # -- control API ------------------------------------------------------

    def _control_store(self):
        return self.server.store

    @staticmethod
    def _parse_fault(spec) -> dict:
        return parse_fault(spec)

    def _control_item(self, method: str, task_id: str, body: bytes) -> tuple[int, object]:
        store, config = self.server.store, self.server.config
        task = store.get_task(task_id)
        if task is None:
            return 404, {"ok": False, "error": f"no task {task_id}"}
        if method == "GET":
            return 200, {
                "task": task.view(config, time.time()),
                "forced": task.forced is not None,
                "requestId": task.request_id,
                "trainingDatasetBucket": task.dataset_bucket,
                "trainingDatasetFilePath": task.dataset_path,
                "dataset_stored": task.dataset_stored,
                "dataset_check": task.dataset_check,
            }
        if method != "POST":
            return 404, {"ok": False, "error": f"no control endpoint {method} /_sandbox/tasks/{{id}}"}
        changes = self._control_json(body)
        validate_force_body(changes)
        view = store.force(task_id, changes, config)
        if view is None:
            return 404, {"ok": False, "error": f"no task {task_id}"}
        return 200, {"ok": True, "task": view}


# --------------------------------------------------------------------------
# Object Storage listener (S3-compatible, path-style)
# --------------------------------------------------------------------------

class StorageServer(ResettableHTTPServer):
    def __init__(self, address, config: Config, store: Store):
        super().__init__(address, StorageHandler)
        self.config = config
        self.store = store          # the API's: one fault queue, one log


class StorageHandler(StorageHandlerMixin, SandboxHandlerBase):
    server_version = "clova-sandbox-storage/1.0"
    log_name = "clova-storage"
    op_prefix = "s3-"
    max_object_bytes = MAX_OBJECT_BYTES

    server: StorageServer

    def verbose(self) -> bool:
        return self.server.config.verbose

    def _buckets(self):
        return self.server.config.buckets

    def _verify(self, body: bytes) -> StorageVerdict:
        return check_s3_request(self.server.config, self.command, self.path, self.headers,
                                body, time.time())

    @staticmethod
    def _check_dataset(data: bytes) -> dict:
        return check_clova_dataset(data)

    def _storage_error_payload(self, status: int, code: str, message: str, resource: str):
        request_id = secrets.token_hex(8).upper()
        return (s3_error_xml(code, message, resource, request_id), "application/xml",
                {"x-amz-request-id": request_id})


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def _read_secret_file(path: str) -> str:
    """First non-blank line of a file; keeps keys off the command line."""
    keys = _read_key_lines(path)
    if not keys:
        raise SystemExit(f"clova-sandbox: no key in {path}")
    return keys[0]


def _read_key_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        lines = (line.strip() for line in handle)
        return [line for line in lines if line and not line.startswith("#")]


def _pick(value: str | None, file_path: str | None, default: str | None) -> str | None:
    if value is not None:
        return value
    if file_path is not None:
        return _read_secret_file(file_path)
    return default


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="NAVER CLOVA Studio tuning API v2 emulator (offline sandbox).")
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    add("--port", type=int, default=18081, help="port to listen on; 0 picks a free one (default 18081)")
    add("--auth", choices=("bearer", "apigw", "both"), default="both",
        help="accepted auth scheme(s) (default both)")
    add("--api-key", action="append", default=[], metavar="KEY",
        help=f"accepted Bearer API key (repeatable; default {DEFAULT_API_KEY} when no key is given)")
    add("--api-key-file", action="append", default=[], metavar="PATH",
        help="file with accepted Bearer keys, one per line (repeatable)")
    add("--access-key", help=f"NCP IAM access key for signature v2 (default {DEFAULT_ACCESS_KEY})")
    add("--access-key-file", metavar="PATH", help="file holding the NCP IAM access key")
    add("--secret-key", help=f"NCP IAM secret key for signature v2 (default {DEFAULT_SECRET_KEY})")
    add("--secret-key-file", metavar="PATH", help="file holding the NCP IAM secret key")
    add("--bucket-access-key", help="Object Storage access key create requests must carry "
                                    "(default: any; a mismatch fails the task with file.noexist) "
                                    "and storage requests are signed with (default "
                                    f"{DEFAULT_BUCKET_ACCESS_KEY})")
    add("--bucket-access-key-file", metavar="PATH")
    add("--bucket-secret-key", help="Object Storage secret key create requests must carry "
                                    "(default: any) and storage requests are signed with "
                                    f"(default {DEFAULT_BUCKET_SECRET_KEY})")
    add("--bucket-secret-key-file", metavar="PATH")
    add("--storage-port", type=int, default=0,
        help="port of the Object Storage (S3) listener; 0 picks a free one (default 0)")
    add("--storage-region", default=STORAGE_REGION,
        help=f"SigV4 region storage requests must be signed for (default {STORAGE_REGION})")
    add("--bucket", action="append", default=[], metavar="NAME",
        help=f"a bucket the storage has (repeatable; default {DEFAULT_BUCKET})")
    add("--wait-seconds", type=float, default=1.0, help="seconds a task stays WAIT (default 1.0)")
    add("--run-seconds", type=float, default=4.0,
        help="seconds a task stays RUNNING before SUCCEEDED (default 4.0)")
    add("--total-steps", type=int, default=100, help="totalTrainSteps of every task (default 100)")
    add("--verbose", action="store_true", help="log requests (line and status only) to stderr")
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    api_keys = list(args.api_key)
    for path in args.api_key_file:
        api_keys.extend(_read_key_lines(path))
    if args.wait_seconds < 0 or args.run_seconds < 0 or args.total_steps < 1:
        raise SystemExit("clova-sandbox: --wait-seconds/--run-seconds must be >= 0, --total-steps >= 1")
    return Config(
        auth=args.auth,
        api_keys=frozenset(api_keys or [DEFAULT_API_KEY]),
        access_key=_pick(args.access_key, args.access_key_file, DEFAULT_ACCESS_KEY),
        secret_key=_pick(args.secret_key, args.secret_key_file, DEFAULT_SECRET_KEY),
        bucket_access_key=_pick(args.bucket_access_key, args.bucket_access_key_file, None),
        bucket_secret_key=_pick(args.bucket_secret_key, args.bucket_secret_key_file, None),
        wait_seconds=args.wait_seconds,
        run_seconds=args.run_seconds,
        total_steps=args.total_steps,
        verbose=args.verbose,
        storage_region=args.storage_region,
        buckets=frozenset(args.bucket or [DEFAULT_BUCKET]),
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
    storage = StorageServer((args.host, args.storage_port), config, server.store)
    install_stop_handlers(server)
    host, port = server.server_address[:2]
    print(f"clova-sandbox listening on {host}:{port}", flush=True)
    storage_host, storage_port = storage.server_address[:2]
    print(f"storage listening on {storage_host}:{storage_port}", flush=True)
    threading.Thread(target=storage.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        storage.shutdown()
        storage.server_close()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
