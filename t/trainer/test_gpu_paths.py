"""What the GPU work added, checked on the CPU: install.sh's choice of the
torch build (with a fake nvidia-smi), the ftgw-trainer wrapper, data
parallel training with two processes (gloo), length-grouped batches,
gradient checkpointing, torch.compile's fallback on torch 1.13, and the
tokens/s and MFU figures of the progress reports.

The CUDA code paths themselves (NCCL, bf16 autocast on a GPU, fused AdamW,
torch.compile) can't run here: see docs/trainer.md."""

from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from trainer_helpers import ROOT, result, trainer_env, write_jsonl

from trainer.cli import main
from trainer.perf import GPU_PEAKS, grouped_batches, peak_flops, step_flops

INSTALL = ROOT / "trainer" / "install.sh"
VENV_BIN = Path(sys.executable).parent


def _progress(spec_path: str) -> list[dict]:
    out = Path(json.loads(Path(spec_path).read_text())["output_dir"])
    return [json.loads(line)
            for line in (out / "progress.jsonl").read_text().splitlines()]


# ---- install.sh: which torch ----------------------------------------------
def _fake_smi(tmp_path: Path, body: str) -> dict:
    d = tmp_path / "bin"
    d.mkdir(exist_ok=True)
    smi = d / "nvidia-smi"
    smi.write_text("#!/bin/sh\n" + body + "\n")
    smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ)
    env["PATH"] = f"{d}:{env['PATH']}"
    env.pop("FTGW_TORCH", None)
    return env


def _plan(tmp_path, env, *extra) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(INSTALL), str(tmp_path / "venv"),
                           "--print-plan", *extra], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60)


