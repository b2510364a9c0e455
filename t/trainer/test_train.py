"""Real training runs on the tiny model: LoRA, prompt tuning, full weights,
the schedules, validation, the sample cap and the sequence length."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from trainer_helpers import chat_lines, clova_csv, result, write_jsonl

from trainer import data as ds
from trainer.cli import main
from trainer.schedule import lr_at


def _progress(spec_path: str) -> list[dict]:
    out = Path(json.loads(Path(spec_path).read_text())["output_dir"])
    return [json.loads(line)
            for line in (out / "progress.jsonl").read_text().splitlines()]


def _loss(model, tok, examples, max_len=64) -> float:
    total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for ex in examples:
            ids, labels = ds.encode(ex, tok, max_len)
            n = sum(1 for x in labels[1:] if x != -100)
            out = model(input_ids=torch.tensor([ids]),
                        labels=torch.tensor([labels]))
            total += float(out.loss) * n
            count += n
    return total / count


def test_lora_two_epochs_loss_falls(make_spec, train_file, tiny_model):
    spec = make_spec(n_epochs=2, batch_size=4, validation_split=0.1,
                     lora={"rank": 4, "alpha": 8, "dropout": 0.0,
                           "initialization": "gaussian",
                           "target_modules": ["q_proj", "k_proj", "v_proj",
                                              "o_proj", "gate_proj",
                                              "up_proj", "down_proj"]})
    assert main(["--spec", spec, "--progress-interval", "0"]) == 0
    r = result(spec)
    assert r["status"] == "succeeded" and r["error"] is None
    m = r["metrics"]
    assert m["epochs"] == 2 and m["step"] == m["total_steps"] == 2 * 9
    assert m["train_examples"] == 36 and m["validation_examples"] == 4
    h = r["history"]
    assert [e["epoch"] for e in h] == [1, 2]
    assert h[1]["train_loss"] < h[0]["train_loss"]
    assert h[1]["val_loss"] < h[0]["val_loss"]
    assert m["first_step_loss"] - m["train_loss"] > 0.5
    assert 0 < m["trainable_parameters"] < m["parameters"]

    out = Path(r["paths"]["final"]).parent
    for n in (1, 2):
        ck = out / f"checkpoint-epoch-{n}"
        assert (ck / "adapter_config.json").is_file()
        assert (ck / "adapter_model.safetensors").is_file()
        cm = json.loads((ck / "metrics.json").read_text())
        assert cm["step"] == 9 * n and cm["epoch"] == n
        assert cm["train_loss"] == h[n - 1]["train_loss"]
        assert cm["val_loss"] == h[n - 1]["val_loss"]
    assert r["paths"]["checkpoints"] == [
        str(out / "checkpoint-epoch-1"), str(out / "checkpoint-epoch-2")]

    # the adapter loads back with peft and beats the base model
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer
    final = r["paths"]["final"]
    cfg = json.loads((Path(final) / "adapter_config.json").read_text())
    assert cfg["peft_type"] == "LORA" and cfg["r"] == 4
    assert cfg["lora_alpha"] == 8
    tok = AutoTokenizer.from_pretrained(final)
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    examples = ds.load_dataset(train_file).examples[:16]
    before = _loss(base, tok, examples)
    tuned = PeftModel.from_pretrained(base, final)
    after = _loss(tuned, tok, examples)
    assert after < before - 0.5

    # progress: steps rise to the total, checkpoints counted per epoch
    p = _progress(spec)
    steps = [x["s"] for x in p]
    assert steps[0] == 0 and steps == sorted(steps) and steps[-1] == 18
    assert all(x["S"] == 18 and x["E"] == 2 for x in p)
    assert p[-1]["c"] == 2 and "v" in p[-1] and p[-1]["l"] < p[1]["l"]


def test_prompt_tuning_one_epoch_clova_csv(make_spec, tmp_path):
    path = clova_csv(tmp_path / "clova.csv", rows=16)
    spec = make_spec(training_files=[{"path": path}],
                     prompt_tuning={"virtual_tokens": 5})
    assert main(["--spec", spec]) == 0
    r = result(spec)
    assert r["status"] == "succeeded" and r["tuning_type"] == "prompt_tuning"
    cfg = json.loads((Path(r["paths"]["final"]) / "adapter_config.json")
                     .read_text())
    assert cfg["peft_type"] == "PROMPT_TUNING"
    assert cfg["num_virtual_tokens"] == 5
    assert r["metrics"]["trainable_parameters"] == 5 * 16
    assert len(r["paths"]["checkpoints"]) == 1


def test_full_weights_one_epoch(make_spec, train_file, tiny_model):
    spec = make_spec(tuning_type="full", learning_rate=0.01)
    assert main(["--spec", spec]) == 0
    r = result(spec)
    assert r["status"] == "succeeded"
    m = r["metrics"]
    assert m["trainable_parameters"] == m["parameters"]
    final = Path(r["paths"]["final"])
    assert (final / "model.safetensors").is_file()
    from transformers import AutoModelForCausalLM
    tuned = AutoModelForCausalLM.from_pretrained(str(final))
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert not torch.equal(tuned.model.embed_tokens.weight,
                           base.model.embed_tokens.weight)


def test_gpt2_default_lora_modules(make_spec, train_file, tiny_gpt2):
    spec = make_spec(model_dir=tiny_gpt2, save_checkpoints=False)
    assert main(["--spec", spec]) == 0
    r = result(spec)
    cfg = json.loads((Path(r["paths"]["final"]) / "adapter_config.json")
                     .read_text())
    assert cfg["target_modules"] == ["c_attn"]
    assert r["paths"]["checkpoints"] == []


def test_pissa_adapter_converts_to_lora(make_spec, train_file, tiny_model):
    spec = make_spec(lora={"rank": 2, "initialization": "pissa"})
    assert main(["--spec", spec]) == 0
    r = result(spec)
    final = Path(r["paths"]["final"])
    cfg = json.loads((final / "adapter_config.json").read_text())
    assert cfg["r"] == 4          # PiSSA converted: rank 2r, on the base
    assert not (final.parent / "adapter-init").exists()
    from peft import PeftModel
    from transformers import AutoModelForCausalLM
    PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(tiny_model), str(final))


def test_dora_and_lora_defaults(make_spec, train_file, tiny_model):
    spec = make_spec(lora={"type": "dora", "initialization": "default"},
                     n_epochs=2, batch_size=4, save_checkpoints=False)
    assert main(["--spec", spec]) == 0
    r = result(spec)
    cfg = json.loads((Path(r["paths"]["final"]) / "adapter_config.json")
                     .read_text())
    assert cfg["use_dora"] is True and cfg["r"] == 8
    assert cfg["lora_alpha"] == 16
    assert sorted(cfg["target_modules"]) == ["q_proj", "v_proj"]
    assert r["history"][1]["train_loss"] < r["history"][0]["train_loss"]


def test_bf16_path_on_cpu(make_spec, train_file):
    """--precision bf16 takes the GPU's code path (frozen weights in
    bfloat16, autocast) on the CPU, so CI covers it without a GPU."""
    spec = make_spec(n_epochs=2, batch_size=4, n_samples=16,
                     save_checkpoints=False)
    assert main(["--spec", spec, "--precision", "bf16"]) == 0
    r = result(spec)
    assert r["dtype"] == "bfloat16" and r["device"] == "cpu"
    assert r["history"][1]["train_loss"] < r["history"][0]["train_loss"]
    from safetensors.torch import load_file
    weights = load_file(str(Path(r["paths"]["final"])
                            / "adapter_model.safetensors"))
    assert {str(w.dtype) for w in weights.values()} == {"torch.float32"}


@pytest.mark.parametrize("kind", ["linear", "constant", "cosine"])
def test_schedulers(make_spec, train_file, kind):
    spec = make_spec(n_epochs=2, batch_size=5, learning_rate=0.02,
                     scheduler={"type": kind, "min_lr": 0.002,
                                "warmup_ratio": 0.25},
                     save_checkpoints=False)
    assert main(["--spec", spec]) == 0
    r = result(spec)
    lrs = r["step_lrs"]
    assert len(lrs) == 16
    want = [lr_at(i, 16, 0.02, kind, 0.002, 0.25) for i in range(16)]
    assert lrs == pytest.approx(want, rel=1e-4)
    assert lrs[0] < lrs[3] and lrs[4] == pytest.approx(0.02)  # warm-up
    if kind == "constant":
        assert lrs[-1] == pytest.approx(0.02)
    else:
        assert 0.002 < lrs[-1] < 0.006 and lrs == sorted(lrs[:5]) + sorted(
            lrs[5:], reverse=True)


def test_validation_files_and_split(make_spec, train_file, tmp_path):
    valid = write_jsonl(tmp_path / "valid.jsonl", chat_lines(6, seed=9))
    spec = make_spec(validation_files=[{"path": valid}],
                     validation_split=0.25)
    assert main(["--spec", spec]) == 0
    m = result(spec)["metrics"]
    assert m["validation_examples"] == 10 + 6
    assert m["train_examples"] == 30
    assert m["val_loss"] is not None and math.isfinite(m["val_loss"])


def test_n_samples_and_max_seq_len(make_spec, train_file):
    spec = make_spec(n_samples=10, max_seq_len=12, batch_size=4)
    assert main(["--spec", spec]) == 0
    m = result(spec)["metrics"]
    assert m["train_examples"] == 10
    assert m["total_steps"] == 3
    assert m["max_seq_len"] == 12
    assert m["longest_example_tokens"] == 12


def test_encode_truncates_and_masks(tiny_model):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(tiny_model)
    ex = ds.Example(completion="apple apple apple",
                    messages=[{"role": "user", "content": "say apple " * 20}])
    ids, labels = ds.encode(ex, tok, 1000)
    c = tok("apple apple apple", add_special_tokens=False)["input_ids"]
    assert ids[-len(c) - 1:] == c + [tok.eos_token_id]
    assert labels[-len(c) - 1:] == c + [tok.eos_token_id]
    assert set(labels[:-len(c) - 1]) == {-100}
    for n in (2, 5, 12):
        ids, labels = ds.encode(ex, tok, n)
        assert len(ids) == len(labels) == n
        assert labels[0] == -100 and labels[-1] != -100


def test_chat_template_used_when_present(tiny_model):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(tiny_model)
    tok.chat_template = ("{% for m in messages %}<{{ m['role'] }}>"
                         "{{ m['content'] }}</s>{% endfor %}"
                         "{% if add_generation_prompt %}<assistant>"
                         "{% endif %}")
    ex = ds.Example(completion="hi", messages=[
        {"role": "user", "content": "hello"}])
    prompt, completion, templated = ds.render(ex, tok)
    assert (prompt, completion, templated) == (
        "<user>hello</s><assistant>", "hi</s>", True)
    ids, labels = ds.encode(ex, tok, 100)
    assert ids.count(tok.eos_token_id) == 2     # no second EOS added


def test_weighted_mix(tmp_path):
    a = ds.Dataset("a", "openai_chat",
                   [ds.Example(completion=f"a{i}") for i in range(10)], 0.75)
    b = ds.Dataset("b", "openai_chat",
                   [ds.Example(completion=f"b{i}") for i in range(4)], 0.25)
    out = ds.mix([a, b], 40, seed=3)
    assert len(out) == 40
    assert sum(e.completion.startswith("a") for e in out) == 30
    assert sum(e.completion.startswith("b") for e in out) == 10
    # without weights: everything once, capped by n_samples
    a.weight = b.weight = None
    assert len(ds.mix([a, b], None, seed=3)) == 14
    assert len(ds.mix([a, b], 5, seed=3)) == 5
