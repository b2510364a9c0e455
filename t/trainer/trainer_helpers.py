"""Helpers of the trainer's tests: datasets, specs, results."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WORDS = ["apple", "river", "stone", "cloud", "green", "quick", "seven",
         "music"]


def chat_lines(n: int, seed: int = 0) -> list[dict]:
    """'say X' -> 'X X X': easy enough for a tiny model to learn."""
    r = random.Random(seed)
    out = []
    for _ in range(n):
        w = r.choice(WORDS)
        out.append({"messages": [
            {"role": "system", "content": "Repeat."},
            {"role": "user", "content": f"say {w}"},
            {"role": "assistant", "content": f"{w} {w} {w}"}]})
    return out


def write_jsonl(path: Path, records) -> str:
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
    return str(path)


def clova_csv(path: Path, rows: int = 12, bom: bool = True) -> str:
    """A CLOVA dataset: conversations of two turns."""
    lines = ["System_Prompt,C_ID,T_ID,Text,Completion"]
    for i in range(rows):
        w = WORDS[i % len(WORDS)]
        cid, tid = divmod(i, 2)
        sysp = "Repeat twice." if tid == 0 else ""
        lines.append(f'{sysp},{cid},{tid},say {w},"{w}, {w}"')
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return str(path)


def result(spec_path: str) -> dict:
    spec = json.loads(Path(spec_path).read_text())
    return json.loads((Path(spec["output_dir"]) / "result.json").read_text())


def trainer_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (
        ":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
