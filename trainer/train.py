"""Supervised fine-tuning of a causal LM from a local Hugging Face folder:
LoRA, prompt tuning or full weights, with AdamW, a learning-rate schedule,
the loss taken on completion tokens only, a validation loss per epoch, a
checkpoint per epoch and the result under output_dir/final.

Run as `python -m trainer --spec SPEC.json` (or `python trainer/train.py`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import shutil
import sys
import time

if __name__ == "__main__" and __package__ in (None, ""):
    # `python trainer/train.py`: import the package from its parent folder
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    sys.path.insert(0, os.path.dirname(_here))
    __package__ = "trainer"  # noqa: A001

from . import data as ds                                   # noqa: E402
from .errors import (EXIT_TRAIN, TrainerError, dataset_error,  # noqa: E402
                     spec_error)
from .perf import (dist_env, grouped_batches, peak_flops,    # noqa: E402
                   step_flops)
from .progress import Reporter                             # noqa: E402
from .schedule import lr_at                                # noqa: E402
from .spec import Spec                                     # noqa: E402

DEFAULT_MAX_SEQ_LEN = 2048


def log(msg: str) -> None:
    if dist_env()[0] == 0:         # under torchrun, rank 0 speaks for all
        print(f"trainer: {msg}", flush=True)


def write_json(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def _model_limit(config) -> int | None:
    for key in ("max_position_embeddings", "n_positions", "max_seq_len",
                "seq_length"):
        v = getattr(config, key, None)
        if isinstance(v, int) and v > 0:
            return v
    return None


def _peft_init(name: str | None):
    if name in (None, "default", "kaiming", "true"):
        return True
    if name in ("random", "false", "none"):
        return False
    return name            # gaussian, pissa, pissa_niter_<n>, olora


class Engine:
    """One training run.  Everything torch-related is imported here, after
    the datasets have passed their checks."""

    def __init__(self, spec: Spec, train_sets, valid_sets,
                 reporter: Reporter, device: str = "auto",
                 precision: str = "auto",
                 peak_tflops: float | None = None):
        self.spec = spec
        self.peak_tflops = peak_tflops
        # data parallel under torchrun: rank 0 alone writes (reports,
        # checkpoints, the result); every rank trains its share of a step
        self.rank, self.local_rank, self.world = dist_env()
        self.train_sets = train_sets
        self.valid_sets = valid_sets
        self.reporter = reporter
        self.device_arg = device
        self.precision = precision
        self.checkpoints: list[str] = []
        self.history: list[dict] = []
        self.step_losses: list[float] = []
        self.step_lrs: list[float] = []

    # ---- set-up -----------------------------------------------------------

    def _seed(self) -> None:
        import numpy as np
        import torch
        random.seed(self.spec.seed)
        np.random.seed(self.spec.seed % (2 ** 32))
        torch.manual_seed(self.spec.seed)

    def _device(self):
        import torch
        want = self.device_arg
        if want == "auto":
            want = "cuda" if torch.cuda.is_available() else "cpu"
        if want == "cuda" and not torch.cuda.is_available():
            raise TrainerError("train.unknown", "No CUDA device available",
                               EXIT_TRAIN)
        if want == "cuda":
            # (GPU path: not run on the CPU-only machine this was written
            # on) one GPU a process: torchrun's LOCAL_RANK picks it
            self.device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(self.device)
            # fp32 matmuls on tensor cores (TF32) where there are any
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        else:
            self.device = torch.device("cpu")
        if self.precision == "auto":
            self.bf16 = want == "cuda" and torch.cuda.is_bf16_supported()
        else:
            self.bf16 = self.precision == "bf16"
        if (want == "cpu" and self.world > 1
                and "OMP_NUM_THREADS" not in os.environ):
            # data-parallel processes on one CPU share its cores.  A single
            # process keeps torch's own thread count: forcing one thread a
            # core made a tiny model's steps 4 times slower on a busy
            # 2-core machine (make bench-trainer, docs/benchmarks.md)
            try:
                cores = max(1, len(os.sched_getaffinity(0)))
            except (AttributeError, OSError):
                cores = 1
            torch.set_num_threads(max(1, min(torch.get_num_threads(),
                                             cores // self.world)))
        if self.world > 1:
            import torch.distributed as dist
            if not dist.is_initialized():
                dist.init_process_group(
                    "nccl" if want == "cuda" else "gloo")
        self.device_name = (torch.cuda.get_device_name(self.device)
                            if want == "cuda" else None)

    def _tokenizer(self):
        from transformers import AutoConfig, AutoTokenizer
        d = self.spec.model_dir
        if not os.path.isfile(os.path.join(d, "config.json")):
            raise TrainerError(
                "model.noexist",
                f"Model directory not found or has no config.json: "
                f"{os.path.basename(d.rstrip('/'))[:64]}", detail=d)
        try:
            self.config = AutoConfig.from_pretrained(d, local_files_only=True)
            self.tok = AutoTokenizer.from_pretrained(d, local_files_only=True)
        except Exception as e:      # noqa: BLE001 - any loader failure
            raise TrainerError("model.invalid",
                               f"Model directory can't be loaded: "
                               f"{type(e).__name__}", detail=str(e)) from None
        self.pad_id = self.tok.pad_token_id
        if self.pad_id is None:
            self.pad_id = self.tok.eos_token_id or 0

    def _max_len(self) -> int:
        limit = _model_limit(self.config)
        n = self.spec.max_seq_len or min(limit or DEFAULT_MAX_SEQ_LEN,
                                         DEFAULT_MAX_SEQ_LEN)
        if limit:
            room = limit - (self.spec.virtual_tokens
                            if self.spec.tuning_type == "prompt_tuning"
                            else 0)
            if n > room:
                if self.spec.max_seq_len:
                    log(f"max_seq_len {n} > the model's {room} positions: "
                        f"using {room}")
                n = room
        if n < 2:
            raise spec_error("max_seq_len must be at least 2 tokens to train "
                             "(the model's position limit included)")
        return n

    def _encode(self, examples) -> list[tuple[list[int], list[int]]]:
        out = []
        for ex in examples:
            ids, labels = ds.encode(ex, self.tok, self.max_len)
            if any(x != -100 for x in labels[1:]):
                out.append((ids, labels))
        return out

    def _model(self):
        import torch
        from transformers import AutoModelForCausalLM
        s = self.spec
        load_dtype = (torch.bfloat16 if self.bf16 and s.tuning_type != "full"
                      else torch.float32)
        try:
            model = AutoModelForCausalLM.from_pretrained(
                s.model_dir, local_files_only=True, torch_dtype=load_dtype)
        except Exception as e:      # noqa: BLE001
            if type(e).__name__ == "OutOfMemoryError" or isinstance(
                    e, MemoryError):
                raise
            raise TrainerError("model.invalid",
                               f"Model directory can't be loaded: "
                               f"{type(e).__name__}",
                               detail=str(e)) from None
        model.to(self.device)
        self.pissa_init = None
        if s.gradient_checkpointing:
            if not getattr(model, "supports_gradient_checkpointing", False):
                raise spec_error("gradient_checkpointing: this architecture "
                                 "doesn't support it")
            # non-reentrant: works with frozen inputs (LoRA, prompt tuning)
            # and with DDP
            model.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={"use_reentrant": False})
            model.config.use_cache = False
        if s.tuning_type == "full":
            model.requires_grad_(True)
            self.model = model
            return
        from peft import (LoraConfig, PromptTuningConfig, PromptTuningInit,
                          TaskType, get_peft_model)
        if s.tuning_type == "lora":
            init = _peft_init(s.lora.initialization)
            cfg = LoraConfig(task_type=TaskType.CAUSAL_LM, r=s.lora.rank,
                             lora_alpha=s.lora.alpha,
                             lora_dropout=s.lora.dropout,
                             target_modules=s.lora.target_modules,
                             init_lora_weights=init,
                             use_dora=(s.lora.type == "dora"))
        else:
            cfg = PromptTuningConfig(
                task_type=TaskType.CAUSAL_LM,
                num_virtual_tokens=s.virtual_tokens,
                prompt_tuning_init=PromptTuningInit.RANDOM)
        try:
            model = get_peft_model(model, cfg)
        except ValueError as e:
            raise spec_error(f"{s.tuning_type}: {e}"[:150]) from None
        if s.tuning_type == "lora" and isinstance(init, str) and (
                init.startswith("pissa") or init == "olora"):
            # PiSSA / OLoRA change the base weights: keep the initial
            # adapter so that the saved ones convert to plain LoRA
            self.pissa_init = os.path.join(s.output_dir, "adapter-init")
            model.peft_config["default"].init_lora_weights = True
            if self.rank == 0:
                model.save_pretrained(self.pissa_init)
            model.peft_config["default"].init_lora_weights = init
        self.model = model

    # ---- the loop ---------------------------------------------------------

    def _batch(self, rows):
        import torch
        n = max(len(ids) for ids, _ in rows)
        ids = torch.full((len(rows), n), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), n), dtype=torch.long)
        labels = torch.full((len(rows), n), -100, dtype=torch.long)
        for i, (x, y) in enumerate(rows):
            ids[i, :len(x)] = torch.tensor(x)
            mask[i, :len(x)] = 1
            labels[i, :len(y)] = torch.tensor(y)
        ntok = int((labels[:, 1:] != -100).sum())
        nb = self.device.type == "cuda"
        return (ids.to(self.device, non_blocking=nb),
                mask.to(self.device, non_blocking=nb),
                labels.to(self.device, non_blocking=nb), ntok,
                int(mask.sum()))

    def _forward(self, ids, mask, labels, net=None):
        import torch
        net = net or self.net
        if self.bf16:
            with torch.autocast(self.device.type, dtype=torch.bfloat16):
                return net(input_ids=ids, attention_mask=mask,
                           labels=labels).loss
        return net(input_ids=ids, attention_mask=mask, labels=labels).loss

    def _validate(self) -> float | None:
        import torch
        if not self.valid:
            return None
        self.model.eval()
        total, count = 0.0, 0
        # each rank takes its share; the sums are added up below
        mine = self.valid[self.rank::self.world]
        with torch.no_grad():
            for i in range(0, len(mine), self.micro):
                ids, mask, labels, ntok, _ = self._batch(
                    mine[i:i + self.micro])
                if ntok:
                    total += float(self._forward(ids, mask, labels,
                                                 self.model)) * ntok
                    count += ntok
        if self.world > 1:
            total, count = self._all_sum([total, float(count)])
        self.model.train()
        return total / count if count else None

    def _all_sum(self, values: list[float]) -> list[float]:
        import torch
        import torch.distributed as dist
        t = torch.tensor(values, dtype=torch.float64,
                         device=self.device if self.device.type == "cuda"
                         else "cpu")
        dist.all_reduce(t)
        return [float(x) for x in t.tolist()]

    def _optimizer(self, params):
        import torch
        o = self.spec.optimizer
        kw = dict(lr=self.spec.learning_rate, betas=(o.beta1, o.beta2),
                  eps=o.eps, weight_decay=o.weight_decay)
        self.fused = False
        if self.device.type == "cuda" and _torch_major() >= 2:
            # (GPU path, not run here) one fused kernel for the whole
            # update instead of a few per parameter
            kw["fused"] = True
            self.fused = True
        return torch.optim.AdamW(params, **kw)

    def _wrap(self):
        """self.net: what the training steps call: the model, compiled
        (torch >= 2, when asked) and wrapped in DDP (several processes).
        self.model stays the plain (peft) model that is saved."""
        import torch
        net = self.model
        self.compiled = False
        if self.spec.compile:
            if _torch_major() < 2:
                log(f"compile: torch {torch.__version__} has no "
                    "torch.compile (it needs torch 2): not compiled")
            else:
                # (GPU path, not run here) lengths vary from batch to
                # batch: dynamic shapes rather than one graph a length
                net = torch.compile(net, dynamic=True)
                self.compiled = True
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP
            net = DDP(net, device_ids=([self.device.index]
                                       if self.device.type == "cuda"
                                       else None))
        self.net = net

    def _save(self, path: str) -> None:
        if self.rank != 0:
            return
        if self.pissa_init:
            self.model.save_pretrained(
                path, path_initial_model_for_weight_conversion=self.pissa_init)
        else:
            self.model.save_pretrained(path)

    def _padded(self, rows) -> int:
        """The tokens, padding included, that the step's micro-batches of
        every rank hold."""
        n = 0
        for r in range(self.world):
            mine = rows[r::self.world]
            for i in range(0, len(mine), self.micro):
                m = mine[i:i + self.micro]
                n += len(m) * max(len(x) for x, _ in m)
        return n

    def run(self) -> dict:
        import torch
        s = self.spec
        t0 = time.time()
        self._seed()
        examples = ds.mix(self.train_sets, s.n_samples, s.seed)
        train_ex, held = ds.split(examples, s.validation_split, s.seed)
        valid_ex = held + [e for d in self.valid_sets for e in d.examples]

        self._device()
        self._tokenizer()
        self.max_len = self._max_len()
        self.train = self._encode(train_ex)
        self.valid = self._encode(valid_ex)
        if not self.train:
            raise dataset_error("file.format", "Invalid dataset: no rows",
                                "no example keeps a completion token")
        self.micro = min(s.micro_batch_size or s.batch_size, s.batch_size)
        batch = min(s.batch_size, len(self.train))
        per_epoch = math.ceil(len(self.train) / batch)
        steps = per_epoch * s.n_epochs
        log(f"{len(self.train)} training and {len(self.valid)} validation "
            f"examples, {s.n_epochs} epochs x {per_epoch} steps of "
            f"{batch}, max_seq_len {self.max_len}"
            + (f", {self.world} data-parallel processes"
               if self.world > 1 else ""))

        self._model()
        self._seed()
        params = [p for p in self.model.parameters() if p.requires_grad]
        n_train = sum(p.numel() for p in params)
        n_all = sum(p.numel() for p in self.model.parameters())
        opt = self._optimizer(params)
        layers, hidden = _shape(self.config)
        peak = peak_flops(self.device_name, self.bf16, self.peak_tflops)
        peak_all = peak * self.world if peak else None
        log(f"{s.tuning_type} on {self.device.type}"
            f"{' (' + self.device_name + ')' if self.device_name else ''}"
            f"{' (bf16)' if self.bf16 else ''}: {n_train} of {n_all} "
            f"parameters trained, lr {s.learning_rate:g}, "
            f"{s.scheduler.type} schedule"
            + "".join(f", {k}" for k, on in (
                ("gradient checkpointing", s.gradient_checkpointing),
                ("length-grouped batches", s.group_by_length)) if on))
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)

        self.model.train()
        self._wrap()
        self.reporter.update(0, steps, 0, s.n_epochs, force=True)
        rng = random.Random(s.seed)
        lengths = [len(x) for x, _ in self.train]
        # completion tokens (the loss's) of each example, counted once
        ntoks = [sum(1 for y in lab[1:] if y != -100)
                 for _, lab in self.train]
        step, tokens, padded, step_time, flops = 0, 0, 0, 0.0, 0.0
        step_secs: list[float] = []
        w_tokens, w_time, w_flops = 0, 0.0, 0.0      # since the last report
        t_train = time.time()
        train_loss = val_loss = None
        window: list[float] = []

        last_rates = (None, None)

        def rates():
            """tokens/s and MFU since the last report (an empty window,
            as at an epoch's end just after a step's report: the last)"""
            nonlocal last_rates
            if w_time > 0:
                last_rates = (w_tokens / w_time,
                              w_flops / w_time / peak_all if peak_all
                              else None)
            return last_rates

        for epoch in range(1, s.n_epochs + 1):
            if s.group_by_length:
                batches = grouped_batches(lengths, batch, rng)
            else:
                order = list(range(len(self.train)))
                rng.shuffle(order)
                batches = [order[b:b + batch]
                           for b in range(0, len(order), batch)]
            epoch_losses = []
            for idx in batches:
                t_step = time.time()
                rows = [self.train[i] for i in idx]
                lr = lr_at(step, steps, s.learning_rate, s.scheduler.type,
                           s.scheduler.min_lr, s.scheduler.warmup_ratio)
                for g in opt.param_groups:
                    g["lr"] = lr
                self.step_lrs.append(lr)
                # the step's completion tokens, over every rank: each
                # rank's loss is weighted by its share of them, so the
                # update is the one of a single process on the whole batch
                ntotal = sum(ntoks[i] for i in idx)
                mine = rows[self.rank::self.world]
                dummy = not mine
                if dummy:
                    # a last step smaller than the world: this rank
                    # still joins the gradient all-reduce, with weight 0
                    mine = rows[:1]
                micro = [mine[i:i + self.micro]
                         for i in range(0, len(mine), self.micro)]
                loss_acc = None
                for i, m in enumerate(micro):
                    ids, mask, labels, ntok, _ = self._batch(m)
                    weight = 0.0 if dummy else ntok / ntotal * self.world
                    if self.world > 1 and i < len(micro) - 1:
                        # gradients are all-reduced once, on the last one
                        ctx = self.net.no_sync()
                    else:
                        ctx = contextlib.nullcontext()
                    with ctx:
                        loss = self._forward(ids, mask, labels)
                        (loss * weight).backward()
                    if not dummy:
                        d = loss.detach().double() * ntok
                        loss_acc = d if loss_acc is None else loss_acc + d
                # one device sync a step (not one a micro-batch)
                loss_sum = float(loss_acc) if loss_acc is not None else 0.0
                if self.world > 1:
                    loss_sum, = self._all_sum([loss_sum])
                if s.max_grad_norm > 0:
                    torch.nn.utils.clip_grad_norm_(params, s.max_grad_norm)
                opt.step()
                opt.zero_grad(set_to_none=True)
                step += 1
                dt = time.time() - t_step
                lens = [lengths[i] for i in idx]
                real = sum(lens)
                f = step_flops(lens, n_all, n_train, layers, hidden)
                step_time += dt
                tokens += real
                padded += self._padded(rows)
                flops += f
                w_tokens += real
                w_time += dt
                w_flops += f
                step_secs.append(dt)
                loss_val = loss_sum / ntotal if ntotal else float("nan")
                if not math.isfinite(loss_val):
                    raise TrainerError("train.unknown",
                                       f"The loss diverged at step {step}",
                                       EXIT_TRAIN)
                epoch_losses.append(loss_val)
                self.step_losses.append(loss_val)
                window.append(loss_val)
                now = time.time()
                eta = now + (now - t_train) / step * (steps - step)
                tps, mfu = rates()
                if self.reporter.update(step, steps, epoch, s.n_epochs,
                                        sum(window) / len(window), val_loss,
                                        eta, len(self.checkpoints),
                                        tps=tps, mfu=mfu):
                    log(f"epoch {epoch}/{s.n_epochs} step {step}/{steps} "
                        f"loss {sum(window) / len(window):.4f} lr {lr:.3g}"
                        f" {tps:.0f} tokens/s"
                        + (f" MFU {mfu:.1%}" if mfu is not None else ""))
                    window = []
                    w_tokens, w_time, w_flops = 0, 0.0, 0.0

            train_loss = sum(epoch_losses) / len(epoch_losses)
            val_loss = self._validate()
            metrics = {"epoch": epoch, "step": step,
                       "train_loss": train_loss, "val_loss": val_loss}
            self.history.append(metrics)
            if s.save_checkpoints:
                path = os.path.join(s.output_dir,
                                    f"checkpoint-epoch-{epoch}")
                self._save(path)
                if self.rank == 0:
                    write_json(os.path.join(path, "metrics.json"), metrics)
                self.checkpoints.append(path)
            now = time.time()
            eta = now + (now - t_train) / step * (steps - step)
            log(f"epoch {epoch}/{s.n_epochs} done: train loss "
                f"{train_loss:.4f}"
                + (f", val loss {val_loss:.4f}" if val_loss is not None
                   else ""))
            tps, mfu = rates()
            self.reporter.update(step, steps, epoch, s.n_epochs, train_loss,
                                 val_loss, eta, len(self.checkpoints),
                                 force=True, tps=tps, mfu=mfu)
            window = []
            w_tokens, w_time, w_flops = 0, 0.0, 0.0

        final = os.path.join(s.output_dir, "final")
        self._save(final)
        if self.rank == 0:
            self.tok.save_pretrained(final)
            if self.pissa_init:
                shutil.rmtree(self.pissa_init, ignore_errors=True)
        elapsed = time.time() - t0
        tps = tokens / step_time if step_time > 0 else None
        mfu = (flops / step_time / peak_all
               if peak_all and step_time > 0 else None)
        self.reporter.update(step, steps, s.n_epochs, s.n_epochs, train_loss,
                             val_loss, time.time(), len(self.checkpoints),
                             force=True, tps=tps, mfu=mfu)
        peak_mem = (int(torch.cuda.max_memory_allocated(self.device))
                    if self.device.type == "cuda" else None)
        if self.world > 1:
            import torch.distributed as dist
            dist.barrier()
            dist.destroy_process_group()
        return {
            "metrics": {
                "step": step, "total_steps": steps, "epochs": s.n_epochs,
                "train_loss": train_loss, "val_loss": val_loss,
                "first_step_loss": self.step_losses[0],
                "train_examples": len(self.train),
                "validation_examples": len(self.valid),
                "max_seq_len": self.max_len,
                "longest_example_tokens": max(lengths),
                "batch_size": batch,
                "micro_batch_size": self.micro,
                "trainable_parameters": n_train, "parameters": n_all,
                "train_tokens": tokens,
                "padded_tokens": padded,
                "padding_fraction": (1 - tokens / padded) if padded else 0.0,
                "tokens_per_second": tps,
                "mean_step_seconds": step_time / step if step else None,
                "model_flops": flops,
                "peak_flops": peak_all,
                "mfu": mfu,
                "train_seconds": step_time, "elapsed_seconds": elapsed,
                "peak_gpu_memory_bytes": peak_mem,
                "peak_rss_bytes": _peak_rss(),
                "world_size": self.world,
            },
            "history": self.history,
            "step_losses": [float(f"{x:.5g}") for x in self.step_losses],
            "step_lrs": [float(f"{x:.5g}") for x in self.step_lrs],
            "step_seconds": [float(f"{x:.4g}") for x in step_secs],
            "device": self.device.type,
            "device_name": self.device_name,
            "dtype": "bfloat16" if self.bf16 else "float32",
            "options": {"group_by_length": s.group_by_length,
                        "gradient_checkpointing": s.gradient_checkpointing,
                        "compile": self.compiled,
                        "fused_adamw": self.fused,
                        "torch": torch.__version__},
            "paths": {"final": final, "checkpoints": self.checkpoints},
        }


def _torch_major() -> int:
    import torch
    try:
        return int(torch.__version__.split(".")[0])
    except ValueError:
        return 0


def _shape(config) -> tuple[int, int]:
    """(layers, hidden size) for the attention term of the model FLOPs."""
    layers = (getattr(config, "num_hidden_layers", None)
              or getattr(config, "n_layer", None) or 0)
    hidden = (getattr(config, "hidden_size", None)
              or getattr(config, "n_embd", None) or 0)
    return int(layers), int(hidden)


def _peak_rss() -> int | None:
    try:
        import resource
        # Linux: kilobytes
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except (ImportError, OSError):
        return None


if __name__ == "__main__":
    from trainer.cli import main
    sys.exit(main())
