"""make bench: the gateway's cost against plain nginx proxying and against
peer gateways, on loopback (issue 6; method in docs/benchmarks.md).

A mock vendor that is nginx itself (canned `return 200`) stands behind
everything, so the mock is never what is measured. For each vendor kind
and operation, the gateway route and the same vendor call through plain
proxy_pass (the ceiling; grpc_pass for Yandex's gRPC) run on the same
nginx in the same run, in alternating rounds. Then latency at 32
connections below saturation (paced) and at one connection, the peers
(Portkey, LiteLLM) on the same mock, worker memory across a million
requests, instructions per request under callgrind, and file uploads
(POST /v1/files) against nginx writing the same body to disk.

BENCH_QUICK=1 runs a much shorter version, to smoke-test the harness.
Output: a fixed-width table on stdout, build/bench/results.json,
build/bench/results.txt, build/bench/results.md (the tables for
docs/benchmarks.md) and build/bench/callgrind-*.txt.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

import canned

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "sandbox"))
import harness  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK") == "1"
WARMUP_S, RUN_S = (1, 1) if QUICK else (2, 8)
# the throughput rows alternate gateway and ceiling runs, so that both
# see the same drift of the machine; the ratio is the median of rounds
ROUNDS, ROUND_S = (1, 1) if QUICK else (3, 3)
MEMORY_REQUESTS = 10_000 if QUICK else 1_000_000
SOAK_REQUESTS = 10_000 if QUICK else 1_000_000
CALLGRIND_REQUESTS = 300 if QUICK else 2000
WORKERS = (1, 2)
CONNS = (32, 256)
VENDORS = ("clova", "qianfan", "yandex", "slurm")
# BENCH_PHASES=callgrind (for example) runs only some phases, when one
# figure is being worked on
PHASES = set(os.environ.get("BENCH_PHASES",
                            "throughput,paced,peers,memory,callgrind,"
                            "upload,staging,soak,observability")
                            .split(","))
OPS = ("retrieve", "create")

OUT = ROOT / "build" / "bench"
WORK = OUT / "run"
MODULE = ROOT / "build" / "nginx" / "ngx_http_ftgw_module.so"
PORTKEY_DIR = OUT / "portkey"
PORTKEY_JS = (PORTKEY_DIR / "node_modules" / "@portkey-ai" / "gateway"
              / "build" / "start-server.js")
# the version issue 6's anchor was measured with
PORTKEY_PKG = "@portkey-ai/gateway@1.15.2"
LITELLM_VENV = OUT / "litellm-venv"
CLIENT_KEY = "gw-bench-0123456789abcdef"

notes: list[str] = []        # what did not run, and why: printed and saved


def note(text: str) -> None:
    notes.append(text)
    print("note:", text, flush=True)


# ---- tools and peers: installed when missing, never fatal for a peer ----

def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def ensure_apt(*packages: str) -> None:
    missing = [p for p in packages if sh(["dpkg", "-s", p]).returncode]
    if not missing:
        return
    print("installing:", *missing, flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    sh(sudo + ["apt-get", "update", "-qq"], env=env)
    r = sh(sudo + ["apt-get", "install", "-y", "-qq",
                   "--no-install-recommends", *missing], env=env)
    if r.returncode:
        sys.exit(f"bench: cannot install {missing}: {r.stderr[-500:]}")


def ensure_portkey() -> bool:
    if not PORTKEY_JS.exists():
        print(f"installing: {PORTKEY_PKG} (npm)", flush=True)
        r = sh(["npm", "install", "--silent", "--no-audit", "--no-fund",
                "--prefix", str(PORTKEY_DIR), PORTKEY_PKG])
        if r.returncode or not PORTKEY_JS.exists():
            note(f"Portkey not measured: npm install of {PORTKEY_PKG} "
                 f"failed: {(r.stderr or r.stdout).strip()[-300:]}")
            return False
    return True


def ensure_litellm() -> bool:
    exe = LITELLM_VENV / "bin" / "litellm"
    if not exe.exists():
        print("installing: litellm[proxy] (PyPI)", flush=True)
        r = sh([sys.executable, "-m", "venv", str(LITELLM_VENV)])
        if not r.returncode:
            r = sh([str(LITELLM_VENV / "bin" / "pip"), "install", "-q",
                    "--disable-pip-version-check", "-r",
                    str(ROOT / "bench" / "requirements-litellm.txt")])
        if r.returncode or not exe.exists():
            note("LiteLLM not measured: pip install litellm[proxy] "
                 f"failed: {(r.stderr or r.stdout).strip()[-300:]}")
            return False
    return True


# ---- nginx configurations ----------------------------------------------

def prelude(prefix: Path, workers: int, extra: str = "") -> str:
    """Process settings for a benchmark nginx: no access log, warn-level
    error log, and room for 256 clients plus as many upstream connections
    per worker (the harness's 512 worker_connections are too few).
    multi_accept: wrk opens all its connections at once, and a saturated
    worker that accepts one per event-loop pass leaves the last of 256
    waiting in the listen queue for up to 400 ms, which was most of the
    gateway's p99 at 256 connections (the less loaded ceiling hid it)."""
    temps = "\n".join(f"    {n}_temp_path {prefix}/tmp/{n};" for n in
                      ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{extra}{user}worker_processes {workers};
worker_rlimit_nofile 16384;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 8192; multi_accept on; }}
http {{
    access_log off;
    keepalive_requests 1000000;
{temps}
"""


def start_nginx(prefix: Path, conf: str, port: int) -> harness.Nginx:
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "nginx.conf").write_text(conf)
    ngx = harness.Nginx(prefix, port, env=harness.nginx_env(None))
    ngx.start()
    return ngx


class Mock(NamedTuple):
    """The mock vendor's ports: HTTP/1.1, and cleartext HTTP/2 for gRPC."""
    http: int
    grpc: int


def nginx_quoted(text: str) -> str:
    """text as an nginx single-quoted string: backslashes and quotes
    escaped. `return` would expand a '$', and no canned answer has one."""
    assert "$" not in text, "a '$' in a canned answer"
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# the soak's faults: (split_clients share, how the mock answers). Each
# maps to one documented gateway error (docs/api.md, the vendor answer
# matrix); a gateway error with any other code is not an injected fault
SOAK_FAULTS = (
    ("1.25%", "return 503 'busy';", (503, "vendor_unavailable")),
    ("1.25%", "return 429 'slow down';", (429, "rate_limited")),
    ("1.25%", "return 200 '<html>oops</html>';",
     (502, "invalid_vendor_response")),
    # 444: nginx closes the connection with no answer
    ("1.25%", "return 444;", (502, "vendor_unreachable")),
)


def mock_faults() -> tuple[str, str]:
    """The http-level split_clients and the server-level ifs that fault
    5% of the HTTP mock's answers, chosen by $request_id (random)."""
    split = ["    split_clients $request_id $mock_fault {"]
    ifs = []
    for i, (share, action, _) in enumerate(SOAK_FAULTS):
        split.append(f"        {share} f{i};")
        ifs.append(f"        if ($mock_fault = f{i}) {{ {action} }}")
    split += ['        * "";', "    }"]
    return "\n".join(split) + "\n", "\n".join(ifs) + "\n"


def mock_conf(prefix: Path, mock: Mock, faults: bool = False) -> str:
    """HTTP answers with `return 200`. gRPC answers (Yandex) come from
    files, one gRPC message each, with the grpc-status trailer:

    - the request is read whole first, as a gRPC server does (mirror
      reads it; its subrequest answers 204). Answered before its body,
      a stream ends with RST_STREAM after the answer, and grpc_pass
      fails the next call on that keepalive connection ("upstream sent
      frame for unknown stream");
    - the static module refuses POST, which every gRPC call is, with 405:
      error_page turns that into an internal GET of the file, status 200.
    """
    routes = "\n".join(f"        location {loc} {{ return 200 "
                       f"{nginx_quoted(body)}; }}"
                       for loc, body in canned.MOCK_ROUTES.items())
    grpc_dir = prefix / "grpc"
    grpc_dir.mkdir(parents=True, exist_ok=True)
    grpc_routes = [
        "        location = /_read_body { internal; return 204; }",
        f"        location /_grpc/ {{ internal; alias {grpc_dir}/; }}"]
    for i, (path, frame) in enumerate(canned.YX_ROUTES.items()):
        (grpc_dir / f"{i}.bin").write_bytes(frame)
        grpc_routes.append(f"""        location = {path} {{
            mirror /_read_body;
            alias {grpc_dir}/{i}.bin;
            error_page 405 =200 /_grpc/{i}.bin;
        }}""")
    grpc_routes = "\n".join(grpc_routes)
    split, ifs = mock_faults() if faults else ("", "")
    # the storage sink of the staging phase: the gateway's staged datasets
    # and the ceiling's PUTs of the same bytes, written to disk alike
    (prefix / "sink").mkdir(parents=True, exist_ok=True)
    sink = location("/sink/", "dav_methods PUT;", "create_full_put_path on;",
                    f"alias {prefix}/sink/;", "client_max_body_size 0;")
    # two workers: the mock must keep up with everything the gateway sends
    return prelude(prefix, 2) + split + f"""    default_type application/json;
    server {{
        listen 127.0.0.1:{mock.http} backlog=4096;
{ifs}{routes}{sink}
    }}
    server {{
        # h2c with prior knowledge: what grpc_pass grpc:// speaks
        listen 127.0.0.1:{mock.grpc} http2 backlog=4096;
        default_type application/grpc;
        open_file_cache max=16;
        add_trailer grpc-status 0 always;
{grpc_routes}
    }}
}}
"""


def location(path: str, *directives: str) -> str:
    body = "\n".join(f"            {d}" for d in directives)
    return f"""
        location {path} {{
{body}
        }}"""


# the gateway's vendor locations include the standard directives of their
# kind (config/ftgw-*.conf: internal, and the keepalive and TLS settings);
# the ceiling's locations are not internal, so they spell out the same
# keepalive settings (TLS settings do nothing for http:// and grpc://)
KEEPALIVE = ("proxy_http_version 1.1;", 'proxy_set_header Connection "";')
QF_HOST = "proxy_set_header Host qianfan.baidubce.com;"
MOCK = "proxy_pass http://mock/;"


def grpc_location(path: str, *directives: str) -> str:
    # grpc_pass sends the URI as the gRPC method path: the rewrite cuts
    # the location's prefix off
    return location(path, *directives,
                    f"rewrite ^{path.rstrip('/')}(/.*)$ $1 break;",
                    "grpc_pass grpc://yandex_mock;")


def upload_conf(prefix: Path, max_size: int) -> tuple[str, str]:
    """The file store (http level) and the upload ceiling's location, for
    the upload phase: nginx's dav module writes a PUT body to a temp file
    under client_body_temp_path (as the gateway's uploads are) and renames
    it into place, so the ceiling is nginx reading the same body to disk
    and nothing else."""
    (prefix / "ceiling-upload").mkdir(parents=True, exist_ok=True)
    return (f"    ftgw_files root={prefix}/files max_size={max_size};\n",
            location("/ceiling/upload/", "dav_methods PUT;",
                     f"alias {prefix}/ceiling-upload/;",
                     # the same slack the module gives its ftgw_api
                     # locations for the multipart framing
                     f"client_max_body_size {max_size + 65536};"))


def gateway_conf(prefix: Path, port: int, mock: Mock, workers: int,
                 single_process: bool = False, upload_max: int = 0,
                 observe: str | None = None) -> str:
    w = harness.write_secret
    secret = w(prefix / "id.secret", canned.ID_SECRET)
    client = w(prefix / "bench.key", CLIENT_KEY)
    ckey = w(prefix / "clova.key", "nv-bench-a1b2c3d4e5f6a7b8c9d0")
    sak = w(prefix / "bucket.ak", "bucket-access-ak0001")
    ssk = w(prefix / "bucket.sk", "bucket-secret-sk0001xyz")
    qak = w(prefix / "qf.ak", "qianfan-ak-0123456789abcdef")
    qsk = w(prefix / "qf.sk", "qianfan-sk-fedcba9876543210")
    yak = w(prefix / "yandex.key", "AQVN-bench-0123456789abcdef")
    sjwt = w(prefix / "slurm.jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdW4iOiJmdGd3LXN2"
             "YyJ9.bench-signature-0123456789")
    # callgrind wants one process that exits cleanly (daemon off is set by
    # the harness's command line)
    extra = "master_process off;\n" if single_process else ""
    files, upload_location = (upload_conf(prefix, upload_max) if upload_max
                              else ("", ""))
    http_log, api_log, metrics = observe_conf(prefix, observe)
    return (f"load_module {MODULE};\n"
            + prelude(prefix, workers, extra) + f"""
    ftgw_secret_file {secret};
    ftgw_client {canned.CLIENT} {client};
    ftgw_provider clova kind=clova endpoint=/_ftgw/clova auth=bearer
                  api_key_file={ckey} storage_access_key_file={sak}
                  storage_secret_key_file={ssk}
                  storage_endpoint=/_ftgw/storage storage_bucket=sink;
    ftgw_provider qianfan kind=qianfan endpoint=/_ftgw/qianfan
                  access_key_file={qak} secret_key_file={qsk}
                  bos_endpoint=/_ftgw/storage bos_bucket=sink;
    ftgw_provider yandex kind=yandex endpoint=/_ftgw/yandex
                  folder_id={canned.YX_FOLDER} auth=api_key
                  api_key_file={yak} upload_endpoint=/_ftgw/storage;
    ftgw_provider slurm kind=slurm endpoint=/_ftgw/slurm
                  models={canned.SLURM_MODELS}
                  dataset_root={canned.SLURM_ROOTS["dataset_root"]}
                  output_root={canned.SLURM_ROOTS["output_root"]}
                  trainer={canned.SLURM_TRAINER} partition=gpu
                  time_limit=1440 user_name=ftgw-svc
                  user_token_file={sjwt};
{files}{http_log}    upstream mock {{
        server 127.0.0.1:{mock.http};
        keepalive 64;
        keepalive_requests 1000000;
    }}
    upstream yandex_mock {{
        server 127.0.0.1:{mock.grpc};
        keepalive 64;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location /v1/ {{ ftgw_api on; {api_log}}}{metrics}"""
            + location("/_ftgw/clova/", harness.include("clova"), MOCK)
            + location("/_ftgw/qianfan/", harness.include("qianfan"), MOCK,
                       QF_HOST)
            + grpc_location("/_ftgw/yandex/", harness.include("yandex"))
            + location("/_ftgw/slurm/", harness.include("slurm"), MOCK,
                       *KEEPALIVE)
            # the ceiling: the same vendor calls, plain proxy_pass (for
            # Yandex, plain grpc_pass)
            + location("/ceiling/clova/", MOCK, *KEEPALIVE)
            + location("/ceiling/qianfan/", MOCK, *KEEPALIVE, QF_HOST)
            + grpc_location("/ceiling/yandex/")
            + location("/ceiling/slurm/", MOCK, *KEEPALIVE)
            + location("/ceiling/openai/", MOCK, *KEEPALIVE)
            # staging: the gateway's storage calls, and the ceiling's PUT
            # of the same bytes through plain proxy_pass
            + location("/_ftgw/storage/", harness.include("clova"), MOCK,
                       "client_max_body_size 0;")
            + location("/ceiling/stage/", "proxy_pass http://mock/sink/;",
                       *KEEPALIVE, "client_max_body_size 0;")
            + upload_location + """
    }
}
""")


# the observability phase's two gateways log the same standard fields,
# buffered as a production access log is; "on" adds every $ftgw_*
# variable to its lines, the audit log (no line for a GET) and metrics
OBSERVE_FIELDS = ('$remote_addr - $remote_user [$time_local] "$request" '
                  '$status $body_bytes_sent "$http_referer" '
                  '"$http_user_agent"')      # nginx's combined format
OBSERVE_VARS = " ".join(f"$ftgw_{v}" for v in (
    "request_id", "client", "provider", "route", "operation", "job_id", "file_id",
    "vendor_status", "vendor_calls", "vendor_time", "error_code"))


def observe_conf(prefix: Path, observe: str | None) -> tuple[str, str, str]:
    """The http-level lines, the /v1/ location's log and the /metrics
    location of a gateway measured "off" (a combined access log), with
    "metrics" besides, or "on": metrics, every log variable and the audit
    log; None: no access log, as the other phases run."""
    if observe is None:
        return "", "", ""
    fmt = OBSERVE_FIELDS + (" " + OBSERVE_VARS if observe == "on" else "")
    http_log = f"    log_format bench '{fmt}';\n"
    api_log = f"access_log {prefix}/access.log bench buffer=64k; "
    if observe == "off":
        return http_log, api_log, ""
    http_log += "    ftgw_metrics_zone 1m;\n"
    if observe == "on":
        http_log += f"    include {harness.SNIPPETS / 'ftgw-audit.conf'};\n"
        api_log += (f"access_log {prefix}/audit.log ftgw_audit buffer=64k "
                    "if=$ftgw_audit; ")
    return (http_log, api_log,
            "\n        location = /metrics { ftgw_metrics; }")


# ---- requests: verified once, then driven by wrk Lua scripts ------------

def http(method: str, url: str, body: str | bytes | None = None,
         headers: dict | None = None) -> tuple[int, bytes]:
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, method=method, headers=headers or {},
                                 data=data)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Scenario:
    """One request wrk repeats: what it is, and how to send it."""

    def __init__(self, name: str, method: str, path: str,
                 body: str | bytes | None = None,
                 headers: dict | None = None):
        self.name, self.method, self.path = name, method, path
        self.body, self.headers = body, dict(headers or {})
        if body:
            self.headers.setdefault("Content-Type", "application/json")

    def check(self, base: str, expect_object: str | None = None) -> str:
        """'' when the request answers 200 (with the expected JSON
        object), else why not: a fast error must never pass as a result."""
        status, body = http(self.method, base + self.path, self.body,
                            self.headers)
        if status != 200:
            text = body[:300].decode(errors="replace")
            return f"HTTP {status}: {text}"
        if expect_object:
            try:
                obj = json.loads(body).get("object")
            except ValueError:
                obj = None
            if obj != expect_object:
                return (f"not a {expect_object}: "
                        f"{body[:300].decode(errors='replace')}")
        return ""

    def lua(self, budget: int = 0, pause_ms: int = 0) -> Path:
        return lua_script(self.name, [self], budget, pause_ms)


def lua_script(name: str, reqs: list[Scenario], budget: int = 0,
               pause_ms: int = 0) -> Path:
    """A wrk script sending reqs round-robin (formatted once, in init),
    each thread stopping after `budget` responses when budget > 0; with
    pause_ms, each connection waits that long between an answer and its
    next request (wrk's clock starts at the send, so the pause is not
    counted as latency)."""
    def fmt(s: Scenario) -> str:
        hdrs = ", ".join(f'["{k}"] = [==[{v}]==]'
                         for k, v in s.headers.items())
        if isinstance(s.body, bytes):      # a gRPC frame: every byte escaped
            body = '"' + "".join(f"\\{b}" for b in s.body) + '"'
        else:
            body = f"[==[{s.body}]==]" if s.body else "nil"
        return (f'wrk.format("{s.method}", [==[{s.path}]==], '
                f"{{{hdrs}}}, {body})")
    lines = ["local reqs = {}", "function init(args)"]
    lines += [f"  reqs[{i + 1}] = {fmt(s)}" for i, s in enumerate(reqs)]
    lines += ["end", "local i = 0", "function request()",
              "  i = i % #reqs + 1", "  return reqs[i]", "end"]
    if pause_ms:
        lines += ["function delay()", f"  return {pause_ms}", "end"]
    path = WORK / "lua" / (f"{name}{f'-{budget}' if budget else ''}"
                           f"{f'-pause{pause_ms}' if pause_ms else ''}.lua")
    path.parent.mkdir(parents=True, exist_ok=True)
    if budget:
        # wrk's main thread sleeps for the whole -d even when every thread
        # has stopped: leave a marker, and wrk() interrupts it (SIGINT
        # makes wrk report and exit)
        lines += ["local n = 0", "function response(status, headers, body)",
                  "  n = n + 1", f"  if n == {budget} then",
                  f"    io.open([==[{path.with_suffix('.done')}]==], "
                  '"w"):close()', "    wrk.thread:stop()", "  end", "end"]
    path.write_text("\n".join(lines) + "\n")
    return path


AUTH = {"Authorization": "Bearer " + CLIENT_KEY}


def gateway_scenarios(base: str) -> dict:
    """(vendor, op, path) -> Scenario, with real job ids from one create
    through the gateway (the id encodes the canned vendor id)."""
    out = {}
    for vendor in VENDORS:
        body = json.dumps(canned.CREATE[vendor])
        create = Scenario(f"{vendor}-create-gw", "POST",
                          "/v1/fine_tuning/jobs", body, AUTH)
        status, answer = http("POST", base + create.path, body,
                              create.headers)
        if status != 200:
            sys.exit(f"bench: {vendor} create through the gateway answered "
                     f"{status}: {answer[:500]!r}")
        job_id = json.loads(answer)["id"]
        out[vendor, "create", "gw"] = create
        out[vendor, "retrieve", "gw"] = Scenario(
            f"{vendor}-retrieve-gw", "GET", f"/v1/fine_tuning/jobs/{job_id}",
            None, AUTH)
        for op in OPS:
            method, path, vbody = canned.CEILING[vendor, op]
            out[vendor, op, "ceiling"] = Scenario(
                f"{vendor}-{op}-ceiling", method, f"/ceiling/{vendor}{path}",
                vbody, canned.CEILING_HEADERS.get(vendor))
    return out


# ---- wrk ----------------------------------------------------------------

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk(url: str, script: Path, conns: int, seconds: int,
        threads: int | None = None, budget: bool = False) -> dict:
    """One wrk run; with budget, it ends when the script's request budget
    is spent (the script leaves a marker file), not after `seconds`."""
    threads = threads or (2 if conns > 32 else 1)
    marker = script.with_suffix(".done")
    marker.unlink(missing_ok=True)
    proc = subprocess.Popen(
        ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--timeout",
         "5s", "--latency", "-s", str(script), url],
        stdout=subprocess.PIPE, text=True)
    if budget:
        while proc.poll() is None and not marker.exists():
            time.sleep(0.05)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    out = proc.communicate()[0]

    def latency(pct: str) -> float | None:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return round(float(m[1]) * UNITS[m[2]], 3) if m else None

    def count(pattern: str) -> int:
        m = re.search(pattern, out)
        return int(m[1]) if m else 0

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = sum(int(x) for x in re.findall(
        r"(?:connect|read|write|timeout) (\d+)", out))
    return {"rps": round(float(rps[1])) if rps else 0,
            "p50_ms": latency("50"), "p99_ms": latency("99"),
            "requests": count(r"(\d+) requests in"),
            "non2xx": count(r"Non-2xx or 3xx responses: (\d+)"),
            "socket_errors": errors}


