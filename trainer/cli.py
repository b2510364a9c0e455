"""`python -m trainer --spec SPEC.json [--progress-cmd CMD]
[--progress-file FILE]`: checks the spec and the datasets, trains, writes
output_dir/result.json, and exits 0 (succeeded), 1 (training failed),
2 (bad spec, dataset or model folder: nothing was trained), 3 (out of
memory) or 143 (cancelled).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback

from . import data as ds
from . import spec as specmod
from .errors import (EXIT_CANCELLED, EXIT_OK, EXIT_OOM, EXIT_TRAIN,
                     Cancelled, TrainerError, is_oom)
from .perf import dist_env
from .progress import Reporter


def _args(argv):
    p = argparse.ArgumentParser(prog="python -m trainer",
                                description="Fine-tune a local causal LM.")
    p.add_argument("--spec", required=True, help="the job spec (JSON)")
    p.add_argument("--progress-cmd", help="a command prefix that gets each "
                   "progress JSON as one more argument, or glued to a last "
                   "word ending in '=' (Comment=)")
    p.add_argument("--progress-file", help="a file that holds the latest "
                   "progress JSON")
    p.add_argument("--progress-interval", type=float, default=5.0,
                   help="seconds between step reports (epoch ends, the "
                   "start, the end and failures are always reported)")
    p.add_argument("--max-file-size", type=ds.parse_size, default=0,
                   help="refuse datasets larger than this (e.g. 10G) with "
                   "file.size; default no limit")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"),
                   default="auto")
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"),
                   default="auto", help="auto: bf16 on a GPU that has it, "
                   "else fp32 (bf16: frozen weights in bfloat16 and "
                   "autocast, on any device)")
    p.add_argument("--group-by-length", action="store_true",
                   help="length-grouped batches (the spec's "
                   "group_by_length): less padding")
    p.add_argument("--gradient-checkpointing", action="store_true",
                   help="recompute activations in the backward pass (the "
                   "spec's gradient_checkpointing): less memory, ~30%% "
                   "more compute")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the model (the spec's compile; "
                   "torch >= 2 only, ignored on 1.13)")
    p.add_argument("--peak-tflops", type=float,
                   default=_env_float("FTGW_PEAK_TFLOPS"),
                   help="the peak TFLOP/s of one device, for MFU (default: "
                   "$FTGW_PEAK_TFLOPS, else the table of known GPUs; MFU "
                   "is not reported on a CPU without it)")
    p.add_argument("--check-only", action="store_true",
                   help="check the spec and the datasets, then exit")
    return p.parse_args(argv)


def _env_float(name: str) -> float | None:
    v = os.environ.get(name)
    try:
        return float(v) if v else None
    except ValueError:
        return None


def _offline() -> None:
    # nothing is ever downloaded: the model is a local folder
    for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(k, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def _on_signal(signum, frame):
    raise Cancelled(signal.Signals(signum).name)


def _result(spec, status: str, started: float, error=None, extra=None
            ) -> None:
    if spec is None or dist_env()[0] != 0:
        return
    from .train import write_json
    obj = {"status": status, "error": error, "job_id": spec.job_id,
           "model": spec.model, "model_dir": spec.model_dir,
           "tuning_type": spec.tuning_type, "started_at": int(started),
           "finished_at": int(time.time()), "spec": spec.to_json()}
    obj.update(extra or {})
    try:
        os.makedirs(spec.output_dir, exist_ok=True)
        write_json(os.path.join(spec.output_dir, "result.json"), obj)
    except OSError as e:
        print(f"trainer: can't write result.json: {e}", file=sys.stderr)


def main(argv=None) -> int:
    args = _args(argv)
    _offline()
    started = time.time()
    # under torchrun only rank 0 reports and writes result.json; the other
    # ranks print their failures to stderr (torchrun then stops them all)
    rank0 = dist_env()[0] == 0
    reporter = Reporter(args.progress_cmd if rank0 else None,
                        args.progress_file if rank0 else None,
                        args.progress_interval)
    old = {s: signal.signal(s, _on_signal)
           for s in (signal.SIGTERM, signal.SIGINT)}
    spec = None
    try:
        spec = specmod.load(args.spec)
        for opt in ("group_by_length", "gradient_checkpointing", "compile"):
            if getattr(args, opt):
                setattr(spec, opt, True)
        reporter.metadata = spec.metadata
        try:
            os.makedirs(spec.output_dir, exist_ok=True)
        except OSError as e:
            raise TrainerError("train.unknown", "Output directory can't be "
                               "created", EXIT_TRAIN,
                               f"{spec.output_dir}: {e.strerror}") from None
        if rank0:
            reporter.log = os.path.join(spec.output_dir, "progress.jsonl")
        train_sets = ds.load_all(spec.training_files, args.max_file_size)
        valid_sets = ds.load_all(spec.validation_files, args.max_file_size)
        n = sum(len(d.examples) for d in train_sets)
        if rank0:
            print(f"trainer: datasets ok: {n} training examples "
                  f"({', '.join(d.format for d in train_sets)})",
                  flush=True)
        if args.check_only:
            return EXIT_OK
        from .train import Engine
        out = Engine(spec, train_sets, valid_sets, reporter,
                     args.device, args.precision, args.peak_tflops).run()
        if rank0:
            _result(spec, "succeeded", started, None, out)
            print(f"trainer: done: {out['paths']['final']}", flush=True)
        return EXIT_OK
    except TrainerError as e:
        code, reason, msg, detail = e.exit_code, e.reason, e.message, e.detail
    except Cancelled as e:
        reporter.cmd = None        # the job is going away: file and log only
        reporter.fail("cancelled", f"Training cancelled ({e})")
        _result(spec, "cancelled", started,
                {"reason": "cancelled", "message": str(e)})
        print(f"trainer: cancelled ({e})", file=sys.stderr, flush=True)
        return EXIT_CANCELLED
    except Exception as e:         # noqa: BLE001 - every failure is reported
        detail = "".join(traceback.format_exception_only(type(e), e)).strip()
        traceback.print_exc()
        if is_oom(e):
            code, reason = EXIT_OOM, "resource.oom"
            msg = ("Out of memory: lower batch_size (or micro_batch_size) "
                   "or max_seq_len")
        else:
            code, reason = EXIT_TRAIN, "train.unknown"
            msg = f"Training failed: {type(e).__name__}"
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    print(f"trainer: failed: {reason}: {msg}"
          + (f" ({detail})" if detail else ""), file=sys.stderr, flush=True)
    reporter.fail(reason, msg)
    _result(spec, "failed", started,
            {"reason": reason, "message": msg, "detail": detail})
    return code
