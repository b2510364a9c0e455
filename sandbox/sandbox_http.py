"""The HTTP plumbing every sandbox vendor shares: a threading server that
can close a connection with a TCP RST (the "reset" fault), and a keep-alive
request handler base that never logs headers or bodies.  Also the pieces of
the vendors' object stores (CLOVA's S3-compatible Object Storage, Baidu
BOS): the objects, the path-style PUT/GET/HEAD/DELETE flow with its faults
and log, and the control API's /_sandbox/objects."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import socket
import struct
import sys
import threading
import time
import time
import weakref
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


class ResettableHTTPServer(ThreadingHTTPServer):
    daemon_threads = True          # a slow fault must not block shutdown
    request_queue_size = 64

    def __init__(self, address, handler):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)
        self._reset_lock = threading.Lock()
        self._reset_sockets = weakref.WeakSet()

    def abort_connection(self, sock: socket.socket) -> None:
        """Close this connection with a TCP RST once the handler is done."""
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
        with self._reset_lock:
            self._reset_sockets.add(sock)

    def shutdown_request(self, request):
        with self._reset_lock:
            reset = request in self._reset_sockets
            self._reset_sockets.discard(request)
        if reset:
            # Skip the usual shutdown(SHUT_WR): it would send a FIN first.
            self.close_request(request)
        else:
            super().shutdown_request(request)


class SandboxHandlerBase(BaseHTTPRequestHandler):
    """Subclasses set server_version and log_name, define _dispatch() and
    verbose() (whether to log request lines)."""

    protocol_version = "HTTP/1.1"       # keep-alive: nginx reuses upstreams
    disable_nagle_algorithm = True      # headers and body go out as 2 writes
    timeout = 120                       # idle keep-alive connections
    log_name = "sandbox"

    def version_string(self):
        return self.server_version      # no Python version in Server:

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def verbose(self) -> bool:
        return False

    def log_message(self, format, *args):
        # Only the request line and status are ever logged: no headers, no
        # bodies, so no keys, signatures, tokens or secrets.
        if self.verbose():
            sys.stderr.write(f"{self.log_name}: {self.address_string()} "
                             f"{format % args}\n")

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        pace = getattr(self, "pace", None)
        if pace is None:
            self.wfile.write(body)
            return
        self.pace = None
        chunk, delay, stall = pace
        if stall:
            # "stall-answer": part of the body, then silence, then a close
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            time.sleep(delay)
            self.close_connection = True
            return
        # "trickle": the whole answer, `chunk` bytes every `delay` seconds
        for i in range(0, len(body), chunk):
            self.wfile.write(body[i:i + chunk])
            self.wfile.flush()
            time.sleep(delay)

    def _send_json(self, status: int, payload, headers: dict | None = None):
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json", headers)

    def _send_truncated(self, body: bytes, content_type: str = "application/json") -> None:
        """The "truncated" fault: a 200 whose Content-Length promises 100
        bytes more than the body sent, then the connection closed."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) + 100))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


def parse_pace_fault(spec: dict, stall: bool) -> dict:
    """"trickle" (the answer sent `bytes` at a time, `delay` s apart) and
    "stall-answer" (half the answer, then `delay` s of silence, a close)."""
    delay = spec.get("delay", 5.0 if stall else 0.2)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) \
            or not 0 <= delay <= 3600:
        raise ValueError("delay must be a number of seconds in [0, 3600]")
    chunk = spec.get("bytes", 16)
    if isinstance(chunk, bool) or not isinstance(chunk, int) \
            or not 1 <= chunk <= 1 << 20:
        raise ValueError("bytes must be an integer in [1, 1048576]")
    return {"delay": float(delay), "bytes": chunk}


class FaultQueueMixin:
    """The control API's queued faults, for a store with `lock` and a
    `faults` deque.  A fault applies to the next `count` matching calls.
    An "any" fault matches every op except those in `storage_ops` (the
    object store's), which a fault must name."""

    storage_ops: frozenset = frozenset()

    def fault_matches(self, fault: dict, op: str) -> bool:
        if fault["op"] == "any":
            return op not in self.storage_ops
        return fault["op"] == op

    def queue_fault(self, fault: dict) -> None:
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, op: str) -> dict | None:
        """First queued fault matching op (FIFO); consumes one of its count."""
        with self.lock:
            for fault in self.faults:
                if self.fault_matches(fault, op):
                    fault["count"] -= 1
                    if fault["count"] == 0:
                        self.faults.remove(fault)
                    return dict(fault)
        return None

    def pending_faults(self) -> list[dict]:
        with self.lock:
            return [dict(fault) for fault in self.faults]

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()


