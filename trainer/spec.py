"""The job spec: one JSON object that mirrors the gateway's canonical create
request (docs/api-extensions.md), with local paths instead of dataset
references.  Ranges are the canonical ones, checked again here so that a
spec written by hand fails as clearly as one from the gateway.
docs/trainer.md documents every key.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import spec_error

TUNING_TYPES = ("lora", "prompt_tuning", "full")
SCHEDULERS = ("linear", "constant", "cosine")
# tuning.lora.initialization -> peft's init_lora_weights
LORA_INITS = ("default", "kaiming", "true", "gaussian", "pissa", "olora",
              "random", "false", "none")
DEFAULT_LR = {"lora": 2e-4, "prompt_tuning": 3e-2, "full": 2e-5}
MAX_INT = 2 ** 53 - 1


@dataclass
class DataFile:
    path: str
    weight: float | None = None


@dataclass
class Lora:
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    initialization: str | None = None
    type: str = "lora"
    target_modules: list[str] | None = None


@dataclass
class Scheduler:
    type: str = "linear"
    min_lr: float = 0.0
    warmup_ratio: float = 0.0


@dataclass
class Optimizer:
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0


@dataclass
class Spec:
    model_dir: str
    output_dir: str
    training_files: list[DataFile]
    validation_files: list[DataFile] = field(default_factory=list)
    tuning_type: str = "lora"
    task_type: str = "generation"
    n_epochs: int = 3
    batch_size: int = 8
    micro_batch_size: int | None = None
    learning_rate: float = 2e-4
    seed: int = 42
    n_samples: int | None = None
    max_seq_len: int | None = None
    validation_split: float = 0.0
    max_grad_norm: float = 1.0
    save_checkpoints: bool = True
    group_by_length: bool = False
    gradient_checkpointing: bool = False
    compile: bool = False
    lora: Lora = field(default_factory=Lora)
    virtual_tokens: int = 20
    scheduler: Scheduler = field(default_factory=Scheduler)
    optimizer: Optimizer = field(default_factory=Optimizer)
    job_id: str | None = None
    model: str | None = None
    suffix: str | None = None
    metadata: dict[str, str] | None = None

    def to_json(self) -> dict:
        return asdict(self)


# ---- value checks --------------------------------------------------------
def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int(obj: dict, key: str, path: str, lo: int, hi: int) -> int | None:
    if key not in obj:
        return None
    v = obj[key]
    if not _is_num(v) or (isinstance(v, float)
                          and (not math.isfinite(v) or v != int(v))):
        raise spec_error(f"{path} must be an integer between {lo} and {hi}")
    v = int(v)
    if not lo <= v <= hi:
        raise spec_error(f"{path} must be an integer between {lo} and {hi}")
    return v


def _num(obj: dict, key: str, path: str, ok, rule: str) -> float | None:
    if key not in obj:
        return None
    v = obj[key]
    if not _is_num(v) or not math.isfinite(float(v)) or not ok(float(v)):
        raise spec_error(f"{path} must be a number {rule}")
    return float(v)


def _str(obj: dict, key: str, path: str, required: bool = False
         ) -> str | None:
    if key not in obj:
        if required:
            raise spec_error(f"{path} is required")
        return None
    v = obj[key]
    if not isinstance(v, str) or not v:
        raise spec_error(f"{path} must be a non-empty string")
    return v


def _obj(obj: dict, key: str, path: str) -> dict | None:
    if key not in obj:
        return None
    v = obj[key]
    if not isinstance(v, dict):
        raise spec_error(f"{path} must be an object")
    return v


def _metadata(obj: dict) -> dict[str, str] | None:
    """OpenAI's metadata: at most 16 string pairs, small enough to ride in
    every progress report."""
    md = _obj(obj, "metadata", "metadata")
    if md is None:
        return None
    if len(md) > 16 or not all(isinstance(k, str) and 0 < len(k) <= 64
                               and isinstance(v, str) and len(v) <= 512
                               for k, v in md.items()):
        raise spec_error("metadata must be at most 16 pairs of strings")
    text = json.dumps(md, separators=(",", ":"), ensure_ascii=False)
    if len(text.encode("utf-8")) > METADATA_MAX_BYTES:
        raise spec_error(f"metadata must be at most {METADATA_MAX_BYTES} "
                         "bytes of JSON")
    return md


def _known(obj: dict, keys: tuple, path: str) -> None:
    for k in obj:
        if k not in keys:
            where = f"{path}.{k}" if path else k
            raise spec_error(f"unknown key {where[:64]}")


def _files(obj: dict, key: str, base: str, required: bool
           ) -> list[DataFile]:
    if key not in obj:
        if required:
            raise spec_error(f"{key} is required")
        return []
    v = obj[key]
    if not isinstance(v, list) or not 1 <= len(v) <= 8:
        raise spec_error(f"{key} must be an array of 1 to 8 objects")
    out = []
    for i, item in enumerate(v):
        p = f"{key}[{i}]"
        if isinstance(item, str):
            item = {"path": item}
        if not isinstance(item, dict):
            raise spec_error(f"{p} must be an object")
        _known(item, ("path", "weight"), p)
        path = _str(item, "path", f"{p}.path", required=True)
        weight = _num(item, "weight", f"{p}.weight",
                      lambda x: 0 < x <= 1, "with 0 < x <= 1")
        out.append(DataFile(os.path.join(base, path), weight))
    return out


# ---- the spec ------------------------------------------------------------
TOP_KEYS = ("model_dir", "output_dir", "training_files", "validation_files",
            "tuning_type", "task_type", "n_epochs", "batch_size",
            "micro_batch_size", "learning_rate", "learning_rate_multiplier",
            "seed", "n_samples", "max_seq_len", "validation_split",
            "max_grad_norm", "save_checkpoints", "group_by_length",
            "gradient_checkpointing", "compile", "lora", "prompt_tuning",
            "scheduler", "optimizer", "job_id", "model", "suffix",
            "metadata")
# the job's metadata rides in every progress report (the Slurm comment,
# 1024 bytes, of which a report takes at most 200)
METADATA_MAX_BYTES = 760


def parse(data: Any, base: str = ".") -> Spec:
    """Checks a decoded spec and fills the defaults.  Relative paths are
    taken from base (the spec file's folder)."""
    if not isinstance(data, dict):
        raise spec_error("the spec must be a JSON object")
    _known(data, TOP_KEYS, "")

    model_dir = os.path.join(base, _str(data, "model_dir", "model_dir",
                                        required=True))
    output_dir = os.path.join(base, _str(data, "output_dir", "output_dir",
                                         required=True))
    train = _files(data, "training_files", base, required=True)
    valid = _files(data, "validation_files", base, required=False)

    lora_obj = _obj(data, "lora", "lora")
    pt_obj = _obj(data, "prompt_tuning", "prompt_tuning")
    tuning_type = _str(data, "tuning_type", "tuning_type")
    if tuning_type is not None and tuning_type not in TUNING_TYPES:
        raise spec_error("tuning_type must be one of lora, prompt_tuning, "
                         "full")
    if lora_obj is not None and pt_obj is not None:
        raise spec_error("lora and prompt_tuning can't be given together")
    if tuning_type is None:
        tuning_type = "prompt_tuning" if pt_obj is not None else "lora"
    if lora_obj is not None and tuning_type != "lora":
        raise spec_error("lora is given with a tuning_type other than lora")
    if pt_obj is not None and tuning_type != "prompt_tuning":
        raise spec_error("prompt_tuning is given with a tuning_type other "
                         "than prompt_tuning")

    task_type = _str(data, "task_type", "task_type") or "generation"
    if task_type != "generation":
        raise spec_error("task_type must be generation (the local trainer "
                         "tunes causal language models)")

    spec = Spec(model_dir=model_dir, output_dir=output_dir,
                training_files=train, validation_files=valid,
                tuning_type=tuning_type, task_type=task_type)

    v = _int(data, "n_epochs", "n_epochs", 1, 1000)
    if v is not None:
        spec.n_epochs = v
    v = _int(data, "batch_size", "batch_size", 1, 65536)
    if v is not None:
        spec.batch_size = v
    spec.micro_batch_size = _int(data, "micro_batch_size",
                                 "micro_batch_size", 1, 65536)
    if spec.micro_batch_size is not None \
            and spec.micro_batch_size > spec.batch_size:
        raise spec_error("micro_batch_size must not exceed batch_size")

    lr = _num(data, "learning_rate", "learning_rate",
              lambda x: 0 < x <= 1, "with 0 < x <= 1")
    mult = _num(data, "learning_rate_multiplier", "learning_rate_multiplier",
                lambda x: 0 < x <= 100, "with 0 < x <= 100")
    if lr is None:
        lr = DEFAULT_LR[tuning_type] * (mult if mult is not None else 1.0)
    spec.learning_rate = lr

    spec.metadata = _metadata(data)

    v = _int(data, "seed", "seed", 0, 2147483647)
    if v is not None:
        spec.seed = v
    spec.n_samples = _int(data, "n_samples", "n_samples", 1, MAX_INT)
    spec.max_seq_len = _int(data, "max_seq_len", "max_seq_len", 1, 1048576)
    v = _num(data, "validation_split", "validation_split",
             lambda x: 0 <= x < 1, "with 0 <= x < 1")
    if v is not None:
        spec.validation_split = v
    v = _num(data, "max_grad_norm", "max_grad_norm", lambda x: x >= 0,
             "with x >= 0 (0 turns clipping off)")
    if v is not None:
        spec.max_grad_norm = v
    for key in ("save_checkpoints", "group_by_length",
                "gradient_checkpointing", "compile"):
        if key in data:
            if not isinstance(data[key], bool):
                raise spec_error(f"{key} must be true or false")
            setattr(spec, key, data[key])
    for key in ("job_id", "model", "suffix"):
        setattr(spec, key, _str(data, key, key))

    if lora_obj is not None:
        _known(lora_obj, ("rank", "alpha", "dropout", "initialization",
                          "type", "target_modules"), "lora")
        lo = spec.lora
        v = _int(lora_obj, "rank", "lora.rank", 1, 1024)
        if v is not None:
            lo.rank = v
        v = _int(lora_obj, "alpha", "lora.alpha", 1, 4096)
        if v is not None:
            lo.alpha = v
        v = _num(lora_obj, "dropout", "lora.dropout", lambda x: 0 <= x < 1,
                 "with 0 <= x < 1")
        if v is not None:
            lo.dropout = v
        init = _str(lora_obj, "initialization", "lora.initialization")
        if init is not None:
            low = init.lower()
            if low not in LORA_INITS and not (
                    low.startswith("pissa_niter_")
                    and low[12:].isdigit()):
                raise spec_error(
                    "lora.initialization must be one of default, gaussian, "
                    "pissa, pissa_niter_<n>, olora, random")
            lo.initialization = low
        typ = _str(lora_obj, "type", "lora.type")
        if typ is not None:
            if typ.lower() not in ("lora", "dora"):
                raise spec_error("lora.type must be lora or dora")
            lo.type = typ.lower()
        if "target_modules" in lora_obj:
            tm = lora_obj["target_modules"]
            if (not isinstance(tm, list) or not 1 <= len(tm) <= 64
                    or not all(isinstance(m, str) and 1 <= len(m) <= 64
                               for m in tm)):
                raise spec_error("lora.target_modules must be 1 to 64 "
                                 "module names")
            lo.target_modules = list(tm)

    if pt_obj is not None:
        _known(pt_obj, ("virtual_tokens",), "prompt_tuning")
        v = _int(pt_obj, "virtual_tokens", "prompt_tuning.virtual_tokens",
                 1, 10000)
        if v is not None:
            spec.virtual_tokens = v

    sch = _obj(data, "scheduler", "scheduler")
    if sch is not None:
        _known(sch, ("type", "min_lr", "warmup_ratio"), "scheduler")
        typ = _str(sch, "type", "scheduler.type", required=True)
        if typ not in SCHEDULERS:
            raise spec_error("scheduler.type must be one of linear, "
                             "constant, cosine")
        spec.scheduler.type = typ
        v = _num(sch, "min_lr", "scheduler.min_lr", lambda x: x >= 0,
                 "with x >= 0")
        if v is not None:
            spec.scheduler.min_lr = v
        v = _num(sch, "warmup_ratio", "scheduler.warmup_ratio",
                 lambda x: 0 <= x <= 1, "with 0 <= x <= 1")
        if v is not None:
            spec.scheduler.warmup_ratio = v

    opt = _obj(data, "optimizer", "optimizer")
    if opt is not None:
        _known(opt, ("type", "beta1", "beta2", "eps", "weight_decay"),
               "optimizer")
        typ = _str(opt, "type", "optimizer.type")
        if typ is not None and typ != "adamw":
            raise spec_error("optimizer.type must be adamw")
        o = spec.optimizer
        for key, ok, rule in (
                ("beta1", lambda x: 0 <= x < 1, "with 0 <= x < 1"),
                ("beta2", lambda x: 0 <= x < 1, "with 0 <= x < 1"),
                ("eps", lambda x: x > 0, "with x > 0"),
                ("weight_decay", lambda x: x >= 0, "with x >= 0")):
            v = _num(opt, key, f"optimizer.{key}", ok, rule)
            if v is not None:
                setattr(o, key, v)

    return spec


def load(path: str) -> Spec:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise spec_error(f"can't read the spec: {e.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as e:
        raise spec_error(f"the spec is not valid JSON: {e}"[:150]) from None
    return parse(data, os.path.dirname(os.path.abspath(path)))
