"""The official openai Node SDK (t/node, pinned in its package-lock.json)
as a client: upload, create on a route with n_epochs,
learning_rate_multiplier and metadata, retrieve, the metadata filter, the
model list, and an error as the SDK raises it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from test_files import GOOD, files_gateway  # noqa: F401
from test_files import engine, slurm_cluster, trainer_venv  # noqa: F401

NODE_DIR = Path(__file__).resolve().parent / "node"


def test_node_sdk_flow(files_gateway, tmp_path):  # noqa: F811
    if not (NODE_DIR / "node_modules" / "openai").is_dir():
        pytest.fail("t/node is not installed: run `make node-sdk`")
    data = tmp_path / "train.jsonl"
    data.write_bytes(GOOD)
    env = {**os.environ,
           "FTGW_BASE_URL": files_gateway.base + "/v1",
           "FTGW_API_KEY": files_gateway.sdk().api_key,
           "FTGW_TRAINING_FILE": str(data),
           "FTGW_MODEL": "support-bot"}
    r = subprocess.run(["node", str(NODE_DIR / "flow.mjs")], env=env,
                       cwd=NODE_DIR, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)

    assert out["file"]["status"] == "processed"
    assert out["file"]["bytes"] == len(GOOD)
    job = out["job"]
    assert job["object"] == "fine_tuning.job"
    assert job["training_file"] and job["model"] == "local/tiny"
    assert job["metadata"] == {"client": "node"}
    assert job["vendor"]["provider"] == "local"
    assert out["got"]["id"] == job["id"]
    assert out["got"]["metadata"] == {"client": "node"}
    assert job["id"] in out["listed"]
    assert "support-bot" in out["models"]
    assert out["refused"] == {"status": 404, "param": "model",
                              "code": "model_not_found",
                              "name": "NotFoundError"}

    r = files_gateway.call("POST", f"/v1/fine_tuning/jobs/{job['id']}/cancel")
    assert r.status_code in (200, 409), r.text
