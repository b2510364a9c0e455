"""Starts the pieces of a gateway deployment on loopback: sandbox vendors and
Debian's nginx with the built module. Used by the demo (`make run`) and by
the integration tests, so both run the same configuration code.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NGINX = "/usr/sbin/nginx"
# the vendor locations' standard directives, one file a vendor kind
SNIPPETS = ROOT / "config"

# Problems that must never appear in nginx's error log.
LOG_PROBLEMS = ("[alert]", "[emerg]", "[crit]", "AddressSanitizer",
                "runtime error:", "exited on signal", "LeakSanitizer")


@dataclass
class Process:
    name: str
    proc: subprocess.Popen
    port: int = 0
    http_port: int = 0
    storage_port: int = 0       # the vendor's object store (CLOVA S3, BOS)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_clova_sandbox(workdir: Path, *, api_key: str, access_key: str,
                        secret_key: str, bucket_access_key: str,
                        bucket_secret_key: str, wait_seconds: float = 1.0,
                        run_seconds: float = 4.0, port: int = 0,
                        storage_port: int = 0,
                        buckets: tuple[str, ...] = ()) -> Process:
    """Starts the CLOVA sandbox; keys are passed through files, never argv.
    .storage_port is its Object Storage (S3) listener, which has buckets
    (the sandbox's default, ftgw-staging, when none is given) and takes
    requests signed with the bucket key pair."""
    workdir.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, value in (("api-key", api_key), ("access-key", access_key),
                        ("secret-key", secret_key),
                        ("bucket-access-key", bucket_access_key),
                        ("bucket-secret-key", bucket_secret_key)):
        path = workdir / f"clova-sandbox.{name}"
        path.write_text(value + "\n")
        path.chmod(0o600)
        files[name] = path
    cmd = [sys.executable, str(ROOT / "sandbox" / "clova_sandbox.py"),
           "--port", str(port), "--auth", "both",
           "--api-key-file", str(files["api-key"]),
           "--access-key-file", str(files["access-key"]),
           "--secret-key-file", str(files["secret-key"]),
           "--bucket-access-key-file", str(files["bucket-access-key"]),
           "--bucket-secret-key-file", str(files["bucket-secret-key"]),
           "--wait-seconds", str(wait_seconds),
           "--run-seconds", str(run_seconds),
           "--storage-port", str(storage_port)]
    for bucket in buckets:
        cmd += ["--bucket", bucket]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    storage = proc.stdout.readline() if "listening on" in line else ""
    if "listening on" not in line or not storage.startswith("storage listening on"):
        proc.kill()
        raise RuntimeError(f"clova sandbox did not start: {line!r} {storage!r}")
    return Process("clova-sandbox", proc, int(line.rsplit(":", 1)[1]),
                   storage_port=int(storage.rsplit(":", 1)[1]))


def start_qianfan_sandbox(workdir: Path, *, access_key: str,
                          secret_key: str, run_seconds: float = 4.0,
                          port: int = 0, storage_port: int = 0,
                          buckets: tuple[str, ...] = ()) -> Process:
    """Starts the Qianfan sandbox; keys are passed through files.
    .storage_port is its BOS listener, which has buckets (the sandbox's
    default, ftgw-staging, when none is given) and takes requests signed
    with the same key pair."""
    workdir.mkdir(parents=True, exist_ok=True)
    ak = write_secret(workdir / "qianfan-sandbox.ak", access_key)
    sk = write_secret(workdir / "qianfan-sandbox.sk", secret_key)
    cmd = [sys.executable, str(ROOT / "sandbox" / "qianfan_sandbox.py"),
           "--port", str(port), "--access-key-file", str(ak),
           "--secret-key-file", str(sk), "--run-seconds", str(run_seconds),
           "--bos-port", str(storage_port)]
    for bucket in buckets:
        cmd += ["--bos-bucket", bucket]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    bos = proc.stdout.readline() if "listening on" in line else ""
    if "listening on" not in line or not bos.startswith("bos listening on"):
        proc.kill()
        raise RuntimeError(f"qianfan sandbox did not start: {line!r} {bos!r}")
    return Process("qianfan-sandbox", proc, int(line.rsplit(":", 1)[1]),
                   storage_port=int(bos.rsplit(":", 1)[1]))


def make_yandex_key(workdir: Path) -> tuple[Path, Path]:
    """A new service-account authorized key (JSON) and its public key."""
    workdir.mkdir(parents=True, exist_ok=True)
    key, pub = workdir / "yandex-sa-key.json", workdir / "yandex-sa.pub.pem"
    subprocess.run([sys.executable, str(ROOT / "sandbox" / "yandex_sandbox.py"),
                    "--make-key", str(key), str(pub)], check=True,
                   capture_output=True)
    return key, pub


def start_yandex_sandbox(workdir: Path, *, api_key: str, authorized_key: Path,
                         token_ttl: float = 43200, run_seconds: float = 2.0,
                         grpc_port: int = 0, http_port: int = 0) -> Process:
    """Starts the Yandex sandbox (gRPC + the IAM endpoint).  The port of
    the Process is the gRPC one; .http_port is the other."""
    workdir.mkdir(parents=True, exist_ok=True)
    keyfile = write_secret(workdir / "yandex-sandbox.api-key", api_key)
    cmd = [sys.executable, str(ROOT / "sandbox" / "yandex_sandbox.py"),
           "--grpc-port", str(grpc_port), "--http-port", str(http_port),
           "--api-key-file", str(keyfile),
           "--authorized-key-file", str(authorized_key),
           "--token-ttl", str(token_ttl), "--run-seconds", str(run_seconds)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "listening" not in line:
        proc.kill()
        raise RuntimeError(f"yandex sandbox did not start: {line!r}")
    ports = dict(part.split("=", 1) for part in line.split()[2:])
    process = Process("yandex-sandbox", proc,
                      int(ports["grpc"].rsplit(":", 1)[1]))
    process.http_port = int(ports["http"].rsplit(":", 1)[1])
    return process


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_secret(path: Path, value: str) -> Path:
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


def example_for_machine(text: str, root: Path,
                        yandex_key: Path) -> tuple[str, list[str]]:
    """config/ftgw.conf.example made to run here, under root: only what a
    real server would hold is replaced (credential files under
    root/etc/nginx/ftgw, with a value of their own each, and the Yandex
    key; the file store and the logs under root/var; a self-signed
    certificate; a free port for 443; 127.0.0.1 for the vendors' hosts,
    since there is no DNS).  Returns the text and the values written."""
    created: list[str] = []

    def credential(m):
        path = root / "etc/nginx/ftgw" / m.group(1)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".json":
            shutil.copy(yandex_key, path)
        elif not path.exists():
            # a value of its own: two clients may not share a key
            value = "c" * 24 + hashlib.sha256(
                m.group(1).encode()).hexdigest()[:16]
            write_secret(path, value)
            created.append(value)
        return str(path)

    text = re.sub(r"/etc/nginx/ftgw/([\w./-]+)", credential, text)
    for d in ("var/lib/nginx", "var/log/nginx", "etc/nginx/tls"):
        (root / d).mkdir(parents=True, exist_ok=True)
    crt, key = root / "etc/nginx/tls/tuning.crt", \
        root / "etc/nginx/tls/tuning.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-subj", "/CN=localhost", "-days", "1",
                    "-keyout", str(key), "-out", str(crt)], check=True,
                   capture_output=True)
    text = (text.replace("/var/lib/nginx/", f"{root}/var/lib/nginx/")
            .replace("/var/log/nginx/", f"{root}/var/log/nginx/")
            .replace("/etc/nginx/tls/tuning.crt", str(crt))
            .replace("/etc/nginx/tls/tuning.key", str(key))
            .replace("listen 443 ssl;",
                     f"listen 127.0.0.1:{free_port()} ssl;"))
    text = re.sub(r"server [a-z.]+\.(com|net):443;", "server 127.0.0.1:443;",
                  text)
    text = re.sub(r"proxy_pass https://[a-z.]+\.net/;",
                  "proxy_pass https://127.0.0.1/;", text)
    return text, created


@dataclass
class Nginx:
    prefix: Path
    port: int
    proc: subprocess.Popen | None = None
    env: dict = field(default_factory=dict)

    @property
    def error_log(self) -> Path:
        return self.prefix / "error.log"

    def test_config(self) -> subprocess.CompletedProcess:
        return subprocess.run(self._cmd() + ["-t"], env=self.env,
                              capture_output=True, text=True)

    def start(self) -> None:
        self.proc = subprocess.Popen(self._cmd() + ["-g", "daemon off;"],
                                     env=self.env)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited: "
                                   + self.error_log.read_text()[-2000:])
            try:
                import socket
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start listening")

    def workers(self) -> set[int]:
        """The master's children: its worker (and cache) processes."""
        kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return {int(p) for p in kids.read_text().split()} if kids.exists() \
            else set()

    def reload(self, timeout: float = 20) -> None:
        """nginx -s reload, waited for: the workers of the old
        configuration have all exited, so every connection from now on is
        served by the new one (with reuseport an old worker still accepts
        until it exits)."""
        old = self.workers()
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.workers()
            if now and not (now & old):
                return
            time.sleep(0.05)
        raise RuntimeError("the old workers did not exit after a reload")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)     # graceful shutdown
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_problems(self) -> list[str]:
        if not self.error_log.exists():
            return []
        return [line for line in self.error_log.read_text().splitlines()
                if any(p in line for p in LOG_PROBLEMS)]

    def _cmd(self) -> list[str]:
        return [NGINX, "-p", str(self.prefix), "-c",
                str(self.prefix / "nginx.conf"), "-e", str(self.error_log)]


def nginx_env(preload: str | None) -> dict:
    env = dict(os.environ)
    if preload:
        env["LD_PRELOAD"] = preload
        # nginx's own allocations are reported by a leak check at exit,
        # which tells nothing about the module: memory errors are the gate
        env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
    return env


def http_prelude(prefix: Path, module: str, *, workers: int = 2,
                 log_level: str = "info") -> str:
    """load_module, process settings and temp paths inside the prefix."""
    temps = "\n".join(
        f"    {name}_temp_path {prefix}/tmp/{name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    # as root, workers would switch to "nobody", who cannot reach the
    # temp paths inside a private prefix: keep them as the caller
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""load_module {module};
{user}worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log {log_level};
events {{ worker_connections 512; }}
http {{
    log_format ftgw '$remote_addr [$time_local] "$request" $status '
                    '$body_bytes_sent $request_time pid=$pid '
                    'rid=$request_id';
    access_log {prefix}/access.log ftgw;
{temps}
"""


def include(kind: str) -> str:
    """The include line of a vendor location's standard directives
    (config/ftgw-<kind>.conf), by absolute path: a generated nginx.conf
    lives in a prefix of its own."""
    return f"include {SNIPPETS / f'ftgw-{kind}.conf'};"


def random_key(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(24)
