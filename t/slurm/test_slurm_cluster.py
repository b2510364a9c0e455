"""The project's single-node Slurm cluster (slurm/up.sh) and the slurmrestd
API v0.0.38 exactly as the gateway's Slurm provider uses it, over the unix
socket with rest_auth/local, as root (nginx's workers in the tests).

The JSON shapes asserted here are the ones docs/slurm.md records.  With
FTGW_SLURM_SAMPLES=DIR, the responses are also kept in DIR (the real bodies,
for the translator's golden files: t/slurm/samples/ was made so).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from slurmrest import (API, FAKE_GPUS, FINISHED, slurm,  # noqa: F401
                       slurm_cluster, slurm_gpu_cluster)

SAMPLES = os.environ.get("FTGW_SLURM_SAMPLES")


def sample(name: str, r) -> None:
    """Keeps the body exactly as slurmrestd sent it (DIR/name.json, or
    name.txt when it is not JSON) and its HTTP status (DIR/status.json)."""
    if not SAMPLES:
        return
    d = Path(SAMPLES)
    d.mkdir(parents=True, exist_ok=True)
    Path(d, name + (".json" if r.body is not None else ".txt")).write_text(
        r.text)
    index = d / "status.json"
    statuses = json.loads(index.read_text()) if index.exists() else {}
    statuses[name] = r.status
    index.write_text(json.dumps(dict(sorted(statuses.items())), indent=1)
                     + "\n")


def submitted(r) -> int:
    assert r.status == 200, r.text
    assert r.body["errors"] == [], r.body["errors"]
    assert isinstance(r.body["job_id"], int)
    assert r.body["step_id"] == "BATCH"
    return r.body["job_id"]


def finished(job: dict) -> bool:
    return job["job_state"] in FINISHED


# --- the cluster ------------------------------------------------------------

def test_ping_and_version(slurm):
    r = slurm.ping()
    sample("ping", r)
    assert r.status == 200
    assert r.body["errors"] == []
    assert r.body["meta"]["plugin"]["type"] == "openapi/v0.0.38"
    assert r.body["meta"]["Slurm"]["release"].startswith("22.05.")
    (ping,) = r.body["pings"]
    assert ping["ping"] == "UP" and ping["mode"] == "primary"


def test_node_idle_in_default_partition_gpu(slurm_cluster):
    p = slurm_cluster.run("sinfo", "-h", "-o", "%P %a %t %D")
    assert p.returncode == 0, p.stderr
    part, avail, state, nodes = p.stdout.split()
    assert part == "gpu*"                         # * = Default=YES
    assert avail == "up" and nodes == "1"
    assert state in ("idle", "mix", "alloc")
    conf = slurm_cluster.conf.read_text()
    for line in ("SelectType=select/cons_tres",
                 "ProctrackType=proctrack/linuxproc",
                 "TaskPlugin=task/none", "MpiDefault=none",
                 "ReturnToService=2",
                 f"SlurmctldPort={slurm_cluster.env['SLURMCTLD_PORT']}",
                 f"SlurmdPort={slurm_cluster.env['SLURMD_PORT']}",
                 f"AuthInfo=socket={slurm_cluster.state_dir}/munge/"):
        assert line in conf


def test_up_again_is_a_no_op(slurm_cluster, slurm):
    run = slurm_cluster.state_dir / "run"
    pids = {f.name: f.read_text() for f in run.glob("*.pid")}
    assert set(pids) == {"munged.pid", "slurmctld.pid", "slurmd.pid",
                         "slurmrestd.pid"}
    p = subprocess.run([str(Path(__file__).parents[2] / "slurm" / "up.sh"),
                        str(slurm_cluster.state_dir)],
                       env=slurm_cluster.env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == slurm_cluster.socket_path
    assert {f.name: f.read_text() for f in run.glob("*.pid")} == pids
    assert slurm.ping().status == 200


def test_socket_peers(slurm_cluster):
    """root (this test, nginx's workers in the suite) and slurmrestd's own
    user are served; anyone else is not."""
    def curl_as(user: str) -> str:
        cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
               "--unix-socket", slurm_cluster.socket_path,
               f"http://localhost{API}/ping"]
        if user != "root":
            cmd = ["runuser", "-u", user, "--"] + cmd
        return subprocess.run(cmd, capture_output=True, text=True).stdout
    assert curl_as("root") == "200"
    assert curl_as("slurmrest") == "200"
    assert curl_as("nobody") != "200"       # 000 (socket mode) or 401


# --- jobs -------------------------------------------------------------------

def test_job_runs_to_completion(slurm):
    r = slurm.submit("#!/bin/bash\nsleep 2\n", name="t", time_limit=5)
    sample("submit", r)
    job_id = submitted(r)

    first = slurm.job(job_id)
    sample("job_pending_or_running", first)
    assert first.body["jobs"][0]["job_state"] in ("PENDING", "CONFIGURING",
                                                  "RUNNING")
    running, _ = slurm.wait(job_id, lambda j: j["job_state"] == "RUNNING"
                            or finished(j))
    job, seen = slurm.wait(job_id, finished)
    sample("job_completed", slurm.job(job_id))
    assert job["job_state"] == "COMPLETED", seen
    assert "RUNNING" in seen or "PENDING" in seen
    assert job["job_id"] == job_id and job["name"] == "t"
    assert job["partition"] == "gpu"
    assert job["exit_code"] == 0
    assert job["state_reason"] == "None"
    assert job["user_name"] == "slurmrest"    # jobs run as slurmrestd's user
    assert job["time_limit"] == 5             # minutes
    assert 0 < job["submit_time"] <= job["start_time"] <= job["end_time"]
    assert job["end_time"] - job["start_time"] >= 1
    assert job["current_working_directory"] == slurm.workdir


def test_job_sets_its_own_comment(slurm):
    script = ("#!/bin/bash\n"
              "scontrol update JobId=$SLURM_JOB_ID "
              "Comment='{\"step\":3,\"total\":10,\"loss\":0.25}' || exit 9\n"
              "sleep 2\n")
    job_id = submitted(slurm.submit(script, name="comment",
                                    comment="ftgw:initial"))
    job = slurm.job_props(job_id)
    assert job["comment"] in ("ftgw:initial",
                              '{"step":3,"total":10,"loss":0.25}')
    job, seen = slurm.wait(job_id, lambda j: j["comment"].startswith("{")
                           or finished(j))
    assert job["job_state"] == "RUNNING", seen
    sample("job_running_with_comment", slurm.job(job_id))
    assert json.loads(job["comment"]) == {"step": 3, "total": 10,
                                          "loss": 0.25}
    job, seen = slurm.wait(job_id, finished)
    assert job["job_state"] == "COMPLETED", (seen, job["exit_code"])
    assert json.loads(job["comment"])["step"] == 3


def test_cancel_running_job(slurm):
    job_id = submitted(slurm.submit("#!/bin/bash\nsleep 60\n",
                                    name="cancel-me"))
    slurm.wait(job_id, lambda j: j["job_state"] == "RUNNING")
    r = slurm.cancel(job_id)
    sample("cancel", r)
    assert r.status == 200, r.text
    assert r.body["errors"] == []
    job, seen = slurm.wait(job_id, finished, timeout=20)
    sample("job_cancelled", slurm.job(job_id))
    assert job["job_state"] == "CANCELLED", seen
    assert job["end_time"] >= job["start_time"] > 0
    # cancelling again is not an error
    again = slurm.cancel(job_id)
    assert again.status == 200 and again.body["errors"] == []


def test_failing_job(slurm):
    job_id = submitted(slurm.submit("#!/bin/bash\necho oops >&2\nexit 3\n",
                                    name="fail"))
    job, seen = slurm.wait(job_id, finished)
    sample("job_failed", slurm.job(job_id))
    assert job["job_state"] == "FAILED", seen
    assert job["state_reason"] == "NonZeroExitCode"
    # exit_code is the wait(2) status: exit status << 8 | signal
    assert job["exit_code"] == 3 << 8
    assert job["exit_code"] >> 8 == 3 and job["exit_code"] & 0x7F == 0


def test_jobs_lists_them(slurm):
    ids = [submitted(slurm.submit("#!/bin/bash\ntrue\n", name=f"l{i}"))
           for i in range(2)]
    r = slurm.jobs()
    sample("jobs", r)
    assert r.status == 200 and r.body["errors"] == []
    listed = {j["job_id"]: j for j in r.body["jobs"]}
    for job_id in ids:
        assert listed[job_id]["name"] in ("l0", "l1")
        assert listed[job_id]["job_state"] in (
            "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "COMPLETED")
    for job_id in ids:
        slurm.wait(job_id, finished)


# --- errors -----------------------------------------------------------------

def test_submit_to_unknown_partition(slurm):
    r = slurm.submit("#!/bin/bash\ntrue\n", partition="nope")
    sample("error_submit_partition", r)
    assert r.status == 500
    assert r.body["errors"] == [{"error_code": 2000,
                                 "error": "Invalid partition name specified"}]
    assert "job_id" not in r.body


def test_submit_without_script(slurm):
    r = slurm.request("POST", f"{API}/job/submit",
                      {"job": {"environment": {"PATH": "/bin"}}})
    sample("error_submit_no_script", r)
    assert r.status == 500
    assert r.body["errors"] == [{"error_code": 2009,
                                 "error": "Job script not specified"}]


def test_submit_without_environment(slurm):
    r = slurm.request("POST", f"{API}/job/submit",
                      {"script": "#!/bin/bash\ntrue\n", "job": {"name": "x"}})
    sample("error_submit_no_environment", r)
    assert r.status == 400
    assert {"error": "environment must be set",
            "error_code": 2127} in r.body["errors"]
    assert r.body["errors"][-1] == {"error_code": 9001,
                                    "error": "Failure during parsing"}


def test_submit_unknown_field(slurm):
    r = slurm.submit("#!/bin/bash\ntrue\n", bogus_field=1)
    sample("error_submit_unknown_field", r)
    assert r.status == 400
    assert r.body["errors"][0]["description"] == 'Unknown key "bogus_field"'
    assert r.body["errors"][-1]["error_code"] == 9001


def test_submit_bad_time_limit(slurm):
    r = slurm.submit("#!/bin/bash\ntrue\n", time_limit="soon")
    sample("error_submit_time_limit", r)
    assert r.status == 400
    assert r.body["errors"][0] == {"error": "Invalid time specification",
                                   "error_code": -1}
    assert r.body["errors"][1]["source"] == "slurm_process_option_data"


def test_submit_not_json(slurm):
    r = slurm.request("POST", f"{API}/job/submit", "not json")
    sample("error_submit_not_json", r)
    assert r.status == 400
    assert r.body is None and r.text.strip() == "Unable to parse query."


def test_unknown_job(slurm):
    r = slurm.job(999999)
    sample("error_job_unknown", r)
    assert r.status == 500
    assert r.body["jobs"] == []
    (err,) = r.body["errors"]
    assert err == {"description": "Unable to find JobId=999999",
                   "error_number": 2017,
                   "error": "Invalid job id specified",
                   "source": "slurm_load_job"}
    r = slurm.cancel(999999)
    sample("error_cancel_unknown", r)
    assert r.status == 500
    (err,) = r.body["errors"]
    assert err["error_number"] == 2017
    assert err["error"] == "Invalid job id specified"
    assert err["source"] == "slurm_kill_job"


def test_unknown_path(slurm):
    r = slurm.request("GET", f"{API}/nonexistent")
    assert r.status == 404
    assert r.body is None



def test_cancel_pending_job(slurm):
    r = slurm.submit("#!/bin/bash\ntrue\n", name="held", hold=True)
    sample("submit_held", r)
    # a job submitted with a warning: HTTP 200, a job_id, and errors[]
    assert r.status == 200
    assert r.body["errors"] == [{
        "error_code": 2042,
        "error": "Job is in held state, pending scheduler release"}]
    job_id = r.body["job_id"]
    job = slurm.job_props(job_id)
    assert job["job_state"] == "PENDING"
    assert job["state_reason"] == "JobHeldUser"
    assert job["start_time"] == 0 and job["end_time"] == 0
    r = slurm.cancel(job_id)
    assert r.status == 200 and r.body["errors"] == []
    job, seen = slurm.wait(job_id, finished, timeout=10)
    sample("job_cancelled_pending", slurm.job(job_id))
    assert job["job_state"] == "CANCELLED", seen
    # never ran: start_time is the cancel time, like end_time
    assert job["start_time"] == job["end_time"] > 0


def test_submit_more_cpus_than_the_node_has(slurm):
    """Accepted with a warning, and left PENDING (PartitionConfig) for ever:
    the provider must not wait on it."""
    r = slurm.submit("#!/bin/bash\ntrue\n", cpus_per_task=4096)
    sample("submit_too_many_cpus", r)
    assert r.status == 200
    assert r.body["errors"] == [{
        "error_code": 2015,
        "error": "Requested partition configuration not available now"}]
    job = slurm.job_props(r.body["job_id"])
    assert job["job_state"] == "PENDING"
    assert job["state_reason"] == "PartitionConfig"
    assert slurm.cancel(r.body["job_id"]).status == 200


def test_submit_more_memory_than_the_node_has(slurm):
    r = slurm.submit("#!/bin/bash\ntrue\n", memory_per_node=10**9)  # MiB
    sample("error_submit_memory", r)
    assert r.status == 500
    assert r.body["errors"] == [{
        "error_code": 2014,
        "error": "Requested node configuration is not available"}]


def test_submit_gpus_without_gres(slurm_cluster, slurm):
    if "GresTypes=gpu" in slurm_cluster.conf.read_text():
        return                          # this machine has GPUs
    r = slurm.submit("#!/bin/bash\ntrue\n", gpus_per_node="1")
    sample("error_submit_gpus_without_gres", r)
    assert r.status == 400
    assert r.body["errors"] == [{"error_code": 9001,
                                 "error": "Failure during parsing"}]


def test_comment_longer_than_1024_bytes(slurm):
    r = slurm.submit("#!/bin/bash\ntrue\n", comment="x" * 1025)
    sample("error_submit_long_comment", r)
    assert r.status == 500
    assert r.body["errors"] == [{
        "error_code": 2012,
        "error": "Pathname of a file, directory or other parameter too long"}]


# --- GPUs: a node with stand-in GPUs (slurm/up.sh SLURM_FAKE_GPUS) ----------

@pytest.fixture
def gpu_slurm(slurm_gpu_cluster):  # noqa: F811
    return slurm_gpu_cluster.client()


GPU_ENV = ("#!/bin/bash\n"
           "echo \"$CUDA_VISIBLE_DEVICES $SLURM_GPUS_ON_NODE "
           "$SLURM_CPUS_ON_NODE\" > {out}/gpu-env-$SLURM_JOB_ID\n"
           "sleep {sleep}\n")


def test_fake_gpus_declared(slurm_gpu_cluster):  # noqa: F811
    d = slurm_gpu_cluster.state_dir
    host = slurm_gpu_cluster.run("hostname", "-s").stdout.strip()
    assert (d / "gres.conf").read_text().splitlines()[1:] == [
        f"NodeName={host} Name=gpu File={d}/fake-gpu/nvidia{i}"
        for i in range(FAKE_GPUS)]
    for i in range(FAKE_GPUS):
        assert os.readlink(d / "fake-gpu" / f"nvidia{i}") == "/dev/null"
    conf = slurm_gpu_cluster.conf.read_text()
    assert "GresTypes=gpu" in conf
    assert f" Gres=gpu:{FAKE_GPUS} " in conf
    p = slurm_gpu_cluster.run("sinfo", "-h", "-N", "-o", "%t %G")
    assert p.stdout.split() == ["idle", f"gpu:{FAKE_GPUS}"], p.stderr


def test_gpu_job_is_allocated(slurm_gpu_cluster, gpu_slurm):  # noqa: F811
    """"gpus_per_node": "N" is v0.0.38's GPU request: the job holds N GPUs
    (tres_per_node, gres_detail, scontrol's TresPerNode and GRES), and
    Slurm hands them to the batch script; "cpus_per_gpu": 1 gives it a
    CPU for each."""
    out = gpu_slurm.workdir
    r = gpu_slurm.submit(GPU_ENV.format(out=out, sleep=3), name="gpus",
                         gpus_per_node=str(FAKE_GPUS), cpus_per_gpu=1,
                         time_limit=5)
    sample("submit_gpus", r)
    job_id = submitted(r)
    job, seen = gpu_slurm.wait(job_id, lambda j: j["job_state"] == "RUNNING"
                               or finished(j))
    assert job["job_state"] == "RUNNING", seen
    sample("job_gpus_running", gpu_slurm.job(job_id))
    assert job["tres_per_node"] == f"gres:gpu:{FAKE_GPUS}"
    assert job["tres_per_job"] == ""
    assert job["gres_detail"] == [f"gpu:{FAKE_GPUS}(IDX:0-{FAKE_GPUS - 1})"]
    assert job["cpus"] == FAKE_GPUS
    shown = slurm_gpu_cluster.run("scontrol", "-d", "show", "job",
                                  str(job_id)).stdout
    assert f"TresPerNode=gres:gpu:{FAKE_GPUS}" in shown
    assert f"GRES=gpu:{FAKE_GPUS}(IDX:0-{FAKE_GPUS - 1})" in shown
    job, seen = gpu_slurm.wait(job_id, finished)
    assert job["job_state"] == "COMPLETED", seen
    assert job["tres_per_node"] == f"gres:gpu:{FAKE_GPUS}"
    env = Path(out, f"gpu-env-{job_id}").read_text().split()
    assert env == [",".join(map(str, range(FAKE_GPUS))), str(FAKE_GPUS),
                   str(FAKE_GPUS)]


def test_gpu_jobs_share_the_node(slurm_gpu_cluster, gpu_slurm):  # noqa: F811
    """One GPU each: two jobs get different GPUs; a third waits for one
    (Resources)."""
    out = gpu_slurm.workdir
    ids = [submitted(gpu_slurm.submit(GPU_ENV.format(out=out, sleep=4),
                                      name=f"g{i}", gpus_per_node="1"))
           for i in range(FAKE_GPUS + 1)]
    try:
        for job_id in ids[:FAKE_GPUS]:
            gpu_slurm.wait(job_id, lambda j: j["job_state"] == "RUNNING")
        last = gpu_slurm.job_props(ids[-1])
        assert last["job_state"] == "PENDING"
        assert last["state_reason"] == "Resources"
        held = sorted(gpu_slurm.job_props(i)["gres_detail"][0]
                      for i in ids[:FAKE_GPUS])
        assert held == [f"gpu:1(IDX:{i})" for i in range(FAKE_GPUS)]
    finally:
        for job_id in ids:
            gpu_slurm.cancel(job_id)
        for job_id in ids:
            gpu_slurm.wait(job_id, finished, timeout=20)


@pytest.mark.parametrize("form,shown", [
    ({"gres": "gpu:1"}, ("tres_per_node", "gres:gpu:1")),
    ({"gpus": "1"}, ("tres_per_job", "gres:gpu:1")),
])
def test_other_gpu_request_forms(gpu_slurm, form, shown):
    job_id = submitted(gpu_slurm.submit("#!/bin/bash\ntrue\n", **form))
    job, _ = gpu_slurm.wait(job_id, finished)
    assert job["job_state"] == "COMPLETED"
    assert job[shown[0]] == shown[1]


def test_gpus_per_node_with_gpu_prefix(gpu_slurm):
    """"gpu:N" names a GPU *type* "gpu", which no node has."""
    r = gpu_slurm.submit("#!/bin/bash\ntrue\n", gpus_per_node="gpu:1")
    assert r.status == 500
    assert r.body["errors"] == [{
        "error_code": 2014,
        "error": "Requested node configuration is not available"}]


def test_tres_per_node_is_not_a_submit_key(gpu_slurm):
    r = gpu_slurm.submit("#!/bin/bash\ntrue\n", tres_per_node="gres:gpu:1")
    assert r.status == 400
    assert r.body["errors"][0]["description"] == 'Unknown key "tres_per_node"'


def test_more_gpus_than_the_node_has(gpu_slurm):
    r = gpu_slurm.submit("#!/bin/bash\ntrue\n",
                         gpus_per_node=str(FAKE_GPUS + 1), cpus_per_gpu=1)
    sample("error_submit_too_many_gpus", r)
    assert r.status == 500
    assert r.body["errors"] == [{
        "error_code": 2014,
        "error": "Requested node configuration is not available"}]
    assert "job_id" not in r.body


def test_more_gpus_and_cpus_than_the_node_has(slurm_gpu_cluster,  # noqa
                                              gpu_slurm):
    """Asked as CPUs per task instead, the CPUs are checked first: more
    than the node's (2 here) makes the job accepted with 2015 and pending
    for ever (PartitionConfig), not refused.  Hence cpus_per_gpu."""
    cpus = int(slurm_gpu_cluster.run("sinfo", "-h", "-o", "%c").stdout)
    if cpus > FAKE_GPUS:
        pytest.skip(f"the node has {cpus} CPUs")
    r = gpu_slurm.submit("#!/bin/bash\ntrue\n",
                         gpus_per_node=str(FAKE_GPUS + 1),
                         cpus_per_task=FAKE_GPUS + 1)
    assert r.status == 200
    assert r.body["errors"] == [{
        "error_code": 2015,
        "error": "Requested partition configuration not available now"}]
    job = gpu_slurm.job_props(r.body["job_id"])
    assert (job["job_state"], job["state_reason"]) == ("PENDING",
                                                       "PartitionConfig")
    assert gpu_slurm.cancel(r.body["job_id"]).status == 200
