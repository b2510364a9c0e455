#!/usr/bin/env python3
"""Yandex Cloud Foundation Models tuning v1 emulator ("Yandex sandbox").

Written from the vendor documentation summarised in
shared/reference/vendor-apis.md section 3. One process serves:

* gRPC (plaintext HTTP/2, what nginx's `grpc_pass grpc://` speaks):
  yandex.cloud.ai.tuning.v1.TuningService (Tune, Describe, List, Cancel,
  ListErrors), yandex.cloud.ai.dataset.v1.DatasetService (Create,
  GetUploadDraftUrl, Validate, Describe, Delete) and
  yandex.cloud.operation.OperationService (Get, Cancel); the other RPCs
  answer UNIMPLEMENTED. Every message is (de)serialised by the generated
  stubs of Yandex's official `yandexcloud` package, so the wire format is
  Yandex's own; nothing here re-declares it.
* HTTP: the IAM token endpoint POST /iam/v1/tokens, which checks a
  service-account JWT (PS256) exactly as section 3.7 describes; the dataset
  upload, PUT /<bucket>/<dataset_id>/<name>.jsonl?X-Amz-..., as Object
  Storage (storage.yandexcloud.net) takes it from the presigned URL that
  GetUploadDraftUrl hands out (SigV4 query signature, checked with
  botocore); and a control API under /_sandbox/ for fault injection and
  inspection.

Tasks move CREATED -> PENDING -> IN_PROGRESS -> COMPLETED (or FAILED on
request) and datasets DRAFT -> VALIDATING -> READY or INVALID, both from
wall-clock time (no thread).

Run `python3 sandbox/yandex_sandbox.py --help`; see docs/sandbox.md.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import calendar
import collections
import dataclasses
import hashlib
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
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape as xml_escape

from sandbox_http import (ControlApiMixin, FaultQueueMixin,
                          ResettableHTTPServer, SandboxHandlerBase)

try:
    import grpc
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from google.protobuf import json_format, message_factory, timestamp_pb2
    from google.rpc import error_details_pb2, status_pb2
    from yandex.cloud.ai.dataset.v1 import (
        dataset_pb2,
        dataset_service_pb2,
        dataset_service_pb2_grpc,
    )
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
    sys.exit(f"yandex-sandbox: needs grpcio, yandexcloud, cryptography and botocore "
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

# Datasets (yandex.cloud.ai.dataset.v1) and their upload to Object Storage
DATASET_SERVICE = "yandex.cloud.ai.dataset.v1.DatasetService"
DATASET_METHODS = tuple(
    dataset_service_pb2.DESCRIPTOR.services_by_name["DatasetService"].methods_by_name)
DatasetStatus = dataset_pb2.DatasetInfo.Status
DATASET_TASK_TYPE = "TextToTextGeneration"      # the only task type the sandbox knows
DATASET_UPLOAD_FORMAT = "jsonlines"
DATASET_NAME_MAX = 63
DATASET_DESCRIPTION_MAX = 1024
MAX_LABELS = 64
LABEL_KEY = re.compile(r"[a-z][-_./\\@0-9a-z]{0,62}")     # Yandex's common label rules
LABEL_VALUE = re.compile(r"[-_./\\@0-9a-z]{0,63}")
MIN_DATASET_ROWS = 1        # Yandex documents no minimum that we know of
MAX_ROW_NUMBERS = 1000      # row_numbers listed per ValidationError
DEFAULT_DATASET_VALIDATE_SECONDS = 0.5
UPLOAD_METHOD = "upload"    # the HTTP upload's name in the call log and faults
STORAGE_HOST = "storage.yandexcloud.net"
STORAGE_REGION = "us-east-1"
STORAGE_SERVICE = "s3"
DATASET_BUCKET = "ai-datasets-sandbox"
DEFAULT_UPLOAD_URL_EXPIRES = 86400
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600             # S3's limit on X-Amz-Expires
PRESIGN_CLOCK_SKEW = 15 * 60                    # how far X-Amz-Date may be ahead
MAX_UPLOAD_BYTES = 300 * 1024 * 1024            # the SDK's single-upload limit
SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
PRESIGN_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                  "X-Amz-SignedHeaders", "X-Amz-Signature")

DEFAULT_FOLDER_ID = "b1gsandboxfolder"
DEFAULT_API_KEY = "AQVNsandbox-api-key"
DEFAULT_KEY_ID = "ajesandboxkey0000001"
DEFAULT_SERVICE_ACCOUNT_ID = "ajesandboxaccount001"
ID_ALPHABET = string.ascii_lowercase + string.digits

CODE_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


def random_id(prefix: str, length: int = 20) -> str:
    """Yandex-style resource id: a 3-letter prefix plus lower-case base36."""
    return prefix + "".join(secrets.choice(ID_ALPHABET) for _ in range(length - len(prefix)))


def new_storage_key() -> tuple[str, str]:
    """An Object Storage static key pair, shaped like Yandex's: YCAJE... / YC..."""
    alphabet = string.ascii_letters + string.digits
    access = "YCAJE" + "".join(secrets.choice(alphabet) for _ in range(20))
    secret = "YC" + "".join(secrets.choice(alphabet + "-_") for _ in range(38))
    return access, secret


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
    dataset_validate_seconds: float = DEFAULT_DATASET_VALIDATE_SECONDS
    upload_url_expires: int = DEFAULT_UPLOAD_URL_EXPIRES
    # The static key pair the presigned upload URLs are signed with; made
    # per process and never shown (the upload URL carries the key id only).
    storage_access_key: str = dataclasses.field(default_factory=lambda: new_storage_key()[0])
    storage_secret_key: str = dataclasses.field(default_factory=lambda: new_storage_key()[1])
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
    stored_datasets: tuple = ()          # ids of the sandbox's own (READY) datasets used

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
# Datasets: the format check of an uploaded file (text-to-text generation)
# --------------------------------------------------------------------------

