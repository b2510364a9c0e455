"""Datasets: reading and checking them (no torch here, so a bad dataset
fails in well under a second), mixing them by weight, and turning each
example into token ids with the prompt masked out.

Formats (docs/trainer.md):

* OpenAI chat JSONL: {"messages": [{"role", "content"}, ...]} per line; the
  last assistant message is the target, every message before it the
  prompt.  The legacy {"prompt", "completion"} lines are read too.
* CLOVA Studio's dataset: CSV or JSONL with the columns System_Prompt, C_ID,
  T_ID, Text, Completion, in that order; each row is one example whose
  prompt is the conversation so far.

A failure raises TrainerError with CLOVA's reason and message.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from .errors import (MSG_COLUMN, MSG_DUPLICATE, MSG_ENCODING, MSG_EXTENSION,
                     MSG_JSON, MSG_ORDER, MSG_REQUIRED, MSG_SIZE,
                     MSG_UNEXPECTED, dataset_error)

EXTENSIONS = (".jsonl", ".json", ".csv")
CLOVA_COLUMNS = ("System_Prompt", "C_ID", "T_ID", "Text", "Completion")
CHAT_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_DIGITS = re.compile(r"[0-9]+\Z")


@dataclass
class Example:
    """One training example.  messages (chat form) or prompt (raw text,
    legacy prompt/completion lines) gives the context; completion is the
    target the loss is taken on."""
    completion: str
    messages: list[dict] | None = None
    prompt: str | None = None
    source: str = ""


@dataclass
class Dataset:
    path: str
    format: str          # "openai_chat", "openai_completion" or "clova"
    examples: list[Example] = field(default_factory=list)
    weight: float | None = None


# ---- reading -------------------------------------------------------------
def human_size(n: int) -> str:
    for unit, size in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20),
                       ("KB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n}B"


def parse_size(text: str) -> int:
    """'10M', '1G', '4096' -> bytes (for --max-file-size)."""
    m = re.fullmatch(r"\s*([0-9]+)\s*([kKmMgGtT]?)[bB]?\s*", text)
    if not m:
        raise ValueError(f"not a size: {text!r}")
    return int(m.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30,
                               "t": 40}[m.group(2).lower()]


def _name(path: str) -> str:
    base = os.path.basename(path) or path
    return base if len(base) <= 64 else base[:61] + "..."


def read_text(path: str, max_bytes: int = 0) -> str:
    """The file's text: existence, extension, size and encoding checks, in
    that order."""
    if not os.path.exists(path):
        raise dataset_error("file.noexist",
                            f"Dataset file does not exist: {_name(path)}",
                            path)
    if os.path.splitext(path)[1].lower() not in EXTENSIONS:
        raise dataset_error("file.extension", MSG_EXTENSION, path)
    try:
        size = os.path.getsize(path)
        if max_bytes and size > max_bytes:
            raise dataset_error("file.size",
                                MSG_SIZE.format(limit=human_size(max_bytes)),
                                f"{path}: {size} bytes")
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise dataset_error("file.error",
                            f"Dataset file could not be read: {_name(path)}",
                            f"{path}: {e.strerror}") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise dataset_error("file.encoding", MSG_ENCODING,
                            f"{path}: byte {e.start}: not UTF-8") from None


def _json_records(text: str, path: str) -> Iterable[tuple[int, Any]]:
    """(line number, decoded value) of a JSON Lines file, or of a .json
    file holding one array."""
    if path.lower().endswith(".json") and text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except ValueError as e:
            raise dataset_error("file.format", MSG_JSON.format(
                reason=f"{e.msg} (line {e.lineno})"), path) from None
        for i, rec in enumerate(data, 1):
            yield i, rec
        return
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except ValueError as e:
            raise dataset_error("file.format", MSG_JSON.format(
                reason=f"{e.msg} (line {n})"), f"{path}: line {n}") from None


def load_dataset(path: str, weight: float | None = None,
                 max_bytes: int = 0) -> Dataset:
    text = read_text(path, max_bytes)
    if path.lower().endswith(".csv"):
        ds = Dataset(path, "clova", _clova_rows_csv(text, path), weight)
    else:
        ds = _load_json(text, path, weight)
    if not ds.examples:
        raise dataset_error("file.format", "Invalid dataset: no rows", path)
    return ds


def _load_json(text: str, path: str, weight: float | None) -> Dataset:
    records = _json_records(text, path)
    first = None
    for n, rec in records:
        first = (n, rec)
        break
    if first is None:
        return Dataset(path, "openai_chat", [], weight)

    def all_records():
        yield first
        yield from records

    rec = first[1]
    if not isinstance(rec, dict):
        raise dataset_error("file.format", MSG_JSON.format(
            reason=f"expected an object (line {first[0]})"), path)
    keys = {k.lower() for k in rec}
    if "messages" in rec:
        return Dataset(path, "openai_chat",
                       [_chat_example(n, r, path) for n, r in all_records()],
                       weight)
    if "prompt" in rec and "completion" in rec:
        return Dataset(path, "openai_completion",
                       [_completion_example(n, r, path)
                        for n, r in all_records()], weight)
    if keys & {c.lower() for c in CLOVA_COLUMNS}:
        return Dataset(path, "clova",
                       _clova_rows_json(all_records(), path), weight)
    raise dataset_error("file.format", MSG_REQUIRED.format(column="messages"),
                        f"{path}: line {first[0]}")


# ---- OpenAI formats ------------------------------------------------------

def _content(v: Any) -> str | None:
    """A message's text: a string, or text parts joined."""
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        parts = []
        for p in v:
            if not (isinstance(p, dict) and p.get("type") == "text"
                    and isinstance(p.get("text"), str)):
                return None
            parts.append(p["text"])
        return "".join(parts)
    return None


