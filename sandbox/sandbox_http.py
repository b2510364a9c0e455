"""The HTTP plumbing every sandbox vendor shares: a threading server that
can close a connection with a TCP RST (the "reset" fault), and a keep-alive
request handler base that never logs headers or bodies."""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading
import weakref
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
        self.wfile.write(body)

    def _send_json(self, status: int, payload, headers: dict | None = None):
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json", headers)

    def _send_truncated(self, body: bytes) -> None:
        """The "truncated" fault: a 200 whose Content-Length promises 100
        bytes more than the body sent, then the connection closed."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body) + 100))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


class FaultQueueMixin:
    """The control API's queued faults, for a store with `lock` and a
    `faults` deque.  A fault applies to the next `count` matching calls."""

    def fault_matches(self, fault: dict, op: str) -> bool:
        return fault["op"] in (op, "any")

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

    def _handle_control(self, name: str, body: bytes):
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