def test_install_plan_cuda_when_nvidia_smi_lists_a_gpu(tmp_path):
    env = _fake_smi(tmp_path, 'echo "GPU 0: NVIDIA H100 80GB HBM3 '
                    '(UUID: GPU-1)"; echo "GPU 1: NVIDIA H100 80GB HBM3 '
                    '(UUID: GPU-2)"')
    r = _plan(tmp_path, env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "torch: cuda (nvidia-smi -L lists 2 GPU(s))"
    assert "plain venv" in lines[1]
    pip = [x for x in lines if x.startswith("pip install")]
    assert pip[0].startswith(
        "pip install --no-deps -r trainer/requirements-cuda.txt: "
        "torch==2.5.1 ")
    assert "nvidia-nccl-cu12==" in pip[0]
    assert pip[1].startswith("pip install --no-deps -r "
                             "trainer/requirements.txt: transformers==")
    assert not (tmp_path / "venv").exists()      # a plan changes nothing


@pytest.mark.parametrize("body, why", [
    ("echo 'NVIDIA-SMI has failed because it couldn'\"'\"'t communicate "
     "with the NVIDIA driver' >&2; exit 9", "nvidia-smi lists no GPU"),
    ("echo 'No devices found.'; exit 6", "nvidia-smi lists no GPU"),
])
def test_install_plan_cpu_when_nvidia_smi_has_no_gpu(tmp_path, body, why):
    r = _plan(tmp_path, _fake_smi(tmp_path, body))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"torch: cpu ({why})"
    assert "--system-site-packages" in lines[1]
    pip = [x for x in lines if x.startswith("pip install")]
    assert len(pip) == 1 and "requirements.txt" in pip[0]
    assert "torch==" not in r.stdout


def test_install_plan_ftgw_torch_overrides(tmp_path):
    env = _fake_smi(tmp_path, 'echo "GPU 0: NVIDIA A100-SXM4-80GB"')
    env["FTGW_TORCH"] = "cpu"
    r = _plan(tmp_path, env, "--test")
    assert r.stdout.splitlines()[0] == "torch: cpu (FTGW_TORCH=cpu)"
    assert "requirements-test.txt" in r.stdout
    env = _fake_smi(tmp_path, "exit 9")
    env["FTGW_TORCH"] = "cuda"
    r = _plan(tmp_path, env)
    assert r.stdout.splitlines()[0] == "torch: cuda (FTGW_TORCH=cuda)"
    env["FTGW_TORCH"] = "gpu"
    r = _plan(tmp_path, env)
    assert r.returncode == 64
    assert "FTGW_TORCH must be auto, cpu, cuda or system" in r.stderr
    env["FTGW_TORCH"] = "system"
    env["FTGW_PYTHON"] = "/usr/bin/python3"
    r = _plan(tmp_path, env)
    lines = r.stdout.splitlines()
    assert lines[0] == "torch: system (FTGW_TORCH=system)"
    assert lines[1].endswith("venv with --system-site-packages over "
                             "/usr/bin/python3 and its torch")
    assert "requirements-cuda" not in r.stdout


def test_install_plan_says_this_venv_is_ready():
    """The venv these tests run in was made by install.sh --test with no
    GPU: the plan for it is 'ready'."""
    env = dict(os.environ, FTGW_TORCH="cpu")
    r = subprocess.run(["bash", str(INSTALL), str(VENV_BIN.parent),
                        "--test", "--print-plan"], env=env, text=True,
                       stdout=subprocess.PIPE, timeout=60)
    assert r.stdout.splitlines()[-1].endswith("is ready (nothing to do)")


def test_install_refuses_to_switch_a_cpu_venv_to_cuda(tmp_path):
    v = tmp_path / "venv"
    v.mkdir()
    (v / "pyvenv.cfg").write_text("include-system-site-packages = true\n")
    env = _fake_smi(tmp_path, "exit 9")
    env["FTGW_TORCH"] = "cuda"
    # python3-venv is installed on any machine that ran install.sh, so
    # nothing is installed before the check
    r = subprocess.run(["bash", str(INSTALL), str(v)], env=env, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert r.returncode == 1
    assert "was made for the cpu torch, not the cuda one" in r.stderr


def test_cuda_requirements_pin_everything():
    pins = {}
    for f in ("requirements-cuda.txt", "requirements.txt"):
        for line in (ROOT / "trainer" / f).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line:
                name, _, version = line.partition("==")
                assert version, f"{f}: {line} is not pinned"
                assert name.lower() not in pins, f"{name} pinned twice"
                pins[name.lower()] = version
    assert pins["torch"] == "2.5.1" and pins["transformers"] == "4.49.0"
    for dep in ("triton", "nvidia-cudnn-cu12", "sympy", "numpy",
                "typing_extensions", "requests", "psutil", "pyyaml"):
        assert dep in pins


# ---- the wrapper ------------------------------------------------------------
def test_wrapper_rejects_a_bad_gpu_count():
    r = subprocess.run([str(VENV_BIN / "ftgw-trainer"), "--help"],
                       env=dict(os.environ, FTGW_GPUS="two"), text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert r.returncode == 2 and "FTGW_GPUS must be a number" in r.stderr


def _varied_file(tmp_path: Path, n: int = 48) -> str:
    """Examples of very different lengths (1 to 12 words)."""
    r = random.Random(3)
    words = ["apple", "river", "stone", "cloud", "green", "quick"]
    recs = []
    for i in range(n):
        k = 1 + (i * 7) % 12
        text = " ".join(r.choice(words) for _ in range(k))
        recs.append({"messages": [
            {"role": "user", "content": f"repeat {text}"},
            {"role": "assistant", "content": text}]})
    return write_jsonl(tmp_path / "train.jsonl", recs)


def test_data_parallel_two_processes(make_spec, tmp_path):
    """FTGW_GPUS=2 on the wrapper: torchrun starts two trainers (gloo on
    the CPU).  Each step's batch is split between them, so the losses are
    those of one process, and only rank 0 writes."""
    _varied_file(tmp_path)
    lora = {"rank": 4, "alpha": 8, "dropout": 0.0,
            "initialization": "gaussian"}
    one = make_spec(n_epochs=2, batch_size=8, micro_batch_size=3,
                    validation_split=0.1, lora=lora,
                    output_dir=str(tmp_path / "one"))
    env = trainer_env()
    env.pop("FTGW_GPUS", None)
    r1 = subprocess.run([str(VENV_BIN / "ftgw-trainer"), "--spec", one,
                         "--progress-interval", "0"], env=env, cwd=tmp_path,
                        text=True, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, timeout=300)
    assert r1.returncode == 0, r1.stdout
    a = result(one)
    (tmp_path / "spec.json").rename(tmp_path / "spec-one.json")

    two = make_spec(n_epochs=2, batch_size=8, micro_batch_size=3,
                    validation_split=0.1, lora=lora,
                    output_dir=str(tmp_path / "two"))
    env["FTGW_GPUS"] = "2"
    env["OMP_NUM_THREADS"] = "1"
    r2 = subprocess.run([str(VENV_BIN / "ftgw-trainer"), "--spec", two,
                         "--progress-interval", "0",
                         "--progress-file", str(tmp_path / "p.json")],
                        env=env, cwd=tmp_path, text=True,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        timeout=300)
    assert r2.returncode == 0, r2.stdout
    b = result(two)
    assert b["status"] == "succeeded"
    assert b["metrics"]["world_size"] == 2
    assert a["metrics"]["world_size"] == 1
    # the same update: the same losses, step by step (float sums in
    # another order, so not to the last bit)
    assert b["metrics"]["total_steps"] == a["metrics"]["total_steps"]
    assert b["step_losses"] == pytest.approx(a["step_losses"], rel=2e-3)
    assert b["metrics"]["val_loss"] == pytest.approx(
        a["metrics"]["val_loss"], rel=2e-3)
    assert b["step_losses"][-1] < b["step_losses"][0]
    assert b["metrics"]["train_tokens"] == a["metrics"]["train_tokens"]
    # rank 0 alone reports and prints: each step once, one "done"
    steps = [p["s"] for p in _progress(two)]
    assert steps == sorted(steps) and steps.count(1) == 1
    assert r2.stdout.count("trainer: done:") == 1
    assert r2.stdout.count("2 data-parallel processes") == 1
    assert json.loads((tmp_path / "p.json").read_text())["s"] == steps[-1]
    assert sorted(os.listdir(tmp_path / "two")) == [
        "checkpoint-epoch-1", "checkpoint-epoch-2", "final",
        "progress.jsonl", "result.json"]


# ---- batching, checkpointing, compile ---------------------------------------
def test_length_grouped_batches_pad_less(make_spec, tmp_path):
    _varied_file(tmp_path)
    base = dict(n_epochs=2, batch_size=4, learning_rate=0.02)
    plain = make_spec(**base, output_dir=str(tmp_path / "plain"))
    assert main(["--spec", plain]) == 0
    grouped = make_spec(**base, group_by_length=True,
                        output_dir=str(tmp_path / "grouped"))
    assert main(["--spec", grouped]) == 0
    ra = json.loads((tmp_path / "plain" / "result.json").read_text())
    rb = json.loads((tmp_path / "grouped" / "result.json").read_text())
    a, b = ra["metrics"], rb["metrics"]
    assert ra["options"]["group_by_length"] is False
    assert rb["options"]["group_by_length"] is True
    assert b["train_tokens"] == a["train_tokens"]     # every example used
    assert a["padding_fraction"] > 0.2
    assert b["padding_fraction"] < a["padding_fraction"] / 2
    assert 1 - b["train_tokens"] / b["padded_tokens"] == pytest.approx(
        b["padding_fraction"])
    assert rb["step_losses"][-1] < rb["step_losses"][0]


def test_grouped_batches_cover_every_example():
    lengths = [random.Random(i).randint(1, 500) for i in range(1003)]
    batches = grouped_batches(lengths, 8, random.Random(0), mega=4)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(1003))
    assert all(len(b) == 8 for b in batches[:-1]) and len(batches[-1]) == 3
    # within a batch the lengths are close: far less spread than at random
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b)
                 for b in batches) / len(batches)
    assert spread < 150
    again = grouped_batches(lengths, 8, random.Random(0), mega=4)
    assert again == batches
    assert grouped_batches(lengths, 8, random.Random(1), mega=4) != batches