def _chat_example(n: int, rec: Any, path: str) -> Example:
    where = f"{path}: line {n}"
    if not isinstance(rec, dict):
        raise dataset_error("file.format", MSG_JSON.format(
            reason=f"expected an object (line {n})"), where)
    msgs = rec.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise dataset_error("file.format",
                            MSG_REQUIRED.format(column="messages"), where)
    clean = []
    for m in msgs:
        if not isinstance(m, dict) or m.get("role") not in CHAT_ROLES:
            raise dataset_error("file.format",
                                MSG_COLUMN.format(column="messages.role"),
                                where)
        text = _content(m.get("content"))
        if text is None:
            if m["role"] == "assistant" and m.get("content") is None:
                text = ""        # a tool-call turn: no text
            else:
                raise dataset_error(
                    "file.format",
                    MSG_COLUMN.format(column="messages.content"), where)
        clean.append({"role": m["role"], "content": text})
    last = None
    for i in range(len(clean) - 1, -1, -1):
        if clean[i]["role"] == "assistant" and clean[i]["content"]:
            last = i
            break
    if last is None:
        raise dataset_error("file.format",
                            MSG_REQUIRED.format(column="assistant"), where)
    return Example(completion=clean[last]["content"], messages=clean[:last],
                   source=where)


def _completion_example(n: int, rec: Any, path: str) -> Example:
    where = f"{path}: line {n}"
    if not isinstance(rec, dict):
        raise dataset_error("file.format", MSG_JSON.format(
            reason=f"expected an object (line {n})"), where)
    for key in ("prompt", "completion"):
        if not isinstance(rec.get(key), str) or (key == "completion"
                                                 and not rec[key]):
            raise dataset_error("file.format",
                                MSG_REQUIRED.format(column=key), where)
    return Example(completion=rec["completion"], prompt=rec["prompt"],
                   source=where)


# ---- CLOVA's format --------------------------------------------------------

def _check_columns(names: list[str], where: str) -> None:
    """The column rules: duplicates (case-insensitive), unexpected
    columns, missing ones, then the order."""
    seen: dict[str, str] = {}
    for c in names:
        low = c.lower()
        if low in seen:
            raise dataset_error("file.format",
                                MSG_DUPLICATE.format(column=c), where)
        seen[low] = c
    for c in names:
        if c not in CLOVA_COLUMNS:
            raise dataset_error("file.format",
                                MSG_UNEXPECTED.format(column=c), where)
    for c in CLOVA_COLUMNS:
        if c not in names:
            raise dataset_error("file.format",
                                MSG_REQUIRED.format(column=c), where)
    if tuple(names) != CLOVA_COLUMNS:
        raise dataset_error("file.format", MSG_ORDER, where)