MESSAGE_ROLES = frozenset({"system", "user", "assistant"})
# error code -> error_description of a ValidationError, in check order
FORMAT_ERRORS = {
    "NOT_UTF8": "the line is not valid UTF-8",
    "INVALID_JSON": "the line is not valid JSON",
    "NOT_AN_OBJECT": "the line is not a JSON object",
    "INVALID_KEYS": 'the object must have exactly the keys "request" and "response"',
    "INVALID_REQUEST": '"request" must be a non-empty array of messages',
    "INVALID_MESSAGE": 'a message must be an object with exactly the keys "role" and "text"',
    "INVALID_ROLE": 'a message "role" must be "system", "user" or "assistant"',
    "EMPTY_TEXT": 'a message "text" must be a non-empty string',
    "SYSTEM_NOT_FIRST": 'a "system" message may only be the first message of "request"',
    "LAST_NOT_USER": 'the last message of "request" must have the role "user"',
    "INVALID_RESPONSE": '"response" must be a non-empty string',
    "TOO_FEW_ROWS": f"the dataset must have at least {MIN_DATASET_ROWS} row",
}


@dataclasses.dataclass(frozen=True)
class FormatCheck:
    """What the text-to-text generation format check found in a file."""
    rows: int                   # non-blank lines
    errors: tuple               # ((code, (row numbers, 1-based)), ...)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def valid_rows(self) -> int:
        bad = {row for _, rows in self.errors for row in rows}
        return self.rows - len(bad)

    def summary(self) -> str | None:
        if not self.errors:
            return None
        code, rows = self.errors[0]
        where = f" (rows {', '.join(map(str, rows[:10]))}{', ...' if len(rows) > 10 else ''})" \
            if rows else ""
        return f"{code}: {FORMAT_ERRORS[code]}{where}"

    def log(self) -> dict:
        return {"ok": self.ok, "rows": self.rows, "error": self.summary()}

    def validation_errors(self) -> list:
        return [dataset_pb2.ValidationError(error=code, error_description=FORMAT_ERRORS[code],
                                            row_numbers=rows[:MAX_ROW_NUMBERS])
                for code, rows in self.errors]