def measure(url: str, script: Path, conns: int) -> dict:
    """A warm-up run (discarded: keepalive connections, caches), then the
    measured run."""
    wrk(url, script, conns, WARMUP_S)
    return wrk(url, script, conns, RUN_S)


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pids: list[int]) -> tuple[int, int]:
    """User and system CPU ticks the processes have used so far."""
    user = system = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1] \
            .split()
        user += int(fields[11])       # utime, field 14 of proc(5)
        system += int(fields[12])     # stime, field 15
    return user, system


def wrk_cpu(url: str, script: Path, conns: int, seconds: int,
            pids: list[int]) -> dict:
    """A wrk run, and the CPU ticks the nginx workers `pids` spent on it."""
    before = cpu_ticks(pids)
    run = wrk(url, script, conns, seconds)
    after = cpu_ticks(pids)
    run["user_ticks"], run["sys_ticks"] = (a - b for a, b in
                                           zip(after, before))
    return run


def cpu_us(runs: list[dict], key: str) -> float | None:
    """Microseconds of worker CPU per request over the runs."""
    n = sum(r["requests"] for r in runs)
    if not n:
        return None
    return round(sum(r[key] for r in runs) * 1e6 / CLK_TCK / n, 2)


def measure_side_by_side(url: str, scripts: dict, conns: int,
                         pids: list[int]) -> tuple:
    """A warm-up run of each script, then ROUNDS rounds running each in
    turn. Returns each script's figures (mean r/s, median p50 and p99,
    summed counts, the workers' CPU per request) and the median of the
    rounds' first/second r/s ratio."""
    for script in scripts.values():
        wrk(url, script, conns, WARMUP_S)
    rounds = {name: [] for name in scripts}
    for _ in range(ROUNDS):
        for name, script in scripts.items():
            rounds[name].append(wrk_cpu(url, script, conns, ROUND_S,
                                        pids))

    def combined(runs: list[dict]) -> dict:
        def median(key: str):
            vals = [r[key] for r in runs if r[key] is not None]
            return statistics.median(vals) if vals else None
        return {"rps": round(statistics.mean(r["rps"] for r in runs)),
                "p50_ms": median("p50_ms"), "p99_ms": median("p99_ms"),
                "round_rps": [r["rps"] for r in runs],
                "user_us": cpu_us(runs, "user_ticks"),
                "sys_us": cpu_us(runs, "sys_ticks"),
                **{k: sum(r[k] for r in runs)
                   for k in ("requests", "non2xx", "socket_errors")}}
    first, second = rounds.values()
    ratio = statistics.median(a["rps"] / b["rps"] if b["rps"] else 0
                              for a, b in zip(first, second))
    return {name: combined(runs) for name, runs in rounds.items()}, ratio


