"""Throughput helpers with no torch in them: the data-parallel rank from
torchrun's environment, length-grouped batches, the model-FLOPs formula
behind MFU and the table of GPU peaks.

MFU (model FLOPs utilisation) = the model FLOP/s achieved / the peak FLOP/s
of the devices.  The model FLOPs of a step count useful work only
(padding, and the forward pass that gradient checkpointing recomputes, are
not counted):

  per real token  4 * N + 2 * N_trainable
                  forward 2N (every parameter, one multiply-add per token),
                  backward 2N for the activation gradients (they flow back
                  through every layer, frozen or not) and 2 * N_trainable
                  for the weight gradients; so 6N for full fine-tuning and
                  about 4N for LoRA or prompt tuning;
  attention       + 12 * layers * hidden * sum(len_i ** 2) over the step's
                  rows (QK^T and AV: 4 * hidden * len multiply-adds a token
                  a layer forward, twice that backward), counted without
                  the causal mask's saving, as PaLM's MFU does.

N counts every parameter, embeddings included (with tied embeddings the
output projection is a real matmul over the vocabulary).
"""

from __future__ import annotations

import os
import random

# dense bf16 and TF32 tensor-core peaks, TFLOP/s a GPU (NVIDIA's data
# sheets; "with sparsity" figures halved).  Matched in order against
# torch.cuda.get_device_name(), so the specific names come first.
GPU_PEAKS = (
    ("H100 NVL", 835.0, 417.5),
    ("H100 PCIe", 756.0, 378.0),
    ("GH200", 989.0, 494.5),
    ("H200", 989.0, 494.5),
    ("H100", 989.0, 494.5),        # SXM ("NVIDIA H100 80GB HBM3")
    ("H800", 989.0, 494.5),
    ("A100", 312.0, 156.0),
    ("A800", 312.0, 156.0),
    ("L40S", 362.0, 183.0),
    ("L40", 181.0, 90.5),
    ("L4", 121.0, 60.0),
)


def dist_env() -> tuple[int, int, int]:
    """(rank, local_rank, world_size) from torchrun's environment; (0, 0,
    1) when the trainer runs alone."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        return 0, 0, 1
    if world <= 1:
        return 0, 0, 1
    return rank, local, world


def peak_flops(device_name: str | None, bf16: bool,
               override_tflops: float | None = None) -> float | None:
    """The peak FLOP/s of one device: the override (TFLOP/s), else the
    table's bf16 or TF32 figure for a known GPU, else None (a CPU, an
    unknown GPU: MFU is then not reported)."""
    if override_tflops:
        return override_tflops * 1e12
    if not device_name:
        return None
    for key, bf, tf32 in GPU_PEAKS:
        if key in device_name:
            return (bf if bf16 else tf32) * 1e12
    return None


def step_flops(lengths, n_params: int, n_trainable: int, layers: int,
               hidden: int) -> float:
    """The model FLOPs of one optimizer step over rows of these real
    (non-padding) lengths (the module docstring has the formula)."""
    tokens = sum(lengths)
    attn = 12.0 * layers * hidden * sum(n * n for n in lengths)
    return (4.0 * n_params + 2.0 * n_trainable) * tokens + attn


def grouped_batches(lengths: list[int], batch: int, rng: random.Random,
                    mega: int = 50) -> list[list[int]]:
    """Length-grouped batches of indices: a random permutation cut into
    megabatches of `mega` batches, each sorted by length (longest first)
    and cut into batches, and the batches shuffled.  Every index appears
    once; a batch holds examples of similar lengths, so little padding,
    while the order stays random (transformers' group_by_length does the
    same)."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    size = batch * mega
    out = []
    for m in range(0, len(order), size):
        chunk = sorted(order[m:m + size], key=lambda i: -lengths[i])
        out.extend(chunk[b:b + batch] for b in range(0, len(chunk), batch))
    # the last, short batch stays last: every other step has `batch` rows
    head, tail = out[:-1], out[-1:]
    if tail and len(tail[0]) == batch:
        head, tail = out, []
    rng.shuffle(head)
    return head + tail
