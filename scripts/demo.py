#!/usr/bin/env python3
"""`make run`: the gateway on 127.0.0.1:8080 with the sandbox vendors behind
it, in the foreground, until Ctrl-C.

Everything lives in build/demo/: the nginx configuration, the generated
secrets, the logs. The demo client key is fixed and documented in the
README, so the quick start can be pasted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sandbox"))
import harness  # noqa: E402

DEMO_CLIENT = "demo"
DEMO_KEY = "gw-demo-key-0123456789"
DEMO_PORT = 8080
CLOVA_SANDBOX_PORT = 18081         # provider clova (Bearer API key)
CLOVA_SIG_SANDBOX_PORT = 18082     # provider clova_sig (signature v2)
QIANFAN_SANDBOX_PORT = 18083       # provider qianfan (bce-auth-v1)
YANDEX_GRPC_PORT = 18084           # providers yandex (Api-Key), yandex_iam
YANDEX_HTTP_PORT = 18085           # the Yandex sandbox's IAM endpoint
YANDEX_FOLDER = "b1gsandboxfolder"
# the local engine: a single-node Slurm and the trainer; its files live
# under /tmp, where Slurm's job user (slurmrestd's) can reach them
LOCAL_ROOT = Path("/tmp/ftgw-demo-local")
SLURM_STATE = Path("/tmp/ftgw-demo-slurm")
TRAINER_VENV = harness.ROOT / "build" / "trainer-venv"
DEMO_DATASET = [
    {"messages": [{"role": "user", "content": f"What is {a} plus {b}?"},
                  {"role": "assistant", "content": f"{a + b}"}]}
    for a in range(10) for b in range(10)
]


def start_local_engine() -> str:
    """Slurm up (installed when missing), the trainer's venv, a tiny model
    and a demo dataset; returns slurmrestd's socket."""
    import json
    import pwd
    import subprocess
    for cmd in ([str(harness.ROOT / "slurm" / "install.sh")],
                [str(harness.ROOT / "trainer" / "install.sh"),
                 str(TRAINER_VENV)]):
        print("preparing the local engine:", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    SLURM_STATE.mkdir(exist_ok=True)
    SLURM_STATE.chmod(0o755)
    up = subprocess.run([str(harness.ROOT / "slurm" / "up.sh"),
                         str(SLURM_STATE)], check=True, capture_output=True,
                        text=True)
    for sub in ("models", "datasets", "out"):
        (LOCAL_ROOT / sub).mkdir(parents=True, exist_ok=True)
    LOCAL_ROOT.chmod(0o755)
    if not (LOCAL_ROOT / "models" / "tiny").exists():
        subprocess.run([str(TRAINER_VENV / "bin" / "python"), "-m",
                        "trainer.tiny_model", str(LOCAL_ROOT / "models" /
                                                  "tiny")],
                       cwd=harness.ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    (LOCAL_ROOT / "datasets" / "chat.jsonl").write_text(
        "\n".join(json.dumps(r) for r in DEMO_DATASET) + "\n")
    user = pwd.getpwnam("slurmrest")
    import os
    os.chown(LOCAL_ROOT / "out", user.pw_uid, user.pw_gid)
    for path in LOCAL_ROOT.rglob("*"):
        path.chmod(path.stat().st_mode | 0o044 | (0o011 if path.is_dir()
                                                   else 0))
    return up.stdout.strip().splitlines()[-1]


def stop_local_engine() -> None:
    import subprocess
    subprocess.run([str(harness.ROOT / "slurm" / "down.sh"),
                    str(SLURM_STATE)], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--module", required=True)
    parser.add_argument("--port", type=int, default=DEMO_PORT)
    args = parser.parse_args()

    prefix = harness.ROOT / "build" / "demo"
    prefix.mkdir(parents=True, exist_ok=True)

    # sandbox credentials: generated per run, known only to the gateway's
    # files and the sandbox, as real vendor keys would be
    vendor = {name: harness.random_key(name + "-") for name in
              ("clova-api-key", "ncp-access", "ncp-secret",
               "bucket-access", "bucket-secret", "qianfan-ak",
               "qianfan-sk", "yandex-api-key")}
    files = {name: harness.write_secret(prefix / f"{name}.secret", value)
             for name, value in vendor.items()}
    id_secret = harness.write_secret(prefix / "id.secret",
                                     harness.random_key() * 2)
    client_key = harness.write_secret(prefix / "demo.key", DEMO_KEY)

    # one sandbox account per provider, so that listing shows each task once
    sandboxes = [harness.start_clova_sandbox(
        prefix / name, api_key=vendor["clova-api-key"],
        access_key=vendor["ncp-access"], secret_key=vendor["ncp-secret"],
        bucket_access_key=vendor["bucket-access"],
        bucket_secret_key=vendor["bucket-secret"],
        wait_seconds=5, run_seconds=30, port=port)
        for name, port in (("clova", CLOVA_SANDBOX_PORT),
                           ("clova_sig", CLOVA_SIG_SANDBOX_PORT))]
    sandboxes.append(harness.start_qianfan_sandbox(
        prefix / "qianfan", access_key=vendor["qianfan-ak"],
        secret_key=vendor["qianfan-sk"], run_seconds=30,
        port=QIANFAN_SANDBOX_PORT))
    # a service-account authorized key, as `yc iam key create` writes it
    sa_key, _ = harness.make_yandex_key(prefix / "yandex")
    sandboxes.append(harness.start_yandex_sandbox(
        prefix / "yandex", api_key=vendor["yandex-api-key"],
        authorized_key=sa_key, run_seconds=30, grpc_port=YANDEX_GRPC_PORT,
        http_port=YANDEX_HTTP_PORT))

    slurm_socket = start_local_engine()

    template = (harness.ROOT / "config" / "demo.conf").read_text()
    conf = harness.http_prelude(prefix, args.module) + template.format(
        port=args.port, prefix=prefix, snippets=harness.SNIPPETS,
        ui=harness.ROOT / "ui",
        id_secret=id_secret,
        client_key=client_key, clova_port=sandboxes[0].port,
        clova_sig_port=sandboxes[1].port, qianfan_port=sandboxes[2].port,
        yandex_grpc_port=sandboxes[3].port,
        yandex_http_port=sandboxes[3].http_port,
        clova_storage_port=sandboxes[0].storage_port,
        clova_sig_storage_port=sandboxes[1].storage_port,
        qianfan_bos_port=sandboxes[2].storage_port,
        yandex_folder=YANDEX_FOLDER, yandex_sa_key=sa_key,
        slurm_socket=slurm_socket, local_root=LOCAL_ROOT,
        trainer=TRAINER_VENV / "bin" / "ftgw-trainer",
        **{k.replace("-", "_"): v for k, v in files.items()})
    (prefix / "nginx.conf").write_text(conf)

    nginx = harness.Nginx(prefix, args.port)
    try:
        nginx.start()
    except RuntimeError as e:
        for sandbox in sandboxes:
            sandbox.stop()
        stop_local_engine()
        print(e, file=sys.stderr)
        return 1

    print(f"""
fine-tuning gateway on http://127.0.0.1:{args.port}/v1
  providers: clova (CLOVA Studio sandbox, Bearer), clova_sig (API Gateway
             signature v2), qianfan (Baidu Qianfan sandbox, bce-auth-v1),
             yandex (Yandex Cloud sandbox over gRPC, IAM tokens from a
             service-account key), local (a single-node Slurm running the
             project's trainer; model "local/tiny", a tiny random model)
  client key: {DEMO_KEY}
  logs: {prefix}/error.log, {prefix}/access.log
  audit log: {prefix}/audit.log (one JSON line per state-changing call)
  metrics: http://127.0.0.1:{args.port}/metrics (Prometheus text format)
  dashboard: http://127.0.0.1:{args.port}/ui/ (sign in with the client key)

try:
  curl -s http://127.0.0.1:{args.port}/v1/fine_tuning/jobs \\
    -H 'Authorization: Bearer {DEMO_KEY}' -H 'Content-Type: application/json' \\
    -d '{{"model":"clova/HCX-003","training_file":"s3://my-bucket/train.csv"}}'
  and the same job on Qianfan: "model":"qianfan/Llama-2-7b",
    "training_file":"bos://my-bucket/train.jsonl"
  or on Yandex: "model":"yandex/yandexgpt-lite",
    "training_file":"yandex://dataset/fds1demo"
  or on the local engine (trains for real, on the CPU): "model":"local/tiny",
    "training_file":"local://datasets/chat.jsonl"

Ctrl-C stops it.""", flush=True)

    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    try:
        while not stop and nginx.proc.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        nginx.stop()
        for sandbox in sandboxes:
            sandbox.stop()
        stop_local_engine()
    return 0


if __name__ == "__main__":
    sys.exit(main())