# ---- phases ---------------------------------------------------------------

@contextlib.contextmanager
def gateway(mock: Mock, workers: int, name: str, upload_max: int = 0,
            observe: str | None = None):
    """A gateway nginx in front of the mock; yields its base URL and the
    harness's Nginx, and notes anything alarming in its error log. With
    upload_max, it has a file store and the upload ceiling too; observe:
    see observe_conf()."""
    prefix = WORK / name
    prefix.mkdir(parents=True, exist_ok=True)
    port = harness.free_port()
    gw = start_nginx(prefix, gateway_conf(prefix, port, mock, workers,
                                          upload_max=upload_max,
                                          observe=observe), port)
    try:
        yield f"http://127.0.0.1:{port}", gw
    finally:
        gw.stop()
        problems = gw.log_problems()
        if problems:
            note(f"{name} error log: {problems[:3]}")


def prepare(mock: Mock) -> dict:
    """Every request the bench sends, each checked once: a route that
    answers an error fast must never pass for a fast route. Job ids stay
    valid across gateways, which share the id secret."""
    with gateway(mock, 1, "gateway-setup") as (base, _):
        scenarios = gateway_scenarios(base)
        for key, s in scenarios.items():
            why = s.check(base, "fine_tuning.job" if key[2] == "gw" else None)
            if why:
                sys.exit(f"bench: {s.name} does not work: {why}")
    return scenarios


def side_by_side_row(base: str, scenarios: dict, workers: int, conns: int,
                     vendor: str, op: str, pids: list[int]) -> dict:
    """One table row: the gateway route and its ceiling measured in
    alternating rounds (measure_side_by_side) on the workers `pids`."""
    row = {"workers": workers, "conns": conns, "vendor": vendor, "op": op}
    runs, ratio = measure_side_by_side(base, {
        path: scenarios[vendor, op, path].lua()
        for path in ("gw", "ceiling")}, conns, pids)
    row.update(runs)
    finish_row(row, ratio)
    return row


def throughput(mock: Mock, scenarios: dict) -> list[dict]:
    rows = []
    print(HEADER, flush=True)
    for workers in WORKERS:
        with gateway(mock, workers, f"gateway-{workers}w") as (base, gw):
            pids = worker_pids(gw.proc.pid)
            for conns in CONNS:
                for vendor in VENDORS:
                    for op in OPS:
                        row = side_by_side_row(base, scenarios, workers,
                                               conns, vendor, op, pids)
                        rows.append(row)
                        print(row_line(row), flush=True)
    return rows


OBSERVE_ROUNDS = 1 if QUICK else 9


def observability(mock: Mock, scenarios: dict) -> list[dict]:
    """The cost of the log variables and the metrics on clova retrieve:
    a gateway without them and one with them (observe_conf()), one worker
    each, measured in alternating rounds in one run; the ratio is the
    median of the rounds' on/off r/s. The "on" gateway's /metrics must
    then count every request wrk sent it."""
    script = scenarios["clova", "retrieve", "gw"].lua()
    rows = []
    with gateway(mock, 1, "observe-off", observe="off") as (off, g_off), \
            gateway(mock, 1, "observe-on", observe="on") as (on, g_on):
        pids = {"off": worker_pids(g_off.proc.pid),
                "on": worker_pids(g_on.proc.pid)}
        sent = 0        # the responses wrk counted from "on"
        for conns in CONNS:
            wrk(off, script, conns, WARMUP_S)
            sent += wrk(on, script, conns, WARMUP_S)["requests"]
            runs = {"off": [], "on": []}
            for _ in range(OBSERVE_ROUNDS):
                for side, url in (("off", off), ("on", on)):
                    runs[side].append(wrk_cpu(url, script, conns, ROUND_S,
                                              pids[side]))
            row = {"conns": conns, "ratio": round(statistics.median(
                b["rps"] / a["rps"] for a, b in zip(runs["off"],
                                                    runs["on"])), 3)}
            for side, rs in runs.items():
                row[side] = {"rps": round(statistics.mean(r["rps"]
                                                          for r in rs)),
                             "round_rps": [r["rps"] for r in rs],
                             "user_us": cpu_us(rs, "user_ticks"),
                             "sys_us": cpu_us(rs, "sys_ticks"),
                             "non2xx": sum(r["non2xx"] for r in rs)}
            sent += sum(r["requests"] for r in runs["on"])
            rows.append(row)
            print(f"observability {conns}c: off {row['off']['rps']} r/s, "
                  f"on {row['on']['rps']} r/s, ratio {row['ratio']:.3f}",
                  flush=True)
        status, body = http("GET", on + "/metrics")
        counted = sum(float(line.rsplit(" ", 1)[1])
                      for line in body.decode().splitlines()
                      if line.startswith("ftgw_requests_total{")
                      and 'operation="retrieve"' in line)
        # wrk stops with requests in flight, which nginx still answers
        # and counts: at most one a connection a run more than wrk saw
        rows.append({"metrics_status": status, "retrieves_sent": sent,
                     "retrieves_counted": int(counted)})
    # the same requests counted in instructions, which the machine's noise
    # does not move: the off and on gateways under callgrind
    n = CALLGRIND_REQUESTS
    idle = callgrind_run(mock, "observe-idle", None, 0, observe="off")
    ir = {side: round((callgrind_run(mock, f"observe-{side}", scenarios[
        "clova", "retrieve", "gw"], n, observe=side) - idle) / n)
        for side in ("off", "metrics", "on")}
    rows.append({"ir_per_request": ir,
                 "ir_added": round(ir["on"] / ir["off"] - 1, 4),
                 "ir_added_metrics": round(ir["metrics"] / ir["off"] - 1,
                                           4)})
    print(f"observability: {ir['off']:,} Ir per request off, "
          f"{ir['metrics']:,} with metrics "
          f"({rows[-1]['ir_added_metrics']:+.1%}), {ir['on']:,} with "
          f"metrics and variables ({rows[-1]['ir_added']:+.1%})",
          flush=True)
    return rows


# the paced latency runs offer at most this share of the gateway's
# saturated r/s (the same pause for the gateway and the ceiling)
PACED_LOAD = 0.5
PACED_CONNS = 32


def paced(mock: Mock, scenarios: dict) -> list[dict]:
    """Latency below saturation. In a closed loop at full speed, p99 is
    mostly the queue (connections / r/s) and scheduler jitter; a
    production gateway runs well under its ceiling. Each connection pauses
    between requests so that the offered load is at most PACED_LOAD of
    the gateway's saturated rate, measured just before on the same
    nginx."""
    rows = []
    print(PACED_HEADER, flush=True)
    for workers in WORKERS:
        with gateway(mock, workers, f"gateway-paced-{workers}w") as (base, _):
            for vendor in VENDORS:
                for op in OPS:
                    gw = scenarios[vendor, op, "gw"]
                    saturated = wrk(base, gw.lua(), PACED_CONNS, WARMUP_S)
                    pause = max(1, round(PACED_CONNS * 1000 / (
                        PACED_LOAD * max(saturated["rps"], 1))))
                    row = {"workers": workers, "conns": PACED_CONNS,
                           "vendor": vendor, "op": op, "pause_ms": pause,
                           "saturated_rps": saturated["rps"]}
                    for path in ("gw", "ceiling"):
                        s = scenarios[vendor, op, path]
                        row[path] = measure(base, s.lua(pause_ms=pause),
                                            PACED_CONNS)
                    finish_row(row)
                    rows.append(row)
                    print(paced_line(row), flush=True)
    return rows


def single(mock: Mock, scenarios: dict) -> list[dict]:
    """The latency the gateway adds to one request alone: one connection,
    one worker, no queue. Side by side in rounds, as for throughput."""
    rows = []
    print(SINGLE_HEADER, flush=True)
    with gateway(mock, 1, "gateway-single") as (base, gw):
        pids = worker_pids(gw.proc.pid)
        for vendor in VENDORS:
            for op in OPS:
                row = side_by_side_row(base, scenarios, 1, 1, vendor, op,
                                       pids)
                rows.append(row)
                print(single_line(row), flush=True)
    return rows


def added(row: dict, key: str) -> float | None:
    """The gateway's latency figure `key` less the ceiling's."""
    g, c = row["gw"][key], row["ceiling"][key]
    return None if g is None or c is None else round(g - c, 3)


def finish_row(row: dict, ratio: float | None = None) -> None:
    """The ratio (given, or of the two runs' r/s) and the added p99."""
    g, c = row["gw"], row["ceiling"]
    if ratio is None and c["rps"]:
        ratio = g["rps"] / c["rps"]
    row["ratio"] = round(ratio, 3) if ratio is not None else None
    row["added_p99_ms"] = added(row, "p99_ms")


def worker_pids(master: int) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1]
                           .split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == master:
                pids.append(int(d.name))
    return sorted(pids)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def gateway_mix(scenarios: dict) -> list[Scenario]:
    """Every gateway operation of every vendor kind, so that a leak in any
    of them shows."""
    return [scenarios[v, op, "gw"] for v in VENDORS for op in OPS]


def one_worker_run(mock: Mock, name: str, mix: list[Scenario],
                   script: Path, limit_s: int) -> dict:
    """A one-worker gateway (so that one worker serves every request) in
    front of mock: a warm-up of 10,000 requests of mix, then script, run
    to its request budget; the worker's VmRSS cold, before and after
    script, and whether the workers are the same processes at the end."""
    with gateway(mock, 1, name) as (base, gw):
        pids = worker_pids(gw.proc.pid)
        while not pids:                # the worker may not be forked yet
            time.sleep(0.05)
            pids = worker_pids(gw.proc.pid)
        cold = {p: rss_kib(p) for p in pids}
        # warm-up first: the first requests fill nginx's caches and the
        # upstream keepalive pool, which is growth but not a leak
        wrk(base, lua_script(f"{name}-warm", mix, 10_000), 32, 600,
            threads=1, budget=True)
        before = {p: rss_kib(p) for p in pids}
        t0 = time.monotonic()
        run = wrk(base, script, 32, limit_s, threads=1, budget=True)
        after = {p: rss_kib(p) for p in pids}
        seconds = round(time.monotonic() - t0, 1)
        same = worker_pids(gw.proc.pid) == pids
    return {"run": run, "seconds": seconds, "workers_same": same,
            "workers": [{"pid": p, "cold_kib": cold[p],
                         "before_kib": before[p], "after_kib": after[p],
                         "growth_kib": after[p] - before[p]} for p in pids]}


def memory(mock: Mock, scenarios: dict) -> dict:
    """VmRSS of the worker before and after MEMORY_REQUESTS requests that
    mix every gateway operation of every vendor kind."""
    mix = gateway_mix(scenarios)
    out = one_worker_run(mock, "gateway-memory", mix,
                         lua_script("memory-mix", mix, MEMORY_REQUESTS), 1800)
    return {"requests": out["run"]["requests"],
            "non2xx": out["run"]["non2xx"], "seconds": out["seconds"],
            "workers": out["workers"]}