class RequestLogMixin:
    """The log of vendor requests, for a store with `lock` and a
    `requests` list."""

    def log_request(self, entry: dict) -> None:
        with self.lock:
            self.requests.append(entry)

    def logged_requests(self) -> list[dict]:
        with self.lock:
            return list(self.requests)

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()


class ControlApiMixin:
    """The control API under /_sandbox/ that tests drive, for a handler
    of SandboxHandlerBase.  A sandbox sets `control_resource` (the
    "tasks/" of /_sandbox/tasks/{id}) and defines _control_store(),
    _parse_fault(spec) and _control_item(method, ident, body); it may
    replace _control_endpoints() (by default the request log)."""

    control_resource = "tasks/"

    def _control_raw(self, method: str, name: str, body: bytes) -> bool:
        """Answer a control request that is not JSON-in, JSON-out; True
        when it did (by default none is)."""
        return False

    def _handle_control(self, name: str, body: bytes):
        if self._control_raw(self.command, name, body):
            return
        try:
            status, payload = self._control_operation(self.command, name, body)
        except ValueError as exc:
            status, payload = 400, {"ok": False, "error": str(exc)}
        self._send_json(status, payload)

    def _control_endpoints(self, store) -> dict:
        return {
            ("GET", "requests"): store.logged_requests,
            ("DELETE", "requests"): lambda: store.clear_requests() or {"ok": True},
        }

    def _control_operation(self, method: str, name: str, body: bytes) -> tuple[int, object]:
        store = self._control_store()
        prefix = self.control_resource
        if name.startswith(prefix) and "/" not in name[len(prefix):]:
            return self._control_item(method, name[len(prefix):], body)
        handler = {
            ("GET", "health"): lambda: {"ok": True},
            ("POST", "faults"): lambda: self._queue_fault(body),
            ("GET", "faults"): lambda: {"ok": True, "faults": store.pending_faults()},
            ("DELETE", "faults"): lambda: store.clear_faults() or {"ok": True},
            **self._control_endpoints(store),
            ("POST", "reset"): lambda: store.reset() or {"ok": True},
        }.get((method, name))
        if handler is None:
            return 404, {"ok": False, "error": f"no control endpoint {method} /_sandbox/{name}"}
        return 200, handler()

    def _queue_fault(self, body: bytes) -> dict:
        store = self._control_store()
        store.queue_fault(self._parse_fault(self._control_json(body)))
        return {"ok": True, "faults": store.pending_faults()}

    @staticmethod
    def _control_json(body: bytes) -> dict:
        try:
            value = json.loads(body or b"{}")
        except ValueError:
            raise ValueError("body must be JSON") from None
        if not isinstance(value, dict):
            raise ValueError("body must be a JSON object")
        return value


# --------------------------------------------------------------------------
# Object storage: what the CLOVA (S3) and Baidu (BOS) listeners share
# --------------------------------------------------------------------------

STALL_BODY = "stall-body"
# The fault kinds a storage op takes; stall-body only on a PUT.
STORAGE_FAULT_KINDS = frozenset({"status", "slow", "reset", "drop", "truncated",
                                 "garbage", STALL_BODY})
MAX_STALL_BYTES = 1 << 30


def parse_stall_body_fault(spec: dict) -> dict:
    """stall-body: read `bytes` of the request body, then sit silent for
    `delay` seconds and close (a timeout in the middle of an upload)."""
    size = spec.get("bytes", 65536)
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_STALL_BYTES:
        raise ValueError(f"bytes must be an integer in [0, {MAX_STALL_BYTES}]")
    delay = spec.get("delay", 30.0)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 3600:
        raise ValueError("delay must be a number of seconds in [0, 3600]")
    return {"bytes": size, "delay": float(delay)}


def check_storage_fault(op: str, kind: str, storage_ops, extra_kinds=()) -> None:
    """Refuse a fault kind that cannot apply to its op (ValueError)."""
    if op in storage_ops:
        if kind not in STORAGE_FAULT_KINDS and kind not in extra_kinds:
            allowed = sorted({*STORAGE_FAULT_KINDS, *extra_kinds})
            raise ValueError(f"fault for {op} must be one of {allowed}")
        if kind == STALL_BODY and not op.endswith("-put"):
            raise ValueError(f"{STALL_BODY} applies to a PUT only")
    elif kind == STALL_BODY:
        raise ValueError(f"{STALL_BODY} applies to a PUT only")


