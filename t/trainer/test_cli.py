"""The command: progress through --progress-cmd, exit codes and failure
reasons (spec, model, out of memory, other errors, cancellation), the spec
checks, the progress JSON's size."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from trainer_helpers import ROOT, result, trainer_env, write_jsonl

from trainer import spec as specmod
from trainer.cli import main
from trainer.errors import TrainerError
from trainer.progress import MAX_BYTES, command, failure_json
from trainer.schedule import lr_at
from trainer.train import Engine


def _run(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "trainer", *args],
                          cwd=ROOT, env=trainer_env(), timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)


def test_progress_cmd_like_scontrol(make_spec, train_file, tmp_path):
    """`scontrol update JobId=N Comment=` is the real prefix: the JSON is
    glued to the last word.  Here `echo` writes it into a file."""
    log = tmp_path / "comments.txt"
    spec = make_spec(n_epochs=2, batch_size=10)
    cmd = f"sh -c 'echo \"$0\" >> {log}' Comment="
    r = _run("--spec", spec, "--progress-cmd", cmd,
             "--progress-file", str(tmp_path / "p.json"),
             "--progress-interval", "0")
    assert r.returncode == 0, r.stdout
    lines = log.read_text().splitlines()
    assert all(x.startswith("Comment={") for x in lines)
    reports = [json.loads(x[len("Comment="):]) for x in lines]
    assert all(len(x.encode()) - len("Comment=") <= MAX_BYTES
               for x in lines)
    steps = [p["s"] for p in reports]
    assert steps[0] == 0 and steps == sorted(steps) and steps[-1] == 8
    assert len(set(steps)) == 9          # every step reported
    assert all(p["S"] == 8 and p["E"] == 2 for p in reports)
    last = reports[-1]
    assert last["e"] == 2 and last["c"] == 2 and last["l"] > 0
    assert last["eta"] <= time.time() + 1
    # steps 4 and 8 end an epoch (one more report each), 8 the run (one more)
    assert [p["e"] for p in reports if p["s"] in (1, 4, 5, 8)] == [
        1, 1, 1, 2, 2, 2, 2]
    assert json.loads((tmp_path / "p.json").read_text()) == last


def test_metadata_rides_in_every_report(make_spec, train_file, tmp_path):
    """The job's metadata stays readable in the Slurm comment, which each
    report replaces: every report carries it as "md"."""
    log = tmp_path / "comments.txt"
    md = {"team": "a", "ticket": "ML-42 \u00e9"}
    spec = make_spec(n_epochs=1, batch_size=10, metadata=md)
    r = _run("--spec", spec, "--progress-cmd",
             f"sh -c 'echo \"$0\" >> {log}' Comment=",
             "--progress-interval", "0")
    assert r.returncode == 0, r.stdout
    reports = [json.loads(x[len("Comment="):])
               for x in log.read_text().splitlines()]
    assert reports and all(p["md"] == md for p in reports)
    assert all(len(json.dumps({k: v for k, v in p.items() if k != "md"},
                              separators=(",", ":"), ensure_ascii=False)
                   .encode()) <= MAX_BYTES for p in reports)


def test_progress_cmd_gets_the_failure(tmp_path):
    log = tmp_path / "comments.txt"
    bad = write_jsonl(tmp_path / "d.jsonl", ['{"messages": ['])
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"model_dir": "/nonexistent",
                                "output_dir": str(tmp_path / "out"),
                                "training_files": [{"path": bad}]}))
    r = _run("--spec", str(spec), "--progress-cmd",
             f"sh -c 'echo \"$0\" >> {log}'")
    assert r.returncode == 2
    err = json.loads(log.read_text())
    assert err["err"] == "file.format"
    assert err["msg"].startswith("Invalid json format. ")
    assert "file.format" in r.stdout


def test_sigterm_cancels(make_spec, train_file, tmp_path):
    progress = tmp_path / "p.json"
    spec = make_spec(n_epochs=1000, batch_size=2)
    p = subprocess.Popen([sys.executable, "-m", "trainer", "--spec", spec,
                          "--progress-file", str(progress),
                          "--progress-interval", "0"],
                         cwd=ROOT, env=trainer_env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if progress.exists() and json.loads(
                    progress.read_text() or "{}").get("s", 0) >= 3:
                break
            time.sleep(0.1)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 143
    finally:
        if p.poll() is None:
            p.kill()
    assert json.loads(progress.read_text())["err"] == "cancelled"
    assert result(spec)["status"] == "cancelled"


def test_wrapper_and_script_entry_points(make_spec, train_file):
    spec = make_spec()
    r = subprocess.run([sys.executable, str(ROOT / "trainer" / "train.py"),
                        "--spec", spec, "--check-only"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60, cwd="/")
    assert r.returncode == 0, r.stdout
    assert "40 training examples" in r.stdout


# ---- failures found while training (in process) ---------------------------

@pytest.mark.parametrize("exc,code,reason", [
    (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), 3,
     "resource.oom"),
    (RuntimeError("[enforce fail at alloc_cpu.cpp:75] DefaultCPUAllocator: "
                  "can't allocate memory: you tried to allocate 1 bytes"),
     3, "resource.oom"),
    (MemoryError(), 3, "resource.oom"),
    (ValueError("something else"), 1, "train.unknown"),
])
def test_training_failures(make_spec, train_file, tmp_path, monkeypatch,
                           exc, code, reason):
    def boom(self, *a):
        raise exc
    monkeypatch.setattr(Engine, "_forward", boom)
    progress = tmp_path / "p.json"
    spec = make_spec()
    assert main(["--spec", spec, "--progress-file", str(progress)]) == code
    err = json.loads(progress.read_text())
    assert err["err"] == reason
    r = result(spec)
    assert r["status"] == "failed" and r["error"]["reason"] == reason
    if reason == "resource.oom":
        assert "batch_size" in err["msg"]


def test_model_noexist_and_invalid(make_spec, train_file, tmp_path):
    spec = make_spec(model_dir=str(tmp_path / "nope"))
    assert main(["--spec", spec]) == 2
    assert result(spec)["error"]["reason"] == "model.noexist"
    bad = tmp_path / "bad-model"
    bad.mkdir()
    (bad / "config.json").write_text('{"model_type": "no-such-type"}')
    spec = make_spec(model_dir=str(bad))
    assert main(["--spec", spec]) == 2
    assert result(spec)["error"]["reason"] == "model.invalid"


def test_unknown_target_module(make_spec, train_file):
    spec = make_spec(lora={"target_modules": ["no_such_proj"]})
    assert main(["--spec", spec]) == 2
    err = result(spec)["error"]
    assert err["reason"] == "spec.invalid"
    assert "no_such_proj" in err["message"]


# ---- the spec ------------------------------------------------------------
def _spec(**kw):
    base = {"model_dir": "m", "output_dir": "o",
            "training_files": [{"path": "t.jsonl"}]}
    base.update(kw)
    return specmod.parse(base, "/base")


def test_spec_defaults_and_paths():
    s = _spec()
    assert s.model_dir == "/base/m" and s.output_dir == "/base/o"
    assert s.training_files[0].path == "/base/t.jsonl"
    assert (s.tuning_type, s.n_epochs, s.batch_size, s.seed) == (
        "lora", 3, 8, 42)
    assert s.learning_rate == 2e-4 and s.scheduler.type == "linear"
    s = _spec(prompt_tuning={"virtual_tokens": 7},
              learning_rate_multiplier=2)
    assert s.tuning_type == "prompt_tuning" and s.virtual_tokens == 7
    assert s.learning_rate == pytest.approx(0.06)
    s = _spec(lora={}, n_epochs=3.0, optimizer={"type": "adamw",
                                                "beta2": 0.95})
    assert s.n_epochs == 3 and s.optimizer.beta2 == 0.95


@pytest.mark.parametrize("kw,message", [
    ({"n_epochs": 0}, "n_epochs must be an integer between 1 and 1000"),
    ({"n_epochs": 2.5}, "n_epochs must be an integer between 1 and 1000"),
    ({"batch_size": True}, "batch_size must be an integer between 1 and "
                           "65536"),
    ({"learning_rate": 0}, "learning_rate must be a number with 0 < x <= 1"),
    ({"lora": {"rank": 0}}, "lora.rank must be an integer between 1 and "
                            "1024"),
    ({"lora": {"dropout": 1}}, "lora.dropout must be a number with "
                               "0 <= x < 1"),
    ({"lora": {"initialization": "magic"}}, "lora.initialization must be "
     "one of default, gaussian, pissa, pissa_niter_<n>, olora, random"),
    ({"prompt_tuning": {"virtual_tokens": 10001}},
     "prompt_tuning.virtual_tokens must be an integer between 1 and 10000"),
    ({"lora": {}, "prompt_tuning": {}},
     "lora and prompt_tuning can't be given together"),
    ({"tuning_type": "full", "lora": {}},
     "lora is given with a tuning_type other than lora"),
    ({"scheduler": {"min_lr": 0}}, "scheduler.type is required"),
    ({"scheduler": {"type": "step"}}, "scheduler.type must be one of "
                                      "linear, constant, cosine"),
    ({"scheduler": {"type": "linear", "warmup_ratio": 1.5}},
     "scheduler.warmup_ratio must be a number with 0 <= x <= 1"),
    ({"optimizer": {"eps": 0}}, "optimizer.eps must be a number with x > 0"),
    ({"validation_split": 1}, "validation_split must be a number with "
                              "0 <= x < 1"),
    ({"training_files": []}, "training_files must be an array of 1 to 8 "
                             "objects"),
    ({"training_files": [{"path": "a", "weight": 2}]},
     "training_files[0].weight must be a number with 0 < x <= 1"),
    ({"task_type": "classification"}, "task_type must be generation (the "
     "local trainer tunes causal language models)"),
    ({"colour": 1}, "unknown key colour"),
    ({"metadata": {"k": 1}}, "metadata must be at most 16 pairs of strings"),
    ({"metadata": {f"k{i}": "v" for i in range(17)}},
     "metadata must be at most 16 pairs of strings"),
    ({"metadata": {f"k{i}": "v" * 60 for i in range(15)}},
     "metadata must be at most 760 bytes of JSON"),
])
def test_spec_errors(kw, message):
    with pytest.raises(TrainerError) as e:
        _spec(**kw)
    assert (e.value.reason, e.value.message) == ("spec.invalid", message)


def test_spec_error_through_main(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text("{not json")
    progress = tmp_path / "p.json"
    assert main(["--spec", str(spec), "--progress-file", str(progress)]) == 2
    assert json.loads(progress.read_text())["err"] == "spec.invalid"


# ---- small parts ---------------------------------------------------------
def test_progress_json_limits():
    text = failure_json("file.format", "Invalid dataset: " + "x" * 500)
    assert len(text.encode()) <= MAX_BYTES
    assert json.loads(text)["err"] == "file.format"
    text = failure_json("file.format", "é" * 300)
    assert len(text.encode()) <= MAX_BYTES
    assert command("scontrol update JobId=7 Comment=", '{"s":1}') == [
        "scontrol", "update", "JobId=7", 'Comment={"s":1}']
    assert command("echo", "{}") == ["echo", "{}"]


def test_lr_at():
    assert lr_at(0, 10, 1.0, "constant") == 1.0
    assert lr_at(9, 10, 1.0, "constant") == 1.0
    assert lr_at(0, 10, 1.0, "linear") == 1.0
    assert lr_at(5, 10, 1.0, "linear", 0.0) == pytest.approx(0.5)
    assert lr_at(9, 10, 1.0, "linear", 0.1) == pytest.approx(0.19)
    assert lr_at(5, 10, 1.0, "cosine", 0.0) == pytest.approx(0.5)
    assert lr_at(9, 10, 1.0, "cosine", 0.1) == pytest.approx(
        0.1 + 0.9 * 0.5 * (1 + __import__("math").cos(0.9 * 3.14159265)))
    # warm-up: 2 of 10 steps
    assert [lr_at(i, 10, 1.0, "linear", 0, 0.2) for i in range(3)] == \
        pytest.approx([1 / 3, 2 / 3, 1.0])
    assert lr_at(0, 1, 1.0, "linear") == 1.0      # one step still learns


def test_tiny_model_is_tiny(tiny_model):
    from transformers import AutoModelForCausalLM
    m = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert sum(p.numel() for p in m.parameters()) < 20000
    assert os.path.isfile(os.path.join(tiny_model, "tokenizer.json"))
