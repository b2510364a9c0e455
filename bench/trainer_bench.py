#!/usr/bin/env python3
"""`make bench-trainer`: the project's trainer against a plain transformers
+ peft loop, on the same model, data and configuration.

  (a) through the product: the gateway (nginx with the module) -> its
      `slurm` provider -> a single-node Slurm (slurm/up.sh, free ports) ->
      a batch job that runs build/trainer-venv/bin/ftgw-trainer; the
      figures are the trainer's own result.json;
  (b) bench/plain_trainer.py in the same venv, run directly.

Both time each optimizer step the same way (collate to optimizer step,
with a device sync) and count real (non-padding) tokens.  Models are real
architectures (Qwen2) with random weights, built here: nothing is
downloaded.

  no GPU   a ~100k-parameter Qwen2 (hidden 64, 2 layers), LoRA and full,
           30 steps of 8 sequences of up to 128 tokens: about 2 minutes.
  GPU      Qwen2.5-0.5B and -1.5B shapes (vocabulary 151936), LoRA and
           full, 30 steps of 8 sequences of up to 1024 tokens, bf16.

Results: build/bench-trainer/results.json and results.md.

  .venv/bin/python bench/trainer_bench.py [--module SO] [--steps N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pwd
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sandbox"))
sys.path.insert(0, str(ROOT / "t" / "slurm"))
import harness  # noqa: E402

OUT = ROOT / "build" / "bench-trainer"
VENV = Path(os.environ.get("FTGW_TRAINER_VENV")
            or ROOT / "build" / "trainer-venv")
CLIENT_KEY = "gw-bench-trainer-key-0123456789"
SLURM_USER = "slurmrest"
WORDS = ("apple river stone cloud green quick seven music table light "
         "water house paper field night").split()

# name, tiny_model arguments
# Debian's torch 1.13 multiplies matrices with the reference BLAS (about 4
# GFLOP/s here): the CPU model stays very small
MODELS_CPU = [("qwen2-tiny", ["--arch", "qwen2", "--hidden", "64",
                              "--layers", "2", "--heads", "4", "--kv-heads",
                              "2", "--intermediate", "172"])]
MODELS_GPU = [
    ("qwen2.5-0.5b", ["--arch", "qwen2", "--hidden", "896", "--layers",
                      "24", "--heads", "14", "--kv-heads", "2",
                      "--intermediate", "4864", "--model-vocab", "151936",
                      "--positions", "32768", "--dtype", "bfloat16"]),
    ("qwen2.5-1.5b", ["--arch", "qwen2", "--hidden", "1536", "--layers",
                      "28", "--heads", "12", "--kv-heads", "2",
                      "--intermediate", "8960", "--model-vocab", "151936",
                      "--positions", "32768", "--dtype", "bfloat16"]),
]


def gpu_names() -> list[str]:
    try:
        p = subprocess.run(["nvidia-smi", "-L"], capture_output=True,
                           text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [x for x in p.stdout.splitlines() if x.startswith("GPU ")]


def sh(cmd, **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(map(str, cmd)), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def make_data(path: Path, n: int, max_len: int, seed: int) -> None:
    """Prompt/completion lines of varied lengths, from about a quarter
    of max_len to a bit under it (the tiny tokenizer makes about 5 tokens
    of a word and its space): no example is truncated, so both sides see
    the very same tokens."""
    r = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(n):
            words = r.randint(max_len // 24, max_len // 6)
            k = max(1, words // 4)
            text = " ".join(r.choice(WORDS) for _ in range(words - k))
            answer = " ".join(r.choice(WORDS) for _ in range(k))
            f.write(json.dumps({"prompt": f"Continue: {text}\n",
                                "completion": answer}) + "\n")


def gateway_conf(prefix: Path, module: str, port: int, socket: str,
                 engine: Path, models: dict[str, Path]) -> str:
    secret = harness.write_secret(prefix / "id.secret",
                                  harness.random_key() * 2)
    key = harness.write_secret(prefix / "bench.key", CLIENT_KEY)
    listed = ",".join(f"{n}:{p}" for n, p in models.items())
    return harness.http_prelude(prefix, module) + f"""
    ftgw_secret_file {secret};
    ftgw_files root={prefix}/files max_size=64m;
    ftgw_client bench {key};
    ftgw_provider local kind=slurm endpoint=/_ftgw/local
                  models={listed}
                  dataset_root={engine}/datasets
                  output_root={engine}/out
                  trainer={VENV}/bin/ftgw-trainer
                  partition=gpu time_limit=120;
    server {{
        listen 127.0.0.1:{port};
        location /v1/ {{
            ftgw_api on;
        }}
        location /_ftgw/local/ {{
            {harness.include("slurm")}
            proxy_pass http://unix:{socket}:/;
            proxy_read_timeout 30s;
        }}
    }}
}}
"""


class Gateway:
    def __init__(self, sdk, cluster, nginx):
        self.sdk, self.cluster, self.nginx = sdk, cluster, nginx


def start_gateway(a, engine: Path, model_dirs: dict) -> Gateway:
    """Slurm (free ports, state under /tmp) and nginx with the module and
    the `local` provider, as t/test_local.py starts them."""
    import openai
    import slurmrest
    user = pwd.getpwnam(SLURM_USER)
    os.chown(engine / "out", user.pw_uid, user.pw_gid)
    cluster = slurmrest.up()
    try:
        prefix = OUT / "gateway"
        shutil.rmtree(prefix, ignore_errors=True)
        prefix.mkdir(parents=True)
        port = harness.free_port()
        (prefix / "nginx.conf").write_text(gateway_conf(
            prefix, a.module, port, cluster.socket_path, engine,
            model_dirs))
        nginx = harness.Nginx(prefix, port)
        nginx.start()
    except BaseException:
        slurmrest.down(cluster.state_dir)
        shutil.rmtree(cluster.state_dir, ignore_errors=True)
        raise
    sdk = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1",
                        api_key=CLIENT_KEY, max_retries=2, timeout=30)
    return Gateway(sdk, cluster, nginx)


def through_gateway(client, model: str, data: str, cfg: dict,
                    timeout: float) -> dict:
    tuning = {"learning_rate": cfg["lr"], "tuning_type": cfg["tuning"],
              "max_seq_len": cfg["max_seq_len"],
              "scheduler": {"type": "linear"}}
    if cfg["tuning"] == "lora":
        tuning["lora"] = {"rank": cfg["rank"], "alpha": cfg["alpha"],
                          "dropout": cfg["dropout"],
                          "target_modules": cfg["targets"]}
    t0 = time.time()
    job = client.fine_tuning.jobs.create(
        model=f"local/{model}", training_file=f"local://datasets/{data}",
        seed=cfg["seed"],
        hyperparameters={"n_epochs": 1, "batch_size": cfg["batch"]},
        extra_body={"tuning": tuning})
    seen_progress = None
    while True:
        j = client.fine_tuning.jobs.retrieve(job.id)
        if (j.vendor or {}).get("progress"):
            seen_progress = j.vendor["progress"]
        if j.status in ("succeeded", "failed", "cancelled"):
            break
        if time.time() - t0 > timeout:
            client.fine_tuning.jobs.cancel(job.id)
            raise RuntimeError(f"{job.id} still {j.status} after "
                               f"{timeout:.0f} s")
        time.sleep(1)
    wall = time.time() - t0
    if j.status != "succeeded":
        raise RuntimeError(f"the job {j.status}: {j.error}")
    res = json.loads((Path(j.fine_tuned_model).parent / "result.json")
                     .read_text())
    return from_result(res, "gateway -> Slurm -> trainer", wall,
                       seen_progress)


def direct(model_dir: Path, data: Path, cfg: dict, out_dir: Path) -> dict:
    """The trainer without the gateway and Slurm, on the spec that the
    gateway would write (where Slurm or nginx can't run)."""
    spec = {"model_dir": str(model_dir), "output_dir": str(out_dir),
            "training_files": [{"path": str(data)}],
            "tuning_type": cfg["tuning"], "n_epochs": 1,
            "batch_size": cfg["batch"], "seed": cfg["seed"],
            "max_seq_len": cfg["max_seq_len"],
            "learning_rate": cfg["lr"], "scheduler": {"type": "linear"}}
    if cfg["tuning"] == "lora":
        spec["lora"] = {"rank": cfg["rank"], "alpha": cfg["alpha"],
                        "dropout": cfg["dropout"],
                        "target_modules": cfg["targets"]}
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    (out_dir / "spec.json").write_text(json.dumps(spec))
    t0 = time.time()
    sh([VENV / "bin" / "ftgw-trainer", "--spec", out_dir / "spec.json",
        "--progress-file", out_dir / "progress.json"], cwd=ROOT)
    res = json.loads((out_dir / "result.json").read_text())
    return from_result(res, "trainer (direct: no gateway, no Slurm)",
                       time.time() - t0, json.loads(
                           (out_dir / "progress.json").read_text()))


def from_result(res: dict, tool: str, wall: float, progress) -> dict:
    m = res["metrics"]
    return {
        "tool": tool,
        "device": res["device"], "device_name": res.get("device_name"),
        "dtype": res["dtype"], "steps": m["step"],
        "batch_size": m["batch_size"], "parameters": m["parameters"],
        "trainable_parameters": m["trainable_parameters"],
        "train_tokens": m["train_tokens"],
        "tokens_per_second": m["tokens_per_second"],
        "mean_step_seconds": m["mean_step_seconds"],
        "median_step_seconds": sorted(res["step_seconds"])[
            len(res["step_seconds"]) // 2],
        "mfu": m["mfu"], "peak_rss_bytes": m["peak_rss_bytes"],
        "peak_gpu_memory_bytes": m["peak_gpu_memory_bytes"],
        "padding_fraction": m["padding_fraction"],
        "first_loss": res["step_losses"][0],
        "last_loss": res["step_losses"][-1],
        "job_wall_seconds": wall,
        "last_progress": progress,
        "torch": res["options"]["torch"],
    }


def plain(model_dir: Path, data: Path, cfg: dict, out: Path) -> dict:
    cmd = [VENV / "bin" / "python", ROOT / "bench" / "plain_trainer.py",
           "--model", model_dir, "--data", data, "--out", out,
           "--tuning", cfg["tuning"], "--batch-size", cfg["batch"],
           "--lr", cfg["lr"], "--steps", cfg["steps"],
           "--max-seq-len", cfg["max_seq_len"], "--seed", cfg["seed"],
           "--lora-rank", cfg["rank"], "--lora-alpha", cfg["alpha"],
           "--lora-dropout", cfg["dropout"],
           "--targets", ",".join(cfg["targets"])]
    sh(cmd, cwd=ROOT, env=dict(os.environ, HF_HUB_OFFLINE="1",
                               TRANSFORMERS_OFFLINE="1"))
    return json.loads(out.read_text())


def fmt_bytes(n) -> str:
    return "n/a" if n is None else f"{n / 2 ** 20:,.0f} MiB"


def fmt_mfu(x) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def write_md(results: dict) -> str:
    lines = [f"Machine: {results['machine']}; device: "
             f"{results['device']}; torch {results['torch']}; the "
             f"trainer's route: {results['route']}; "
             f"{results['config']['steps']} steps of "
             f"{results['config']['batch']} sequences of up to "
             f"{results['config']['max_seq_len']} tokens.", "",
             "| model | tuning | run | tokens/s | mean step | median step "
             "| peak memory | MFU | loss first → last |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results["runs"]:
        for side in ("trainer", "plain"):
            x = r[side]
            mem = (x["peak_gpu_memory_bytes"]
                   if x["peak_gpu_memory_bytes"] is not None
                   else x["peak_rss_bytes"])
            kind = "GPU alloc" if x["peak_gpu_memory_bytes"] is not None \
                else "RSS"
            lines.append(
                f"| {r['model']} ({x['parameters'] / 1e6:.1f}M) | "
                f"{r['tuning']} | {x['tool']} | "
                f"{x['tokens_per_second']:,.0f} | "
                f"{x['mean_step_seconds'] * 1000:,.1f} ms | "
                f"{x['median_step_seconds'] * 1000:,.1f} ms | "
                f"{fmt_bytes(mem)} ({kind}) | {fmt_mfu(x['mfu'])} | "
                f"{x['first_loss']:.3f} → {x['last_loss']:.3f} |")
        runs = ", ".join(f"{x:,.0f}" for x in
                         r["trainer_tokens_per_second_all"])
        pruns = ", ".join(f"{x:,.0f}" for x in
                          r["plain_tokens_per_second_all"])
        lines.append(f"| | | trainer / plain (best of {r['repeats']}: "
                     f"trainer {runs}; plain {pruns}) | "
                     f"{r['ratio_tokens_per_second']:.3f} | | | | | |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--module", default=str(
        ROOT / "build" / "nginx" / "ngx_http_ftgw_module.so"))
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--direct", action="store_true",
                    help="run the trainer without the gateway and Slurm "
                    "(also chosen when Slurm can't be installed or the "
                    "module is missing)")
    ap.add_argument("--skip-install", action="store_true",
                    help="use the trainer venv as it is")
    ap.add_argument("--repeat", type=int, default=None,
                    help="runs of each side, alternated; the best counts "
                    "(default 2 on the CPU, 1 on a GPU)")
    a = ap.parse_args()

    gpus = gpu_names()
    print(f"trainer bench: {'GPU: ' + gpus[0] if gpus else 'no GPU (CPU)'}",
          flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    if not a.skip_install:
        sh([ROOT / "trainer" / "install.sh", VENV])
    route = "direct" if a.direct else "gateway"
    why = "--direct" if a.direct else ""
    if route == "gateway" and not Path(a.module).exists():
        route, why = "direct", f"no module at {a.module}"
    if route == "gateway":
        import slurmrest
        p = slurmrest.install()
        if p.returncode != 0:
            route = "direct"
            why = f"slurm/install.sh failed: {p.stderr.strip()[-200:]}"
    if route == "direct":
        print(f"trainer bench: the trainer runs directly ({why})",
              flush=True)

    models = MODELS_GPU if gpus else MODELS_CPU
    if a.repeat is None:
        a.repeat = 1 if gpus else 2
    max_len = 1024 if gpus else 128
    base = {"batch": a.batch, "steps": a.steps, "max_seq_len": max_len,
            "seed": 42, "rank": 16, "alpha": 32, "dropout": 0.05,
            "targets": ["q_proj", "k_proj", "v_proj", "o_proj"]}

    engine = Path(tempfile.mkdtemp(prefix="ftgw-bench-trainer-",
                                   dir="/tmp"))
    engine.chmod(0o755)
    for d in ("models", "datasets", "out"):
        (engine / d).mkdir()
    cluster = nginx = None
    results = {"device": gpus[0] if gpus else "CPU (no GPU)",
               "machine": f"{platform.machine()}, {os.cpu_count()} CPUs "
                          f"({len(os.sched_getaffinity(0))} usable)",
               "config": base, "runs": []}
    try:
        model_dirs = {}
        for name, args in models:
            model_dirs[name] = engine / "models" / name
            sh([VENV / "bin" / "python", "-m", "trainer.tiny_model",
                model_dirs[name], *args], cwd=ROOT, capture_output=True)
        data = engine / "datasets" / "bench.jsonl"
        # exactly steps x batch examples: both sides see the same set
        make_data(data, a.steps * a.batch, max_len, 7)
        for path in engine.rglob("*"):
            path.chmod(path.stat().st_mode | 0o044
                       | (0o011 if path.is_dir() else 0))
        results["route"] = route if route == "gateway" else \
            f"direct ({why})"

        if route == "direct":
            client = None
        else:
            client = start_gateway(a, engine, model_dirs)
            cluster, nginx = client.cluster, client.nginx

        for name, _ in models:
            for tuning in ("lora", "full"):
                cfg = dict(base, tuning=tuning,
                           lr=2e-4 if tuning == "lora" else 2e-5)
                print(f"== {name} {tuning}", flush=True)
                ts, pls = [], []
                for _ in range(a.repeat):      # alternated: same noise
                    if client is not None:
                        ts.append(through_gateway(
                            client.sdk, name, "bench.jsonl", cfg,
                            timeout=1800))
                    else:
                        ts.append(direct(model_dirs[name], data, cfg,
                                         engine / "out" / "direct"))
                    pls.append(plain(model_dirs[name], data, cfg,
                                     OUT / f"plain-{name}-{tuning}.json"))
                # the best of the repeats: the least disturbed by the
                # machine's other work
                t = max(ts, key=lambda x: x["tokens_per_second"])
                pl = max(pls, key=lambda x: x["tokens_per_second"])
                results["runs"].append({
                    "model": name, "tuning": tuning, "trainer": t,
                    "plain": pl, "repeats": a.repeat,
                    "trainer_tokens_per_second_all":
                        [x["tokens_per_second"] for x in ts],
                    "plain_tokens_per_second_all":
                        [x["tokens_per_second"] for x in pls],
                    "ratio_tokens_per_second":
                        t["tokens_per_second"] / pl["tokens_per_second"]})
                print(f"   trainer {t['tokens_per_second']:.0f} tokens/s, "
                      f"plain {pl['tokens_per_second']:.0f} tokens/s",
                      flush=True)
        results["torch"] = results["runs"][0]["trainer"]["torch"]
    finally:
        if nginx is not None:
            nginx.stop()
        if cluster is not None:
            import slurmrest
            slurmrest.down(cluster.state_dir)
            shutil.rmtree(cluster.state_dir, ignore_errors=True)
        shutil.rmtree(engine, ignore_errors=True)

    results["config"]["repeat"] = a.repeat
    (OUT / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    md = write_md(results)
    (OUT / "results.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