def _row_problem(raw: bytes) -> str | None:
    """The FORMAT_ERRORS code of one non-blank line, or None when it is valid."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "NOT_UTF8"
    try:
        value = json.loads(text)
    except ValueError:
        return "INVALID_JSON"
    if not isinstance(value, dict):
        return "NOT_AN_OBJECT"
    if set(value) != {"request", "response"}:
        return "INVALID_KEYS"
    request = value["request"]
    if not isinstance(request, list) or not request:
        return "INVALID_REQUEST"
    for index, message in enumerate(request):
        if not isinstance(message, dict) or set(message) != {"role", "text"}:
            return "INVALID_MESSAGE"
        if message["role"] not in MESSAGE_ROLES:
            return "INVALID_ROLE"
        if not isinstance(message["text"], str) or not message["text"]:
            return "EMPTY_TEXT"
        if message["role"] == "system" and index > 0:
            return "SYSTEM_NOT_FIRST"
    if request[-1]["role"] != "user":
        return "LAST_NOT_USER"
    if not isinstance(value["response"], str) or not value["response"]:
        return "INVALID_RESPONSE"
    return None


def check_dataset_format(data: bytes) -> FormatCheck:
    """Yandex's JSON Lines for text-to-text generation: one object a line,
    {"request": [{"role", "text"}, ...], "response": "..."}; blank lines
    are skipped, rows are numbered by line from 1. One error a row (the
    first rule it breaks), grouped by error, earliest row first."""
    problems: dict[str, list[int]] = {}
    rows = 0
    for number, raw in enumerate(data.split(b"\n"), 1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw.strip():
            continue
        rows += 1
        problem = _row_problem(raw)
        if problem is not None:
            problems.setdefault(problem, []).append(number)
    if rows < MIN_DATASET_ROWS:
        problems["TOO_FEW_ROWS"] = []
    # the error of the earliest row first (a client reports errors[0])
    return FormatCheck(rows, tuple((code, tuple(numbers)) for code, numbers in
                                   sorted(problems.items(),
                                          key=lambda item: item[1][:1] or [math.inf])))


# --------------------------------------------------------------------------
# Datasets: presigned upload URLs (AWS SigV4, query form, as Object Storage
# takes them), made and checked with botocore
# --------------------------------------------------------------------------

def presign_upload(config: Config, key: str, size: int) -> str:
    """The presigned PUT URL of https://storage.yandexcloud.net/<bucket>/<key>,
    with content-length and host signed (the signer adds host itself)."""
    request = AWSRequest(method="PUT", url=f"https://{STORAGE_HOST}/{DATASET_BUCKET}/{key}",
                         headers={"Content-Length": str(size)})
    S3SigV4QueryAuth(Credentials(config.storage_access_key, config.storage_secret_key),
                     STORAGE_SERVICE, STORAGE_REGION,
                     expires=config.upload_url_expires).add_auth(request)
    return request.url


@dataclasses.dataclass
class PresignCheck:
    """What the checks of a query-signed request found. status is set
    where its parameters already fail (S3's 400s and 403s); otherwise the
    caller weighs signature_ok and expiry in its own order."""
    status: int | None = None
    code: str | None = None
    message: str = ""
    signature_ok: bool = False
    expiry: str | None = None           # "Request has expired" / "... not valid yet"
    signed_headers: list | None = None
    expires: int | None = None

    def fail(self, status: int, code: str, message: str) -> "PresignCheck":
        if self.status is None:
            self.status, self.code, self.message = status, code, message
        return self


def _query_pairs(query: str) -> list[tuple[str, str]]:
    """The decoded (name, value) pairs of a raw query; "+" stays "+"."""
    pairs = []
    for item in query.split("&") if query else ():
        name, _, value = item.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return pairs


QUERY_AUTH_MESSAGE = ("Query-string authentication version 4 requires the X-Amz-Algorithm, "
                      "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
                      "and X-Amz-Expires parameters.")


def check_presigned(config: Config, method: str, path: str, query: str, headers,
                    now: float) -> PresignCheck:
    """S3's checks of a presigned request, in S3's error forms. The signature
    is recomputed over the method, the path as received, the query less
    X-Amz-Signature (decoded, then encoded as SigV4 says) and the values of
    the signed headers as received; expiry comes from X-Amz-Date and
    X-Amz-Expires. The signature is always computed where the parameters
    allow, so the log can tell a bad signature from the other failures."""
    check = PresignCheck()
    pairs = _query_pairs(query)
    if headers.get("Authorization") is not None \
            and any(name in PRESIGN_PARAMS for name, _ in pairs):
        check.fail(400, "InvalidArgument",
                   "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                   "parameter, Signature query string parameter or the Authorization "
                   "header should be specified")
    return _check_query_signature(check, config, method, path, pairs, headers, now)


def _check_query_signature(check: PresignCheck, config: Config, method: str, path: str,
                           pairs: list, headers, now: float) -> PresignCheck:
    params = dict(pairs)
    given = [name for name in PRESIGN_PARAMS if name in params]
    if not given:
        return check.fail(403, "AccessDenied", "Access Denied")
    if len(given) != len(PRESIGN_PARAMS) or any(
            sum(1 for name, _ in pairs if name == param) != 1 for param in PRESIGN_PARAMS):
        return check.fail(400, "AuthorizationQueryParametersError", QUERY_AUTH_MESSAGE)
    if params["X-Amz-Algorithm"] != SIGV4_ALGORITHM:
        return check.fail(400, "AuthorizationQueryParametersError",
                          f'X-Amz-Algorithm only supports "{SIGV4_ALGORITHM}"')
    amz_date = params["X-Amz-Date"]
    if not AMZ_DATE.fullmatch(amz_date):
        return check.fail(400, "AuthorizationQueryParametersError",
                          "X-Amz-Date must be in the ISO8601 Long Format "
                          "\"yyyyMMdd'T'HHmmss'Z'\"")
    try:
        signed_at = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    except (ValueError, OverflowError):
        return check.fail(400, "AuthorizationQueryParametersError",
                          "X-Amz-Date must be in the ISO8601 Long Format "
                          "\"yyyyMMdd'T'HHmmss'Z'\"")
    expires = params["X-Amz-Expires"]
    if not (expires.isascii() and expires.isdigit()):
        return check.fail(400, "AuthorizationQueryParametersError",
                          "X-Amz-Expires should be a number")
    check.expires = int(expires)
    if check.expires > MAX_PRESIGN_EXPIRES:
        return check.fail(400, "AuthorizationQueryParametersError",
                          f"X-Amz-Expires must be less than a week (in seconds) that is; "
                          f"{MAX_PRESIGN_EXPIRES}")
    scope = params["X-Amz-Credential"].split("/")
    if len(scope) != 5 or scope[1] != amz_date[:8] or scope[3] != STORAGE_SERVICE \
            or scope[4] != "aws4_request":
        return check.fail(400, "AuthorizationQueryParametersError",
                          "Error parsing the X-Amz-Credential parameter; the Credential is "
                          "mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/"
                          "aws4_request\".")
    if scope[2] != STORAGE_REGION:
        return check.fail(400, "AuthorizationQueryParametersError",
                          f"Error parsing the X-Amz-Credential parameter; the region "
                          f"'{scope[2]}' is wrong; expecting '{STORAGE_REGION}'")
    if not same_secret(scope[0], config.storage_access_key):
        return check.fail(403, "InvalidAccessKeyId",
                          "The AWS Access Key Id you provided does not exist in our records.")
    check.signed_headers = params["X-Amz-SignedHeaders"].split(";")
    request = AWSRequest(method=method, url=f"https://{headers.get('Host', '')}{path}")
    request.params = [(name, value) for name, value in pairs if name != "X-Amz-Signature"]
    request.context["timestamp"] = amz_date
    missing = [name for name in check.signed_headers if headers.get(name) is None]
    for name in check.signed_headers:
        if headers.get(name) is not None:
            request.headers[name] = ", ".join(headers.get_all(name))
    signer = S3SigV4QueryAuth(Credentials(config.storage_access_key, config.storage_secret_key),
                              STORAGE_SERVICE, STORAGE_REGION, expires=check.expires)
    if not missing and "host" in check.signed_headers \
            and signer.signed_headers(signer.headers_to_sign(request)) \
            == params["X-Amz-SignedHeaders"]:
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        check.signature_ok = same_secret(params["X-Amz-Signature"], expected)
    if now > signed_at + check.expires:
        check.expiry = "Request has expired"
    elif signed_at > now + PRESIGN_CLOCK_SKEW:
        check.expiry = "Request is not valid yet"
    return check


SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you "
                      "provided. Check your key and signing method.")


def s3_error_body(code: str, message: str, resource: str, request_id: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{xml_escape(code)}</Code><Message>{xml_escape(message)}</Message>"
            f"<Resource>{xml_escape(resource)}</Resource>"
            f"<RequestId>{request_id}</RequestId></Error>").encode("utf-8")


# --------------------------------------------------------------------------
# Datasets and their lifecycle (computed from wall-clock time; no thread)
# --------------------------------------------------------------------------

@dataclasses.dataclass
class Validation:
    operation_id: str
    started_at: float
    done_at: float
    check: FormatCheck
    created_by: str


@dataclasses.dataclass
class Upload:
    """One presigned URL handed out: where it puts, and the declared size."""
    dataset_id: str
    key: str
    size_bytes: int
    issued_at: float


@dataclasses.dataclass
class Dataset:
    dataset_id: str
    folder_id: str
    name: str
    description: str
    metadata: str
    task_type: str
    upload_format: str
    labels: dict
    allow_data_log: bool
    created_by: str
    created_at: float
    updated_at: float
    content: bytes | None = None
    content_type: str = "application/octet-stream"
    md5: str | None = None
    sha256: str | None = None
    check: FormatCheck | None = None     # of the uploaded content
    validation: Validation | None = None

    def status(self, now: float) -> int:
        if self.validation is None:
            return DatasetStatus.DRAFT
        if now < self.validation.done_at:
            return DatasetStatus.VALIDATING
        return DatasetStatus.READY if self.validation.check.ok else DatasetStatus.INVALID

    def modified_at(self, now: float) -> float:
        if self.validation is not None and now >= self.validation.done_at:
            return max(self.updated_at, self.validation.done_at)
        return self.updated_at

    def info(self, now: float) -> dataset_pb2.DatasetInfo:
        status = self.status(now)
        info = dataset_pb2.DatasetInfo(
            dataset_id=self.dataset_id, folder_id=self.folder_id, name=self.name,
            description=self.description, metadata=self.metadata, status=status,
            task_type=self.task_type, created_at=timestamp(self.created_at),
            updated_at=timestamp(self.modified_at(now)),
            rows=self.check.rows if self.check else 0,
            size_bytes=len(self.content) if self.content is not None else 0,
            created_by_id=self.created_by, created_by=self.created_by,
            updated_by=self.created_by, labels=self.labels,
            allow_data_log=self.allow_data_log)
        if status == DatasetStatus.INVALID:
            info.validation_error.extend(self.validation.check.validation_errors())
        return info

    def operation(self, now: float) -> operation_pb2.Operation:
        """The Validate operation: done once VALIDATING is over."""
        validation = self.validation
        done = now >= validation.done_at
        operation = operation_pb2.Operation(
            id=validation.operation_id, description="Validate dataset",
            created_by=validation.created_by, created_at=timestamp(validation.started_at),
            modified_at=timestamp(validation.done_at if done else now), done=done)
        rows = validation.check.rows
        span = validation.done_at - validation.started_at
        processed = rows if done or span <= 0 else \
            min(rows, int((now - validation.started_at) / span * rows))
        operation.metadata.Pack(dataset_service_pb2.ValidateDatasetMetadata(
            dataset_id=self.dataset_id, total_rows=rows, processed_rows=processed,
            valid_rows=validation.check.valid_rows if done else 0))
        if done:
            operation.response.Pack(dataset_service_pb2.ValidateDatasetResponse(
                dataset_id=self.dataset_id, is_valid=validation.check.ok,
                errors=validation.check.validation_errors()))
        return operation

    def control_view(self, now: float) -> dict:
        return {
            "dataset_id": self.dataset_id,
            "name": self.name,
            "status": DatasetStatus.Name(self.status(now)),
            "rows": self.check.rows if self.check else 0,
            "size_bytes": len(self.content) if self.content is not None else 0,
            "labels": dict(self.labels),
            "sha256": self.sha256,
        }


def _check_labels(labels) -> None:
    if len(labels) > MAX_LABELS:
        raise invalid(f"labels: at most {MAX_LABELS} labels")
    for key, value in labels.items():
        if not LABEL_KEY.fullmatch(key):
            raise invalid(f"labels: key {key!r} must match [a-z][-_./\\@0-9a-z]{{0,62}}")
        if not LABEL_VALUE.fullmatch(value):
            raise invalid(f"labels: value of {key!r} must match [-_./\\@0-9a-z]{{0,63}}")


def validate_create_dataset(config: Config, request) -> None:
    if not request.folder_id:
        raise invalid("folder_id is required")
    if request.folder_id != config.folder_id:
        raise RpcFailure(grpc.StatusCode.PERMISSION_DENIED, "Permission denied")
    if not 1 <= len(request.name) <= DATASET_NAME_MAX:
        raise invalid(f"name must be 1 to {DATASET_NAME_MAX} characters long")
    if len(request.description) > DATASET_DESCRIPTION_MAX:
        raise invalid(f"description must be at most {DATASET_DESCRIPTION_MAX} characters long")
    if request.task_type != DATASET_TASK_TYPE:
        raise invalid(f"task_type {request.task_type!r} is not supported; "
                      f"use {DATASET_TASK_TYPE!r}")
    if request.upload_format != DATASET_UPLOAD_FORMAT:
        raise invalid(f"upload_format {request.upload_format!r} is not supported for "
                      f"{DATASET_TASK_TYPE}; use {DATASET_UPLOAD_FORMAT!r}")
    _check_labels(request.labels)


# --------------------------------------------------------------------------
# Fault injection
# --------------------------------------------------------------------------

# DatasetService RPCs are named Dataset<Rpc> (DatasetCreate, DatasetDescribe,
# ...), as OperationService's are Operation<Rpc>: Describe, List and Delete
# alone would be ambiguous.
GRPC_FAULT_METHODS = (frozenset(TUNING_METHODS) | {"OperationGet", "OperationCancel"}
                      | {f"Dataset{name}" for name in DATASET_METHODS})
FAULT_METHODS = GRPC_FAULT_METHODS | {"IamToken", UPLOAD_METHOD, "any"}
STALL_BODY = "stall-body"
# fault kind -> the methods it can apply to
FAULT_TARGETS = {
    "grpc_error": GRPC_FAULT_METHODS,
    "op_error": frozenset({"OperationGet", "OperationCancel"}),
    "iam_error": frozenset({"IamToken"}),
    "status": frozenset({UPLOAD_METHOD}),
    "drop": frozenset({UPLOAD_METHOD}),
    STALL_BODY: frozenset({UPLOAD_METHOD}),
    "slow": GRPC_FAULT_METHODS | {"IamToken", UPLOAD_METHOD},
    "reset": GRPC_FAULT_METHODS | {"IamToken", UPLOAD_METHOD},
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
def _status_fault(spec: dict) -> dict:
    """An upload answered with an S3 error: http status, <Code>, <Message>."""
    return {"http": _fault_int(spec, "http", 503, 100, 599),
            "code": _fault_str(spec, "code", "ServiceUnavailable"),
            "message": _fault_str(spec, "message", "Service is unable to handle request.")}


def _stall_body_fault(spec: dict) -> dict:
    """stall-body: read `bytes` of the request body, then sit silent for
    `delay` seconds and close without an answer (a timeout mid-upload)."""
    delay = spec.get("delay", 30.0)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 3600:
        raise ValueError("delay must be a number of seconds in [0, 3600]")
    return {"bytes": _fault_int(spec, "bytes", 65536, 0, MAX_UPLOAD_BYTES),
            "delay": float(delay)}


FAULT_PARAMETERS = {
    "grpc_error": _grpc_error_fault,
    "op_error": _op_error_fault,
    "iam_error": _iam_error_fault,
    "status": _status_fault,
    "slow": _slow_fault,
    "reset": lambda spec: {},
    "drop": lambda spec: {},
    STALL_BODY: _stall_body_fault,
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
    """Tasks, datasets, issued IAM tokens, queued faults and the call log,
    behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.tasks: dict[str, Task] = {}
        self.operations: dict[str, str] = {}        # operation id -> task id
        self.datasets: dict[str, Dataset] = {}
        self.deleted_datasets: set[str] = set()
        self.validations: dict[str, Dataset] = {}   # Validate operation id -> dataset
        self.uploads: dict[str, Upload] = {}        # object key in DATASET_BUCKET -> URL
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
            self.datasets.clear()
            self.deleted_datasets.clear()
            self.validations.clear()
            self.uploads.clear()
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

    # -- datasets

    def add_dataset(self, make_dataset) -> Dataset:
        with self.lock:
            dataset_id = random_id("fds")
            while dataset_id in self.datasets or dataset_id in self.deleted_datasets:
                dataset_id = random_id("fds")
            dataset = make_dataset(dataset_id)
            self.datasets[dataset_id] = dataset
            return dataset

    def dataset(self, dataset_id: str) -> Dataset | None:
        with self.lock:
            return self.datasets.get(dataset_id)

    def dataset_deleted(self, dataset_id: str) -> bool:
        with self.lock:
            return dataset_id in self.deleted_datasets

    def all_datasets(self) -> list[Dataset]:
        with self.lock:
            datasets = list(self.datasets.values())
        return sorted(datasets, key=lambda d: (d.created_at, d.dataset_id))

    def delete_dataset(self, dataset_id: str) -> bool:
        with self.lock:
            if self.datasets.pop(dataset_id, None) is None:
                return False
            self.deleted_datasets.add(dataset_id)
            self.uploads = {key: upload for key, upload in self.uploads.items()
                            if upload.dataset_id != dataset_id}
            return True

    def add_upload(self, dataset: Dataset, size: int, now: float) -> Upload:
        """A new object key for a DRAFT dataset's upload URL."""
        with self.lock:
            if dataset.status(now) != DatasetStatus.DRAFT:
                raise RpcFailure(grpc.StatusCode.FAILED_PRECONDITION,
                                 f"dataset {dataset.dataset_id} is "
                                 f"{DatasetStatus.Name(dataset.status(now))}, not DRAFT")
            upload = Upload(dataset.dataset_id, f"{dataset.dataset_id}/{uuid.uuid4().hex}.jsonl",
                            size, now)
            self.uploads[upload.key] = upload
            return upload

    def upload(self, key: str) -> Upload | None:
        with self.lock:
            return self.uploads.get(key)

    def store_upload(self, upload: Upload, data: bytes, content_type: str, check: FormatCheck,
                     now: float) -> tuple[Dataset | None, tuple | None]:
        """Put the file into the upload's dataset: (the dataset, None), or
        (None, the S3 refusal: status, code, message)."""
        with self.lock:
            dataset = self.datasets.get(upload.dataset_id)
            if dataset is None or self.uploads.get(upload.key) is not upload:
                return None, (404, "NoSuchKey", "The specified key does not exist.")
            if dataset.status(now) != DatasetStatus.DRAFT:
                return None, (403, "AccessDenied",
                              f"dataset {dataset.dataset_id} is "
                              f"{DatasetStatus.Name(dataset.status(now))}; its upload URL is "
                              f"no longer valid")
            dataset.content, dataset.content_type, dataset.check = data, content_type, check
            dataset.md5 = hashlib.md5(data).hexdigest()
            dataset.sha256 = hashlib.sha256(data).hexdigest()
            dataset.updated_at = now
            return dataset, None

    def start_validation(self, dataset: Dataset, config: Config, now: float) -> Validation:
        with self.lock:
            if self.datasets.get(dataset.dataset_id) is not dataset:
                raise RpcFailure(grpc.StatusCode.NOT_FOUND,
                                 f"dataset {dataset.dataset_id} not found")
            status = dataset.status(now)
            if status != DatasetStatus.DRAFT:
                raise RpcFailure(grpc.StatusCode.FAILED_PRECONDITION,
                                 f"dataset {dataset.dataset_id} is {DatasetStatus.Name(status)}; "
                                 f"only a DRAFT dataset can be validated")
            if dataset.content is None:
                raise RpcFailure(grpc.StatusCode.FAILED_PRECONDITION,
                                 f"dataset {dataset.dataset_id} has no uploaded file; upload it "
                                 f"to the URL of GetUploadDraftUrl first")
            operation_id = random_id("fdo")
            while operation_id in self.validations or operation_id in self.operations:
                operation_id = random_id("fdo")
            dataset.validation = Validation(operation_id, now,
                                            now + config.dataset_validate_seconds,
                                            dataset.check, config.service_account_id)
            dataset.updated_at = now
            self.validations[operation_id] = dataset
            return dataset.validation

    def dataset_of_operation(self, operation_id: str) -> Dataset | None:
        with self.lock:
            return self.validations.get(operation_id)

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
        """A fault names an RPC (or "any") and applies only where it can;
        "any" leaves the upload alone: a fault for it must name it."""
        if fault["method"] == "any" and method == UPLOAD_METHOD:
            return False
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
            "DatasetCreate": self.dataset_create,
            "DatasetGetUploadDraftUrl": self.dataset_upload_url,
            "DatasetValidate": self.dataset_validate,
            "DatasetDescribe": self.dataset_describe,
            "DatasetDelete": self.dataset_delete,
        }
        tuning = tuning_service_pb2.DESCRIPTOR.services_by_name["TuningService"]
        operations = operation_service_pb2.DESCRIPTOR.services_by_name["OperationService"]
        datasets = dataset_service_pb2.DESCRIPTOR.services_by_name["DatasetService"]
        self.paths = {name: f"/{TUNING_SERVICE}/{name}" for name in TUNING_METHODS}
        self.paths.update({f"Operation{name}": f"/{OPERATION_SERVICE}/{name}"
                           for name in OPERATION_METHODS})
        self.paths.update({f"Dataset{name}": f"/{DATASET_SERVICE}/{name}"
                           for name in DATASET_METHODS})
        self.response_types = {
            name: message_factory.GetMessageClass(method.output_type)
            for name, method in tuning.methods_by_name.items()}
        for prefix, service in (("Operation", operations), ("Dataset", datasets)):
            self.response_types.update({
                f"{prefix}{name}": message_factory.GetMessageClass(method.output_type)
                for name, method in service.methods_by_name.items()})

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

    def dataset_servicer(self):
        servicer = dataset_service_pb2_grpc.DatasetServiceServicer()
        for name in DATASET_METHODS:
            setattr(servicer, name, self._bound(f"Dataset{name}"))
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
        dataset = self.store.dataset_of_operation(operation_id)
        if task is not None:
            operation = task.operation(task.state(self.config, time.time()))
        elif dataset is not None:
            operation = dataset.operation(time.time())
        else:
            operation = operation_pb2.Operation(id=operation_id, description="Tuning")
        operation.done = True
        operation.ClearField("response")
        operation.error.CopyFrom(rpc_status(fault["code"], fault["message"]))
        return operation

    # -- TuningService

    def tune(self, request, now: float) -> operation_pb2.Operation:
        tune = validate_tune(self.config, request)
        stored = self._stored_datasets(request, now)
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
                failure=tune.failure, request=to_json(request), stored_datasets=stored)

        task = self.store.add_task(make_task)
        return task.operation(task.state(config, now))

    def _stored_datasets(self, request, now: float) -> tuple:
        """The sandbox's own datasets the request trains on; each must be
        READY. Ids the sandbox never made pass as they always did."""
        named = [entry.dataset_id for entry in (*request.train_datasets,
                                                *request.validation_datasets,
                                                *request.test_datasets)]
        if request.HasField("validation_dataset"):
            named.append(request.validation_dataset.dataset_id)
        stored = []
        for dataset_id in dict.fromkeys(named):
            dataset = self.store.dataset(dataset_id)
            if dataset is None:
                if self.store.dataset_deleted(dataset_id):
                    raise RpcFailure(grpc.StatusCode.FAILED_PRECONDITION,
                                     f"dataset {dataset_id} has been deleted")
                continue
            status = dataset.status(now)
            if status != DatasetStatus.READY:
                raise RpcFailure(grpc.StatusCode.FAILED_PRECONDITION,
                                 f"dataset {dataset_id} is {DatasetStatus.Name(status)}, "
                                 f"not READY")
            stored.append(dataset_id)
        return tuple(stored)

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
        dataset = self.store.dataset_of_operation(request.operation_id)
        if dataset is not None:
            return dataset.operation(now)
        task = self._operation_task(request.operation_id)
        return task.operation(task.state(self.config, now))

    def operation_cancel(self, request, now: float):
        dataset = self.store.dataset_of_operation(request.operation_id)
        if dataset is not None:
            raise RpcFailure(grpc.StatusCode.FAILED_PRECONDITION,
                             f"Operation {request.operation_id} (dataset validation) "
                             f"cannot be canceled")
        task = self._operation_task(request.operation_id)
        return task.operation(self.store.cancel(task, self.config, now))

    # -- DatasetService

    def dataset_create(self, request, now: float):
        validate_create_dataset(self.config, request)
        config = self.config

        def make_dataset(dataset_id: str) -> Dataset:
            return Dataset(
                dataset_id=dataset_id, folder_id=request.folder_id, name=request.name,
                description=request.description, metadata=request.metadata,
                task_type=request.task_type, upload_format=request.upload_format,
                labels=dict(request.labels), allow_data_log=request.allow_data_log,
                created_by=config.service_account_id, created_at=now, updated_at=now)

        dataset = self.store.add_dataset(make_dataset)
        return dataset_service_pb2.CreateDatasetResponse(dataset_id=dataset.dataset_id,
                                                         dataset=dataset.info(now))

    def _dataset(self, dataset_id: str) -> Dataset:
        if not dataset_id:
            raise invalid("dataset_id is required")
        dataset = self.store.dataset(dataset_id)
        if dataset is None:
            raise RpcFailure(grpc.StatusCode.NOT_FOUND, f"dataset {dataset_id} not found")
        if dataset.folder_id != self.config.folder_id:     # cannot happen: one folder
            raise RpcFailure(grpc.StatusCode.PERMISSION_DENIED, "Permission denied")
        return dataset

    def dataset_upload_url(self, request, now: float):
        dataset = self._dataset(request.dataset_id)
        if request.size_bytes <= 0:
            raise invalid("size_bytes must be positive")
        if request.size_bytes > MAX_UPLOAD_BYTES:
            raise invalid(f"size_bytes must be at most {MAX_UPLOAD_BYTES}")
        upload = self.store.add_upload(dataset, request.size_bytes, now)
        return dataset_service_pb2.GetUploadDraftUrlResponse(
            dataset_id=dataset.dataset_id,
            upload_url=presign_upload(self.config, upload.key, upload.size_bytes))

    def dataset_validate(self, request, now: float):
        dataset = self._dataset(request.dataset_id)
        self.store.start_validation(dataset, self.config, now)
        return dataset.operation(now)

    def dataset_describe(self, request, now: float):
        dataset = self._dataset(request.dataset_id)
        return dataset_service_pb2.DescribeDatasetResponse(dataset=dataset.info(now))

    def dataset_delete(self, request, now: float):
        dataset = self._dataset(request.dataset_id)
        if not self.store.delete_dataset(dataset.dataset_id):
            raise RpcFailure(grpc.StatusCode.NOT_FOUND, f"dataset {dataset.dataset_id} not found")
        return dataset_service_pb2.DeleteDatasetResponse()


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
# HTTP server: IAM token endpoint, dataset upload and control API
# --------------------------------------------------------------------------

