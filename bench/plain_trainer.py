"""The baseline of `make bench-trainer`: the fine-tuning loop that a user of
transformers + peft would write by hand, with nothing of the project's
trainer in it (only trainer/perf.py's FLOPs formula and GPU table, so that
both sides count MFU the same way).

    python bench/plain_trainer.py --model DIR --data train.jsonl --out r.json
        [--tuning lora|full] [--batch-size 8] [--lr 2e-4] [--steps 30]
        [--max-seq-len 512] [--seed 42] [--lora-rank 16 --lora-alpha 32
        --lora-dropout 0.05 --targets q_proj,k_proj,v_proj,o_proj]

The data are {"prompt", "completion"} lines: the prompt's labels are
-100, the completion ends with EOS (what the trainer does with such lines).
One epoch over a seeded shuffle, batches padded to their longest row, AdamW
with a linear decay to 0, gradients clipped at 1.0.  On a GPU with bf16:
bf16 autocast, and for LoRA the frozen base weights in bf16 (peft keeps the
adapters in fp32); fp32 on the CPU.  Each step is timed from collating the
batch to the optimizer step, with loss.item() as the device sync.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from trainer.perf import peak_flops, step_flops  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--tuning", choices=("lora", "full"), default="lora")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--max-seq-len", type=int, default=512)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--lora-rank", type=int, default=16)
    p.add_argument("--lora-alpha", type=int, default=32)
    p.add_argument("--lora-dropout", type=float, default=0.05)
    p.add_argument("--targets", default="q_proj,k_proj,v_proj,o_proj")
    p.add_argument("--peak-tflops", type=float,
                   default=float(os.environ.get("FTGW_PEAK_TFLOPS") or 0)
                   or None)
    a = p.parse_args(argv)

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    random.seed(a.seed)
    torch.manual_seed(a.seed)
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    bf16 = cuda and torch.cuda.is_bf16_supported()
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True

    tok = AutoTokenizer.from_pretrained(a.model)
    rows = []
    with open(a.data, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            pr = tok(r["prompt"])["input_ids"]
            co = tok(r["completion"], add_special_tokens=False)["input_ids"]
            co = co + [tok.eos_token_id]
            ids = (pr + co)[:a.max_seq_len]
            labels = ([-100] * len(pr) + co)[:a.max_seq_len]
            rows.append((ids, labels))
    order = list(range(len(rows)))
    random.Random(a.seed).shuffle(order)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0

    dtype = torch.bfloat16 if (bf16 and a.tuning == "lora") \
        else torch.float32
    model = AutoModelForCausalLM.from_pretrained(a.model,
                                                 torch_dtype=dtype)
    model.to(device)
    if a.tuning == "lora":
        from peft import LoraConfig, TaskType, get_peft_model
        model = get_peft_model(model, LoraConfig(
            task_type=TaskType.CAUSAL_LM, r=a.lora_rank,
            lora_alpha=a.lora_alpha, lora_dropout=a.lora_dropout,
            target_modules=a.targets.split(",")))
    params = [q for q in model.parameters() if q.requires_grad]
    n_train = sum(q.numel() for q in params)
    n_all = sum(q.numel() for q in model.parameters())
    kw = {"fused": True} if cuda and int(
        torch.__version__.split(".")[0]) >= 2 else {}
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.0, **kw)
    steps = min(a.steps, len(order) // a.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: max(0.0, 1 - s / steps))
    cfg = model.config
    layers, hidden = cfg.num_hidden_layers, cfg.hidden_size
    if cuda:
        torch.cuda.reset_peak_memory_stats()

    model.train()
    times, tokens, flops, losses = [], [], [], []
    for s in range(steps):
        t0 = time.time()
        batch = [rows[i] for i in order[s * a.batch_size:
                                        (s + 1) * a.batch_size]]
        n = max(len(x) for x, _ in batch)
        ids = torch.full((len(batch), n), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), n), dtype=torch.long)
        lab = torch.full((len(batch), n), -100, dtype=torch.long)
        for i, (x, y) in enumerate(batch):
            ids[i, :len(x)] = torch.tensor(x)
            mask[i, :len(x)] = 1
            lab[i, :len(y)] = torch.tensor(y)
        ids, mask, lab = ids.to(device), mask.to(device), lab.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16,
                            enabled=bf16):
            loss = model(input_ids=ids, attention_mask=mask,
                         labels=lab).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())            # the device sync
        times.append(time.time() - t0)
        lens = [len(x) for x, _ in batch]
        tokens.append(sum(lens))
        flops.append(step_flops(lens, n_all, n_train, layers, hidden))

    name = torch.cuda.get_device_name() if cuda else None
    peak = peak_flops(name, bf16, a.peak_tflops)
    total_t = sum(times)
    out = {
        "tool": "plain transformers + peft loop (bench/plain_trainer.py)",
        "device": device.type, "device_name": name,
        "dtype": "bfloat16" if bf16 else "float32",
        "steps": steps, "batch_size": a.batch_size,
        "parameters": n_all, "trainable_parameters": n_train,
        "train_tokens": sum(tokens),
        "tokens_per_second": sum(tokens) / total_t,
        "mean_step_seconds": total_t / steps,
        "median_step_seconds": statistics.median(times),
        "mfu": (sum(flops) / total_t / peak) if peak else None,
        "peak_rss_bytes": resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss * 1024,
        "peak_gpu_memory_bytes": (int(torch.cuda.max_memory_allocated())
                                  if cuda else None),
        "first_loss": losses[0], "last_loss": losses[-1],
        "step_seconds": [round(t, 5) for t in times],
        "torch": torch.__version__,
    }
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"plain: {steps} steps, {out['tokens_per_second']:.0f} tokens/s, "
          f"loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
