"""The include rule of translators/ (docs/architecture.md#layers) is kept
by the build: scripts/check-layers.sh, which `make lint` runs, passes on
the tree and refuses each kind of breach, naming the file and the header."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "scripts" / "check-layers.sh"


def check(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(CHECK), str(tree)], capture_output=True,
                          text=True, timeout=60)


def test_the_tree_keeps_the_rule():
    r = check(ROOT / "translators")
    assert r.returncode == 0, r.stderr
    assert "layers: clean" in r.stdout


@pytest.mark.parametrize("path,include,why", [
    ("vendors/gw_clova.c", "vendors/gw_qianfan.h", "another vendor"),
    ("core/gw_exchange.c", "vendors/gw_clova.h", "may not use"),
    ("core/gw_job.c", "sign/gw_sign.h", "may not use"),
    ("base/gw_json.c", "core/gw_core.h", "may not use"),
    ("sign/gw_jwt.c", "core/gw_core.h", "may not use"),
])
def test_a_breach_is_refused(tmp_path, path, include, why):
    tree = tmp_path / "translators"
    shutil.copytree(ROOT / "translators", tree,
                    ignore=shutil.ignore_patterns("tests", "proto"))
    source = tree / path
    source.write_text(f"#include <{include}>\n" + source.read_text())
    r = check(tree)
    assert r.returncode != 0
    assert f"translators/{path} includes {include}" in r.stderr
    assert why in r.stderr


def test_a_source_outside_the_layers_is_refused(tmp_path):
    tree = tmp_path / "translators"
    shutil.copytree(ROOT / "translators", tree,
                    ignore=shutil.ignore_patterns("tests", "proto"))
    (tree / "gw_loose.c").write_text("int x;\n")
    r = check(tree)
    assert r.returncode != 0
    assert "gw_loose.c" in r.stderr
