"""The local training engine end to end: the gateway's `slurm` provider in
front of a real single-node Slurm (munge, slurmctld, slurmd, slurmrestd on a
unix socket), whose jobs run the project's trainer on a tiny model the test
builds (random weights, Hugging Face format). Trains for real on the CPU."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import openai
import pytest

import harness
from conftest import _slurm_internal, _start, Gateway, error_of

import sys
sys.path.insert(0, str(Path(__file__).resolve().parent / "slurm"))
from slurmrest import slurm_cluster  # noqa: E402,F401

TRAINER_VENV = harness.ROOT / "build" / "trainer-venv"
SLURM_USER = "slurmrest"

CHAT = [
    {"messages": [{"role": "user", "content": f"What is {a} plus {b}?"},
                  {"role": "assistant", "content": f"{a} plus {b} is {a + b}."}]}
    for a in range(8) for b in range(6)
]


@pytest.fixture(scope="module")
def trainer_venv():
    p = subprocess.run([str(harness.ROOT / "trainer" / "install.sh"),
                        str(TRAINER_VENV)], capture_output=True, text=True,
                       timeout=1800)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    return TRAINER_VENV


def engine_root(trainer_venv: Path, prefix: str,
                datasets: dict[str, str] | None = None) -> Path:
    """Model, datasets and outputs under /tmp, where Slurm's job user (the
    user slurmrestd runs as) can read and write: the tiny model, CHAT as
    datasets/chat.jsonl, and the other datasets given (name: text)."""
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    root.chmod(0o755)
    models, data, out = root / "models", root / "datasets", root / "out"
    for d in (models, data, out):
        d.mkdir()
    subprocess.run([str(trainer_venv / "bin" / "python"), "-m",
                    "trainer.tiny_model", str(models / "tiny")],
                   cwd=harness.ROOT, check=True, capture_output=True,
                   timeout=300)
    (data / "chat.jsonl").write_text(
        "\n".join(json.dumps(r) for r in CHAT) + "\n")
    for name, text in (datasets or {}).items():
        (data / name).write_text(text)
    user = pwd.getpwnam(SLURM_USER)
    os.chown(out, user.pw_uid, user.pw_gid)
    for p in root.rglob("*"):
        p.chmod(p.stat().st_mode | 0o044 | (0o011 if p.is_dir() else 0))
    return root


@pytest.fixture(scope="module")
def engine(trainer_venv, slurm_cluster):  # noqa: F811
    root = engine_root(trainer_venv, "ftgw-local-",
                       {"broken.jsonl": '{"messages": [}\n'})
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def local_gateway(workdir, engine, slurm_cluster, trainer_venv):  # noqa: F811
    prefix = workdir / "local-gateway"
    prefix.mkdir()
    providers = f"""
    ftgw_provider local kind=slurm endpoint=/_ftgw/local
                  models=tiny:{engine}/models/tiny
                  dataset_root={engine}/datasets
                  output_root={engine}/out
                  trainer={trainer_venv}/bin/ftgw-trainer
                  partition=gpu time_limit=30;"""
    locations = _slurm_internal("local", slurm_cluster.socket_path)
    nginx = _start(prefix, providers, locations)
    yield Gateway(nginx, {})
    nginx.stop()
    assert nginx.log_problems() == []


def wait(client, job_id, statuses, timeout=240.0):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        job = client.fine_tuning.jobs.retrieve(job_id)
        seen.append(job)
        if job.status in statuses:
            return job, seen
        time.sleep(0.5)
    raise AssertionError(f"{job_id} stayed {seen[-1].status}: "
                         f"{seen[-1].vendor}")


def test_trains_for_real(local_gateway, engine):
    client = local_gateway.sdk()
    job = client.fine_tuning.jobs.create(
        model="local/tiny", training_file="local://datasets/chat.jsonl",
        suffix="e2e", seed=7, hyperparameters={"n_epochs": 3,
                                               "batch_size": 4},
        extra_body={"tuning": {"learning_rate": 5e-2, "tuning_type": "lora",
                               "lora": {"rank": 4, "alpha": 8},
                               "scheduler": {"type": "cosine",
                                             "warmup_ratio": 0.1}}})
    assert job.status in ("queued", "running")
    assert job.vendor["kind"] == "slurm"

    done, seen = wait(client, job.id, ("succeeded", "failed"))
    assert done.status == "succeeded", done.error
    assert done.vendor["status"] == "COMPLETED"
    assert any(j.status == "running" for j in seen) or \
        done.vendor["progress"]["step"]
    assert done.vendor["progress"]["epoch"] == 3
    # the trainer's throughput, as it reported it last; MFU stays unknown
    # on a CPU, whose peak the trainer does not know
    assert done.vendor["progress"]["tokens_per_second"] > 0
    assert done.vendor["progress"]["mfu"] is None

    final = Path(done.fine_tuned_model)
    assert (final / "adapter_config.json").exists()
    assert any(final.glob("adapter_model.*"))
    result = json.loads((final.parent / "result.json").read_text())
    losses = [epoch["train_loss"] for epoch in result["history"]]
    assert len(losses) == 3
    assert losses[-1] < losses[0], losses           # the loss fell
    assert result["metrics"]["train_loss"] < \
        result["metrics"]["first_step_loss"]

    ckpts = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert len(ckpts) == 3
    assert ckpts[0].fine_tuned_model_checkpoint.endswith("checkpoint-epoch-3")
    assert Path(ckpts[0].fine_tuned_model_checkpoint).exists()

    events = client.fine_tuning.jobs.list_events(job.id).data
    assert events[0].message == "The job has successfully completed"

    assert job.id in [j.id for j in client.fine_tuning.jobs.list(limit=50)]


def test_cancel_a_running_job(local_gateway, slurm_cluster):  # noqa: F811
    client = local_gateway.sdk()
    job = client.fine_tuning.jobs.create(
        model="local/tiny", training_file="local://datasets/chat.jsonl",
        suffix="long", hyperparameters={"n_epochs": 500},
        extra_body={"tuning": {"learning_rate": 1e-4}})
    wait(client, job.id, ("running",))
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    state = None
    for _ in range(60):
        state = slurm_cluster.run("squeue", "-h", "-j",
                                  job.vendor["job_id"], "-o", "%T",
                                  "--states=all").stdout.strip()
        if state == "CANCELLED":
            break
        time.sleep(0.5)
    assert state == "CANCELLED"
    got, _ = wait(client, job.id, ("cancelled",), timeout=30)
    assert got.vendor["status"] == "CANCELLED"


def test_bad_dataset_fails_with_the_reason(local_gateway):
    client = local_gateway.sdk()
    job = client.fine_tuning.jobs.create(
        model="local/tiny", training_file="local://datasets/broken.jsonl")
    done, _ = wait(client, job.id, ("failed", "succeeded"))
    assert done.status == "failed"
    assert done.error.code == "invalid_training_file"
    assert done.vendor["error_code"] == "file.format"


def test_missing_dataset_fails_with_the_reason(local_gateway):
    client = local_gateway.sdk()
    job = client.fine_tuning.jobs.create(
        model="local/tiny", training_file="local://datasets/nothing.jsonl")
    done, _ = wait(client, job.id, ("failed", "succeeded"))
    assert done.status == "failed"
    assert done.error.code == "training_file_not_found"


@pytest.mark.parametrize("body,param,code", [
    ({"model": "local/llama-70b"}, "model", "unsupported_value"),
    ({"training_file": "s3://bucket/x.jsonl"}, "training_file",
     "invalid_value"),
    ({"training_file": "local://datasets/../etc/passwd"}, "training_file",
     "invalid_value"),
    ({"hyperparameters": {"n_epochs": 0}}, "hyperparameters.n_epochs",
     "invalid_value"),
    ({"tuning": {"task_type": "classification"}}, "tuning.task_type",
     "unsupported_value"),
    # the job's comment keeps at most 760 bytes of metadata
    ({"metadata": {f"k{i}": "v" * 60 for i in range(15)}}, "metadata",
     "invalid_value"),
    ({"integrations": [{"type": "wandb", "wandb": {"project": "p"}}]},
     "integrations", "unsupported_parameter"),
])
def test_refused_before_slurm(local_gateway, body, param, code):
    full = {"model": "local/tiny",
            "training_file": "local://datasets/chat.jsonl", **body}
    r = local_gateway.call("POST", "/v1/fine_tuning/jobs", json=full)
    assert r.status_code == 400, r.text
    err = error_of(r)
    assert (err["param"], err["code"]) == (param, code)


def test_foreign_and_unknown_jobs(local_gateway):
    job = local_gateway.sdk("alice").fine_tuning.jobs.create(
        model="local/tiny", training_file="local://datasets/chat.jsonl",
        hyperparameters={"n_epochs": 1})
    with pytest.raises(openai.NotFoundError):
        local_gateway.sdk("bob").fine_tuning.jobs.retrieve(job.id)
    assert job.id not in [j.id for j in
                          local_gateway.sdk("bob").fine_tuning.jobs.list()]


def test_idempotent_create_makes_one_slurm_job(local_gateway,
                                               slurm_cluster):  # noqa: F811
    """20 creates at once with one Idempotency-Key: Slurm's own job list
    holds one job with the suffix, and every answer is the same."""
    from concurrent.futures import ThreadPoolExecutor
    import uuid

    suffix = "idem-" + uuid.uuid4().hex[:8]
    body = {"model": "local/tiny",
            "training_file": "local://datasets/chat.jsonl",
            "suffix": suffix, "hyperparameters": {"n_epochs": 1}}

    def post(_):
        return local_gateway.call("POST", "/v1/fine_tuning/jobs", json=body,
                                  headers={"Idempotency-Key": suffix})

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(post, range(20)))
    assert [r.status_code for r in answers] == [200] * 20
    assert len({r.content for r in answers}) == 1
    names = slurm_cluster.run("squeue", "-h", "--states=all",
                              "-o", "%j").stdout.split()
    assert len([n for n in names if f".{suffix}-" in n]) == 1, names
    # leave the cluster idle for the next test; a job done already stays
    r = local_gateway.call(
        "POST", f"/v1/fine_tuning/jobs/{answers[0].json()['id']}/cancel")
    assert r.status_code in (200, 409), r.text
