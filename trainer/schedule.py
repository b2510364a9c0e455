"""Learning-rate schedules: a warm-up from near 0 to the learning rate over
round(warmup_ratio * steps) steps, then

  constant  the learning rate
  linear    a straight line down towards min_lr
  cosine    half a cosine down towards min_lr

reaching min_lr just after the last step (as transformers' schedules do, so
the last step still learns).
"""

from __future__ import annotations

import math


def lr_at(step: int, steps: int, lr: float, kind: str = "linear",
          min_lr: float = 0.0, warmup_ratio: float = 0.0) -> float:
    """The learning rate of optimizer step `step` (0-based) of `steps`."""
    warmup = int(round(warmup_ratio * steps))
    if step < warmup:
        return lr * (step + 1) / (warmup + 1)
    if kind == "constant":
        return lr
    t = min(1.0, (step - warmup) / max(1, steps - warmup))
    if kind == "linear":
        return lr + (min_lr - lr) * t
    if kind == "cosine":
        return min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))
    raise ValueError(f"unknown scheduler {kind!r}")
