"""Every dataset failure reason with CLOVA's message, and the formats that
are accepted."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from trainer_helpers import chat_lines, clova_csv, result, write_jsonl

from trainer import data as ds
from trainer.cli import main
from trainer.errors import TrainerError

HEADER = "System_Prompt,C_ID,T_ID,Text,Completion"


def _csv(tmp_path: Path, text: str, bom: bool = True) -> str:
    p = tmp_path / "d.csv"
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return str(p)


def _fails(path: str, reason: str, message: str, **kw) -> TrainerError:
    with pytest.raises(TrainerError) as e:
        ds.load_dataset(path, **kw)
    assert (e.value.reason, e.value.message) == (reason, message)
    assert e.value.exit_code == 2
    return e.value


# ---- accepted ------------------------------------------------------------
@pytest.mark.parametrize("bom", [True, False])
def test_clova_csv_with_and_without_bom(tmp_path, bom):
    d = ds.load_dataset(clova_csv(tmp_path / "c.csv", rows=6, bom=bom))
    assert d.format == "clova" and len(d.examples) == 6
    second = d.examples[1]           # C_ID 0, T_ID 1: the history comes
    assert second.completion == "river, river"
    assert [m["role"] for m in second.messages] == [
        "system", "user", "assistant", "user"]
    assert second.messages[0]["content"] == "Repeat twice."
    assert second.messages[2]["content"] == "apple, apple"


def test_clova_jsonl(tmp_path):
    rows = [{"System_Prompt": "", "C_ID": 0, "T_ID": 0, "Text": "a",
             "Completion": "b"},
            {"System_Prompt": None, "C_ID": "0", "T_ID": "1", "Text": "c",
             "Completion": "d"},
            {"System_Prompt": "s", "C_ID": 1, "T_ID": 0, "Text": "e",
             "Completion": "f"}]
    d = ds.load_dataset(write_jsonl(tmp_path / "c.jsonl", rows))
    assert d.format == "clova"
    assert [e.completion for e in d.examples] == ["b", "d", "f"]
    assert d.examples[2].messages[0] == {"role": "system", "content": "s"}


def test_openai_chat_and_legacy(tmp_path):
    d = ds.load_dataset(write_jsonl(tmp_path / "a.jsonl", [
        {"messages": [{"role": "user", "content": "q1"},
                      {"role": "assistant", "content": "a1"},
                      {"role": "user", "content": [
                          {"type": "text", "text": "q2"}]},
                      {"role": "assistant", "content": "a2"}]}]))
    assert d.format == "openai_chat"
    ex = d.examples[0]
    assert ex.completion == "a2" and len(ex.messages) == 3
    d = ds.load_dataset(write_jsonl(tmp_path / "b.jsonl", [
        {"prompt": "p", "completion": "c"}]))
    assert d.format == "openai_completion"
    assert d.examples[0].prompt == "p"
    # a .json file with one array
    p = tmp_path / "c.json"
    p.write_text(json.dumps(chat_lines(3)))
    assert len(ds.load_dataset(str(p)).examples) == 3


# ---- the failures --------------------------------------------------------
def test_file_noexist(tmp_path):
    _fails(str(tmp_path / "missing.jsonl"), "file.noexist",
           "Dataset file does not exist: missing.jsonl")


def test_file_extension(tmp_path):
    p = tmp_path / "d.txt"
    p.write_text("x")
    _fails(str(p), "file.extension",
           "Unavailable file extension. Please check the file extension "
           "again.")


def test_file_size(tmp_path):
    path = clova_csv(tmp_path / "c.csv", rows=80)
    _fails(path, "file.size", "Exceeded the disk usage limit. Please check "
           "if the file size is 1KB or less.", max_bytes=1024)
    ds.load_dataset(path, max_bytes=1 << 20)


@pytest.mark.parametrize("raw", [
    "System_Prompt,C_ID,T_ID,Text,Completion\n,0,0,h\xe9,x\n".encode(
        "latin-1"),
    "System_Prompt,C_ID,T_ID,Text,Completion\n".encode("utf-16"),
])
def test_file_encoding(tmp_path, raw):
    p = tmp_path / "d.csv"
    p.write_bytes(raw)
    _fails(str(p), "file.encoding", "Unsupported charset")


def test_file_error(tmp_path):
    (tmp_path / "dir.jsonl").mkdir()
    _fails(str(tmp_path / "dir.jsonl"), "file.error",
           "Dataset file could not be read: dir.jsonl")


def test_invalid_json(tmp_path):
    p = write_jsonl(tmp_path / "d.jsonl", [chat_lines(1)[0], '{"messages": '])
    e = _fails(p, "file.format",
               "Invalid json format. Expecting value (line 2)")
    assert e.detail.endswith("line 2")
    p = write_jsonl(tmp_path / "e.jsonl", ["[1, 2]"])
    _fails(p, "file.format",
           "Invalid json format. expected an object (line 1)")


@pytest.mark.parametrize("text,message", [
    # a missing column
    ("System_Prompt,C_ID,T_ID,Text\n,0,0,a\n",
     "Invalid dataset: required field empty. Completion"),
    # an empty Text / Completion
    (HEADER + "\n,0,0,,b\n",
     "Invalid dataset: required field empty. Text"),
    (HEADER + "\n,0,0,a,  \n",
     "Invalid dataset: required field empty. Completion"),
    # a row with fewer fields than the header
    (HEADER + "\n,0,0,a\n",
     "Invalid dataset: required field empty. Completion"),
    # extra columns
    (HEADER + ",Label\n,0,0,a,b,c\n",
     "Invalid dataset: unexpected column. Label"),
    ("system_prompt,C_ID,T_ID,Text,Completion\n,0,0,a,b\n",
     "Invalid dataset: unexpected column. system_prompt"),
    (HEADER + "\n,0,0,a,b,c\n",
     "Invalid dataset: unexpected column. #6"),
    # duplicates, case-insensitive
    (HEADER + ",text\n,0,0,a,b,c\n",
     "Invalid dataset: duplicate columns. text"),
    (HEADER + ",Text\n,0,0,a,b,c\n",
     "Invalid dataset: duplicate columns. Text"),
    # the order
    ("C_ID,System_Prompt,T_ID,Text,Completion\n0,,0,a,b\n",
     "Invalid dataset: column order"),
    # C_ID: from 0, +1 per conversation, digits only, not empty
    (HEADER + "\n,1,0,a,b\n", "Invalid dataset: C_ID"),
    (HEADER + "\n,0,0,a,b\n,2,0,a,b\n", "Invalid dataset: C_ID"),
    (HEADER + "\n,0,0,a,b\n,1,0,a,b\n,0,1,a,b\n", "Invalid dataset: C_ID"),
    (HEADER + "\n,x,0,a,b\n", "Invalid dataset: C_ID"),
    (HEADER + "\n,,0,a,b\n", "Invalid dataset: C_ID"),
    (HEADER + "\n,-1,0,a,b\n", "Invalid dataset: C_ID"),
    # T_ID: from 0 in each conversation, +1 per turn
    (HEADER + "\n,0,1,a,b\n", "Invalid dataset: T_ID"),
    (HEADER + "\n,0,0,a,b\n,0,2,a,b\n", "Invalid dataset: T_ID"),
    (HEADER + "\n,0,0,a,b\n,1,1,a,b\n", "Invalid dataset: T_ID"),
    (HEADER + "\n,0,0,a,b\n,0,,a,b\n", "Invalid dataset: T_ID"),
    (HEADER + "\n,0,0.5,a,b\n", "Invalid dataset: T_ID"),
    # no rows at all
    (HEADER + "\n", "Invalid dataset: no rows"),
])
def test_clova_csv_format(tmp_path, text, message):
    _fails(_csv(tmp_path, text), "file.format", message)


@pytest.mark.parametrize("row,message", [
    ({"C_ID": 0, "System_Prompt": "", "T_ID": 0, "Text": "a",
      "Completion": "b"}, "Invalid dataset: column order"),
    ({"System_Prompt": "", "C_ID": 0, "T_ID": 0, "Text": "a"},
     "Invalid dataset: required field empty. Completion"),
    ({"System_Prompt": "", "C_ID": 0, "T_ID": 0, "Text": "a",
      "Completion": "b", "Extra": 1},
     "Invalid dataset: unexpected column. Extra"),
    ({"System_Prompt": "", "C_ID": 0, "T_ID": 0, "Text": "a",
      "Completion": "b", "COMPLETION": "c"},
     "Invalid dataset: duplicate columns. COMPLETION"),
    ({"System_Prompt": "", "C_ID": True, "T_ID": 0, "Text": "a",
      "Completion": "b"}, "Invalid dataset: C_ID"),
    ({"System_Prompt": "", "C_ID": 0, "T_ID": 3, "Text": "a",
      "Completion": "b"}, "Invalid dataset: T_ID"),
    ({"System_Prompt": "", "C_ID": 0, "T_ID": 0, "Text": None,
      "Completion": "b"}, "Invalid dataset: required field empty. Text"),
    ({"System_Prompt": "", "C_ID": 0, "T_ID": 0, "Text": "a",
      "Completion": 5}, "Invalid dataset: Completion"),
    ({"System_Prompt": 1, "C_ID": 0, "T_ID": 0, "Text": "a",
      "Completion": "b"}, "Invalid dataset: System_Prompt"),
])
def test_clova_jsonl_format(tmp_path, row, message):
    _fails(write_jsonl(tmp_path / "d.jsonl", [row]), "file.format", message)


@pytest.mark.parametrize("rec,message", [
    ({"input": "x"}, "Invalid dataset: required field empty. messages"),
    ({"messages": []}, "Invalid dataset: required field empty. messages"),
    ({"messages": [{"role": "user", "content": "q"}]},
     "Invalid dataset: required field empty. assistant"),
    ({"messages": [{"role": "robot", "content": "q"}]},
     "Invalid dataset: messages.role"),
    ({"messages": [{"role": "user", "content": 3}]},
     "Invalid dataset: messages.content"),
    ({"prompt": "p", "completion": ""},
     "Invalid dataset: required field empty. completion"),
])
def test_openai_format(tmp_path, rec, message):
    _fails(write_jsonl(tmp_path / "d.jsonl", [rec]), "file.format", message)


def test_second_record_checked_too(tmp_path):
    p = write_jsonl(tmp_path / "d.jsonl", chat_lines(3) + [{"messages": 1}])
    e = _fails(p, "file.format",
               "Invalid dataset: required field empty. messages")
    assert e.detail.endswith("line 4")


# ---- through the command -------------------------------------------------
def test_bad_dataset_fails_fast_before_the_model(tmp_path):
    """Exit 2, the reason in the progress file and result.json, and the
    model is never looked at (its folder does not even exist)."""
    bad = _csv(tmp_path, HEADER + "\n,0,0,a,b\n,0,5,a,b\n")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({
        "model_dir": str(tmp_path / "no-such-model"),
        "output_dir": str(tmp_path / "out"),
        "training_files": [{"path": bad}]}))
    progress = tmp_path / "p.json"
    t0 = time.monotonic()
    assert main(["--spec", str(spec), "--progress-file", str(progress)]) == 2
    assert time.monotonic() - t0 < 2
    assert json.loads(progress.read_text()) == {
        "err": "file.format", "msg": "Invalid dataset: T_ID"}
    r = result(str(spec))
    assert r["status"] == "failed"
    assert r["error"]["reason"] == "file.format"
    assert r["error"]["detail"].endswith("line 3")


def test_bad_validation_file_fails_too(tmp_path, train_file):
    (tmp_path / "v.parquet").write_bytes(b"PAR1")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({
        "model_dir": str(tmp_path / "no-such-model"),
        "output_dir": str(tmp_path / "out"),
        "training_files": [{"path": train_file}],
        "validation_files": [{"path": str(tmp_path / "v.parquet")}]}))
    assert main(["--spec", str(spec), "--check-only"]) == 2
    assert result(str(spec))["error"]["reason"] == "file.extension"
