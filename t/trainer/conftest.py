"""Fixtures of the trainer's tests.  They run with the trainer's venv
(trainer/test.sh); the project's own venv has no torch, so there they are
not collected.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

try:
    import peft  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401
except ImportError:
    collect_ignore_glob = ["test_*.py"]
else:
    for p in (str(ROOT), str(HERE)):
        if p not in sys.path:
            sys.path.insert(0, p)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """The tiny Llama (about 10k parameters), built once."""
    from trainer.tiny_model import build
    d = tmp_path_factory.mktemp("tiny") / "llama"
    build(str(d))
    return str(d)


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory) -> str:
    from trainer.tiny_model import build
    d = tmp_path_factory.mktemp("tiny") / "gpt2"
    build(str(d), arch="gpt2")
    return str(d)


@pytest.fixture
def train_file(tmp_path) -> str:
    from trainer_helpers import chat_lines, write_jsonl
    return write_jsonl(tmp_path / "train.jsonl", chat_lines(40))


@pytest.fixture
def make_spec(tmp_path, tiny_model):
    """Writes a spec (these tests' defaults, updated by kw); returns its
    path."""
    def make(**kw) -> str:
        spec = {"model_dir": tiny_model, "output_dir": str(tmp_path / "out"),
                "training_files": [{"path": str(tmp_path / "train.jsonl")}],
                "n_epochs": 1, "batch_size": 8, "learning_rate": 0.05,
                "seed": 1}
        spec.update(kw)
        path = tmp_path / "spec.json"
        path.write_text(json.dumps(spec))
        return str(path)
    return make
