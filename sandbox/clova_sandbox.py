#!/usr/bin/env python3
"""NAVER CLOVA Studio tuning API v2 emulator ("CLOVA sandbox").

Written from the vendor documentation summarised in
shared/reference/vendor-apis.md section 1. It serves the four tuning
endpoints under /tuning/v2/tasks, checks both documented auth schemes on its
own (Bearer API key and the legacy API Gateway signature v2), moves tasks
through WAIT -> RUNNING -> SUCCEEDED (or FAILED on request) from wall-clock
time, and exposes a small control API under /_sandbox/ for fault injection
and inspection. Standard library only.

Run `python3 sandbox/clova_sandbox.py --help`; see docs/sandbox.md.
"""

from __future__ import annotations

import argparse
import base64
import collections
import copy
import dataclasses
import hashlib
import hmac
import json
import math
import secrets
import signal
import socket
import string
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

from sandbox_http import (ControlApiMixin, FaultQueueMixin, RequestLogMixin,
                          ResettableHTTPServer, SandboxHandlerBase)

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

    def bucket_keys_match(self, access_key: str, secret_key: str) -> bool:
        checks = ((self.bucket_access_key, access_key), (self.bucket_secret_key, secret_key))
        return all(expected is None or same_secret(given, expected) for expected, given in checks)


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


def planned_failure(config: Config, dataset: dict) -> tuple[str, str | None] | None:
    # The real service only finds out it cannot read the bucket once the
    # task is picked up, so wrong bucket keys surface as a later FAILED task.
    if not config.bucket_keys_match(dataset["trainingDatasetAccessKey"],
                                    dataset["trainingDatasetSecretKey"]):
        return "file.noexist", None
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
        "dataRows": DATA_ROWS,
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

FAULT_OPS = frozenset({"create", "get", "list", "delete", "any"})
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

class Store(FaultQueueMixin, RequestLogMixin):
    """Tasks, queued faults and the request log, behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.tasks: dict[str, Task] = {}
        self.faults: collections.deque = collections.deque()
        self.requests: list[dict] = []

    def reset(self) -> None:
        with self.lock:
            self.tasks.clear()
            self.faults.clear()
            self.requests.clear()

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


class SandboxHandler(ControlApiMixin, SandboxHandlerBase):
    server_version = "clova-sandbox/1.0"
    log_name = "clova-sandbox"

    server: SandboxServer

    # -- plumbing ---------------------------------------------------------

    def verbose(self) -> bool:
        return self.server.config.verbose

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

        def make_task(task_id: str) -> Task:
            return Task(
                id=task_id,
                name=request.name or default_task_name(now),
                model=request.model,
                task_type=request.task_type,
                train_epochs=request.train_epochs,
                learning_rate=request.learning_rate,
                created_at=now,
                failure=planned_failure(config, request.dataset),
                request_id=self.headers.get(REQUEST_ID_HEADER),
                dataset_bucket=request.dataset["trainingDatasetBucket"],
                dataset_path=request.dataset["trainingDatasetFilePath"],
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
                                    "(default: any); a mismatch fails the task with file.noexist")
    add("--bucket-access-key-file", metavar="PATH")
    add("--bucket-secret-key", help="Object Storage secret key create requests must carry (default: any)")
    add("--bucket-secret-key-file", metavar="PATH")
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
    install_stop_handlers(server)
    host, port = server.server_address[:2]
    print(f"clova-sandbox listening on {host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
