#!/usr/bin/env python3
"""Yandex Cloud Foundation Models tuning v1 emulator ("Yandex sandbox").

Written from the vendor documentation summarised in
shared/reference/vendor-apis.md section 3. One process serves:

* gRPC (plaintext HTTP/2, what nginx's `grpc_pass grpc://` speaks):
  yandex.cloud.ai.tuning.v1.TuningService (Tune, Describe, List, Cancel,
  ListErrors; the other RPCs answer UNIMPLEMENTED) and
  yandex.cloud.operation.OperationService (Get, Cancel). Every message is
  (de)serialised by the generated stubs of Yandex's official `yandexcloud`
  package, so the wire format is Yandex's own; nothing here re-declares it.
* HTTP: the IAM token endpoint POST /iam/v1/tokens, which checks a
  service-account JWT (PS256) exactly as section 3.7 describes, and a control
  API under /_sandbox/ for fault injection and inspection.

Tasks move CREATED -> PENDING -> IN_PROGRESS -> COMPLETED (or FAILED on
request) from wall-clock time.

Run `python3 sandbox/yandex_sandbox.py --help`; see docs/sandbox.md.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import collections
import dataclasses
import hmac
import json
import math
import os
import re
import secrets
import signal
import socket
import string
import struct
import sys
import threading
import time
import traceback
import uuid
from concurrent import futures
from urllib.parse import urlsplit

from sandbox_http import (ControlApiMixin, FaultQueueMixin,
                          ResettableHTTPServer, SandboxHandlerBase)

try:
    import grpc
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from google.protobuf import json_format, message_factory, timestamp_pb2
    from google.rpc import error_details_pb2, status_pb2
    from yandex.cloud.ai.tuning.v1 import (
        tuning_error_pb2,
        tuning_service_pb2,
        tuning_service_pb2_grpc,
        tuning_task_pb2,
    )
    from yandex.cloud.operation import (
        operation_pb2,
        operation_service_pb2,
        operation_service_pb2_grpc,
    )
except ImportError as exc:  # pragma: no cover - depends on the environment
    sys.exit(f"yandex-sandbox: needs grpcio, yandexcloud and cryptography "
             f"(pip install -r requirements.txt): {exc}")

# --------------------------------------------------------------------------
# Vendor constants (reference §3)
# --------------------------------------------------------------------------

TUNING_SERVICE = "yandex.cloud.ai.tuning.v1.TuningService"
OPERATION_SERVICE = "yandex.cloud.operation.OperationService"
TUNING_METHODS = tuple(
    tuning_service_pb2.DESCRIPTOR.services_by_name["TuningService"].methods_by_name)
OPERATION_METHODS = tuple(
    operation_service_pb2.DESCRIPTOR.services_by_name["OperationService"].methods_by_name)

IAM_TOKEN_PATH = "/iam/v1/tokens"
IAM_AUDIENCE = "https://iam.api.cloud.yandex.net/iam/v1/tokens"
JWT_ALGORITHM = "PS256"                 # the only algorithm Yandex IAM takes
JWT_MAX_LIFETIME = 3600                 # exp - iat
JWT_CLOCK_SKEW = 5 * 60                 # how far iat may be ahead of now
DEFAULT_TOKEN_TTL = 12 * 3600           # IAM tokens live at most 12 hours
UNAUTHENTICATED_MESSAGE = "Token is invalid or has expired."
CONTROL_PREFIX = "/_sandbox/"
MAX_BODY_BYTES = 1024 * 1024

SUPPORTED_MODELS = frozenset({"yandexgpt-lite", "yandexgpt", "llama-lite", "llama"})
MODEL_URI = re.compile(r"gpt://([^/]+)/([^/]+)/([^/]+)")
TUNING_NAME = re.compile(r"[A-Za-z0-9 _-]{3,100}")
CHAT_PARAMS = ("text_to_text_completion", "text_classification_multilabel",
               "text_classification_multiclass")
EMBEDDING_PARAMS = ("text_embedding_pair_params", "text_embedding_triplet_params")
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 100

Status = tuning_task_pb2.TuningTask.Status
STATUS_NAMES = tuple(Status.keys())
LIVE = frozenset({Status.CREATED, Status.PENDING, Status.IN_PROGRESS})
FINISHED = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELED,
                      Status.ARCHIVED, Status.PAID})
SUCCEEDED = frozenset({Status.COMPLETED, Status.ARCHIVED, Status.PAID})
STARTED = frozenset({Status.IN_PROGRESS}) | FINISHED

# Sandbox convention: a dataset id with this prefix fails the task.
FAIL_PREFIX = "fail-"
FAILED_OPERATION_MESSAGE = "dataset is invalid"
CANCELED_OPERATION_MESSAGE = "operation was canceled"
DEFAULT_FAILURE_MESSAGE = "tuning failed"

DEFAULT_FOLDER_ID = "b1gsandboxfolder"
DEFAULT_API_KEY = "AQVNsandbox-api-key"
DEFAULT_KEY_ID = "ajesandboxkey0000001"
DEFAULT_SERVICE_ACCOUNT_ID = "ajesandboxaccount001"
ID_ALPHABET = string.ascii_lowercase + string.digits

CODE_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


def random_id(prefix: str, length: int = 20) -> str:
    """Yandex-style resource id: a 3-letter prefix plus lower-case base36."""
    return prefix + "".join(secrets.choice(ID_ALPHABET) for _ in range(length - len(prefix)))


def timestamp(epoch: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(round(epoch * 1e9))
    return stamp


def rfc3339(epoch: float) -> str:
    return timestamp(epoch).ToJsonString()


def same_secret(given: str, expected: str) -> bool:
    # compare_digest on str refuses non-ASCII, so compare bytes.
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def to_json(message) -> dict:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def rpc_status(code: int, message: str, request_id: str | None = None) -> status_pb2.Status:
    """google.rpc.Status with a RequestInfo detail, as Yandex sends it."""
    status = status_pb2.Status(code=code, message=message)
    if request_id is not None:
        status.details.add().Pack(error_details_pb2.RequestInfo(request_id=request_id))
    return status


class RpcFailure(Exception):
    """A gRPC error status answered to the caller."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> RpcFailure:
    return RpcFailure(grpc.StatusCode.INVALID_ARGUMENT, message)


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------

@dataclasses.dataclass
class Config:
    folder_id: str = DEFAULT_FOLDER_ID
    api_keys: frozenset = frozenset({DEFAULT_API_KEY})
    key_id: str = DEFAULT_KEY_ID
    service_account_id: str = DEFAULT_SERVICE_ACCOUNT_ID
    public_key: rsa.RSAPublicKey | None = None     # None: every JWT is refused
    token_ttl: float = DEFAULT_TOKEN_TTL
    created_seconds: float = 0.3
    pending_seconds: float = 0.3
    run_seconds: float = 2.0
    total_steps: int = 100
    verbose: bool = False


