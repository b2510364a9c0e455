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

    template = (harness.ROOT / "config" / "demo.conf").read_text()
    conf = harness.http_prelude(prefix, args.module) + template.format(
        port=args.port, prefix=prefix, id_secret=id_secret,
        client_key=client_key, clova_port=sandboxes[0].port,
        clova_sig_port=sandboxes[1].port, qianfan_port=sandboxes[2].port,
        yandex_grpc_port=sandboxes[3].port,
        yandex_http_port=sandboxes[3].http_port,
        yandex_folder=YANDEX_FOLDER, yandex_sa_key=sa_key,
        **{k.replace("-", "_"): v for k, v in files.items()})
    (prefix / "nginx.conf").write_text(conf)

    nginx = harness.Nginx(prefix, args.port)
    try:
        nginx.start()
    except RuntimeError as e:
        for sandbox in sandboxes:
            sandbox.stop()
        print(e, file=sys.stderr)
        return 1

    print(f"""
fine-tuning gateway on http://127.0.0.1:{args.port}/v1
  providers: clova (CLOVA Studio sandbox, Bearer), clova_sig (API Gateway
             signature v2), qianfan (Baidu Qianfan sandbox, bce-auth-v1),
             yandex (Yandex Cloud sandbox over gRPC, IAM tokens from a
             service-account key); local (Slurm) is not built yet
  client key: {DEMO_KEY}
  logs: {prefix}/error.log, {prefix}/access.log

try:
  curl -s http://127.0.0.1:{args.port}/v1/fine_tuning/jobs \\
    -H 'Authorization: Bearer {DEMO_KEY}' -H 'Content-Type: application/json' \\
    -d '{{"model":"clova/HCX-003","training_file":"s3://my-bucket/train.csv"}}'
  and the same job on Qianfan: "model":"qianfan/ERNIE-Speed-8K",
    "training_file":"bos://my-bucket/train.jsonl"
  or on Yandex: "model":"yandex/yandexgpt-lite",
    "training_file":"yandex://dataset/fds1demo"

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