def _id(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v if v >= 0 else None
    if isinstance(v, float):
        return int(v) if v >= 0 and v == int(v) else None
    if isinstance(v, str) and _DIGITS.match(v.strip()):
        return int(v.strip())
    return None


class _Conversations:
    """The C_ID / T_ID rules: C_ID starts at 0 and grows by 1 per
    conversation; T_ID starts at 0 in each and grows by 1 per turn."""

    def __init__(self, path: str):
        self.path = path
        self.prev: tuple[int, int] | None = None
        self.system = ""
        self.turns: list[tuple[str, str]] = []
        self.examples: list[Example] = []

    def add(self, row: dict, where: str) -> None:
        cid, tid = _id(row["C_ID"]), _id(row["T_ID"])
        if cid is None:
            raise dataset_error("file.format",
                                MSG_COLUMN.format(column="C_ID"), where)
        if tid is None:
            raise dataset_error("file.format",
                                MSG_COLUMN.format(column="T_ID"), where)
        if self.prev is None:
            if cid != 0:
                raise dataset_error("file.format",
                                    MSG_COLUMN.format(column="C_ID"), where)
            new = True
        elif cid == self.prev[0]:
            new = False
        elif cid == self.prev[0] + 1:
            new = True
        else:
            raise dataset_error("file.format",
                                MSG_COLUMN.format(column="C_ID"), where)
        if (new and tid != 0) or (not new and tid != self.prev[1] + 1):
            raise dataset_error("file.format",
                                MSG_COLUMN.format(column="T_ID"), where)
        system = row["System_Prompt"]
        if system is None:
            system = ""
        if not isinstance(system, str):
            raise dataset_error("file.format",
                                MSG_COLUMN.format(column="System_Prompt"),
                                where)
        for col in ("Text", "Completion"):
            v = row[col]
            if not isinstance(v, str):
                if v is None:
                    raise dataset_error(
                        "file.format", MSG_REQUIRED.format(column=col), where)
                raise dataset_error("file.format",
                                    MSG_COLUMN.format(column=col), where)
            if not v.strip():
                raise dataset_error("file.format",
                                    MSG_REQUIRED.format(column=col), where)
        if new:
            self.system = system
            self.turns = []
        elif system:
            self.system = system
        msgs = [{"role": "system", "content": self.system}] \
            if self.system else []
        for text, completion in self.turns:
            msgs.append({"role": "user", "content": text})
            msgs.append({"role": "assistant", "content": completion})
        msgs.append({"role": "user", "content": row["Text"]})
        self.examples.append(Example(completion=row["Completion"],
                                     messages=msgs, source=where))
        self.turns.append((row["Text"], row["Completion"]))
        self.prev = (cid, tid)


def _clova_rows_csv(text: str, path: str) -> list[Example]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = None
    conv = _Conversations(path)
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            where = f"{path}: line {reader.line_num}"
            if header is None:
                header = [c.strip() for c in row]
                _check_columns(header, where)
                continue
            if len(row) > len(header):
                raise dataset_error("file.format", MSG_UNEXPECTED.format(
                    column=f"#{len(header) + 1}"), where)
            if len(row) < len(header):
                raise dataset_error("file.format", MSG_REQUIRED.format(
                    column=header[len(row)]), where)
            conv.add(dict(zip(header, row)), where)
    except csv.Error as e:
        raise dataset_error("file.format", "Invalid dataset: malformed CSV",
                            f"{path}: line {reader.line_num}: {e}") from None
    return conv.examples


def _clova_rows_json(records: Iterable[tuple[int, Any]], path: str
                     ) -> list[Example]:
    conv = _Conversations(path)
    for n, rec in records:
        where = f"{path}: line {n}"
        if not isinstance(rec, dict):
            raise dataset_error("file.format", MSG_JSON.format(
                reason=f"expected an object (line {n})"), where)
        _check_columns(list(rec), where)
        conv.add(rec, where)
    return conv.examples


# ---- the training mix ----------------------------------------------------
def load_all(files, max_bytes: int = 0) -> list[Dataset]:
    return [load_dataset(f.path, f.weight, max_bytes) for f in files]


def mix(datasets: list[Dataset], n_samples: int | None, seed: int
        ) -> list[Example]:
    """The training examples.  One dataset, or several without weights:
    all of them, shuffled, then the first n_samples.  Several with a
    weight: each gives a share weight / sum(weights) of n_samples (or of
    their total size), drawn without repeats until a dataset runs out,
    then with repeats; datasets without a weight count as 1."""
    rng = random.Random(seed)
    weighted = len(datasets) > 1 and any(d.weight is not None
                                         for d in datasets)
    if not weighted:
        out = [e for d in datasets for e in d.examples]
        rng.shuffle(out)
        return out[:n_samples] if n_samples else out
    total = n_samples or sum(len(d.examples) for d in datasets)
    ws = [d.weight if d.weight is not None else 1.0 for d in datasets]
    counts = [int(total * w / sum(ws)) for w in ws]
    # hand out what rounding left, largest remainders first
    rest = sorted(range(len(ws)), key=lambda i: -(total * ws[i] / sum(ws)
                                                  - counts[i]))
    for i in rest[:total - sum(counts)]:
        counts[i] += 1
    out = []
    for d, k in zip(datasets, counts):
        pool = list(d.examples)
        while k > 0:
            rng.shuffle(pool)
            out.extend(pool[:k])
            k -= len(pool)
    rng.shuffle(out)
    return out


def split(examples: list[Example], ratio: float, seed: int
          ) -> tuple[list[Example], list[Example]]:
    """Holds out ceil(ratio * n) examples (at least 1 when ratio > 0 and
    at least one example is left to train on)."""
    if ratio <= 0 or len(examples) < 2:
        return examples, []
    k = min(len(examples) - 1, max(1, int(-(-ratio * len(examples) // 1))))
    order = list(examples)
    random.Random(seed + 1).shuffle(order)
    return order[k:], order[:k]


# ---- tokens --------------------------------------------------------------
PLAIN_ROLES = {"system": "System", "developer": "System", "user": "User",
               "assistant": "Assistant", "tool": "Tool",
               "function": "Tool"}


def render(ex: Example, tokenizer) -> tuple[str, str, bool]:
    """(prompt text, completion text, whether the prompt already holds the
    tokenizer's special tokens).  The tokenizer's chat template when it
    has one, else a plain '### Role:' layout."""
    if ex.prompt is not None:
        return ex.prompt, ex.completion, False
    template = getattr(tokenizer, "chat_template", None)
    if template:
        try:
            full = ex.messages + [{"role": "assistant",
                                   "content": ex.completion}]
            prompt = tokenizer.apply_chat_template(
                ex.messages, tokenize=False, add_generation_prompt=True)
            whole = tokenizer.apply_chat_template(full, tokenize=False)
            if whole.startswith(prompt) and len(whole) > len(prompt):
                return prompt, whole[len(prompt):], True
            return prompt, ex.completion, True
        except Exception:          # a template that refuses these roles
            pass
    parts = [f"### {PLAIN_ROLES[m['role']]}:\n{m['content']}\n\n"
             for m in ex.messages]
    return "".join(parts) + "### Assistant:\n", ex.completion, False


def encode(ex: Example, tokenizer, max_seq_len: int
           ) -> tuple[list[int], list[int]]:
    """(input ids, labels) with the prompt's labels at -100.  The
    completion ends with EOS.  Too long: the completion keeps up to
    max_seq_len - 1 tokens, the prompt keeps its last tokens."""
    prompt, completion, templated = render(ex, tokenizer)
    p = tokenizer(prompt, add_special_tokens=not templated)["input_ids"]
    c = tokenizer(completion, add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    if eos is not None and (not c or c[-1] != eos):
        c = c + [eos]
    if len(p) + len(c) > max_seq_len:
        keep_c = min(len(c), max(1, max_seq_len - 1) if p else max_seq_len)
        c = c[:keep_c]
        keep_p = max_seq_len - len(c)
        p = p[len(p) - keep_p:] if keep_p > 0 else []
    return p + c, [-100] * len(p) + c