class BodyReadError(Exception):
    """A request body that cannot be read: bad framing or too large."""

    def __init__(self, too_large: bool, message: str):
        super().__init__(message)
        self.too_large = too_large


def read_request_body(rfile, headers, max_bytes: int, stop_after: int | None = None) -> bytes:
    """The body by Content-Length or chunked; with stop_after, no more than
    that many bytes (the rest stays unread)."""
    limit = max_bytes if stop_after is None else min(max_bytes, stop_after)
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        chunks, total = [], 0
        while True:
            line = rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise BodyReadError(False, "bad chunk size") from None
            if stop_after is None and total + size > max_bytes:
                raise BodyReadError(True, "body too large")
            if size == 0:
                break
            take = min(size, limit - total)
            chunks.append(rfile.read(take))
            total += take
            if take < size:             # stop_after reached inside a chunk
                return b"".join(chunks)
            rfile.readline(1024)
            if stop_after is not None and total >= limit:
                return b"".join(chunks)
        while rfile.readline(8192).strip():  # trailers
            pass
        return b"".join(chunks)
    length = headers.get("Content-Length")
    if length is None:
        return b""
    if not (length.isascii() and length.strip().isdigit()):
        raise BodyReadError(False, "bad Content-Length")
    if stop_after is None and int(length) > max_bytes:
        raise BodyReadError(True, "body too large")
    return rfile.read(min(int(length), limit))


@dataclasses.dataclass
class StoredObject:
    data: bytes
    content_type: str
    md5: str            # hex; the ETag, quoted
    sha256: str         # hex
    stored_at: float
    check: dict         # the vendor's dataset check of data

    @property
    def etag(self) -> str:
        return f'"{self.md5}"'


class ObjectStoreMixin:
    """Objects by (bucket, key), for a store with `lock` and an `objects` dict."""

    def put_object(self, bucket: str, key: str, data: bytes, content_type: str,
                   check: dict) -> StoredObject:
        stored = StoredObject(data, content_type, hashlib.md5(data).hexdigest(),
                              hashlib.sha256(data).hexdigest(), time.time(), check)
        with self.lock:
            self.objects[(bucket, key)] = stored
        return stored

    def get_object(self, bucket: str, key: str) -> StoredObject | None:
        with self.lock:
            return self.objects.get((bucket, key))

    def delete_object(self, bucket: str, key: str) -> bool:
        with self.lock:
            return self.objects.pop((bucket, key), None) is not None

    def objects_named(self, bucket: str, path: str) -> list[tuple[str, StoredObject]]:
        """The object at path, or else every object under path + "/" (a
        dataset named by its folder), sorted by key."""
        with self.lock:
            found = self.objects.get((bucket, path))
            if found is not None:
                return [(path, found)]
            prefix = path.rstrip("/") + "/"
            return sorted((key, obj) for (name, key), obj in self.objects.items()
                          if name == bucket and key.startswith(prefix))

    def list_objects(self) -> list[dict]:
        with self.lock:
            items = sorted(self.objects.items())
        return [{"bucket": bucket, "key": key, "bytes": len(obj.data), "sha256": obj.sha256,
                 "etag": obj.etag, "content_type": obj.content_type, "check": obj.check}
                for (bucket, key), obj in items]

    def clear_objects(self) -> None:
        with self.lock:
            self.objects.clear()


class ObjectControlMixin:
    """/_sandbox/objects for a ControlApiMixin handler whose store is an
    ObjectStoreMixin; the handler defines _check_dataset(data) -> dict.

    GET /_sandbox/objects lists {bucket,key,bytes,sha256,etag,content_type,
    check}; DELETE clears them.  GET /_sandbox/objects/<bucket>/<key> answers
    the stored bytes, PUT stores the body there unsigned (to plant a
    dataset), DELETE removes it."""

    def _control_endpoints(self, store) -> dict:
        return {
            **super()._control_endpoints(store),
            ("GET", "objects"): store.list_objects,
            ("DELETE", "objects"): lambda: store.clear_objects() or {"ok": True},
        }

    def _control_raw(self, method: str, name: str, body: bytes) -> bool:
        if not name.startswith("objects/"):
            return super()._control_raw(method, name, body)
        bucket, _, key = unquote(name[len("objects/"):]).partition("/")
        store = self._control_store()
        if not bucket or not key:
            self._send_json(404, {"ok": False, "error": "name an object: objects/<bucket>/<key>"})
        elif method == "GET":
            stored = store.get_object(bucket, key)
            if stored is None:
                self._send_json(404, {"ok": False, "error": f"no object {bucket}/{key}"})
            else:
                self._send(200, stored.data, stored.content_type, {"ETag": stored.etag})
        elif method == "PUT":
            content_type = self.headers.get("Content-Type") or "application/octet-stream"
            stored = store.put_object(bucket, key, body, content_type, self._check_dataset(body))
            self._send_json(200, {"ok": True, "bucket": bucket, "key": key,
                                  "bytes": len(body), "sha256": stored.sha256,
                                  "check": stored.check})
        elif method == "DELETE":
            self._send_json(200, {"ok": True, "deleted": store.delete_object(bucket, key)})
        else:
            self._send_json(404, {"ok": False,
                                  "error": f"no control endpoint {method} /_sandbox/objects/…"})
        return True


