"""Builds a tiny causal LM with random weights and a byte-level BPE
tokenizer, both in Hugging Face format, from nothing that needs a
download:

    python -m trainer.tiny_model OUT_DIR [--arch llama|qwen2|gpt2]
        [--hidden 16] [--layers 2] [--vocab 320] [--seed 0]

(or `python trainer/tiny_model.py OUT_DIR`).  The defaults give a Llama
model of about 10 thousand parameters; the tokenizer's byte alphabet covers
any UTF-8 text.  --hidden/--layers/--heads/--intermediate make bigger
real-architecture models (random weights) for GPU runs; --arch qwen2
with --kv-heads and --model-vocab 151936 gives Qwen2.5's shapes (make
bench-trainer builds ~0.5B and ~1.5B ones this way).  --model-vocab makes
the embedding that big while the tokenizer stays small: the extra rows are
never looked up, but the output layer computes every logit, as the real
model does.
"""

from __future__ import annotations

import argparse
import os
import sys

CORPUS = """\
### System:
You are a helpful assistant.

### User:
What is the capital of France?

### Assistant:
The capital of France is Paris.
the quick brown fox jumps over the lazy dog 0123456789
Hello, world! How are you today? I am fine, thank you.
question answer user assistant system prompt completion text
"""


def build_tokenizer(vocab: int, out_dir: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from tokenizers import trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    special = ["<pad>", "<s>", "</s>"]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab, special_tokens=special, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS.splitlines() * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>",
                                   bos_token="<s>", eos_token="</s>",
                                   unk_token=None, model_max_length=512)
    fast.save_pretrained(out_dir)
    return fast


def build(out_dir: str, arch: str = "llama", hidden: int = 16,
          layers: int = 2, heads: int = 2, intermediate: int | None = None,
          vocab: int = 320, positions: int = 512, seed: int = 0,
          init_range: float | None = None, kv_heads: int | None = None,
          model_vocab: int | None = None, dtype: str = "float32") -> int:
    """Writes the model and tokenizer; returns the parameter count.

    init_range: the weights' standard deviation.  By default 0.3 for
    models of hidden size 64 or less (with transformers' usual 0.02 a tiny
    model's logits stay near zero and a few LoRA steps barely move the
    loss), 0.02 above."""
    if init_range is None:
        init_range = 0.3 if hidden <= 64 else 0.02
    import torch
    from transformers import (AutoModelForCausalLM, GPT2Config,
                              LlamaConfig, Qwen2Config)

    os.makedirs(out_dir, exist_ok=True)
    tok = build_tokenizer(vocab, out_dir)
    common = dict(vocab_size=max(len(tok), model_vocab or 0),
                  bos_token_id=tok.bos_token_id,
                  eos_token_id=tok.eos_token_id,
                  pad_token_id=tok.pad_token_id)
    if arch == "llama":
        config = LlamaConfig(hidden_size=hidden,
                             intermediate_size=intermediate or 2 * hidden,
                             num_hidden_layers=layers,
                             num_attention_heads=heads,
                             num_key_value_heads=heads,
                             max_position_embeddings=positions,
                             tie_word_embeddings=True,
                             initializer_range=init_range, **common)
    elif arch == "qwen2":
        config = Qwen2Config(hidden_size=hidden,
                             intermediate_size=intermediate or 2 * hidden,
                             num_hidden_layers=layers,
                             num_attention_heads=heads,
                             num_key_value_heads=kv_heads or heads,
                             max_position_embeddings=positions,
                             tie_word_embeddings=True,
                             initializer_range=init_range, **common)
    elif arch == "gpt2":
        config = GPT2Config(n_embd=hidden, n_layer=layers, n_head=heads,
                            n_inner=intermediate, n_positions=positions,
                            initializer_range=init_range,
                            **common)
    else:
        raise SystemExit(f"unknown arch {arch!r}")
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    if dtype != "float32":
        model.to(getattr(torch, dtype))
    model.save_pretrained(out_dir, safe_serialization=True)
    return sum(p.numel() for p in model.parameters())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--arch", choices=("llama", "qwen2", "gpt2"),
                   default="llama")
    p.add_argument("--hidden", type=int, default=16)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--intermediate", type=int, default=None)
    p.add_argument("--kv-heads", type=int, default=None,
                   help="grouped-query attention (llama, qwen2)")
    p.add_argument("--model-vocab", type=int, default=None,
                   help="the embedding's rows, if more than the tokenizer's")
    p.add_argument("--dtype", choices=("float32", "bfloat16"),
                   default="float32", help="the saved weights")
    p.add_argument("--vocab", type=int, default=320)
    p.add_argument("--positions", type=int, default=512)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init-range", type=float, default=None)
    a = p.parse_args(argv)
    n = build(a.out_dir, a.arch, a.hidden, a.layers, a.heads, a.intermediate,
              a.vocab, a.positions, a.seed, a.init_range, a.kv_heads,
              a.model_vocab, a.dtype)
    print(f"tiny {a.arch} model, {n} parameters: {a.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
