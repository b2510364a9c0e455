"""A fault proxy in front of the real slurmrestd: slurmrestd cannot be made
to fail on purpose, so the fault matrix's local-engine cells put this
between nginx and its unix socket.  It forwards every call unchanged, but
a queued fault (the sandboxes' control API: POST /_sandbox/faults with
{"op": ..., "fault": ...}) takes the place of the next matching answer,
or paces it.

ops: "submit" (POST .../job/submit), "job" (GET .../job/{id}), "jobs"
(GET .../jobs), "cancel" (DELETE .../job/{id}), or "any".  Faults, as the
CLOVA sandbox's: status, garbage, huge, reset, drop, truncated, slow,
trickle, stall-answer.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import deque
from http.client import HTTPConnection

from sandbox_http import (ControlApiMixin, FaultQueueMixin, RequestLogMixin,
                          ResettableHTTPServer, SandboxHandlerBase,
                          parse_pace_fault)

OPS = {"submit", "job", "jobs", "cancel", "any"}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te",
              "trailer", "upgrade", "proxy-connection"}


def _seconds(spec: dict, default: float) -> float:
    delay = spec.get("delay", default)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) \
            or not 0 <= delay <= 3600:
        raise ValueError("delay must be a number of seconds in [0, 3600]")
    return float(delay)


def _status_fault(spec: dict) -> dict:
    http = spec.get("http", 500)
    if isinstance(http, bool) or not isinstance(http, int) \
            or not 100 <= http <= 599:
        raise ValueError("http must be an integer in [100, 599]")
    headers = spec.get("headers", {})
    if not isinstance(headers, dict):
        raise ValueError("headers must be an object")
    return {"http": http, "body": str(spec.get("body", "")),
            "content_type": str(spec.get("content_type", "text/plain")),
            "headers": {str(k): str(v) for k, v in headers.items()}}


FAULTS = {
    "status": _status_fault,
    "garbage": lambda spec: {},
    "huge": lambda spec: {"bytes": int(spec.get("bytes", 2 << 20))},
    "reset": lambda spec: {},
    "drop": lambda spec: {},
    "truncated": lambda spec: {},
    "slow": lambda spec: {"delay": _seconds(spec, 1.0)},
    "trickle": lambda spec: parse_pace_fault(spec, False),
    "stall-answer": lambda spec: parse_pace_fault(spec, True),
}


def parse_fault(spec) -> dict:
    if not isinstance(spec, dict):
        raise ValueError("fault must be a JSON object")
    op = spec.get("op", "any")
    if op not in OPS:
        raise ValueError(f"op must be one of {sorted(OPS)}")
    kind = spec.get("fault")
    if kind not in FAULTS:
        raise ValueError(f"fault must be one of {sorted(FAULTS)}")
    count = spec.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError("count must be a positive integer")
    return {"op": op, "fault": kind, "count": count, **FAULTS[kind](spec)}


def call_op(method: str, path: str) -> str:
    if method == "POST" and path.endswith("/job/submit"):
        return "submit"
    if method == "DELETE":
        return "cancel"
    if re.search(r"/jobs/?$", path):
        return "jobs"
    return "job"


class Store(FaultQueueMixin, RequestLogMixin):
    def __init__(self):
        self.lock = threading.Lock()
        self.faults = deque()
        self.requests = []

    def reset(self) -> None:
        self.clear_faults()
        self.clear_requests()


class ProxyServer(ResettableHTTPServer):
    def __init__(self, address, socket_path: str):
        super().__init__(address, ProxyHandler)
        self.socket_path = socket_path
        self.store = Store()


class UnixConnection(HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost", timeout=60)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class ProxyHandler(ControlApiMixin, SandboxHandlerBase):
    server_version = "slurm-fault-proxy"
    log_name = "slurm-fault-proxy"

    def _control_store(self):
        return self.server.store

    @staticmethod
    def _parse_fault(spec) -> dict:
        return parse_fault(spec)

    def _control_item(self, method, ident, body):
        return 404, {"ok": False, "error": "no items"}

    def _dispatch(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/_sandbox/"):
            self._handle_control(self.path[len("/_sandbox/"):], body)
            return
        op = call_op(self.command, self.path.split("?", 1)[0])
        self.server.store.log_request({"op": op, "method": self.command,
                                       "path": self.path})
        fault = self.server.store.take_fault(op)
        if fault is not None and self._apply_fault(fault):
            return
        self._forward(body)

    def _forward(self, body: bytes) -> None:
        conn = UnixConnection(self.server.socket_path)
        try:
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in HOP_BY_HOP}
            conn.request(self.command, self.path, body=body or None,
                         headers=headers)
            answer = conn.getresponse()
            data = answer.read()
            kept = {k: v for k, v in answer.getheaders()
                    if k.lower() not in HOP_BY_HOP
                    and k.lower() not in ("content-length", "content-type")}
            self._send(answer.status, data,
                       answer.getheader("Content-Type", "application/json"),
                       kept)
        finally:
            conn.close()

    def _apply_fault(self, fault: dict) -> bool:
        """Carry out a fault; True when it took the place of the answer."""
        kind = fault["fault"]
        if kind == "slow":
            time.sleep(fault["delay"])
            return False
        if kind in ("trickle", "stall-answer"):
            self.pace = (fault["bytes"], fault["delay"],
                         kind == "stall-answer")
            return False
        if kind == "status":
            self._send(fault["http"], fault["body"].encode(),
                       fault["content_type"], fault["headers"])
        elif kind == "garbage":
            self._send(200, b"<html>oops</html>", "text/html")
        elif kind == "huge":
            self._send(200, b'{"jobs": "' + b"x" * fault["bytes"] + b'"}',
                       "application/json")
        elif kind == "reset":
            self.close_connection = True
            self.server.abort_connection(self.connection)
        elif kind == "drop":
            self.close_connection = True
        elif kind == "truncated":
            self._send_truncated(b'{"meta": {"plugin": {"type": "openapi')
        return True


def start(socket_path: str) -> ProxyServer:
    """A proxy on an ephemeral loopback port, served by a daemon thread."""
    server = ProxyServer(("127.0.0.1", 0), socket_path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":          # a quick manual check
    import sys
    srv = start(sys.argv[1])
    print(json.dumps({"port": srv.server_address[1]}), flush=True)
    threading.Event().wait()