@dataclasses.dataclass
class StorageVerdict:
    """What the vendor's checks of a storage request found."""
    ok: bool
    status: int = 200
    code: str | None = None             # the vendor's error code
    message: str = ""
    reason: str = "ok"                  # why, for the request log
    signature_ok: bool = False
    signed_headers: list | None = None
    payload_hash: str | None = None
    canonical_request: str | None = None


STORAGE_VERBS = {"PUT": "put", "GET": "get", "HEAD": "head", "DELETE": "delete"}


class StorageHandlerMixin:
    """A path-style object store, PUT/GET/HEAD/DELETE /<bucket>/<key>, for
    a SandboxHandlerBase whose server has `store` (FaultQueueMixin,
    RequestLogMixin, ObjectStoreMixin) and `config`.

    A subclass sets op_prefix ("s3-", "bos-") and max_object_bytes, and
    defines _buckets(), _verify(body) -> StorageVerdict (signature, payload
    digests), _check_dataset(data) -> dict and
    _storage_error_payload(status, code, message, resource) -> (body,
    content type, headers).  Order: the fault queue first (stall-body acts
    before the body is read), then the body, the verdict, the request log,
    any other fault (a faulted PUT stores nothing), then the operation."""

    op_prefix = "storage-"
    max_object_bytes = 256 * 1024 * 1024

    def do_HEAD(self):
        self._dispatch()

    def _dispatch(self):
        url = urlsplit(self.path)
        store = self.server.store
        verb = STORAGE_VERBS.get(self.command)
        op = self.op_prefix + verb if verb else None
        bucket, _, key = unquote(url.path).lstrip("/").partition("/")
        fault = store.take_fault(op) if op else None
        if fault is not None and fault["fault"] == STALL_BODY:
            self._stall_body(url, op, bucket, key, fault)
            return
        try:
            body = read_request_body(self.rfile, self.headers, self.max_object_bytes)
        except BodyReadError as exc:
            self.close_connection = True    # the body's framing is unknown
            if exc.too_large:
                self._send_storage_error(400, "EntityTooLarge", "Your proposed upload "
                                         "exceeds the maximum allowed object size.", url.path)
            else:
                self._send_storage_error(400, "InvalidArgument", str(exc), url.path)
            return
        verdict = self._verify(body)
        check = self._check_dataset(body) if verb == "put" else None
        store.log_request(self._storage_log_entry(op, url, bucket, key, body, verdict, check,
                                                  fault))
        if fault is not None and self._apply_storage_fault(fault, bucket, key):
            return
        if verb is None:
            self._send_storage_error(405, "MethodNotAllowed", "The specified method is not "
                                     "allowed against this resource.", url.path)
        elif not verdict.ok:
            self._send_storage_error(verdict.status, verdict.code, verdict.message, url.path)
        elif bucket not in self._buckets():
            self._send_storage_error(404, "NoSuchBucket", "The specified bucket does not exist.",
                                     url.path)
        elif not key:
            if verb == "head":
                self._send_head(200, {})
            else:
                self._send_storage_error(501, "NotImplemented", "Only object operations are "
                                         "implemented by the sandbox.", url.path)
        else:
            self._object_operation(verb, bucket, key, body, check, url.path)

    def _object_operation(self, verb: str, bucket: str, key: str, body: bytes, check,
                          resource: str):
        store = self.server.store
        if verb == "put":
            content_type = self.headers.get("Content-Type") or "application/octet-stream"
            stored = store.put_object(bucket, key, body, content_type, check)
            self._send_head(200, {"ETag": stored.etag})
            return
        if verb == "delete":
            store.delete_object(bucket, key)
            self._send_head(204, {}, body_follows=False)
            return
        stored = store.get_object(bucket, key)
        if stored is None:
            self._send_storage_error(404, "NoSuchKey", "The specified key does not exist.",
                                     resource)
            return
        headers = {"ETag": stored.etag, "Last-Modified": http_date(stored.stored_at)}
        if verb == "head":
            self._send_head(200, {"Content-Type": stored.content_type,
                                  "Content-Length": str(len(stored.data)), **headers})
        else:
            self._send(200, stored.data, stored.content_type, headers)

    def _send_storage_error(self, status: int, code: str, message: str, resource: str):
        body, content_type, headers = self._storage_error_payload(status, code, message,
                                                                  resource)
        if self.command == "HEAD":          # a HEAD answer has no body
            self._send_head(status, {"Content-Type": content_type, **headers})
        else:
            self._send(status, body, content_type, headers)

    def _send_head(self, status: int, headers: dict, body_follows: bool = True):
        """A status and headers with no body (HEAD, 204)."""
        self.send_response(status)
        if body_follows and "Content-Length" not in headers:
            headers = {**headers, "Content-Length": "0"}
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _stall_body(self, url, op: str, bucket: str, key: str, fault: dict):
        try:
            partial = read_request_body(self.rfile, self.headers, self.max_object_bytes,
                                        stop_after=fault["bytes"])
        except BodyReadError:
            partial = b""
        self.server.store.log_request(self._storage_log_entry(
            op, url, bucket, key, partial, None, None, fault))
        time.sleep(fault["delay"])
        # No answer; the close sends a FIN (then an RST for any body left unread).
        self.close_connection = True

    def _apply_storage_fault(self, fault: dict, bucket: str, key: str) -> bool:
        """Carry out a fault; True when it took the place of the answer."""
        kind = fault["fault"]
        if kind == "slow":
            time.sleep(fault["delay"])
            return False
        if self.command == "HEAD" and kind in ("status", "garbage", "truncated"):
            self.close_connection = True    # a HEAD answer has no body to spoil
            self._send_head(fault.get("http", 200), fault.get("headers", {}))
        elif kind == "status":
            self._send(fault["http"], fault["body"].encode("utf-8"),
                       fault["content_type"], fault["headers"])
        elif kind == "garbage":
            self._send(200, b"<html>oops</html>", "text/html")
        elif kind == "reset":
            self.close_connection = True
            self.server.abort_connection(self.connection)
        elif kind == "drop":
            self.close_connection = True    # normal close (FIN), no answer
        elif kind == "truncated":
            stored = self.server.store.get_object(bucket, key) if self.command == "GET" else None
            data = stored.data if stored is not None else b""
            self._send_truncated(data[:len(data) // 2], "application/octet-stream")
        else:
            return self._apply_vendor_storage_fault(fault)
        return True

    def _apply_vendor_storage_fault(self, fault: dict) -> bool:
        """A vendor's own fault kind on a storage op (parse_fault lets none
        through unless the sandbox handles it here)."""
        self._send_storage_error(500, "InternalError", f"unhandled fault {fault['fault']}",
                                 urlsplit(self.path).path)
        return True

    def _storage_log_entry(self, op, url, bucket, key, body: bytes,
                           verdict: StorageVerdict | None, check, fault) -> dict:
        """What the request did, never a secret: header names, not values."""
        return {
            "op": op,
            "method": self.command,
            "path": url.path,
            "query": url.query,
            "bucket": bucket,
            "key": key,
            "bytes": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "headers": sorted({name.lower() for name in self.headers.keys()}),
            "signed_headers": verdict.signed_headers if verdict else None,
            "signature_ok": verdict.signature_ok if verdict else False,
            "auth_ok": verdict.ok if verdict else False,
            "auth_code": (verdict.code if verdict and not verdict.ok else None),
            "auth_reason": verdict.reason if verdict else "not checked (stall-body)",
            "payload_hash": verdict.payload_hash if verdict else None,
            "canonical_request": redact_tokens(verdict.canonical_request) if verdict else None,
            "format": check,
            "fault": fault["fault"] if fault else None,
            "time": time.time(),
        }


SECURITY_TOKEN_HEADERS = ("x-amz-security-token:", "x-bce-security-token:")


def redact_tokens(canonical: str | None) -> str | None:
    """A canonical request with session-token values blanked out."""
    if canonical is None:
        return None
    return "\n".join(line.split(":", 1)[0] + ":<redacted>"
                     if line.lower().startswith(SECURITY_TOKEN_HEADERS) else line
                     for line in canonical.split("\n"))


def http_date(epoch_seconds: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(epoch_seconds))