class BodyError(Exception):
    def __init__(self, http_status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.http_status = http_status
        self.message = message
        self.code = code            # S3's error code, for an upload


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
        url = urlsplit(self.path)
        if self.command == "PUT" and url.path != IAM_TOKEN_PATH \
                and not url.path.startswith(CONTROL_PREFIX):
            self._handle_upload(url)        # reads its own (large) body
            return
        try:
            body = self._read_body()
        except BodyError as exc:
            self.close_connection = True    # the body's framing is unknown
            self._send_status(exc.http_status, grpc.StatusCode.INVALID_ARGUMENT.value[0],
                              exc.message)
            return
        if url.path.startswith(CONTROL_PREFIX + "datasets/"):
            self._control_dataset(unquote(url.path[len(CONTROL_PREFIX + "datasets/"):]))
        elif url.path.startswith(CONTROL_PREFIX):
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

    # -- dataset upload: PUT to a presigned Object Storage URL --------------

    def _peer(self) -> str:
        return f"{self.client_address[0]}:{self.client_address[1]}"

    def _send_s3_error(self, status: int, code: str, message: str, resource: str):
        request_id = uuid.uuid4().hex[:16]
        self._send(status, s3_error_body(code, message, resource, request_id),
                   "application/xml", {"x-amz-request-id": request_id})

    def _read_upload(self) -> bytes:
        """The whole body by Content-Length; BodyError as S3 refuses it."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise BodyError(501, "A header you provided implies functionality that is not "
                                 "implemented (Transfer-Encoding).", "NotImplemented")
        length = self.headers.get("Content-Length")
        if length is None:
            raise BodyError(411, "You must provide the Content-Length HTTP header.",
                            "MissingContentLength")
        if not (length.isascii() and length.strip().isdigit()):
            raise BodyError(400, "invalid Content-Length", "InvalidArgument")
        if int(length) > MAX_UPLOAD_BYTES:
            raise BodyError(400, "Your proposed upload exceeds the maximum allowed object "
                                 "size.", "EntityTooLarge")
        body = self.rfile.read(int(length))
        if len(body) != int(length):
            raise BodyError(400, "You did not provide the number of bytes specified by the "
                                 "Content-Length HTTP header.", "IncompleteBody")
        return body

    def _upload_entry(self, url, now: float) -> dict:
        """The call log entry of an upload: names, sizes and verdicts, never a
        secret (no header values but Host, no signature)."""
        bucket, _, key = unquote(url.path).lstrip("/").partition("/")
        length = self.headers.get("Content-Length")
        return {
            "time": rfc3339(now),
            "kind": "upload",
            "method": UPLOAD_METHOD,
            "path": url.path,
            "peer": self._peer(),
            "host": self.headers.get("Host"),
            "headers": sorted({name.lower() for name in self.headers.keys()}),
            "query_params": sorted({name for name, _ in _query_pairs(url.query)}),
            "bucket": bucket,
            "key": key,
            "dataset_id": key.partition("/")[0] or None,
            "content_length": int(length) if length and length.strip().isdigit() else None,
            "declared_bytes": None,
            "bytes": 0,
            "sha256": None,
            "signed_headers": None,
            "signature_ok": False,
            "expires": None,
            "auth_ok": False,
            "reason": None,
            "format": None,
            "http_status": None,
            "fault": None,
        }

    def _upload_verdict(self, url, body: bytes, now: float):
        """(check, upload, (status, code, message) or None) of a PUT whose
        body is read: S3's parameter errors, then a size that is not the
        declared one, the signature, expiry, an unknown object key."""
        config, store = self.server.sandbox.config, self.server.sandbox.store
        check = check_presigned(config, self.command, url.path, url.query, self.headers, now)
        bucket, _, key = unquote(url.path).lstrip("/").partition("/")
        upload = store.upload(key) if bucket == DATASET_BUCKET else None
        if check.status is not None:
            return check, upload, (check.status, check.code, check.message)
        if upload is not None and len(body) != upload.size_bytes:
            return check, upload, (400, "InvalidArgument",
                                   f"Content-Length {len(body)} is not the size_bytes "
                                   f"{upload.size_bytes} the upload URL was issued for")
        if not check.signature_ok:
            return check, upload, (403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH)
        if check.expiry is not None:
            return check, upload, (403, "AccessDenied", check.expiry)
        if bucket != DATASET_BUCKET:
            return check, upload, (404, "NoSuchBucket", "The specified bucket does not exist.")
        if upload is None:
            return check, upload, (404, "NoSuchKey", "The specified key does not exist.")
        return check, upload, None

    def _handle_upload(self, url):
        sandbox = self.server.sandbox
        store, config = sandbox.store, sandbox.config
        now = time.time()
        entry = self._upload_entry(url, now)
        fault = store.take_fault(UPLOAD_METHOD)
        if fault is not None:
            entry["fault"] = fault["fault"]
        if fault is not None and fault["fault"] == STALL_BODY:
            length = self.headers.get("Content-Length", "")
            take = min(fault["bytes"], int(length)) if length.strip().isdigit() else 0
            entry.update(bytes=len(self.rfile.read(take)) if take else 0,
                         reason=f"{STALL_BODY} fault: no answer")
            store.log_call(entry)
            time.sleep(fault["delay"])
            self.close_connection = True        # no answer; a normal close (FIN)
            return
        try:
            body = self._read_upload()
        except BodyError as exc:
            self.close_connection = True        # the rest of the body is not read
            entry.update(reason=exc.message, http_status=exc.http_status)
            store.log_call(entry)
            self._send_s3_error(exc.http_status, exc.code, exc.message, url.path)
            return
        check, upload, refusal = self._upload_verdict(url, body, now)
        fmt = check_dataset_format(body)
        entry.update(bytes=len(body), sha256=hashlib.sha256(body).hexdigest(),
                     declared_bytes=upload.size_bytes if upload else None,
                     signed_headers=check.signed_headers, signature_ok=check.signature_ok,
                     expires=check.expires, auth_ok=refusal is None,
                     reason=refusal[2] if refusal else None, format=fmt.log())
        store.log_call(entry)
        if fault is not None:
            kind = fault["fault"]
            if kind == "slow":
                time.sleep(fault["delay"])
            else:                               # a faulted PUT stores nothing
                if kind == "status":
                    store.finish_call(entry, http_status=fault["http"])
                    self._send_s3_error(fault["http"], fault["code"], fault["message"],
                                        url.path)
                elif kind == "reset":           # TCP RST, no answer
                    self.close_connection = True
                    self.server.abort_connection(self.connection)
                else:                           # drop: a normal close (FIN), no answer
                    self.close_connection = True
                return
        if refusal is None:
            stored, refusal = store.store_upload(
                upload, body, self.headers.get("Content-Type") or "application/octet-stream",
                fmt, time.time())
            if refusal is not None:
                store.finish_call(entry, auth_ok=False, reason=refusal[2])
        if refusal is not None:
            if config.verbose:
                sys.stderr.write(f"yandex-sandbox: upload {url.path} refused: "
                                 f"{refusal[1]} {refusal[2]}\n")
            store.finish_call(entry, http_status=refusal[0])
            self._send_s3_error(*refusal, url.path)
            return
        store.finish_call(entry, http_status=200)
        self._send(200, b"", "application/xml", {"ETag": f'"{stored.md5}"'})

    # -- control API ------------------------------------------------------

    def _control_dataset(self, rest: str):
        """GET /_sandbox/datasets/<id> (its view) and .../<id>/content (the
        uploaded bytes as they came)."""
        sandbox = self.server.sandbox
        dataset_id, _, part = rest.partition("/")
        dataset = sandbox.store.dataset(dataset_id)
        if self.command != "GET" or part not in ("", "content"):
            self._send_json(404, {"ok": False, "error": f"no control endpoint {self.command} "
                                                        f"/_sandbox/datasets/{rest}"})
        elif dataset is None:
            self._send_json(404, {"ok": False, "error": f"no dataset {dataset_id}"})
        elif part == "content":
            if dataset.content is None:
                self._send_json(404, {"ok": False,
                                      "error": f"dataset {dataset_id} has no uploaded file"})
            else:
                self._send(200, dataset.content, dataset.content_type,
                           {"ETag": f'"{dataset.md5}"'})
        else:
            now = time.time()
            self._send_json(200, {
                "ok": True, **dataset.control_view(now),
                "dataset": to_json(dataset.info(now)),
                "format": dataset.check.log() if dataset.check else None,
                "operation_id": dataset.validation.operation_id if dataset.validation else None,
            })

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
            ("GET", "datasets"): lambda: [dataset.control_view(time.time())
                                          for dataset in store.all_datasets()],
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
            "dataset_stored": bool(task.stored_datasets),
            "stored_datasets": list(task.stored_datasets),
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
        dataset_service_pb2_grpc.add_DatasetServiceServicer_to_server(
            handlers.dataset_servicer(), self.grpc_server)
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
                    "gRPC TuningService, DatasetService and OperationService, the IAM token "
                    "endpoint and the dataset upload (presigned Object Storage PUT).")
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    add("--grpc-port", type=int, default=18084,
        help="plaintext gRPC (h2c) port; 0 picks a free one (default 18084)")
    add("--http-port", type=int, default=18085,
        help="HTTP port of the IAM endpoint, the dataset upload and the control API; 0 picks "
             "a free one (default 18085)")
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
    add("--dataset-validate-seconds", type=float, default=DEFAULT_DATASET_VALIDATE_SECONDS,
        help="seconds a dataset stays VALIDATING after Validate before READY or INVALID "
             f"(default {DEFAULT_DATASET_VALIDATE_SECONDS})")
    add("--upload-url-expires", type=int, default=DEFAULT_UPLOAD_URL_EXPIRES,
        help="X-Amz-Expires of the presigned upload URLs of GetUploadDraftUrl, in seconds "
             f"(1 to {MAX_PRESIGN_EXPIRES}; default {DEFAULT_UPLOAD_URL_EXPIRES})")
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
    if not 1 <= args.upload_url_expires <= MAX_PRESIGN_EXPIRES:
        raise SystemExit(f"yandex-sandbox: --upload-url-expires must be in "
                         f"[1, {MAX_PRESIGN_EXPIRES}]")
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
        dataset_validate_seconds=_seconds(args.dataset_validate_seconds,
                                          "--dataset-validate-seconds"),
        upload_url_expires=args.upload_url_expires,
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