def test_gradient_checkpointing_same_losses(make_spec, train_file, tmp_path):
    base = dict(n_epochs=1, batch_size=8,
                lora={"rank": 4, "alpha": 8, "dropout": 0.0,
                      "initialization": "gaussian"})
    a = make_spec(**base, output_dir=str(tmp_path / "a"))
    assert main(["--spec", a]) == 0
    b = make_spec(**base, output_dir=str(tmp_path / "b"))
    assert main(["--spec", b, "--gradient-checkpointing"]) == 0
    ra, rb = result(a), result(b)
    assert rb["spec"]["gradient_checkpointing"] is True
    assert rb["options"]["gradient_checkpointing"] is True
    assert rb["step_losses"] == pytest.approx(ra["step_losses"], rel=1e-4)


def test_gradient_checkpointing_full_gpt2(make_spec, train_file, tiny_gpt2,
                                          tmp_path):
    spec = make_spec(model_dir=tiny_gpt2, tuning_type="full",
                     gradient_checkpointing=True, learning_rate=0.01)
    assert main(["--spec", spec]) == 0
    r = result(spec)
    assert r["status"] == "succeeded"
    assert r["step_losses"][-1] < r["step_losses"][0]


def test_compile_is_skipped_on_torch_1(make_spec, train_file, capsys):
    spec = make_spec(compile=True)
    assert main(["--spec", spec]) == 0
    r = result(spec)
    if torch.__version__.startswith("1."):
        assert r["options"]["compile"] is False
        assert "has no torch.compile (it needs torch 2): not compiled" in \
            capsys.readouterr().out
    else:                                       # not run on this machine
        assert r["options"]["compile"] is True