def tally_script(name: str, reqs: list[Scenario], budget: int) -> Path:
    """lua_script's round-robin with a request budget, counting the
    answers by status and error code; when the budget is spent the
    thread writes "<status> <code> <count>" lines next to the marker."""
    path = lua_script(name, reqs)
    tally = path.with_suffix(".tally")
    done = path.with_suffix(".done")
    path.write_text(path.read_text() + f"""local n = 0
local seen = {{}}
function response(status, headers, body)
  n = n + 1
  local key = tostring(status)
  if status ~= 200 then
    key = key .. " " .. (string.match(body, '"code":%s*"([^"]*)"') or "-")
  end
  seen[key] = (seen[key] or 0) + 1
  if n == {budget} then
    local f = io.open([==[{tally}]==], "w")
    for k, v in pairs(seen) do f:write(k .. " " .. v .. "\\n") end
    f:close()
    io.open([==[{done}]==], "w"):close()
    wrk.thread:stop()
  end
end
""")
    return path


def soak(scenarios: dict) -> dict:
    """SOAK_REQUESTS requests mixing every gateway operation of every
    vendor kind through a one-worker gateway, in front of a mock that
    faults 5% of its HTTP answers (SOAK_FAULTS; Yandex's gRPC answers are
    not faulted). Counts the answers by kind and the worker's VmRSS
    before and after: every error must be one an injected fault maps to."""
    prefix = WORK / "mock-soak"
    prefix.mkdir(parents=True, exist_ok=True)
    ports = Mock(harness.free_port(), harness.free_port())
    mock = start_nginx(prefix, mock_conf(prefix, ports, faults=True),
                       ports.http)
    mix = gateway_mix(scenarios)
    script = tally_script("soak-mix", mix, SOAK_REQUESTS)
    try:
        out = one_worker_run(ports, "gateway-soak", mix, script, 3600)
    finally:
        mock.stop()
    kinds = {}
    for line in script.with_suffix(".tally").read_text().splitlines():
        key, count = line.rsplit(" ", 1)
        kinds[key] = int(count)
    injected = {f"{status} {code}" for *_, (status, code) in SOAK_FAULTS}
    unexpected = {k: v for k, v in kinds.items()
                  if k != "200" and k not in injected}
    return {"requests": sum(kinds.values()), "seconds": out["seconds"],
            "kinds": dict(sorted(kinds.items())), "unexpected": unexpected,
            "socket_errors": out["run"]["socket_errors"],
            "workers_same": out["workers_same"], "workers": out["workers"]}


# the upload row: POST /v1/files of a chat JSONL file of UPLOAD_MIB,
# UPLOADS of each side per round (alternating, ROUNDS rounds); the worker's
# VmRSS is sampled every RSS_SAMPLE_S during one upload of RSS_UPLOAD_MIB
UPLOAD_MIB, UPLOADS = (8, 2) if QUICK else (64, 4)
RSS_UPLOAD_MIB = 64 if QUICK else 1024
RSS_SAMPLE_S = 0.02
UPLOAD_BOUNDARY = "ftgw-bench-upload-0123456789abcdef"
MIB = 1024 * 1024