# --------------------------------------------------------------------------
# IAM: service-account JWT -> IAM token (reference §3.7)
# --------------------------------------------------------------------------

class IamFailure(Exception):
    """An IAM answer other than 200: HTTP status and google.rpc.Status."""

    def __init__(self, http_status: int, code: int, message: str):
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message


def iam_bad_request(message: str) -> IamFailure:
    return IamFailure(400, grpc.StatusCode.INVALID_ARGUMENT.value[0], message)


def iam_unauthenticated(message: str) -> IamFailure:
    return IamFailure(401, grpc.StatusCode.UNAUTHENTICATED.value[0], message)


_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_decode(text: str, what: str) -> bytes:
    text = text.rstrip("=")
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise iam_bad_request(f"JWT {what} is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise iam_bad_request(f"JWT {what} is not base64url") from None


def _jwt_object(segment: str, what: str) -> dict:
    try:
        value = json.loads(b64url_decode(segment, what).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise iam_bad_request(f"JWT {what} is not a JSON object") from None
    if not isinstance(value, dict):
        raise iam_bad_request(f"JWT {what} is not a JSON object")
    return value


def _numeric_date(claims: dict, name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise iam_unauthenticated(f"JWT has no valid {name} claim")
    return float(value)


def pss_padding() -> padding.PSS:
    """RSASSA-PSS, MGF1 with SHA-256, salt length = digest length (32)."""
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size)


def verify_jwt(config: Config, token: str, now: float) -> None:
    """Raises IamFailure unless token is a valid service-account JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        raise iam_bad_request("JWT must have three dot-separated parts")
    header = _jwt_object(parts[0], "header")
    claims = _jwt_object(parts[1], "payload")
    signature = b64url_decode(parts[2], "signature")
    if header.get("typ") != "JWT":
        raise iam_unauthenticated('JWT header typ must be "JWT"')
    if header.get("alg") != JWT_ALGORITHM:
        raise iam_unauthenticated(
            f"JWT algorithm {header.get('alg')!r} is not supported; use {JWT_ALGORITHM}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise iam_unauthenticated("JWT header has no kid")
    if config.public_key is None or kid != config.key_id:
        raise iam_unauthenticated(f"unknown key id {kid!r}")
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    try:
        config.public_key.verify(signature, signing_input, pss_padding(), hashes.SHA256())
    except InvalidSignature:
        raise iam_unauthenticated("JWT signature is invalid") from None
    if claims.get("iss") != config.service_account_id:
        raise iam_unauthenticated(
            f"JWT iss {claims.get('iss')!r} is not the service account of key {kid}")
    audience = claims.get("aud")
    if audience != IAM_AUDIENCE and not (isinstance(audience, list) and IAM_AUDIENCE in audience):
        raise iam_unauthenticated(f"JWT aud must be {IAM_AUDIENCE}")
    issued, expires = _numeric_date(claims, "iat"), _numeric_date(claims, "exp")
    if expires <= issued:
        raise iam_unauthenticated("JWT exp must be later than iat")
    if expires - issued > JWT_MAX_LIFETIME:
        raise iam_unauthenticated(f"JWT lifetime (exp - iat) exceeds {JWT_MAX_LIFETIME} seconds")
    if now < issued - JWT_CLOCK_SKEW:
        raise iam_unauthenticated("JWT iat is in the future")
    if now > expires:
        raise iam_unauthenticated("JWT has expired")


def parse_token_request(raw: bytes) -> str:
    """The jwt of a CreateIamTokenRequest body in proto3 JSON."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise iam_bad_request("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise iam_bad_request("request body must be a JSON object")
    known = {"jwt", "yandexPassportOauthToken", "yandex_passport_oauth_token"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise iam_bad_request(f"unknown field {unknown[0]!r}")
    given = [name for name in body if body[name] not in (None, "")]
    if len(given) > 1:
        raise iam_bad_request("only one of jwt and yandexPassportOauthToken may be set")
    if not given:
        raise iam_bad_request("jwt is required")
    value = body[given[0]]
    if not isinstance(value, str):
        raise iam_bad_request(f"{given[0]} must be a string")
    if given[0] != "jwt":
        raise iam_unauthenticated("OAuth token is invalid or has expired")
    return value


def new_iam_token() -> str:
    # Shape from the IAM token concept page: t1.<id>.<86 characters>
    return f"t1.{secrets.token_urlsafe(48)}.{secrets.token_urlsafe(64)}"


# --------------------------------------------------------------------------
# Authorized keys (the JSON `yc iam key create` writes)
# --------------------------------------------------------------------------

def make_authorized_key(service_account_id: str | None = None) -> tuple[dict, str]:
    """(authorized key JSON object, public key PEM) for a new RSA-2048 key."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_id = random_id("aje")
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    key = {
        "id": key_id,
        "service_account_id": service_account_id or random_id("aje"),
        "created_at": rfc3339(time.time()),
        "key_algorithm": "RSA_2048",
        "public_key": public_pem,
        # Yandex prefixes the PEM with this marker line (RFC 7468 allows
        # text before the BEGIN line); clients must cope with it.
        "private_key": f"PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <{key_id}>\n"
                       + private_pem,
    }
    return key, public_pem


def write_key_files(json_path: str, pem_path: str, service_account_id: str | None) -> dict:
    key, public_pem = make_authorized_key(service_account_id)
    descriptor = os.open(json_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(key, handle, indent=2)
        handle.write("\n")
    with open(pem_path, "w", encoding="utf-8") as handle:
        handle.write(public_pem)
    return key


def load_public_key(pem: bytes, source: str) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise SystemExit(f"yandex-sandbox: {source}: not a PEM public key ({exc})") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise SystemExit(f"yandex-sandbox: {source}: PS256 needs an RSA key")
    return key


# --------------------------------------------------------------------------
# Tune request validation (reference §3.3)
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TuneRequest:
    folder_id: str
    model: str
    failure: str | None         # ListErrors message of a planned failure


def _check_datasets(field: str, datasets) -> None:
    for index, dataset in enumerate(datasets):
        where = f"{field}[{index}]" if field != "validation_dataset" else field
        if not dataset.dataset_id:
            raise invalid(f"{where}.dataset_id is required")
        if not 0 < dataset.weight <= 1:
            raise invalid(f"{where}.weight must be in (0, 1]")


def _check_params(which: str, params) -> None:
    if not (math.isfinite(params.lr) and params.lr >= 0):
        raise invalid(f"{which}.lr must be a non-negative number")
    if params.n_samples < 0:
        raise invalid(f"{which}.n_samples must not be negative")
    if params.WhichOneof("tuning_type") == "lora":
        if params.lora.rank <= 0:
            raise invalid(f"{which}.lora.rank must be positive")
        if not params.lora.alpha > 0:
            raise invalid(f"{which}.lora.alpha must be positive")


def validate_tune(config: Config, request) -> TuneRequest:
    if not request.base_model_uri:
        raise invalid("base_model_uri is required")
    match = MODEL_URI.fullmatch(request.base_model_uri)
    if match is None:
        raise invalid("base_model_uri must have the form gpt://<folder_id>/<model>/<version>")
    folder_id, model = match[1], match[2]
    if folder_id != config.folder_id:
        raise RpcFailure(grpc.StatusCode.PERMISSION_DENIED, "Permission denied")
    if model not in SUPPORTED_MODELS:
        raise RpcFailure(grpc.StatusCode.NOT_FOUND, "model not found")
    if not request.train_datasets:
        raise invalid("train_datasets must not be empty")
    datasets = [("train_datasets", request.train_datasets),
                ("validation_datasets", request.validation_datasets),
                ("test_datasets", request.test_datasets)]
    if request.HasField("validation_dataset"):
        datasets.append(("validation_dataset", [request.validation_dataset]))
    for field, entries in datasets:
        _check_datasets(field, entries)
    which = request.WhichOneof("tuning_params")
    if which is None:
        raise invalid("tuning_params must be set: one of " + ", ".join(CHAT_PARAMS))
    if which in EMBEDDING_PARAMS:
        raise RpcFailure(grpc.StatusCode.UNIMPLEMENTED, f"{which} is not implemented")
    _check_params(which, getattr(request, which))
    if request.name and not TUNING_NAME.fullmatch(request.name):
        raise invalid("name must match ^[A-Za-z0-9 _-]{3,100}$")
    failing = [dataset.dataset_id for _, entries in datasets for dataset in entries
               if dataset.dataset_id.startswith(FAIL_PREFIX)]
    failure = f"dataset {failing[0]} is invalid" if failing else None
    return TuneRequest(folder_id, model, failure)


# --------------------------------------------------------------------------
# Tasks and their lifecycle (computed from wall-clock time; no thread)
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TaskState:
    status: int
    current_step: int
    started_at: float | None
    finished_at: float | None
    modified_at: float
    error_message: str | None = None    # forced FAILED: ListErrors and op error


@dataclasses.dataclass
class Task:
    task_id: str
    operation_id: str
    folder_id: str
    created_by: str
    created_at: float
    source_model_uri: str
    target_model_uri: str
    name: str
    description: str
    labels: dict
    total_steps: int
    failure: str | None
    request: dict                        # the Tune request, proto JSON
    frozen: TaskState | None = None      # set by Cancel or the control API

    @property
    def sort_key(self) -> tuple[int, str]:
        return round(self.created_at * 1e9), self.task_id

    def state(self, config: Config, now: float) -> TaskState:
        return self.frozen or natural_state(self, config, now)

    def message(self, state: TaskState) -> tuning_task_pb2.TuningTask:
        task = tuning_task_pb2.TuningTask(
            task_id=self.task_id, operation_id=self.operation_id, status=state.status,
            folder_id=self.folder_id, created_by=self.created_by,
            source_model_uri=self.source_model_uri, name=self.name,
            description=self.description, labels=self.labels,
            created_at=timestamp(self.created_at))
        if state.started_at is not None:
            task.started_at.CopyFrom(timestamp(state.started_at))
        if state.finished_at is not None:
            task.finished_at.CopyFrom(timestamp(state.finished_at))
        if state.status in SUCCEEDED:
            task.target_model_uri = self.target_model_uri
        return task

    def operation(self, state: TaskState) -> operation_pb2.Operation:
        operation = operation_pb2.Operation(
            id=self.operation_id, description="Tuning", created_by=self.created_by,
            created_at=timestamp(self.created_at), modified_at=timestamp(state.modified_at),
            done=state.status in FINISHED)
        operation.metadata.Pack(tuning_service_pb2.TuningMetadata(
            tuning_task_id=self.task_id, status=state.status,
            total_steps=self.total_steps, current_step=state.current_step))
        if state.status in SUCCEEDED:
            operation.response.Pack(tuning_service_pb2.TuningResponse(
                tuning_task_id=self.task_id, status=state.status,
                target_model_uri=self.target_model_uri))
        elif state.status == Status.FAILED:
            message = state.error_message or (
                FAILED_OPERATION_MESSAGE if self.failure else DEFAULT_FAILURE_MESSAGE)
            operation.error.CopyFrom(rpc_status(
                grpc.StatusCode.FAILED_PRECONDITION.value[0], message))
        elif state.status == Status.CANCELED:
            operation.error.CopyFrom(rpc_status(
                grpc.StatusCode.CANCELLED.value[0], CANCELED_OPERATION_MESSAGE))
        return operation

    def errors(self, state: TaskState) -> list:
        if state.status != Status.FAILED:
            return []
        return [tuning_error_pb2.TuningError(
            tuning_task_id=self.task_id, type=tuning_error_pb2.TuningError.PUBLIC,
            message=state.error_message or self.failure or DEFAULT_FAILURE_MESSAGE)]


def natural_state(task: Task, config: Config, now: float) -> TaskState:
    """State of a task nobody froze, at time now."""
    pending_at = task.created_at + config.created_seconds
    started_at = pending_at + config.pending_seconds
    ended_at = started_at + config.run_seconds
    # A failing run reaches half its steps, then fails.
    last_step = task.total_steps // 2 if task.failure else task.total_steps
    if now < pending_at:
        return TaskState(Status.CREATED, 0, None, None, task.created_at)
    if now < started_at:
        return TaskState(Status.PENDING, 0, None, None, pending_at)
    if now < ended_at:
        step = min(last_step, int((now - started_at) / config.run_seconds * last_step))
        return TaskState(Status.IN_PROGRESS, step, started_at, None, now)
    if task.failure:
        return TaskState(Status.FAILED, last_step, started_at, ended_at, ended_at)
    return TaskState(Status.COMPLETED, last_step, started_at, ended_at, ended_at)


def forced_state(task: Task, current: TaskState, changes: dict, now: float) -> TaskState:
    """Apply a /_sandbox/tasks/{id} body (validated already)."""
    status = Status.Value(changes.get("status", Status.Name(current.status)))
    step = changes.get("current_step")
    if step is None:
        step = task.total_steps if status in SUCCEEDED else current.current_step
    started_at = current.started_at
    if status in STARTED and started_at is None:
        started_at = now
    finished_at = (current.finished_at or now) if status in FINISHED else None
    message = changes.get("error_message", current.error_message)
    return TaskState(status, step, started_at, finished_at, now,
                     message if status == Status.FAILED else None)


FORCE_KEYS = frozenset({"status", "current_step", "error_message"})


def validate_force_body(body: dict, total_steps: int) -> None:
    unknown = set(body) - FORCE_KEYS
    if unknown:
        raise ValueError(f"unknown keys: {sorted(unknown)}")
    if "status" in body and body["status"] not in STATUS_NAMES:
        raise ValueError(f"status must be one of {list(STATUS_NAMES)}")
    step = body.get("current_step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int)
                             or not 0 <= step <= total_steps):
        raise ValueError(f"current_step must be an integer in [0, {total_steps}]")
    if not isinstance(body.get("error_message", ""), str):
        raise ValueError("error_message must be a string")


# --------------------------------------------------------------------------
# Fault injection
# --------------------------------------------------------------------------

GRPC_FAULT_METHODS = frozenset(TUNING_METHODS) | {"OperationGet", "OperationCancel"}
FAULT_METHODS = GRPC_FAULT_METHODS | {"IamToken", "any"}
# fault kind -> the methods it can apply to
FAULT_TARGETS = {
    "grpc_error": GRPC_FAULT_METHODS,
    "op_error": frozenset({"OperationGet", "OperationCancel"}),
    "iam_error": frozenset({"IamToken"}),
    "slow": GRPC_FAULT_METHODS | {"IamToken"},
    "reset": GRPC_FAULT_METHODS | {"IamToken"},
}


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


def _grpc_error_fault(spec: dict) -> dict:
    return {"code": _fault_int(spec, "code", 13, 0, 16),
            "message": _fault_str(spec, "message", "Internal error")}


def _op_error_fault(spec: dict) -> dict:
    return {"code": _fault_int(spec, "code", 13, 1, 16),
            "message": _fault_str(spec, "message", "Internal error")}


def _iam_error_fault(spec: dict) -> dict:
    default_body = {"code": _fault_int(spec, "code", 13, 0, 16),
                    "message": _fault_str(spec, "message", "Internal error")}
    body = spec.get("body", default_body)
    if not isinstance(body, (dict, str)):
        raise ValueError("body must be a JSON object or a string")
    return {"http": _fault_int(spec, "http", 500, 100, 599),
            "body": body if isinstance(body, str) else json.dumps(body),
            "content_type": _fault_str(spec, "content_type", "application/json")}


def _slow_fault(spec: dict) -> dict:
    delay = spec.get("delay", 1.0)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 3600:
        raise ValueError("delay must be a number of seconds in [0, 3600]")
    return {"delay": float(delay)}


# fault kind -> parser of its own parameters
FAULT_PARAMETERS = {
    "grpc_error": _grpc_error_fault,
    "op_error": _op_error_fault,
    "iam_error": _iam_error_fault,
    "slow": _slow_fault,
    "reset": lambda spec: {},
}


def parse_fault(spec) -> dict:
    if not isinstance(spec, dict):
        raise ValueError("fault must be a JSON object")
    method = spec.get("method", "any")
    if method not in FAULT_METHODS:
        raise ValueError(f"method must be one of {sorted(FAULT_METHODS)}")
    kind = spec.get("fault")
    if kind not in FAULT_PARAMETERS:
        raise ValueError(f"fault must be one of {sorted(FAULT_PARAMETERS)}")
    if method != "any" and method not in FAULT_TARGETS[kind]:
        raise ValueError(f"fault {kind} does not apply to {method}")
    count = _fault_int(spec, "count", 1, 1, 1_000_000)
    return {"method": method, "fault": kind, "count": count, **FAULT_PARAMETERS[kind](spec)}


# --------------------------------------------------------------------------
# Shared state
# --------------------------------------------------------------------------

class Store(FaultQueueMixin):
    """Tasks, issued IAM tokens, queued faults and the call log, behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.tasks: dict[str, Task] = {}
        self.operations: dict[str, str] = {}        # operation id -> task id
        self.tokens: dict[str, float] = {}          # IAM token -> expiry (epoch)
        self.exchanges = 0
        self.rejected = 0
        self.faults: collections.deque = collections.deque()
        self.calls: list[dict] = []

    def reset(self) -> None:
        """Forget tasks, faults, calls and counters; issued tokens stay valid."""
        with self.lock:
            self.tasks.clear()
            self.operations.clear()
            self.faults.clear()
            self.calls.clear()
            self.exchanges = self.rejected = 0

    # -- tasks

    def add_task(self, make_task) -> Task:
        with self.lock:
            task_id, operation_id = random_id("ftn"), random_id("ftn")
            while (task_id in self.tasks or operation_id in self.operations
                   or task_id == operation_id):
                task_id, operation_id = random_id("ftn"), random_id("ftn")
            task = make_task(task_id, operation_id)
            self.tasks[task_id] = task
            self.operations[operation_id] = task_id
            return task

    def task(self, task_id: str) -> Task | None:
        with self.lock:
            return self.tasks.get(task_id)

    def task_of_operation(self, operation_id: str) -> Task | None:
        with self.lock:
            return self.tasks.get(self.operations.get(operation_id, ""))

    def newest_first(self) -> list[Task]:
        with self.lock:
            tasks = list(self.tasks.values())
        return sorted(tasks, key=lambda t: t.sort_key, reverse=True)

    def cancel(self, task: Task, config: Config, now: float) -> TaskState:
        with self.lock:
            state = task.state(config, now)
            if state.status not in LIVE:
                raise RpcFailure(grpc.StatusCode.FAILED_PRECONDITION,
                                 f"tuning task {task.task_id} is {Status.Name(state.status)} "
                                 f"and cannot be canceled")
            task.frozen = TaskState(Status.CANCELED, state.current_step, state.started_at,
                                    now, now)
            return task.frozen

    def force(self, task: Task, changes: dict, config: Config) -> TaskState:
        with self.lock:
            now = time.time()
            task.frozen = forced_state(task, task.state(config, now), changes, now)
            return task.frozen

    # -- IAM tokens

    def issue_token(self, ttl: float, now: float) -> tuple[str, float]:
        token, expires = new_iam_token(), now + ttl
        with self.lock:
            self.tokens = {t: e for t, e in self.tokens.items() if e > now}
            self.tokens[token] = expires
            self.exchanges += 1
        return token, expires

    def count_rejected(self) -> None:
        with self.lock:
            self.rejected += 1

    def token_valid(self, token: str, now: float) -> bool:
        with self.lock:
            expires = self.tokens.get(token)
        return expires is not None and now < expires

    def expire_tokens(self) -> int:
        with self.lock:
            count = len(self.tokens)
            self.tokens.clear()
            return count

    def iam_counters(self, now: float) -> dict:
        with self.lock:
            active = sum(1 for expires in self.tokens.values() if expires > now)
            return {"exchanges": self.exchanges, "rejected": self.rejected,
                    "active_tokens": active}

    # -- faults

    def fault_matches(self, fault: dict, method: str) -> bool:
        """A fault names an RPC (or "any") and applies only where it can."""
        return (fault["method"] in (method, "any")
                and method in FAULT_TARGETS[fault["fault"]])

    # -- call log

    def log_call(self, entry: dict) -> dict:
        with self.lock:
            self.calls.append(entry)
        return entry

    def finish_call(self, entry: dict, **outcome) -> None:
        with self.lock:
            entry.update(outcome)

    def logged_calls(self) -> list[dict]:
        with self.lock:
            return [dict(entry) for entry in self.calls]

    def clear_calls(self) -> None:
        with self.lock:
            self.calls.clear()


# --------------------------------------------------------------------------
# TCP front for the gRPC port
# --------------------------------------------------------------------------

def _set_nodelay(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


class Splice:
    """One client connection joined to one connection to the gRPC server.

    grpcio never shows a handler its socket, so the sandbox owns the
    client's socket here; that is what lets a fault reset it (TCP RST).
    """

    def __init__(self, front: "TcpFront", client: socket.socket, upstream: socket.socket):
        self.front = front
        self.client = client
        self.upstream = upstream
        self.client_address = client.getpeername()[:2]
        self.upstream_port = upstream.getsockname()[1]
        self.lock = threading.Lock()
        self.running = 2
        self.resetting = False
        self.closed = threading.Event()

    def start(self) -> None:
        for source, target in ((self.client, self.upstream), (self.upstream, self.client)):
            threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data or self.resetting:
                    break
                target.sendall(data)
        except OSError:
            pass
        if not self.resetting:
            try:
                target.shutdown(socket.SHUT_WR)     # pass the half-close on
            except OSError:
                pass
        with self.lock:
            self.running -= 1
            last = self.running == 0
        if last:        # only now is no thread inside a call on either socket
            self.client.close()
            self.upstream.close()
            self.front.forget(self)
            self.closed.set()

    def reset(self, timeout: float = 5.0) -> None:
        """Abort the client's connection with an RST; no FIN goes out first."""
        with self.lock:
            if self.running == 0:
                return
            self.resetting = True
            try:
                self.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
                self.client.shutdown(socket.SHUT_RD)    # wakes its pump, sends nothing
            except OSError:
                pass
            try:
                self.upstream.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.closed.wait(timeout)

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class TcpFront:
    """Listens on the public gRPC port and splices each connection to the
    gRPC server, which listens on an ephemeral loopback port."""

    def __init__(self, host: str, port: int, backend_port: int):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(128)
        self.listener.settimeout(0.2)
        self.address = self.listener.getsockname()[:2]
        self.backend_port = backend_port
        self.lock = threading.Lock()
        self.splices: dict[int, Splice] = {}      # gRPC-side local port -> splice
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                if self.stopping.is_set():
                    return
                time.sleep(0.05)        # e.g. EMFILE; do not spin
                continue
            client.settimeout(None)
            try:
                upstream = socket.create_connection(("127.0.0.1", self.backend_port))
            except OSError:
                client.close()
                continue
            _set_nodelay(client)
            _set_nodelay(upstream)
            splice = Splice(self, client, upstream)
            with self.lock:
                self.splices[splice.upstream_port] = splice
            splice.start()

    def forget(self, splice: Splice) -> None:
        with self.lock:
            if self.splices.get(splice.upstream_port) is splice:
                del self.splices[splice.upstream_port]

    def splice_for_peer(self, peer: str) -> Splice | None:
        """The splice whose gRPC-side socket is peer ("ipv4:127.0.0.1:PORT")."""
        port = peer.rsplit(":", 1)[-1]
        if not port.isdigit():
            return None
        with self.lock:
            return self.splices.get(int(port))

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=2)
        self.listener.close()
        with self.lock:
            splices = list(self.splices.values())
        for splice in splices:
            splice.close()


# --------------------------------------------------------------------------
# gRPC services
# --------------------------------------------------------------------------

def _metadata_dict(metadata) -> dict:
    values: dict[str, str] = {}
    for item in metadata or ():
        key = item.key.lower()
        value = item.value
        if isinstance(value, bytes):        # -bin metadata
            value = base64.b64encode(value).decode("ascii")
        values[key] = f"{values[key]}, {value}" if key in values else value
    return values


class RpcDropped(Exception):
    """The call's stream or connection was reset; nothing is answered."""


class GrpcHandlers:
    """The RPC implementations behind both services; every call goes
    through serve(): log, fault, auth, then the method itself."""

    def __init__(self, sandbox: "Sandbox"):
        self.sandbox = sandbox
        self.config = sandbox.config
        self.store = sandbox.store
        self.implemented = {
            "Tune": self.tune,
            "Describe": self.describe,
            "List": self.list,
            "Cancel": self.cancel,
            "ListErrors": self.list_errors,
            "OperationGet": self.operation_get,
            "OperationCancel": self.operation_cancel,
        }
        tuning = tuning_service_pb2.DESCRIPTOR.services_by_name["TuningService"]
        operations = operation_service_pb2.DESCRIPTOR.services_by_name["OperationService"]
        self.paths = {name: f"/{TUNING_SERVICE}/{name}" for name in TUNING_METHODS}
        self.paths.update({f"Operation{name}": f"/{OPERATION_SERVICE}/{name}"
                           for name in OPERATION_METHODS})
        self.response_types = {
            name: message_factory.GetMessageClass(method.output_type)
            for name, method in tuning.methods_by_name.items()}
        self.response_types.update({
            f"Operation{name}": message_factory.GetMessageClass(method.output_type)
            for name, method in operations.methods_by_name.items()})

    # -- servicers: the generated base classes, every method routed to serve()

    def tuning_servicer(self):
        servicer = tuning_service_pb2_grpc.TuningServiceServicer()
        for name in TUNING_METHODS:
            setattr(servicer, name, self._bound(name))
        return servicer

    def operation_servicer(self):
        servicer = operation_service_pb2_grpc.OperationServiceServicer()
        for name in OPERATION_METHODS:
            setattr(servicer, name, self._bound(f"Operation{name}"))
        return servicer

    def _bound(self, method: str):
        return lambda request, context: self.serve(method, request, context)

    # -- the common path of every call

    def serve(self, method: str, request, context):
        now = time.time()
        metadata = context.invocation_metadata()
        auth_ok = self.authenticated(metadata, now)
        splice = self.sandbox.front.splice_for_peer(context.peer())
        peer = splice.client_address if splice else None
        entry = self.store.log_call({
            "time": rfc3339(now),
            "kind": "grpc",
            "method": method,
            "path": self.paths[method],
            "peer": f"{peer[0]}:{peer[1]}" if peer else context.peer(),
            "metadata": _metadata_dict(metadata),
            "request": to_json(request),
            "auth_ok": auth_ok,
            "code": None,
            "fault": None,
        })
        code = grpc.StatusCode.UNKNOWN
        try:
            fault = self.store.take_fault(method)
            if fault is not None:
                self.store.finish_call(entry, fault=fault["fault"])
                answer = self._apply_fault(fault, method, request, context, splice)
                if answer is not None:
                    code = grpc.StatusCode.OK
                    return answer
            if not auth_ok:
                raise RpcFailure(grpc.StatusCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE)
            implementation = self.implemented.get(method)
            if implementation is None:
                raise RpcFailure(grpc.StatusCode.UNIMPLEMENTED,
                                 f"method {self.paths[method]} is not implemented")
            answer = implementation(request, time.time())
            code = grpc.StatusCode.OK
            return answer
        except RpcFailure as failure:
            code = failure.code
            self._abort(context, failure)
        except RpcDropped:
            code = None
            context.abort(grpc.StatusCode.UNAVAILABLE, "connection reset by the sandbox")
        except Exception:   # a sandbox bug: answer INTERNAL, show the trace
            traceback.print_exc()
            code = grpc.StatusCode.INTERNAL
            self._abort(context, RpcFailure(code, "internal sandbox error"))
        finally:
            self.store.finish_call(entry, code=None if code is None else code.value[0])
            if self.config.verbose:
                name = "reset" if code is None else code.name
                sys.stderr.write(f"yandex-sandbox: grpc {self.paths[method]} {name}\n")

    def authenticated(self, metadata, now: float) -> bool:
        values = [item.value for item in metadata or () if item.key.lower() == "authorization"]
        if len(values) != 1 or not isinstance(values[0], str):
            return False
        scheme, _, credential = values[0].strip().partition(" ")
        credential = credential.strip()
        if not credential:
            return False
        if scheme.lower() == "api-key":
            return any(same_secret(credential, key) for key in self.config.api_keys)
        if scheme.lower() == "bearer":
            return self.store.token_valid(credential, now)
        return False

    @staticmethod
    def _abort(context, failure: RpcFailure):
        details = rpc_status(failure.code.value[0], failure.message, str(uuid.uuid4()))
        context.set_trailing_metadata((("grpc-status-details-bin", details.SerializeToString()),))
        context.abort(failure.code, failure.message)

    def _apply_fault(self, fault: dict, method: str, request, context, splice):
        """Carry out a fault: an answer, None to go on, or an exception."""
        kind = fault["fault"]
        if kind == "slow":
            time.sleep(fault["delay"])
            return None
        if kind == "grpc_error":
            if fault["code"] == 0:      # OK with an empty (default) message
                return self.response_types[method]()
            raise RpcFailure(CODE_BY_NUMBER[fault["code"]], fault["message"])
        if kind == "op_error":
            return self._failed_operation(request.operation_id, fault)
        if kind == "reset":
            if splice is None:      # cannot happen: every call comes through the front
                raise RpcFailure(grpc.StatusCode.UNAVAILABLE,
                                 "connection reset by the sandbox (connection not found)")
            splice.reset()
            raise RpcDropped()
        raise AssertionError(kind)

    def _failed_operation(self, operation_id: str, fault: dict) -> operation_pb2.Operation:
        task = self.store.task_of_operation(operation_id)
        if task is not None:
            operation = task.operation(task.state(self.config, time.time()))
        else:
            operation = operation_pb2.Operation(id=operation_id, description="Tuning")
        operation.done = True
        operation.ClearField("response")
        operation.error.CopyFrom(rpc_status(fault["code"], fault["message"]))
        return operation

    # -- TuningService

    def tune(self, request, now: float) -> operation_pb2.Operation:
        tune = validate_tune(self.config, request)
        config = self.config

        def make_task(task_id: str, operation_id: str) -> Task:
            return Task(
                task_id=task_id, operation_id=operation_id, folder_id=tune.folder_id,
                created_by=config.service_account_id, created_at=now,
                source_model_uri=request.base_model_uri,
                target_model_uri=f"gpt://{tune.folder_id}/{tune.model}/latest@tamr"
                                 + random_id("", 20),
                name=request.name, description=request.description,
                labels=dict(request.labels), total_steps=config.total_steps,
                failure=tune.failure, request=to_json(request))

        task = self.store.add_task(make_task)
        return task.operation(task.state(config, now))

    def _task(self, task_id: str) -> Task:
        if not task_id:
            raise invalid("tuning_task_id is required")
        task = self.store.task(task_id)
        if task is None:
            raise RpcFailure(grpc.StatusCode.NOT_FOUND, f"tuning task {task_id} not found")
        return task

    def describe(self, request, now: float):
        task = self._task(request.tuning_task_id)
        return tuning_service_pb2.DescribeTuningResponse(
            tuning_task=task.message(task.state(self.config, now)))

    def list(self, request, now: float):
        if not request.folder_id:
            raise invalid("folder_id is required")
        if request.folder_id != self.config.folder_id:
            raise RpcFailure(grpc.StatusCode.PERMISSION_DENIED, "Permission denied")
        if not 0 <= request.page_size <= MAX_PAGE_SIZE:
            raise invalid(f"page_size must be in [0, {MAX_PAGE_SIZE}]")
        size = request.page_size or DEFAULT_PAGE_SIZE
        after = decode_page_token(request.page_token)
        listed = []
        for task in self.store.newest_first():
            if after is not None and task.sort_key >= after:
                continue
            state = task.state(self.config, now)
            if request.status and state.status != request.status:
                continue
            listed.append((task, state))
            if len(listed) > size:
                break
        response = tuning_service_pb2.ListTuningsResponse(
            tuning_tasks=[task.message(state) for task, state in listed[:size]])
        if len(listed) > size:
            response.next_page_token = encode_page_token(listed[size - 1][0].sort_key)
        return response

    def cancel(self, request, now: float):
        task = self._task(request.tuning_task_id)
        self.store.cancel(task, self.config, now)
        return tuning_service_pb2.CancelTuningResponse(tuning_task_id=task.task_id)

    def list_errors(self, request, now: float):
        task = self._task(request.tuning_task_id)
        return tuning_service_pb2.ListErrorsResponse(
            tuning_error=task.errors(task.state(self.config, now)))

    # -- OperationService

    def _operation_task(self, operation_id: str) -> Task:
        if not operation_id:
            raise invalid("operation_id is required")
        task = self.store.task_of_operation(operation_id)
        if task is None:
            raise RpcFailure(grpc.StatusCode.NOT_FOUND, f"Operation {operation_id} not found")
        return task

    def operation_get(self, request, now: float):
        task = self._operation_task(request.operation_id)
        return task.operation(task.state(self.config, now))

    def operation_cancel(self, request, now: float):
        task = self._operation_task(request.operation_id)
        return task.operation(self.store.cancel(task, self.config, now))


def encode_page_token(key: tuple[int, str]) -> str:
    """Opaque token: the sort key of the last task of the page."""
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode("ascii")


def decode_page_token(token: str) -> tuple[int, str] | None:
    if not token:
        return None
    try:
        nanos, task_id = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        if isinstance(nanos, bool) or not isinstance(nanos, int) or not isinstance(task_id, str):
            raise ValueError
    except (ValueError, TypeError, UnicodeError, binascii.Error):
        raise invalid("page_token is invalid") from None
    return nanos, task_id


# --------------------------------------------------------------------------
# HTTP server: IAM token endpoint and control API
# --------------------------------------------------------------------------

class BodyError(Exception):
    def __init__(self, http_status: int, message: str):
        super().__init__(message)
        self.http_status = http_status
        self.message = message


class HttpServer(ResettableHTTPServer):
    def __init__(self, address, sandbox: "Sandbox"):
        super().__init__(address, HttpHandler)
        self.sandbox = sandbox


class HttpHandler(ControlApiMixin, SandboxHandlerBase):
    server_version = "yandex-sandbox/1.0"
    log_name = "yandex-sandbox"

    server: HttpServer

    # -- plumbing ---------------------------------------------------------

    def verbose(self) -> bool:
        return self.server.sandbox.config.verbose

    def _send_status(self, http_status: int, code: int, message: str):
        """A google.rpc.Status body, as Yandex's REST front ends send."""
        self._send_json(http_status, to_json(rpc_status(code, message, str(uuid.uuid4()))))

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not (length.isascii() and length.strip().isdigit()):
            raise BodyError(400, "invalid Content-Length")
        if int(length) > MAX_BODY_BYTES:
            raise BodyError(413, "request body is too large")
        return self.rfile.read(int(length))

    def _read_chunked(self) -> bytes:
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise BodyError(400, "invalid chunked encoding") from None
            total += size
            if total > MAX_BODY_BYTES:
                raise BodyError(413, "request body is too large")
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
            self._send_status(exc.http_status, grpc.StatusCode.INVALID_ARGUMENT.value[0],
                              exc.message)
            return
        url = urlsplit(self.path)
        if url.path.startswith(CONTROL_PREFIX):
            self._handle_control(url.path[len(CONTROL_PREFIX):], body)
        elif url.path == IAM_TOKEN_PATH:
            if self.command == "POST":
                self._handle_iam(body)
            else:
                self._send_status(405, grpc.StatusCode.UNIMPLEMENTED.value[0],
                                  "Method Not Allowed")
        else:
            self._send_status(404, grpc.StatusCode.NOT_FOUND.value[0], "Not Found")

    # -- IAM token endpoint -----------------------------------------------

    def _handle_iam(self, body: bytes):
        sandbox = self.server.sandbox
        store, config, now = sandbox.store, sandbox.config, time.time()
        try:
            verify_jwt(config, parse_token_request(body), now)
            failure = None
        except IamFailure as exc:
            failure = exc
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        entry = store.log_call({
            "time": rfc3339(now),
            "kind": "iam",
            "method": "IamToken",
            "path": IAM_TOKEN_PATH,
            "peer": f"{self.client_address[0]}:{self.client_address[1]}",
            "metadata": headers,
            "request": request,
            "body": body.decode("utf-8", errors="replace"),
            "auth_ok": failure is None,
            "reason": None if failure is None else failure.message,
            "http_status": None,
            "fault": None,
        })
        if failure is not None and config.verbose:
            sys.stderr.write(f"yandex-sandbox: IAM token refused: {failure.message}\n")
        fault = store.take_fault("IamToken")
        if fault is not None:
            store.finish_call(entry, fault=fault["fault"])
            if fault["fault"] == "slow":
                time.sleep(fault["delay"])
            elif fault["fault"] == "iam_error":
                store.finish_call(entry, http_status=fault["http"])
                self._send(fault["http"], fault["body"].encode("utf-8"), fault["content_type"])
                return
            else:   # reset: TCP RST, no answer
                self.close_connection = True
                self.server.abort_connection(self.connection)
                return
        if failure is not None:
            store.count_rejected()
            store.finish_call(entry, http_status=failure.http_status)
            self._send_status(failure.http_status, failure.code, failure.message)
            return
        token, expires = store.issue_token(config.token_ttl, time.time())
        store.finish_call(entry, http_status=200)
        self._send_json(200, {"iamToken": token, "expiresAt": rfc3339(expires)})

    # -- control API ------------------------------------------------------

    def _control_store(self):
        return self.server.sandbox.store

    @staticmethod
    def _parse_fault(spec) -> dict:
        return parse_fault(spec)

    def _control_endpoints(self, store) -> dict:
        return {
            ("GET", "calls"): store.logged_calls,
            ("DELETE", "calls"): lambda: store.clear_calls() or {"ok": True},
            ("GET", "iam"): lambda: {"ok": True, **store.iam_counters(time.time())},
            ("POST", "iam/expire"): lambda: {"ok": True, "expired": store.expire_tokens()},
        }

    def _control_item(self, method: str, task_id: str, body: bytes) -> tuple[int, object]:
        sandbox = self.server.sandbox
        task = sandbox.store.task(task_id)
        if task is None:
            return 404, {"ok": False, "error": f"no task {task_id}"}
        if method == "POST":
            changes = self._control_json(body)
            validate_force_body(changes, task.total_steps)
            state = sandbox.store.force(task, changes, sandbox.config)
        elif method == "GET":
            state = task.state(sandbox.config, time.time())
        else:
            return 404, {"ok": False,
                         "error": f"no control endpoint {method} /_sandbox/tasks/{{id}}"}
        return 200, {
            "ok": True,
            "task": to_json(task.message(state)),
            "operation": to_json(task.operation(state)),
            "current_step": state.current_step,
            "total_steps": task.total_steps,
            "forced": task.frozen is not None,
            "request": task.request,
        }


# --------------------------------------------------------------------------
# The process: gRPC server behind the TCP front, plus the HTTP server
# --------------------------------------------------------------------------

class Sandbox:
    def __init__(self, config: Config, host: str, grpc_port: int, http_port: int):
        self.config = config
        self.store = Store()
        handlers = GrpcHandlers(self)
        self.grpc_server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="grpc"),
            options=[("grpc.so_reuseport", 0)])
        tuning_service_pb2_grpc.add_TuningServiceServicer_to_server(
            handlers.tuning_servicer(), self.grpc_server)
        operation_service_pb2_grpc.add_OperationServiceServicer_to_server(
            handlers.operation_servicer(), self.grpc_server)
        backend_port = self.grpc_server.add_insecure_port("127.0.0.1:0")
        if not backend_port:
            raise SystemExit("yandex-sandbox: cannot bind the internal gRPC port")
        self.front = TcpFront(host, grpc_port, backend_port)
        self.http = HttpServer((host, http_port), self)

    def start(self) -> None:
        self.grpc_server.start()
        self.front.start()

    def listening_line(self) -> str:
        grpc_host, grpc_port = self.front.address
        http_host, http_port = self.http.server_address[:2]
        return (f"yandex-sandbox listening grpc={grpc_host}:{grpc_port} "
                f"http={http_host}:{http_port}")

    def serve_forever(self) -> None:
        try:
            self.http.serve_forever(poll_interval=0.1)
        finally:
            self.front.close()
            self.grpc_server.stop(grace=0.5).wait(2)
            self.http.server_close()


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def _read_key_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        lines = (line.strip() for line in handle)
        return [line for line in lines if line and not line.startswith("#")]


def _seconds(value: float, option: str) -> float:
    if not (math.isfinite(value) and value >= 0):
        raise SystemExit(f"yandex-sandbox: {option} must be a number >= 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Yandex Cloud Foundation Models tuning v1 emulator (offline sandbox): "
                    "gRPC TuningService and OperationService, IAM token endpoint.")
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    add("--grpc-port", type=int, default=18084,
        help="plaintext gRPC (h2c) port; 0 picks a free one (default 18084)")
    add("--http-port", type=int, default=18085,
        help="HTTP port of the IAM endpoint and control API; 0 picks a free one (default 18085)")
    add("--folder-id", default=DEFAULT_FOLDER_ID,
        help=f"the one folder that exists (default {DEFAULT_FOLDER_ID})")
    add("--api-key", action="append", default=[], metavar="KEY",
        help=f"accepted API key, sent as 'Api-Key KEY' (repeatable; default {DEFAULT_API_KEY} "
             "when no key is given)")
    add("--api-key-file", action="append", default=[], metavar="PATH",
        help="file with accepted API keys, one per line (repeatable)")
    add("--authorized-key-file", metavar="PATH",
        help="authorized key JSON (as `yc iam key create` writes): its id, "
             "service_account_id and public_key; the private key is not read")
    add("--public-key-file", metavar="PATH",
        help="PEM public key of the authorized key that signs JWTs")
    add("--key-id", help=f"id of the authorized key, the JWT kid (default {DEFAULT_KEY_ID})")
    add("--service-account-id",
        help=f"service account of the key, the JWT iss (default {DEFAULT_SERVICE_ACCOUNT_ID})")
    add("--token-ttl", type=float, default=DEFAULT_TOKEN_TTL,
        help=f"seconds an issued IAM token lives (default {DEFAULT_TOKEN_TTL})")
    add("--created-seconds", type=float, default=0.3,
        help="seconds a task stays CREATED (default 0.3)")
    add("--pending-seconds", type=float, default=0.3,
        help="seconds a task stays PENDING (default 0.3)")
    add("--run-seconds", type=float, default=2.0,
        help="seconds a task stays IN_PROGRESS before COMPLETED (default 2.0)")
    add("--total-steps", type=int, default=100, help="total_steps of every task (default 100)")
    add("--verbose", action="store_true",
        help="log HTTP request lines, gRPC methods with their status and refused JWTs")
    add("--make-key", nargs=2, metavar=("OUT_JSON", "OUT_PUBLIC_PEM"),
        help="write a new authorized key JSON and its public key PEM, then exit "
             "(--service-account-id sets the account, else a random one)")
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    api_keys = list(args.api_key)
    for path in args.api_key_file:
        api_keys.extend(_read_key_lines(path))
    key_id, account, public_key = DEFAULT_KEY_ID, DEFAULT_SERVICE_ACCOUNT_ID, None
    if args.authorized_key_file:
        try:
            with open(args.authorized_key_file, encoding="utf-8") as handle:
                key = json.load(handle)
            key_id, account = str(key["id"]), str(key["service_account_id"])
            public_key = load_public_key(key["public_key"].encode(), args.authorized_key_file)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SystemExit(f"yandex-sandbox: {args.authorized_key_file}: "
                             f"not an authorized key ({exc!r})") from None
    if args.public_key_file:
        try:
            with open(args.public_key_file, "rb") as handle:
                pem = handle.read()
        except OSError as exc:
            raise SystemExit(f"yandex-sandbox: {exc}") from None
        public_key = load_public_key(pem, args.public_key_file)
    if args.total_steps < 1:
        raise SystemExit("yandex-sandbox: --total-steps must be >= 1")
    if not args.folder_id or "/" in args.folder_id:
        raise SystemExit("yandex-sandbox: --folder-id must be a non-empty id")
    return Config(
        folder_id=args.folder_id,
        api_keys=frozenset(api_keys or [DEFAULT_API_KEY]),
        key_id=args.key_id or key_id,
        service_account_id=args.service_account_id or account,
        public_key=public_key,
        token_ttl=_seconds(args.token_ttl, "--token-ttl"),
        created_seconds=_seconds(args.created_seconds, "--created-seconds"),
        pending_seconds=_seconds(args.pending_seconds, "--pending-seconds"),
        run_seconds=_seconds(args.run_seconds, "--run-seconds"),
        total_steps=args.total_steps,
        verbose=args.verbose,
    )


def install_stop_handlers(sandbox: Sandbox) -> None:
    def stop(signum, frame):
        # shutdown() waits for serve_forever(), which runs in this very
        # (main) thread, so it must be called from another thread.
        threading.Thread(target=sandbox.http.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.make_key:
        json_path, pem_path = args.make_key
        key = write_key_files(json_path, pem_path, args.service_account_id)
        print(f"yandex-sandbox: authorized key {key['id']} of service account "
              f"{key['service_account_id']} written to {json_path}, public key to {pem_path}",
              flush=True)
        return 0
    config = config_from_args(args)
    try:
        sandbox = Sandbox(config, args.host, args.grpc_port, args.http_port)
    except OSError as exc:
        raise SystemExit(f"yandex-sandbox: cannot listen: {exc}") from None
    install_stop_handlers(sandbox)
    sandbox.start()
    print(sandbox.listening_line(), flush=True)
    sandbox.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
