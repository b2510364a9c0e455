"""GPU jobs on the local engine: the gateway's `slurm` provider with
`gpus=` and `max_gpus=` in front of a real single-node Slurm whose node
declares stand-in GPUs (slurm/up.sh's SLURM_FAKE_GPUS: links to /dev/null
as device files, so Slurm schedules and allocates them on a machine
without any).  A job's GPUs come from `tuning.gpus` or the provider's
default; Slurm must allocate them, the batch script must export
FTGW_GPUS, and the trainer still trains (on the CPU) with one."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import openai
import pytest

from conftest import _slurm_internal, _start, Gateway, error_of
from test_local import engine_root, trainer_venv, wait  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parent / "slurm"))
from slurmrest import FAKE_GPUS, slurm_gpu_cluster  # noqa: E402,F401

# the provider: one GPU unless a job asks, at most FAKE_GPUS; "big" lets a
# job ask for more than the node has
MAX = FAKE_GPUS
SUBMIT = "POST /slurm/v0.0.38/job/submit"


@pytest.fixture(scope="module")
def gpu_engine(trainer_venv, slurm_gpu_cluster):  # noqa: F811
    root = engine_root(trainer_venv, "ftgw-gpu-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def gpu_gateway(workdir, gpu_engine, slurm_gpu_cluster,  # noqa: F811
                trainer_venv):  # noqa: F811
    prefix = workdir / "gpu-gateway"
    prefix.mkdir()
    common = f"""models=tiny:{gpu_engine}/models/tiny
                  dataset_root={gpu_engine}/datasets
                  output_root={gpu_engine}/out
                  trainer={trainer_venv}/bin/ftgw-trainer
                  partition=gpu time_limit=30"""
    providers = f"""
    ftgw_provider local kind=slurm endpoint=/_ftgw/local
                  {common} gpus=1 max_gpus={MAX};
    ftgw_provider big kind=slurm endpoint=/_ftgw/big
                  {common} max_gpus={FAKE_GPUS + 2};"""
    locations = "".join(_slurm_internal(name, slurm_gpu_cluster.socket_path)
                        for name in ("local", "big"))
    nginx = _start(prefix, providers, locations)
    yield Gateway(nginx, {})
    nginx.stop()
    assert nginx.log_problems() == []


def submits(cluster) -> int:
    """How many job submits slurmrestd has served."""
    log = cluster.state_dir / "log" / "slurmrestd.log"
    return log.read_text(errors="replace").count(SUBMIT)


def show_job(cluster, job_id: str) -> dict:
    """scontrol -d show job, as KEY=VALUE (the first of each key)."""
    p = cluster.run("scontrol", "-d", "-o", "show", "job", job_id)
    assert p.returncode == 0, p.stderr
    fields: dict = {}
    for word in p.stdout.split():
        key, _, value = word.partition("=")
        fields.setdefault(key, value)
    return fields


def batch_script(cluster, job_id: str) -> str:
    p = cluster.run("scontrol", "write", "batch_script", job_id, "-")
    assert p.returncode == 0, p.stderr
    return p.stdout


def create(gw, suffix: str, n_epochs: int, model="local/tiny", **tuning):
    return gw.sdk().fine_tuning.jobs.create(
        model=model, training_file="local://datasets/chat.jsonl",
        suffix=suffix, hyperparameters={"n_epochs": n_epochs,
                                        "batch_size": 8},
        extra_body={"tuning": {"learning_rate": 5e-2, **tuning}})


def cancel_and_wait(gw, slurm_gpu_cluster, job):  # noqa: F811
    gw.sdk().fine_tuning.jobs.cancel(job.id)
    wait(gw.sdk(), job.id, ("cancelled", "failed", "succeeded"), timeout=60)
    for _ in range(60):          # the node's GPUs and CPUs free again
        if not slurm_gpu_cluster.run("squeue", "-h").stdout.strip():
            return
        time.sleep(0.5)


def test_the_provider_default_gpu_job_trains(gpu_gateway,
                                             slurm_gpu_cluster):  # noqa: F811
    """No tuning.gpus: the provider's gpus=1.  Slurm allocates one GPU,
    the script exports FTGW_GPUS=1, and the trainer trains to the end."""
    job = create(gpu_gateway, "gdef", 2)
    assert job.vendor["gpus"] == 1
    job_id = job.vendor["job_id"]
    assert "\nexport FTGW_GPUS=1\n" in batch_script(slurm_gpu_cluster,
                                                    job_id)
    f = show_job(slurm_gpu_cluster, job_id)
    assert f["TresPerNode"] == "gres:gpu:1"
    assert f["NumCPUs"] == "1"

    running, _ = wait(gpu_gateway.sdk(), job.id, ("running", "succeeded",
                                                  "failed"))
    f = show_job(slurm_gpu_cluster, job_id)
    if f["JobState"] == "RUNNING":          # GRES: what the node gave it
        assert f["GRES"] == "gpu:1(IDX:0)", f

    done, _ = wait(gpu_gateway.sdk(), job.id, ("succeeded", "failed"))
    assert done.status == "succeeded", done.error
    assert done.vendor["gpus"] == 1
    assert done.vendor["progress"]["epoch"] == 2
    assert Path(done.fine_tuned_model, "adapter_config.json").exists()
    assert show_job(slurm_gpu_cluster, job_id)["TresPerNode"] == \
        "gres:gpu:1"


def test_a_job_asks_for_two_gpus(gpu_gateway,
                                 slurm_gpu_cluster):  # noqa: F811
    """tuning.gpus=2 (the maximum): two GPUs and two CPUs, FTGW_GPUS=2.
    Only the allocation is checked: a data-parallel run is the trainer's
    (torchrun); the job is cancelled."""
    job = create(gpu_gateway, "g2", 500, gpus=2)
    try:
        assert job.vendor["gpus"] == 2
        job_id = job.vendor["job_id"]
        assert "\nexport FTGW_GPUS=2\n" in batch_script(slurm_gpu_cluster,
                                                        job_id)
        wait(gpu_gateway.sdk(), job.id, ("running", "failed", "succeeded"))
        f = show_job(slurm_gpu_cluster, job_id)
        assert f["JobState"] == "RUNNING", f
        assert f["TresPerNode"] == "gres:gpu:2"
        assert f["GRES"] == "gpu:2(IDX:0-1)"
        assert f["NumCPUs"] == "2"
        got = gpu_gateway.sdk().fine_tuning.jobs.retrieve(job.id)
        assert got.vendor["gpus"] == 2
    finally:
        cancel_and_wait(gpu_gateway, slurm_gpu_cluster, job)


def test_a_job_asks_for_none(gpu_gateway, slurm_gpu_cluster):  # noqa: F811
    job = create(gpu_gateway, "g0", 500, gpus=0)
    try:
        assert job.vendor["gpus"] == 0
        job_id = job.vendor["job_id"]
        assert "\nexport FTGW_GPUS=0\n" in batch_script(slurm_gpu_cluster,
                                                        job_id)
        f = show_job(slurm_gpu_cluster, job_id)
        assert "TresPerNode" not in f, f
    finally:
        cancel_and_wait(gpu_gateway, slurm_gpu_cluster, job)


def test_over_the_maximum_is_refused_before_slurm(
        gpu_gateway, slurm_gpu_cluster):  # noqa: F811
    before = submits(slurm_gpu_cluster)
    r = gpu_gateway.call("POST", "/v1/fine_tuning/jobs", json={
        "model": "local/tiny", "training_file": "local://datasets/chat.jsonl",
        "tuning": {"gpus": MAX + 1}})
    assert r.status_code == 400, r.text
    err = error_of(r)
    assert (err["type"], err["param"], err["code"]) == (
        "invalid_request_error", "tuning.gpus", "invalid_value")
    assert err["message"] == (
        f"tuning.gpus must be at most {MAX}: provider 'local' gives a job "
        f"at most {MAX} GPUs (max_gpus)")
    with pytest.raises(openai.BadRequestError):
        create(gpu_gateway, "over", 1, gpus=MAX + 1)
    assert submits(slurm_gpu_cluster) == before


def test_more_gpus_than_the_node_has(gpu_gateway,
                                     slurm_gpu_cluster):  # noqa: F811
    """Within the provider's maximum, over the node's: Slurm refuses the
    submit (2014), and the client gets a 400 naming tuning.gpus."""
    before = submits(slurm_gpu_cluster)
    with pytest.raises(openai.BadRequestError) as e:
        create(gpu_gateway, "toomany", 1, model="big/tiny",
               gpus=FAKE_GPUS + 1)
    assert submits(slurm_gpu_cluster) == before + 1
    err = e.value.body
    assert (err["type"], err["param"], err["code"]) == (
        "invalid_request_error", "tuning.gpus", "slurm_2014")
    assert err["message"] == (
        "provider 'big' (slurmrestd) answered HTTP 500, error 2014: "
        "Requested node configuration is not available (the job asked for "
        f"{FAKE_GPUS + 1} GPUs on one node of partition 'gpu')")
    # slurmctld keeps a record of the refused job (FAILED, BadConstraints)
    # for MinJobAge, so the client's list shows it, failed, saying why
    # (once per provider: both of this gateway's front the one cluster)
    (listed,) = [j for j in gpu_gateway.sdk().fine_tuning.jobs.list(limit=50)
                 if ".toomany-" in j.vendor["name"]
                 and j.vendor["provider"] == "big"]
    assert listed.status == "failed"
    assert listed.vendor["status"] == "FAILED"
    assert listed.error.code == "unschedulable"
    assert "(BadConstraints)" in listed.error.message