def test_spec_rejects_non_boolean_options(make_spec, train_file, tmp_path,
                                          capsys):
    spec = make_spec(group_by_length="yes")
    assert main(["--spec", spec, "--progress-file",
                 str(tmp_path / "p.json")]) == 2
    assert json.loads((tmp_path / "p.json").read_text()) == {
        "err": "spec.invalid", "msg": "group_by_length must be true or false"}


# ---- tokens/s and MFU -------------------------------------------------------
def test_progress_has_tokens_per_second_no_mfu_on_cpu(make_spec, train_file,
                                                      monkeypatch):
    monkeypatch.delenv("FTGW_PEAK_TFLOPS", raising=False)
    spec = make_spec(n_epochs=1, batch_size=4)
    assert main(["--spec", spec, "--progress-interval", "0"]) == 0
    reports = _progress(spec)
    assert "tps" not in reports[0]           # step 0: nothing measured yet
    later = reports[1:]
    assert later and all(p["tps"] > 0 for p in later)
    assert not any("mfu" in p for p in reports)
    m = result(spec)["metrics"]
    assert m["mfu"] is None and m["peak_flops"] is None
    assert m["tokens_per_second"] == pytest.approx(
        m["train_tokens"] / m["train_seconds"])
    assert m["peak_rss_bytes"] > 50 * 2 ** 20
    assert m["peak_gpu_memory_bytes"] is None


def test_mfu_with_a_peak_override(make_spec, train_file, monkeypatch):
    monkeypatch.setenv("FTGW_PEAK_TFLOPS", "0.001")     # 1 GFLOP/s
    spec = make_spec(n_epochs=1, batch_size=4, tuning_type="full",
                     learning_rate=0.01)
    assert main(["--spec", spec, "--progress-interval", "0"]) == 0
    r = result(spec)
    m = r["metrics"]
    assert m["peak_flops"] == 1e9
    assert m["mfu"] == pytest.approx(
        m["model_flops"] / m["train_seconds"] / 1e9)
    # full fine-tuning: 6 N a token plus the attention term
    assert m["model_flops"] > 6 * m["parameters"] * m["train_tokens"]
    # ... at most 12 layers hidden len a token for attention (2 layers of
    # 16 in the tiny model)
    assert m["model_flops"] <= m["train_tokens"] * (
        6 * m["parameters"] + 12 * 2 * 16 * m["longest_example_tokens"])
    last = _progress(spec)[-1]
    assert 0 < last["mfu"] and last["tps"] > 0
    assert len(json.dumps(last, separators=(",", ":"))) <= 200


def test_model_flops_formula():
    # LoRA: forward and activation gradients over all N, weight gradients
    # over the trainable ones only
    n, t = 1_000_000, 1000
    assert step_flops([10, 20], n, t, 0, 0) == (4 * n + 2 * t) * 30
    assert step_flops([10, 20], n, n, 0, 0) == 6 * n * 30
    assert step_flops([10], n, n, 2, 8) == 6 * n * 10 + 12 * 2 * 8 * 100


def test_peak_table():
    assert peak_flops("NVIDIA H100 80GB HBM3", True) == 989e12
    assert peak_flops("NVIDIA H100 PCIe", True) == 756e12
    assert peak_flops("NVIDIA A100-SXM4-80GB", False) == 156e12
    assert peak_flops("NVIDIA L4", True) == 121e12
    assert peak_flops("NVIDIA L40S", True) == 362e12
    assert peak_flops("Some Future GPU", True) is None
    assert peak_flops(None, True) is None
    assert peak_flops(None, False, 2.5) == 2.5e12
    assert all(bf > tf for _, bf, tf in GPU_PEAKS)
