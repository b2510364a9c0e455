"""A minimal slurmrestd client over a unix socket (plain HTTP/1.1, the
standard library only: requests-unixsocket is not available), the helpers
that install, start and stop the project's single-node cluster
(slurm/install.sh, slurm/up.sh, slurm/down.sh), and the pytest fixtures
`slurm_cluster` (session) and `slurm` (a client).

A test module uses the fixtures with

    from slurmrest import slurm, slurm_cluster  # noqa: F401

`slurm_gpu_cluster` (session) is a second cluster whose node declares
FAKE_GPUS stand-in GPUs (slurm/up.sh's SLURM_FAKE_GPUS): Slurm schedules
and allocates them as real ones, on a machine without any.

(not through a conftest.py: t/conftest.py is imported by name, `from
conftest import ...`, and a second conftest.py would shadow it).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SLURM = ROOT / "slurm"
API = "/slurm/v0.0.38"

# slurm/install.sh exits with this when the packages cannot be installed
INSTALL_IMPOSSIBLE = 3

# the stand-in GPUs of slurm_gpu_cluster's node
FAKE_GPUS = 2

FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL",
            "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL", "DEADLINE"}


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 10.0):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


@dataclass
class Response:
    status: int
    text: str
    body: dict | None = None


@dataclass
class SlurmRest:
    socket_path: str
    # the jobs' working directory (their slurm-<id>.out goes there): one
    # that slurmrestd's user can write
    workdir: str = "/tmp"
    log: list = field(default_factory=list)

    def request(self, method: str, path: str,
                body: dict | str | None = None) -> Response:
        conn = _UnixConnection(self.socket_path)
        try:
            headers = {}
            data = None
            if body is not None:
                data = body if isinstance(body, str) else json.dumps(body)
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
        finally:
            conn.close()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        r = Response(resp.status, text, parsed)
        self.log.append((method, path, body, r))
        return r

    # --- the calls the gateway makes ---------------------------------------
    def ping(self) -> Response:
        return self.request("GET", f"{API}/ping")

    def submit(self, script: str, **job) -> Response:
        props = {"partition": "gpu",
                 "current_working_directory": self.workdir,
                 "environment": {"PATH": "/usr/bin:/bin"}}
        props.update(job)
        return self.request("POST", f"{API}/job/submit",
                            {"script": script, "job": props})

    def job(self, job_id: int | str) -> Response:
        return self.request("GET", f"{API}/job/{job_id}")

    def jobs(self) -> Response:
        return self.request("GET", f"{API}/jobs")

    def cancel(self, job_id: int | str) -> Response:
        return self.request("DELETE", f"{API}/job/{job_id}")

    # --- helpers ------------------------------------------------------------
    def job_props(self, job_id: int) -> dict:
        r = self.job(job_id)
        assert r.status == 200, r.text
        assert r.body["errors"] == [], r.body["errors"]
        (job,) = r.body["jobs"]
        return job

    def wait(self, job_id: int, until, timeout: float = 30.0,
             interval: float = 0.2) -> tuple[dict, list[str]]:
        """Polls GET job/{id} until until(job) is true; returns the last
        job and every job_state seen on the way (in order, deduplicated)."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            job = self.job_props(job_id)
            if not seen or seen[-1] != job["job_state"]:
                seen.append(job["job_state"])
            if until(job):
                return job, seen
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"job {job_id}: still {job['job_state']} "
                    f"({job['state_reason']}) after {timeout}s; seen {seen}")
            time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    state_dir: Path
    socket_path: str
    env: dict

    @property
    def conf(self) -> Path:
        return self.state_dir / "slurm.conf"

    def client(self) -> SlurmRest:
        # STATE_DIR/rest belongs to slurmrestd's user, who runs the jobs
        return SlurmRest(self.socket_path, str(self.state_dir / "rest"))

    def run(self, *cmd: str, **kw) -> subprocess.CompletedProcess:
        """A Slurm client command (sinfo, squeue, scontrol) against it."""
        return subprocess.run(list(cmd), env=self.env, capture_output=True,
                              text=True, **kw)


def install() -> subprocess.CompletedProcess:
    return subprocess.run([str(SLURM / "install.sh")], capture_output=True,
                          text=True, timeout=900)


def up(state_dir: Path | None = None, *, ctld_port: int | None = None,
       slurmd_port: int | None = None, fake_gpus: int = 0) -> Cluster:
    """Starts a cluster with free ports (so that it never clashes with the
    demo's or another test run's) in a new directory under /tmp (searchable
    by slurmrestd's user, unlike pytest's private tmp_path); its node has
    fake_gpus stand-in GPUs when that is not 0."""
    if state_dir is None:
        state_dir = Path(tempfile.mkdtemp(prefix="ftgw-slurm-", dir="/tmp"))
    state_dir.chmod(0o755)
    env = dict(os.environ)
    ctld_port = ctld_port or free_port()
    while not slurmd_port or slurmd_port == ctld_port:
        slurmd_port = free_port()
    env["SLURMCTLD_PORT"] = str(ctld_port)
    env["SLURMD_PORT"] = str(slurmd_port)
    if fake_gpus:
        env["SLURM_FAKE_GPUS"] = str(fake_gpus)
    p = subprocess.run([str(SLURM / "up.sh"), str(state_dir)], env=env,
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        down(state_dir)
        raise RuntimeError(f"slurm/up.sh failed ({p.returncode}):\n"
                           f"{p.stdout}\n{p.stderr}")
    env["SLURM_CONF"] = str(state_dir / "slurm.conf")
    return Cluster(state_dir, p.stdout.strip().splitlines()[-1], env)


def down(state_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(SLURM / "down.sh"), str(state_dir)],
                          capture_output=True, text=True, timeout=120)


def leftovers(state_dir: Path) -> list[str]:
    """Live processes that still belong to the cluster: a daemon with the
    state directory in its command line, or anything working in it."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                continue
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(
                b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if str(state_dir) in cmd or cwd.startswith(str(state_dir) + "/"):
            found.append(f"{pid} {cmd}")
    return found


# --- pytest fixtures -------------------------------------------------------

def _cluster(fake_gpus: int = 0):
    """install.sh, up.sh into a new directory; down.sh at the end, which
    must leave no process behind.  Skips (with the reason) only where the
    packages cannot be installed."""
    p = install()
    if p.returncode == INSTALL_IMPOSSIBLE:
        pytest.skip("Slurm packages cannot be installed here "
                    f"(slurm/install.sh): {p.stderr.strip()[-300:]}")
    assert p.returncode == 0, f"slurm/install.sh failed:\n{p.stderr}"
    cluster = up(fake_gpus=fake_gpus)
    yield cluster
    d = down(cluster.state_dir)
    assert d.returncode == 0, d.stderr
    for _ in range(50):                 # exiting processes: a moment
        left = leftovers(cluster.state_dir)
        if not left:
            break
        time.sleep(0.1)
    assert left == [], f"slurm/down.sh left processes behind: {left}"
    shutil.rmtree(cluster.state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def slurm_cluster():
    yield from _cluster()


@pytest.fixture(scope="session")
def slurm_gpu_cluster():
    """A cluster whose node has FAKE_GPUS stand-in GPUs (links to
    /dev/null as their device files)."""
    yield from _cluster(FAKE_GPUS)


@pytest.fixture
def slurm(slurm_cluster) -> SlurmRest:
    return slurm_cluster.client()