def upload_body(path: Path, mib: int) -> dict:
    """A multipart/form-data body for POST /v1/files (purpose=fine-tune,
    then the file part) whose file is valid chat JSONL, every line a
    different example, at most `mib` MiB. The ceiling PUTs the same
    bytes."""
    head = (f"--{UPLOAD_BOUNDARY}\r\nContent-Disposition: form-data; "
            f"name=\"purpose\"\r\n\r\nfine-tune\r\n--{UPLOAD_BOUNDARY}\r\n"
            "Content-Disposition: form-data; name=\"file\"; "
            "filename=\"train.jsonl\"\r\nContent-Type: application/jsonl"
            "\r\n\r\n").encode()
    tail = f"\r\n--{UPLOAD_BOUNDARY}--\r\n".encode()
    line = ('{"messages": [{"role": "system", "content": "You add numbers."}'
            ', {"role": "user", "content": "What is %d plus %d?"}, '
            '{"role": "assistant", "content": "%d plus %d is %d."}]}\n')
    limit, size, n = mib * MIB, 0, 0
    with path.open("wb") as f:
        f.write(head)
        while True:
            batch = "".join(line % (a, b, a, b, a + b) for a, b in (
                (i % 1000, i // 1000) for i in range(n, n + 10_000)))
            data = batch.encode()
            if size + len(data) > limit:
                # the last batch, cut to whole lines within the limit
                data = data[:data.rfind(b"\n", 0, limit - size) + 1]
                n += data.count(b"\n")
                size += len(data)
                f.write(data)
                break
            f.write(data)
            size += len(data)
            n += 10_000
        f.write(tail)
    return {"path": path, "file_bytes": size, "examples": n,
            "body_bytes": len(head) + size + len(tail)}


def send_upload(base: str, side: str, body: dict, out: Path,
                put_dir: Path, pids: list[int] | None = None) -> dict:
    """One upload with curl (streamed from the file, no Expect:
    100-continue): the gateway's POST /v1/files, or the ceiling's PUT of
    the same bytes. Checked, then deleted (not timed): a fast error must
    never pass as a result, and the disk holds one upload at a time. With
    pids, the workers' peak VmRSS while it runs."""
    if side == "gw":
        cmd = ["-X", "POST", "-H", "Content-Type: multipart/form-data; "
               f"boundary={UPLOAD_BOUNDARY}",
               "-H", f"Authorization: Bearer {CLIENT_KEY}",
               f"{base}/v1/files"]
    else:
        cmd = [f"{base}/ceiling/upload/body.bin"]
    proc = subprocess.Popen(
        ["curl", "-sS", "-o", str(out), "-w", "%{http_code} %{time_total}",
         "-H", "Expect:", "-T", str(body["path"]), *cmd],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, samples = {p: rss_kib(p) for p in pids or []}, 0
    while pids and proc.poll() is None:
        for p in pids:
            peak[p] = max(peak[p], rss_kib(p))
        samples += 1
        time.sleep(RSS_SAMPLE_S)
    stdout, stderr = proc.communicate()
    try:
        status, seconds = stdout.split()
        status, seconds = int(status), float(seconds)
    except ValueError:
        sys.exit(f"bench: upload ({side}) failed: {stderr.strip()[-300:]}")
    answer = out.read_bytes() if out.exists() else b""
    if side == "gw":
        try:
            obj = json.loads(answer)
        except ValueError:
            obj = {}
        if status != 200 or obj.get("status") != "processed" \
                or obj.get("bytes") != body["file_bytes"] \
                or obj.get("examples") != body["examples"]:
            sys.exit(f"bench: POST /v1/files answered {status}: "
                     f"{answer[:300]!r}")
        s, a = http("DELETE", f"{base}/v1/files/{obj['id']}", None, AUTH)
        if s != 200:
            sys.exit(f"bench: DELETE /v1/files/{obj['id']} answered {s}: "
                     f"{a[:300]!r}")
    else:
        stored = put_dir / "body.bin"
        if status not in (201, 204) or not stored.exists() \
                or stored.stat().st_size != body["body_bytes"]:
            sys.exit(f"bench: the ceiling's PUT answered {status}: "
                     f"{answer[:300]!r}")
        stored.unlink()
    return {"seconds": seconds, "peak_kib": max(peak.values(), default=0),
            "samples": samples}


def upload(mock: Mock) -> dict:
    """Upload throughput of POST /v1/files against the ceiling, nginx's
    dav PUT of the same body (read to a temp file, renamed into place), on
    one worker and one connection, in alternating rounds; then the
    worker's VmRSS during one large upload of each. The gateway's extra
    work: reading the temp file back, the multipart parser, the store's
    copy, SHA-256 and the line-by-line check."""
    work = WORK / "upload"
    work.mkdir(parents=True, exist_ok=True)
    out = work / "answer"
    body = upload_body(work / "body.bin", UPLOAD_MIB)
    max_size = max(UPLOAD_MIB, RSS_UPLOAD_MIB) * MIB
    result = {"file_mib": UPLOAD_MIB, "uploads": UPLOADS, "rounds": ROUNDS,
              "body_bytes": body["body_bytes"],
              "examples": body["examples"]}
    try:
        with gateway(mock, 1, "gateway-upload", upload_max=max_size) \
                as (base, gw):
            pids = worker_pids(gw.proc.pid)
            put_dir = gw.prefix / "ceiling-upload"
            cold = rss_kib(pids[0])
            for side in ("gw", "ceiling"):          # warm-up, discarded
                send_upload(base, side, body, out, put_dir)
            rounds = {"gw": [], "ceiling": []}
            for _ in range(ROUNDS):
                for side, runs in rounds.items():
                    before = cpu_ticks(pids)
                    seconds = sum(send_upload(base, side, body, out,
                                              put_dir)["seconds"]
                                  for _ in range(UPLOADS))
                    after = cpu_ticks(pids)
                    mib = UPLOADS * body["body_bytes"] / MIB
                    runs.append({"seconds": round(seconds, 3),
                                 "mib_s": round(mib / seconds, 1),
                                 "cpu_ms_per_mib": round(
                                     (sum(after) - sum(before)) * 1000
                                     / CLK_TCK / mib, 2)})
            for side, runs in rounds.items():
                result[side] = {
                    "mib_s": round(statistics.mean(r["mib_s"]
                                                   for r in runs), 1),
                    "round_mib_s": [r["mib_s"] for r in runs],
                    "cpu_ms_per_mib": round(statistics.mean(
                        r["cpu_ms_per_mib"] for r in runs), 2)}
            result["ratio"] = round(statistics.median(
                g["mib_s"] / c["mib_s"] for g, c in
                zip(rounds["gw"], rounds["ceiling"])), 3)
            # the large upload: the ceiling first, then the gateway, on
            # the same (warm) worker
            body["path"].unlink()
            big = upload_body(work / "body.bin", RSS_UPLOAD_MIB)
            result["rss"] = {"file_mib": RSS_UPLOAD_MIB,
                             "body_bytes": big["body_bytes"]}
            for side in ("ceiling", "gw"):
                before = rss_kib(pids[0])
                run = send_upload(base, side, big, out, put_dir, pids)
                result["rss"][side] = {
                    "cold_kib": cold, "samples": run["samples"],
                    "before_kib": before, "peak_kib": run["peak_kib"],
                    "after_kib": rss_kib(pids[0]),
                    "mib_s": round(big["body_bytes"] / MIB
                                   / run["seconds"], 1)}
    finally:
        # bounded disk: nothing of the uploads stays behind
        shutil.rmtree(work, ignore_errors=True)
        for d in ("files", "ceiling-upload", "tmp/client_body"):
            shutil.rmtree(WORK / "gateway-upload" / d, ignore_errors=True)
    for line in upload_lines(result):
        print(line, flush=True)
    return result


STAGE_MIB = 8 if QUICK else 100
STAGE_VENDORS = (("clova", "clova/HCX-003", "csv"),
                 ("qianfan", "qianfan/Llama-2-7b", "jsonl"),
                 ("yandex", "yandex/yandexgpt-lite", "jsonl"))


def timed(cmd: list[str], pids: list[int]) -> tuple[str, float, int]:
    """curl's output, the seconds it took, and the workers' peak VmRSS
    growth (KiB) while it ran"""
    before = {p: rss_kib(p) for p in pids}
    peak = dict(before)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    while proc.poll() is None:
        for p in pids:
            peak[p] = max(peak[p], rss_kib(p))
        time.sleep(RSS_SAMPLE_S)
    seconds = time.monotonic() - t0
    out, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"bench: {cmd[-1]} failed: {err.strip()[-300:]}")
    return out, seconds, max(peak[p] - before[p] for p in pids)


def staging(mock: Mock, mock_prefix: Path) -> dict:
    """Staging an uploaded file, per vendor kind: the create of a job on
    a STAGE_MIB MiB chat file (its conversion to the vendor's format in
    bounded steps, the signed PUT from disk to the storage, the vendor's
    create) against nginx proxy_pass PUTting the same converted bytes to
    the same sink (the mock's dav PUT).  One worker, one request at a time,
    rounds alternating; the staged record is removed before each round so
    that every create stages."""
    work = WORK / "staging"
    work.mkdir(parents=True, exist_ok=True)
    body = upload_body(work / "body.bin", STAGE_MIB)
    sink = mock_prefix / "sink"
    result = {"file_mib": STAGE_MIB, "examples": body["examples"],
              "file_bytes": body["file_bytes"], "rounds": ROUNDS,
              "vendors": {}}
    try:
        with gateway(mock, 1, "gateway-staging",
                     upload_max=2 * STAGE_MIB * MIB) as (base, gw):
            pids = worker_pids(gw.proc.pid)
            out = subprocess.run(
                ["curl", "-sS", "-H", "Expect:", "-H", "Content-Type: "
                 f"multipart/form-data; boundary={UPLOAD_BOUNDARY}",
                 "-H", f"Authorization: Bearer {CLIENT_KEY}",
                 "-T", str(body["path"]), "-X", "POST", f"{base}/v1/files"],
                capture_output=True, text=True, check=True).stdout
            file = json.loads(out)
            if file.get("status") != "processed":
                sys.exit(f"bench: the staging upload answered {out[:300]}")
            store = gw.prefix / "files" / canned.CLIENT
            create = json.dumps({"training_file": file["id"]})
            for vendor, model, ext in STAGE_VENDORS:
                req = create[:-1] + f', "model": "{model}"}}'
                runs = {"gw": [], "ceiling": []}
                growth = 0
                staged = None
                for _ in range(ROUNDS + 1):            # the first: warm-up
                    for record in store.glob("*.staged-*"):
                        record.unlink()
                    shutil.rmtree(sink, ignore_errors=True)
                    sink.mkdir()
                    answer, gw_s, grew = timed(
                        ["curl", "-sS", "-X", "POST", "-H",
                         "Content-Type: application/json", "-H",
                         f"Authorization: Bearer {CLIENT_KEY}", "-d", req,
                         f"{base}/v1/fine_tuning/jobs"], pids)
                    if json.loads(answer).get("object") != "fine_tuning.job":
                        sys.exit(f"bench: staging {vendor}: {answer[:300]}")
                    objects = [p for p in sink.rglob(f"*.{ext}")]
                    if len(objects) != 1:
                        sys.exit(f"bench: staging {vendor} left {objects}")
                    staged = work / f"staged.{ext}"
                    objects[0].replace(staged)
                    _, ceil_s, _ = timed(
                        ["curl", "-sS", "-f", "-H", "Expect:", "-T",
                         str(staged), f"{base}/ceiling/stage/{vendor}.{ext}"],
                        pids)
                    if not (sink / f"{vendor}.{ext}").exists():
                        sys.exit(f"bench: the ceiling's PUT ({vendor}) "
                                 "stored nothing")
                    runs["gw"].append(gw_s)
                    runs["ceiling"].append(ceil_s)
                    growth = max(growth, grew)
                for side in runs:
                    runs[side] = runs[side][1:]
                size = staged.stat().st_size
                result["vendors"][vendor] = {
                    "staged_bytes": size,
                    "gw_s": [round(x, 3) for x in runs["gw"]],
                    "ceiling_s": [round(x, 3) for x in runs["ceiling"]],
                    "gw_mib_s": round(body["file_bytes"] / MIB
                                      / statistics.median(runs["gw"]), 1),
                    "ceiling_mib_s": round(size / MIB / statistics.median(
                        runs["ceiling"]), 1),
                    "ratio": round(statistics.median(
                        g / c for g, c in zip(runs["gw"],
                                              runs["ceiling"])), 2),
                    "rss_growth_kib": growth}
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(sink, ignore_errors=True)
        sink.mkdir(exist_ok=True)
        for d in ("files", "tmp/client_body"):
            shutil.rmtree(WORK / "gateway-staging" / d, ignore_errors=True)
    for line in staging_lines(result):
        print(line, flush=True)
    return result


def staging_lines(st: dict) -> list[str]:
    lines = [f"staging: a job created on an uploaded {st['file_mib']} MiB "
             f"chat file ({st['examples']:,} examples): conversion to the "
             "vendor's format, the signed PUT from disk to the storage sink "
             "and the vendor's create, against nginx proxy_pass PUTting the "
             "same converted bytes to the same sink; 1 worker, "
             f"{st['rounds']} rounds after a warm-up; seconds = median; "
             "ratio = median of gateway/ceiling seconds; VmRSS growth = the "
             "worker's peak over its size before the create",
             "vendor  | staged bytes | gateway s (input MiB/s) | "
             "proxy_pass s (MiB/s) | ratio | VmRSS growth KiB"]
    for vendor, v in st["vendors"].items():
        lines.append(f"{vendor:<7} | {v['staged_bytes']:>12,} | "
                     f"{statistics.median(v['gw_s']):>9.2f} "
                     f"({v['gw_mib_s']:>6.1f})      | "
                     f"{statistics.median(v['ceiling_s']):>8.2f} "
                     f"({v['ceiling_mib_s']:>6.1f})   | {v['ratio']:>5.2f} | "
                     f"{v['rss_growth_kib']:>+,}")
    return lines


class Callgrind(harness.Nginx):
    """A single-process nginx under callgrind. Only the event loop is
    counted (--toggle-collect), so start-up and configuration parsing stay
    out and an idle run costs almost nothing."""
    out_file: Path

    def _cmd(self) -> list[str]:
        return ["valgrind", "--tool=callgrind", "--quiet",
                f"--callgrind-out-file={self.out_file}",
                "--collect-atstart=no",
                "--toggle-collect=ngx_process_events_and_timers"] \
            + super()._cmd()

    def start(self) -> None:
        self.proc = subprocess.Popen(self._cmd() + ["-g", "daemon off;"],
                                     env=self.env)
        deadline = time.monotonic() + 180     # valgrind starts slowly
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx under valgrind exited: "
                                   + self.error_log.read_text()[-2000:])
            try:
                import socket
                with socket.create_connection(("127.0.0.1", self.port), 1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("nginx under valgrind did not start")


def callgrind_run(mock: Mock, name: str, scenario: Scenario | None,
                  n: int, observe: str | None = None) -> int:
    """Total Ir of the event loop while serving n requests of scenario
    (none: the idle baseline) over one keepalive connection."""
    prefix = WORK / f"callgrind-{name}"
    prefix.mkdir(parents=True, exist_ok=True)
    port = harness.free_port()
    (prefix / "nginx.conf").write_text(
        gateway_conf(prefix, port, mock, 1, single_process=True,
                     observe=observe))
    ngx = Callgrind(prefix, port, env=harness.nginx_env(None))
    ngx.out_file = prefix / "callgrind.out"
    ngx.start()
    try:
        if scenario is not None:
            r = wrk(f"http://127.0.0.1:{port}",
                    lua_script(name, [scenario], n), 1, 1200, threads=1,
                    budget=True)
            if r["non2xx"] or r["requests"] < n:
                note(f"callgrind {name}: {r['requests']} requests, "
                     f"{r['non2xx']} not 2xx")
        else:
            time.sleep(2)
    finally:
        # graceful stop, so callgrind writes its profile. Repeated: a
        # signal that lands just before epoll_wait (no timers pending) is
        # only seen at the next event, and valgrind widens that window
        for _ in range(300):
            ngx.proc.send_signal(signal.SIGQUIT)
            try:
                ngx.proc.wait(timeout=1)
                break
            except subprocess.TimeoutExpired:
                pass
    text = ngx.out_file.read_text(errors="replace")
    m = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
    if scenario is not None:
        # self cost says which primitives burn the instructions; inclusive
        # cost says which of the module's functions they are spent under
        for suffix, extra in (("", []), ("-inclusive", ["--inclusive=yes"])):
            annotate = sh(["callgrind_annotate", "--threshold=100", *extra,
                           str(ngx.out_file)]).stdout
            (OUT / f"callgrind-{name}{suffix}.txt").write_text(annotate)
    return int(m[1]) if m else 0


def top_functions(name: str, k: int | None = 10, keep=None) -> list[dict]:
    """The heaviest functions by self Ir, from callgrind_annotate. Static
    functions of stripped libraries have no name: they are shown as
    object+offset (libcrypto.so.3+0x29ad80 is its SHA-256 block function,
    which the gateway's HMACs and signatures spend)."""
    text = (OUT / f"callgrind-{name}.txt").read_text()
    rows = []
    for m in re.finditer(r"^\s*[\d,]+ \(\s*([\d.]+)%\)\s+(\S+?)"
                         r"(?: \[(.+)\])?$", text, re.M):
        raw = m[2].rsplit(":", 1)[-1]
        func = raw.split("'")[0]                # 'N: a recursion level
        obj = Path(m[3]).name if m[3] else ""
        if not obj and m[2].startswith("./"):   # glibc's own source paths
            obj = "libc.so.6"
        if keep and ("'" in raw or raw.startswith("0x")
                     or not keep(func, obj)):
            continue
        if func.startswith("0x"):
            func = f"{obj}+0x{int(func, 16):x}"
        rows.append({"function": func, "pct": float(m[1]), "object": obj})
        if k is not None and len(rows) == k:
            break
    return rows


def _libc(o: str) -> bool:
    return o.startswith("libc.so")


KINDS = (  # (kind, test on (function, object)), first match wins
    ("malloc/free", lambda f, o: _libc(o) and re.search(
        r"malloc|free|calloc|realloc|unlink_chunk|tcache", f)),
    ("printf/scanf/strtod", lambda f, o: _libc(o) and re.search(
        r"printf|scanf|_IO_|strto|hack_digit|__mpn_|localeconv|round_and",
        f)),
    ("other libc", lambda f, o: _libc(o)),
    ("libcrypto (SHA-256, HMAC)", lambda f, o: "libcrypto" in o),
    ("cJSON", lambda f, o: "libcjson" in o),
    ("nginx", lambda f, o: o == "nginx"),
    ("module (own code)", lambda f, o: o == MODULE.name),
    ("other", lambda f, o: True),
)


def by_kind(name: str) -> dict:
    """Self Ir summed by kind of work: where the instructions go, in the
    terms the issue asks about (allocations, JSON, HMAC)."""
    out = {k: 0.0 for k, _ in KINDS}
    for t in top_functions(name, None):
        kind = next(k for k, test in KINDS if test(t["function"],
                                                   t["object"]))
        out[kind] = round(out[kind] + t["pct"], 2)
    return out


def instructions(mock: Mock, scenarios: dict) -> dict:
    n = CALLGRIND_REQUESTS
    idle = callgrind_run(mock, "idle", None, 0)
    out = {"requests": n, "idle_ir": idle}
    for vendor in VENDORS:
        for op in OPS:
            name = f"{vendor}-{op}"
            total = callgrind_run(mock, name, scenarios[vendor, op, "gw"], n)
            out[name] = {"ir_per_request": round((total - idle) / n),
                         "top": top_functions(name),
                         "by_kind": by_kind(name),
                         # named entry points of cJSON and of the module's
                         # own code (not its nginx glue), cost included
                         "inclusive": top_functions(
                             name + "-inclusive", 8,
                             lambda f, o: "libcjson" in o or (
                                 o == MODULE.name
                                 and not f.startswith("ngx_")))}
            # the same vendor call through plain proxy_pass: the floor
            # that the gateway's instruction count is read against
            ceil = callgrind_run(mock, name + "-ceiling",
                                 scenarios[vendor, op, "ceiling"], n)
            out[name]["ceiling_ir_per_request"] = round((ceil - idle) / n)
            print(f"callgrind {name}: {out[name]['ir_per_request']:,} Ir "
                  f"per request (plain proxy_pass "
                  f"{out[name]['ceiling_ir_per_request']:,})", flush=True)
    return out


# ---- peers ----------------------------------------------------------------

def wait_http(url: str, proc: subprocess.Popen, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(url, timeout=2)
            return True
        except urllib.error.HTTPError:
            return True                       # it answers: it is up
        except OSError:
            time.sleep(0.5)
    return False


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def safely(peer, mock_port: int) -> dict | None:
    """A peer that breaks (no node or npm on the machine, a crash) is
    noted, never fatal."""
    try:
        return peer(mock_port)
    except Exception as e:          # noqa: BLE001: any failure of a peer
        note(f"{peer.__name__} not measured: {type(e).__name__}: {e}")
        return None


def peer_portkey(mock_port: int) -> dict | None:
    if not ensure_portkey():
        return None
    port = harness.free_port()
    log = open(WORK / "portkey.log", "w")
    proc = subprocess.Popen(["node", str(PORTKEY_JS), f"--port={port}",
                             "--headless"], stdout=log, stderr=log,
                            env=dict(os.environ, NODE_ENV="production"))
    try:
        base = f"http://127.0.0.1:{port}"
        if not wait_http(base + "/", proc, 60):
            note("Portkey not measured: it did not start (see "
                 "build/bench/run/portkey.log)")
            return None
        # OpenAI as the provider, the mock as its host: Portkey passes the
        # fine-tuning retrieve through to the mock
        s = Scenario("portkey", "GET",
                     f"/v1/fine_tuning/jobs/{canned.OPENAI_JOB_ID}", None,
                     {"Authorization": "Bearer sk-bench",
                      "x-portkey-provider": "openai",
                      "x-portkey-custom-host":
                          f"http://127.0.0.1:{mock_port}/v1"})
        why = s.check(base, "fine_tuning.job")
        if why:
            note(f"Portkey not measured: the retrieve route fails: {why}")
            return None
        return {"version": package_version(PORTKEY_JS.parent.parent),
                "route": "GET /v1/fine_tuning/jobs/{id} (openai provider, "
                         "custom host = mock)",
                "runs": {c: measure(base, s.lua(), c) for c in CONNS}}
    finally:
        stop(proc)


def package_version(pkg_dir: Path) -> str:
    try:
        return json.loads((pkg_dir / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "?"


def peer_litellm(mock_port: int) -> dict | None:
    if not ensure_litellm():
        return None
    port = harness.free_port()
    mock = f"http://127.0.0.1:{mock_port}"
    # no master key and no database: what runs without either
    (WORK / "litellm.yaml").write_text(f"""model_list: []
finetune_settings:
  - custom_llm_provider: openai
    api_base: {mock}/v1
    api_key: sk-bench
general_settings:
  pass_through_endpoints:
    - path: /passthrough/v1/fine_tuning/jobs
      target: {mock}/v1/fine_tuning/jobs
      include_subpath: true
litellm_settings:
  telemetry: false
""")
    # no per-request access log line: the bench measures the proxy, not
    # its logging (nginx runs with access_log off too)
    (WORK / "litellm-log.json").write_text(json.dumps({
        "version": 1, "disable_existing_loggers": False,
        "loggers": {"uvicorn.access": {"level": "WARNING"}}}))
    log = open(WORK / "litellm.log", "w")
    env = dict(os.environ, LITELLM_LOG="ERROR", NO_DOCS="True",
               LITELLM_TELEMETRY="False", DISABLE_SCHEMA_UPDATE="True")
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [str(LITELLM_VENV / "bin" / "litellm"), "--config",
         str(WORK / "litellm.yaml"), "--host", "127.0.0.1",
         "--port", str(port), "--num_workers", "1",
         "--log_config", str(WORK / "litellm-log.json")],
        stdout=log, stderr=log, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        if not wait_http(base + "/health/liveliness", proc, 180):
            note("LiteLLM not measured: the proxy did not start (see "
                 "build/bench/run/litellm.log)")
            return None
        version = sh([str(LITELLM_VENV / "bin" / "python"), "-c",
                      "import importlib.metadata as m;"
                      "print(m.version('litellm'))"]).stdout.strip()
        auth = {"Authorization": "Bearer sk-bench"}
        route = Scenario("litellm-ft", "GET",
                         f"/v1/fine_tuning/jobs/{canned.OPENAI_JOB_ID}"
                         "?custom_llm_provider=openai", None, auth)
        why = route.check(base, "fine_tuning.job")
        result = {"version": version}
        if not why:
            result["route"] = "GET /v1/fine_tuning/jobs/{id} (fine-tuning API)"
            s = route
        else:
            note("LiteLLM's fine-tuning route does not run here "
                 f"(no licence / no database): {why[:200]}; measured its "
                 "pass-through endpoint to the same mock route instead")
            s = Scenario("litellm-pt", "GET",
                         f"/passthrough/v1/fine_tuning/jobs/"
                         f"{canned.OPENAI_JOB_ID}", None, auth)
            why = s.check(base, "fine_tuning.job")
            if why:
                note(f"LiteLLM not measured: pass-through fails too: {why}")
                return None
            result["route"] = ("pass-through GET /passthrough/v1/"
                               "fine_tuning/jobs/{id} (fine-tuning route "
                               "needs a licence)")
        result["runs"] = {c: measure(base, s.lua(), c) for c in CONNS}
        return result
    finally:
        stop(proc)


def openai_ceiling(mock: Mock) -> dict:
    """The peers' route through plain nginx proxy_pass (one worker): what
    a pass-through of that route costs at the floor."""
    s = Scenario("openai-ceiling", "GET",
                 f"/ceiling/openai/v1/fine_tuning/jobs/{canned.OPENAI_JOB_ID}")
    with gateway(mock, 1, "gateway-openai") as (base, _):
        return {c: measure(base, s.lua(), c) for c in CONNS}


# ---- report ---------------------------------------------------------------

def ms(v) -> str:
    return f" {v:7.2f}" if v is not None else "       -"


HEADER = ("wk conns vendor  op       |  gateway r/s     p50     p99 | "
          " ceiling r/s     p50     p99 | ratio  +p99 ms")


def bad(run: dict) -> bool:
    """A run whose figures do not stand: errors, or nothing completed."""
    return bool(run["non2xx"] or run["socket_errors"] or not run["requests"])


def flagged(r: dict) -> str:
    """' !' after a row whose gateway or ceiling run does not stand."""
    return " !" if bad(r["gw"]) or bad(r["ceiling"]) else ""


def pair_columns(r: dict, gw_width: int = 12) -> str:
    """r/s, p50 and p99 of the gateway, then of the ceiling."""
    g, c = r["gw"], r["ceiling"]
    return (f"{g['rps']:>{gw_width},}{ms(g['p50_ms'])}{ms(g['p99_ms'])} | "
            f"{c['rps']:>12,}{ms(c['p50_ms'])}{ms(c['p99_ms'])}")


def row_line(r: dict) -> str:
    return (f"{r['workers']:>2} {r['conns']:>5} {r['vendor']:<7} "
            f"{r['op']:<8} | {pair_columns(r)} | {r['ratio'] or 0:5.2f}"
            f"{ms(r['added_p99_ms'])}{flagged(r)}")


PACED_HEADER = ("wk vendor  op       pause load | gateway r/s     p50     "
                "p99 |  ceiling r/s     p50     p99 | +p50 ms +p99 ms")


SINGLE_HEADER = ("vendor  op       | gateway p50     p99 | ceiling p50     "
                 "p99 | +p50 us +p99 us  (one connection, latencies in us)")


def single_line(r: dict) -> str:
    g, c = r["gw"], r["ceiling"]
    us = (lambda v: f" {v * 1000:7.0f}" if v is not None else "       -")
    return (f"{r['vendor']:<7} {r['op']:<8} |    {us(g['p50_ms'])}"
            f"{us(g['p99_ms'])} |    {us(c['p50_ms'])}{us(c['p99_ms'])} |"
            f"{us(added(r, 'p50_ms'))}{us(r['added_p99_ms'])}{flagged(r)}")


CPU_HEADER = ("wk conns vendor  op       | gateway user     sys   total | "
              "ceiling user     sys   total | gateway/ceiling  (worker CPU "
              "per request, us)")


def cpu_total(run: dict) -> float | None:
    if run["user_us"] is None or run["sys_us"] is None:
        return None
    return round(run["user_us"] + run["sys_us"], 2)


def cpu_cost(r: dict) -> float | None:
    """How many times the ceiling's worker CPU a gateway request costs."""
    g, c = cpu_total(r["gw"]), cpu_total(r["ceiling"])
    return round(g / c, 2) if g and c else None


def cpu_line(r: dict) -> str:
    cells = [f"    {ms(x['user_us'])}{ms(x['sys_us'])}{ms(cpu_total(x))}"
             for x in (r["gw"], r["ceiling"])]
    cost = cpu_cost(r)
    return (f"{r['workers']:>2} {r['conns']:>5} {r['vendor']:<7} "
            f"{r['op']:<8} |{cells[0]} |{cells[1]} | "
            + (f"{cost:5.2f}x" if cost else "    -") + flagged(r))


def paced_load(r: dict) -> float:
    """The share of its saturated r/s the gateway ran at: below
    PACED_LOAD, since a pause is whole milliseconds and latency adds to
    it."""
    return r["gw"]["rps"] / r["saturated_rps"] if r["saturated_rps"] else 0


def paced_line(r: dict) -> str:
    return (f"{r['workers']:>2} {r['vendor']:<7} {r['op']:<8} "
            f"{r['pause_ms']:>3}ms {paced_load(r):4.2f} | "
            f"{pair_columns(r, 11)} |{ms(added(r, 'p50_ms'))}"
            f"{ms(r['added_p99_ms'])}{flagged(r)}")


def gw_rps(rows: list[dict], vendor: str, op: str, workers: int,
           conns: int) -> int:
    for r in rows:
        if (r["vendor"], r["op"], r["workers"], r["conns"]) == \
                (vendor, op, workers, conns):
            return r["gw"]["rps"]
    return 0


def peer_lines(results: dict) -> list[str]:
    rows = results.get("rows", [])
    lines = ["peer        conns |        r/s      p50      p99 | gateway/peer "
             f"r/s (1 worker, retrieve: {' / '.join(VENDORS)})"]
    for conns, run in results["openai_ceiling"].items():
        lines.append(f"{'nginx-proxy':<11} {conns:>5} | {run['rps']:>10,}"
                     f"{ms(run['p50_ms'])}{ms(run['p99_ms'])} | "
                     "plain proxy_pass of the peers' route")
    for peer in ("portkey", "litellm"):
        p = results["peers"].get(peer)
        if not p:
            lines.append(f"{peer:<11}     - | not measured (see notes)")
            continue
        for conns, run in p["runs"].items():
            x = [gw_rps(rows, v, "retrieve", 1, conns) / run["rps"]
                 if run["rps"] else 0 for v in VENDORS]
            flag = " !" if bad(run) else ""
            lines.append(f"{peer:<11} {conns:>5} | {run['rps']:>10,}"
                         f"{ms(run['p50_ms'])}{ms(run['p99_ms'])} | "
                         f"{x[0]:7.1f}x" + "".join(f" / {v:.1f}x"
                                                    for v in x[1:])
                         + flag)
    return lines


def upload_lines(u: dict) -> list[str]:
    """The upload row and the VmRSS of the large upload, fixed-width."""
    r = u["rss"]
    lines = [f"upload: POST /v1/files of a {u['file_mib']} MiB chat JSONL "
             f"file ({u['examples']:,} examples, {u['body_bytes']:,} bytes "
             "of multipart body) against nginx's dav PUT of the same body "
             f"(the ceiling); 1 worker, 1 connection, {u['uploads']} uploads "
             f"a side per round, {u['rounds']} rounds alternating; MiB/s = "
             "mean of rounds, ratio = median of the rounds' gateway/ceiling;"
             f" worker VmRSS in KiB: cold (fresh worker), before and peak "
             f"(sampled every {RSS_SAMPLE_S * 1000:.0f} ms) and after one "
             f"{r['file_mib']:,} MiB upload (the ceiling's first)",
             "side    |   MiB/s rounds            | CPU ms/MiB |    cold  "
             "before    peak   after  samples | large MiB/s"]
    for side, name in (("gw", "gateway"), ("ceiling", "ceiling")):
        x, m = u[side], r[side]
        rounds = " / ".join(f"{v:.0f}" for v in x["round_mib_s"])
        lines.append(f"{name:<7} | {x['mib_s']:>7,.1f} {rounds:<17} | "
                     f"{x['cpu_ms_per_mib']:>10.2f} | {m['cold_kib']:>7,} "
                     f"{m['before_kib']:>7,} {m['peak_kib']:>7,} "
                     f"{m['after_kib']:>7,} {m['samples']:>8,} | "
                     f"{m['mib_s']:>11,.0f}")
    growth = {k: r[k]["peak_kib"] - r[k]["before_kib"]
              for k in ("gw", "ceiling")}
    lines.append(f"ratio (gateway/ceiling MiB/s) {u['ratio']:.2f}; peak "
                 f"VmRSS over before: gateway {growth['gw']:+,} KiB, "
                 f"ceiling {growth['ceiling']:+,} KiB")
    return lines


def targets(results: dict) -> list[tuple[str, str, str]]:
    """The issue's targets, each (target, 'met' | 'NOT met' | 'n/a',
    evidence). Ratios must hold in every configuration measured."""
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"
    rows, out = results.get("rows", []), []
    for op, floor in (("retrieve", 0.8), ("create", 0.7)):
        for vendor in VENDORS:
            rs = [r for r in rows if r["vendor"] == vendor and r["op"] == op]
            name = f"{vendor} {op} >= {floor:.0%} of the ceiling r/s"
            if not rs:
                out.append((name, "n/a", "throughput not run"))
                continue
            worst = min(rs, key=lambda r: r["ratio"] or 0)
            calls = canned.VENDOR_CALLS.get((vendor, op), 1)
            out.append((name, verdict(all((r["ratio"] or 0) >= floor
                                          for r in rs)),
                        "; ".join(f"{r['workers']}w/{r['conns']}c "
                                  f"{r['ratio']:.2f}" for r in rs)
                        + f" (worst {worst['ratio']:.2f})"
                        + (f"; {calls} vendor calls per request against "
                           "the ceiling's one (worst per vendor call, "
                           f"ratio x {calls}: {worst['ratio'] * calls:.2f})"
                           if calls > 1 else "")))
    for name, rs, missing in (
            ("added p99 <= 0.3 ms at 32 connections, paced (at most "
             f"{PACED_LOAD:.0%} of the gateway's saturated r/s)",
             results.get("paced", []), "paced not run"),
            ("added p99 <= 0.3 ms at 32 connections, saturated",
             [r for r in rows if r["conns"] == 32], "throughput not run")):
        if not rs:
            out.append((name, "n/a", missing))
            continue
        worst = max(rs, key=lambda r: r["added_p99_ms"] or 0)
        out.append((name, verdict(all((r["added_p99_ms"] or 0) <= 0.3
                                      for r in rs)),
                    f"worst {worst['added_p99_ms']:+.2f} ms ("
                    f"{worst['vendor']} {worst['op']}, {worst['workers']}w)"
                    + (f"; {sum((r['added_p99_ms'] or 0) <= 0.3 for r in rs)}"
                       f" of {len(rs)} within")))
    name = ">= 40x Portkey's r/s (retrieve, 1 worker, 32 connections)"
    p = (results.get("peers") or {}).get("portkey")
    if p and rows and p["runs"][32]["rps"]:
        x = {v: gw_rps(rows, v, "retrieve", 1, 32) / p["runs"][32]["rps"]
             for v in VENDORS}
        out.append((name, verdict(all(v >= 40 for v in x.values())),
                    ", ".join(f"{k} {v:.1f}x" for k, v in x.items())))
    else:
        out.append((name, "n/a", "Portkey or throughput not measured"))
    m = results.get("memory")
    name = "worker memory flat within 1 MiB over a million requests"
    if m:
        growth = max(w["growth_kib"] for w in m["workers"])
        complete = m["requests"] >= 1_000_000
        out.append((name, verdict(growth <= 1024) if complete else "n/a",
                    f"{growth:+d} KiB over {m['requests']:,} requests"
                    + ("" if complete else " (short run)")))
    else:
        out.append((name, "n/a", "memory not run"))
    obs = [r for r in results.get("observability", []) if "conns" in r]
    name = "log variables and metrics cost < 3% of clova retrieve r/s"
    if not obs:
        out.append((name, "n/a", "observability not run"))
    else:
        out.append((name, verdict(all(r["ratio"] >= 0.97 for r in obs)),
                    "; ".join(f"{r['conns']}c on/off {r['ratio']:.3f}"
                              for r in obs)))
    return out


def soak_lines(soak: dict) -> list[str]:
    w = soak["workers"][0]
    kinds = ", ".join(f"{k}: {v:,}" for k, v in soak["kinds"].items())
    return [f"Soak: {soak['requests']:,} requests in {soak['seconds']} s, "
            f"5% of HTTP vendor answers faulted; answers by kind: {kinds}; "
            f"errors that no injected fault explains: "
            f"{soak['unexpected'] or 'none'}; socket errors: "
            f"{soak['socket_errors']}; workers the same: "
            f"{soak['workers_same']}; worker VmRSS {w['before_kib']:,} KiB "
            f"-> {w['after_kib']:,} KiB ({w['growth_kib']:+,} KiB)."]


def observability_lines(rows: list[dict]) -> list[str]:
    """The observability phase in words (report and markdown alike)."""
    sides = [r for r in rows if "conns" in r]
    tally = next(r for r in rows if "retrieves_counted" in r)
    ir = next(r for r in rows if "ir_per_request" in r)
    out = [f"Log variables and metrics, clova retrieve, 1 worker: "
           f"{OBSERVE_ROUNDS} rounds of {ROUND_S} s alternating a gateway "
           "without them (a combined access log) and one with them "
           "(metrics, the same log line with every $ftgw_* variable, the "
           "audit log); ratio = median of the rounds' on/off r/s."]
    for r in sides:
        out.append(f"- {r['conns']} connections: off {r['off']['rps']:,} "
                   f"r/s (rounds {r['off']['round_rps']}), on "
                   f"{r['on']['rps']:,} r/s (rounds {r['on']['round_rps']})"
                   f", ratio {r['ratio']:.3f}; worker CPU per request off "
                   f"{r['off']['user_us']} + {r['off']['sys_us']} us, on "
                   f"{r['on']['user_us']} + {r['on']['sys_us']} us.")
    i = ir["ir_per_request"]
    out.append(f"- callgrind, {CALLGRIND_REQUESTS} retrieves: {i['off']:,} "
               f"Ir per request off, {i['metrics']:,} with metrics only "
               f"({ir['ir_added_metrics']:+.1%}), {i['on']:,} with metrics "
               f"and variables ({ir['ir_added']:+.1%}).")
    out.append(f"- /metrics afterwards: HTTP {tally['metrics_status']}, "
               f"{tally['retrieves_counted']:,} retrieves counted, "
               f"{tally['retrieves_sent']:,} answered to wrk (wrk stops "
               "with requests in flight that nginx still answers).")
    return out


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "?")
    return {"nproc": os.cpu_count(), "cpu": model,
            "kernel": platform.release(),
            "nginx": sh(["/usr/sbin/nginx", "-v"]).stderr.strip(),
            "wrk": sh(["dpkg-query", "-W", "-f=${Version}", "wrk"]).stdout,
            # other work on the machine skews every figure: say how busy
            "loadavg_at_start": round(os.getloadavg()[0], 2),
            "quick": QUICK, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def report(results: dict) -> str:
    mach = results["machine"]
    lines = [f"ftgw bench{' (QUICK)' if QUICK else ''}: {mach['date']}, "
             f"{mach['nproc']} CPU {mach['cpu']}, kernel {mach['kernel']}, "
             f"load {mach['loadavg_at_start']:.2f} at start, "
             f"{mach['loadavg_end']:.2f} at end",
             f"throughput: a {WARMUP_S}s warm-up of each, then {ROUNDS} "
             f"rounds of {ROUND_S}s alternating gateway and ceiling, -t1 "
             "(-t2 at 256c); r/s = mean of rounds, p50/p99 = median of "
             "rounds; ratio = median of the rounds' gateway/ceiling r/s; "
             "+p99 = gateway p99 - ceiling p99; latencies in ms; "
             "! = errors or non-2xx"]
    if "rows" in results:
        lines += ["", HEADER, "-" * len(HEADER)]
        lines += [row_line(r) for r in results["rows"]]
    if "paced" in results:
        lines += ["", f"paced: {PACED_CONNS} connections, each pausing "
                  "between requests so that the gateway runs at most at "
                  f"{PACED_LOAD:.0%} of its saturated r/s (load: the share "
                  "reached); the same pause for the ceiling",
                  PACED_HEADER, "-" * len(PACED_HEADER)]
        lines += [paced_line(r) for r in results["paced"]]
    if "single" in results:
        lines += ["", SINGLE_HEADER, "-" * len(SINGLE_HEADER)]
        lines += [single_line(r) for r in results["single"]]
    cpu_rows = results.get("rows", []) + results.get("single", [])
    if cpu_rows:
        lines += ["", "worker CPU per request (user and system time of the "
                  "gateway's nginx workers over the same rounds, divided by "
                  "the requests served; system time includes loopback "
                  "delivery to wrk and the mock, and waking them):",
                  CPU_HEADER, "-" * len(CPU_HEADER)]
        lines += [cpu_line(r) for r in cpu_rows]
    if "peers" in results:
        lines += ["", *peer_lines(results)]
    if "memory" in results:
        m = results["memory"]
        lines.append("")
        for w in m["workers"]:
            lines.append(f"memory: worker VmRSS {w['before_kib']:,} KiB -> "
                         f"{w['after_kib']:,} KiB over {m['requests']:,} "
                         f"requests ({w['growth_kib']:+,} KiB; "
                         f"{w['cold_kib']:,} KiB before warm-up; "
                         f"{m['non2xx']} not 2xx)")
    if "soak" in results:
        lines += ["", *soak_lines(results["soak"])]
    if "observability" in results:
        lines += ["", *observability_lines(results["observability"])]
    if "instructions" in results:
        ins = results["instructions"]
        lines += ["", f"instructions per request (callgrind Ir, "
                  f"{ins['requests']} requests, idle run subtracted; "
                  "in brackets: plain proxy_pass (Yandex: grpc_pass) of "
                  "the same vendor call):"]
        for vendor in VENDORS:
            lines.append(f"  {vendor:<8}" + "".join(
                f"  {op} {ins[f'{vendor}-{op}']['ir_per_request']:>9,}"
                f" ({ins[f'{vendor}-{op}'].get('ceiling_ir_per_request', 0):,})"
                for op in OPS))
        for vendor in VENDORS:
            for op in OPS:
                top = ins[f"{vendor}-{op}"]["top"][:5]
                lines.append(f"  top {vendor} {op}: " + ", ".join(
                    f"{t['function']} {t['pct']:.1f}%" for t in top))
                lines.append("    inclusive: " + ", ".join(
                    f"{t['function']} {t['pct']:.0f}%"
                    for t in ins[f"{vendor}-{op}"]["inclusive"][:6]))
                kinds = ins[f"{vendor}-{op}"]["by_kind"]
                lines.append("    by kind: " + ", ".join(
                    f"{k} {v:.0f}%" for k, v in sorted(
                        kinds.items(), key=lambda kv: -kv[1]) if v >= 1))
    if "upload" in results:
        lines += ["", *upload_lines(results["upload"])]
    if "staging" in results:
        lines += ["", *staging_lines(results["staging"])]
    lines += ["", "targets:"]
    lines += [f"  [{ok:>7}] {t}: {why}" for t, ok, why in results["targets"]]
    lines.append("phase seconds: " + ", ".join(
        f"{k} {v}" for k, v in results["phase_seconds"].items()))
    lines += [f"note: {n}" for n in results["notes"]]
    return "\n".join(lines)


def f2(v) -> str:
    return "-" if v is None else f"{v:.2f}"


def md_pair(r: dict) -> str:
    """Markdown cells: r/s, p50 and p99 of the gateway, then the ceiling."""
    g, c = r["gw"], r["ceiling"]
    return (f"{g['rps']:,} | {f2(g['p50_ms'])} | {f2(g['p99_ms'])} | "
            f"{c['rps']:,} | {f2(c['p50_ms'])} | {f2(c['p99_ms'])}")


def markdown(results: dict) -> str:
    """The same figures as tables for docs/benchmarks.md (pasted there
    between its 'results' markers)."""
    mach = results["machine"]
    out = [f"Run of {mach['date']}{' (BENCH_QUICK)' if QUICK else ''}: "
           f"{mach['nproc']} CPUs ({mach['cpu']}), kernel {mach['kernel']}"
           f", {mach['nginx'].split(': ')[-1]}, wrk {mach['wrk']}; load "
           f"average {mach['loadavg_at_start']:.2f} at the start, "
           f"{mach['loadavg_end']:.2f} at the end. Latencies in ms.", ""]
    if "rows" in results:
        out += [f"Throughput: {ROUNDS} rounds of {ROUND_S} s alternating "
                "gateway and ceiling after a warm-up of each; r/s is the "
                "mean of the rounds, p50 and p99 their median, ratio the "
                "median of the rounds' gateway/ceiling r/s.", "",
                "| workers | conns | vendor | op | gateway r/s | p50 | p99 "
                "| ceiling r/s | p50 | p99 | ratio | added p99 |",
                "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in results["rows"]:
            out.append(
                f"| {r['workers']} | {r['conns']} | {r['vendor']} | "
                f"{r['op']} | {md_pair(r)} | {f2(r['ratio'])} | "
                f"{f2(r['added_p99_ms'])}"
                f"{' (!)' if bad(r['gw']) else ''} |")
        out.append("")
    if "paced" in results:
        out += [f"Paced: {PACED_CONNS} connections, each pausing between "
                "requests so that the gateway runs at most at "
                f"{PACED_LOAD:.0%} of its saturated r/s (load: the share "
                "it reached; the same pause for the ceiling).", "",
                "| workers | vendor | op | pause ms | load | gateway r/s | "
                "p50 | p99 | ceiling r/s | p50 | p99 | added p50 | "
                "added p99 |",
                "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:"
                "|---:|"]
        for r in results["paced"]:
            out.append(
                f"| {r['workers']} | {r['vendor']} | {r['op']} | "
                f"{r['pause_ms']} | {paced_load(r):.2f} | {md_pair(r)} | "
                f"{f2(added(r, 'p50_ms'))} | {f2(r['added_p99_ms'])}"
                f"{flagged(r).replace(' !', ' (!)')} |")
        out.append("")
    if "single" in results:
        us = (lambda v: "-" if v is None else f"{v * 1000:.0f}")
        out += ["One connection, one worker (no queue): the latency the "
                "gateway adds to a request alone, in µs; rounds as for "
                "throughput.", "",
                "| vendor | op | gateway p50 | p99 | ceiling p50 | p99 | "
                "added p50 | added p99 |",
                "|---|---|---:|---:|---:|---:|---:|---:|"]
        for r in results["single"]:
            g, c = r["gw"], r["ceiling"]
            out.append(f"| {r['vendor']} | {r['op']} | {us(g['p50_ms'])} | "
                       f"{us(g['p99_ms'])} | {us(c['p50_ms'])} | "
                       f"{us(c['p99_ms'])} | {us(added(r, 'p50_ms'))} | "
                       f"{us(r['added_p99_ms'])}"
                       f"{' (!)' if bad(g) or bad(c) else ''} |")
        out.append("")
    cpu_rows = results.get("rows", []) + results.get("single", [])
    if cpu_rows:
        out += ["Worker CPU per request, in µs: the user and system time "
                "of the gateway's nginx workers over the same rounds, "
                "divided by the requests they served. System time includes "
                "the loopback delivery to wrk and the mock and waking them "
                "(connections 1: the one-connection rounds).", "",
                "| workers | conns | vendor | op | gateway user | sys | "
                "total | ceiling user | sys | total | gateway / ceiling |",
                "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in cpu_rows:
            g, c = r["gw"], r["ceiling"]
            out.append(
                f"| {r['workers']} | {r['conns']} | {r['vendor']} | "
                f"{r['op']} | {f2(g['user_us'])} | "
                f"{f2(g['sys_us'])} | {f2(cpu_total(g))} | "
                f"{f2(c['user_us'])} | {f2(c['sys_us'])} | "
                f"{f2(cpu_total(c))} | {f2(cpu_cost(r))}"
                f"{flagged(r).replace(' !', ' (!)')} |")
        out.append("")
    if "peers" in results:
        rows = results.get("rows", [])
        blank = " |" * len(VENDORS)
        out += ["| peer | conns | r/s | p50 | p99 |" + "".join(
                f" {v} retrieve / peer |" for v in VENDORS),
                "|---|---:|---:|---:|---:|" + "---:|" * len(VENDORS)]
        for conns, run in results["openai_ceiling"].items():
            out.append(f"| nginx proxy_pass (same route) | {conns} | "
                       f"{run['rps']:,} | {f2(run['p50_ms'])} | "
                       f"{f2(run['p99_ms'])} |{blank}")
        for peer in ("portkey", "litellm"):
            p = results["peers"].get(peer)
            if not p:
                out.append(f"| {peer} | | not measured | | |{blank}")
                continue
            for conns, run in p["runs"].items():
                x = ["-" if not (run["rps"] and rows) else "%.1fx" % (
                     gw_rps(rows, v, "retrieve", 1, conns) / run["rps"])
                     for v in VENDORS]
                out.append(f"| {peer} {p['version']} | {conns} | "
                           f"{run['rps']:,}{' (!)' if bad(run) else ''} | "
                           f"{f2(run['p50_ms'])} | {f2(run['p99_ms'])} | "
                           + " | ".join(x) + " |")
        out.append("")
    if "memory" in results:
        m = results["memory"]
        for w in m["workers"]:
            out.append(f"Worker VmRSS: {w['before_kib']:,} KiB before, "
                       f"{w['after_kib']:,} KiB after {m['requests']:,} "
                       f"requests ({w['growth_kib']:+,} KiB; "
                       f"{w['cold_kib']:,} KiB before the warm-up; "
                       f"{m['non2xx']} answers not 2xx; {m['seconds']} s).")
        out.append("")
    if "soak" in results:
        out += [*soak_lines(results["soak"]), ""]
    if "observability" in results:
        out += [*observability_lines(results["observability"]), ""]
    if "instructions" in results:
        ins = results["instructions"]
        out += [f"Instructions per request (callgrind Ir, {ins['requests']}"
                " requests per run, idle run subtracted; the ceiling is the"
                " same vendor call through plain proxy_pass, or grpc_pass"
                " for Yandex):", "",
                "| vendor | op | gateway Ir | ceiling Ir | gateway / ceiling |",
                "|---|---|---:|---:|---:|"]
        for v in VENDORS:
            for op in OPS:
                i = ins[f"{v}-{op}"]
                c = i.get("ceiling_ir_per_request")
                out.append(f"| {v} | {op} | {i['ir_per_request']:,} | "
                           + (f"{c:,} | {i['ir_per_request'] / c:.2f} |"
                              if c else "- | - |"))
        out += ["", "| run | top functions, self Ir | cost included "
                "(cJSON and module entry points) | by kind |",
                "|---|---|---|---|"]
        for v in VENDORS:
            for op in OPS:
                i = ins[f"{v}-{op}"]
                out.append(
                    f"| {v} {op} | " + ", ".join(
                        f"`{t['function']}` {t['pct']:.1f}%"
                        for t in i["top"][:6]) + " | " + ", ".join(
                        f"`{t['function']}` {t['pct']:.0f}%"
                        for t in i["inclusive"][:6]) + " | " + ", ".join(
                        f"{k} {pct:.0f}%" for k, pct in sorted(
                            i["by_kind"].items(), key=lambda kv: -kv[1])
                        if pct >= 1) + " |")
        out.append("")
    if "upload" in results:
        u = results["upload"]
        r = u["rss"]
        out += [f"Uploads: `POST /v1/files` of a {u['file_mib']} MiB chat "
                f"JSONL file ({u['examples']:,} examples, "
                f"{u['body_bytes']:,} bytes of multipart body) against "
                "nginx's dav `PUT` of the same body (the ceiling: the body "
                "read to a temp file and renamed into place); one worker, "
                f"one connection, {u['uploads']} uploads a side per round, "
                f"{u['rounds']} rounds alternating; MiB/s is the mean of the"
                " rounds, ratio the median of the rounds' gateway/ceiling. "
                f"VmRSS of the worker sampled every "
                f"{RSS_SAMPLE_S * 1000:.0f} ms during one upload of "
                f"{r['file_mib']:,} MiB of each (the ceiling first, same "
                "worker); cold is the fresh worker's, before any upload.",
                "",
                "| side | MiB/s | rounds | worker CPU ms/MiB | VmRSS cold "
                "KiB | before | peak | peak - before | after | MiB/s of the "
                "large upload |",
                "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        for side, name in (("gw", "gateway `POST /v1/files`"),
                           ("ceiling", "nginx dav `PUT`")):
            x, m = u[side], r[side]
            out.append(f"| {name} | {x['mib_s']:,.1f} | " + " / ".join(
                f"{v:.0f}" for v in x["round_mib_s"])
                + f" | {x['cpu_ms_per_mib']:.2f} | {m['cold_kib']:,} | "
                f"{m['before_kib']:,} | "
                f"{m['peak_kib']:,} | "
                f"{m['peak_kib'] - m['before_kib']:+,} | "
                f"{m['after_kib']:,} | {m['mib_s']:,.0f} |")
        out += ["", f"Ratio (gateway / ceiling MiB/s): {u['ratio']:.2f}.",
                ""]
    if "staging" in results:
        st = results["staging"]
        out += [f"Staging: a job created on an uploaded {st['file_mib']} MiB "
                f"chat file ({st['examples']:,} examples): the conversion "
                "to the vendor's format in bounded steps, the signed `PUT` "
                "from disk to the storage (a dav sink on the mock) and the "
                "vendor's create, against nginx `proxy_pass` `PUT`ting the "
                "same converted bytes to the same sink. One worker, one "
                f"request at a time, {st['rounds']} rounds after a warm-up, "
                "alternating; seconds are medians, the ratio the median of "
                "the rounds' gateway / proxy_pass seconds; VmRSS growth is "
                "the worker's peak over its size before the create.", "",
                "| vendor | staged bytes | gateway s | input MiB/s | "
                "proxy_pass s | MiB/s | ratio | VmRSS growth KiB |",
                "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for vendor, v in st["vendors"].items():
            out.append(f"| {vendor} | {v['staged_bytes']:,} | "
                       f"{statistics.median(v['gw_s']):.2f} | "
                       f"{v['gw_mib_s']:.1f} | "
                       f"{statistics.median(v['ceiling_s']):.2f} | "
                       f"{v['ceiling_mib_s']:.1f} | {v['ratio']:.2f} | "
                       f"{v['rss_growth_kib']:+,} |")
        out.append("")
    out += ["| target | result | figures |", "|---|---|---|"]
    out += [f"| {t} | {ok} | {why} |" for t, ok, why in results["targets"]]
    if results["notes"]:
        out += [""] + [f"- {n}" for n in results["notes"]]
    return "\n".join(out) + "\n"


def main() -> None:
    if not MODULE.exists():
        sys.exit(f"bench: {MODULE} is missing: run make module")
    ensure_apt("wrk", "valgrind", "curl")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    results = {"machine": machine(), "phases": sorted(PHASES)}

    mock_prefix = WORK / "mock"
    mock_prefix.mkdir()
    ports = Mock(harness.free_port(), harness.free_port())
    mock = start_nginx(mock_prefix, mock_conf(mock_prefix, ports),
                       ports.http)
    seconds = results["phase_seconds"] = {}
    try:
        scenarios = prepare(ports)
        for phase, run in (
                ("throughput", lambda: {"rows": throughput(ports,
                                                           scenarios)}),
                ("paced", lambda: {"paced": paced(ports, scenarios),
                                   "single": single(ports, scenarios)}),
                ("peers", lambda: {
                    "openai_ceiling": openai_ceiling(ports),
                    "peers": {"portkey": safely(peer_portkey, ports.http),
                              "litellm": safely(peer_litellm, ports.http)}}),
                ("memory", lambda: {"memory": memory(ports, scenarios)}),
                ("callgrind", lambda: {
                    "instructions": instructions(ports, scenarios)}),
                ("upload", lambda: {"upload": upload(ports)}),
                ("staging", lambda: {"staging": staging(ports,
                                                        mock_prefix)}),
                ("soak", lambda: {"soak": soak(scenarios)}),
                ("observability", lambda: {
                    "observability": observability(ports, scenarios)})):
            if phase in PHASES:
                print(f"== {phase}", flush=True)
                t0 = time.monotonic()
                results.update(run())
                seconds[phase] = round(time.monotonic() - t0)
    finally:
        mock.stop()
    results["machine"]["loadavg_end"] = round(os.getloadavg()[0], 2)
    results["targets"] = targets(results)
    results["notes"] = notes
    text = report(results)
    print("\n" + text)
    (OUT / "results.json").write_text(json.dumps(results, indent=1))
    (OUT / "results.txt").write_text(text + "\n")
    (OUT / "results.md").write_text(markdown(results))


if __name__ == "__main__":
    main()
