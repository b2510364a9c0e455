"""What the benchmark sends and what its mock vendors answer.

The answers are shaped like the sandboxes' (sandbox/*_sandbox.py) and, for
Slurm, like slurmrestd's own (t/slurm/samples/), so the gateway parses and
translates bodies of a realistic size and shape. The owner tags ("bench."
for CLOVA task names, "ftgw:bench" for Qianfan run descriptions, the
"ftgw-owner" label for Yandex, "ftgw.bench." for Slurm job names), sealed
with the bench gateway's secret as the gateway seals them, name the
benchmark's client, or the gateway would answer retrieve with 404.

Yandex speaks gRPC: its answers are protobuf messages built with the
stubs of Yandex's own `yandexcloud` package (pinned in requirements.txt,
as for the Yandex sandbox) and framed as gRPC messages.
"""

import hashlib
import hmac
import json

from google.protobuf import timestamp_pb2
from yandex.cloud.ai.dataset.v1 import dataset_pb2, dataset_service_pb2
from yandex.cloud.ai.tuning.v1 import tuning_service_pb2, tuning_task_pb2
from yandex.cloud.operation import operation_pb2, operation_service_pb2

CLIENT = "bench"
# the bench gateway's ftgw_secret_file, which seals the owner tags
ID_SECRET = "b" * 64


def seal(unique: str) -> str:
    """The owner tag's seal (docs/api.md#owner-tags) for CLIENT."""
    return hmac.new(ID_SECRET.encode(), b"owner\0" + CLIENT.encode() + b"\0"
                    + unique.encode(), hashlib.sha256).digest()[:6].hex()

# -- CLOVA Studio tuning v2 ----------------------------------------------

CLOVA_TASK_ID = "bx3k9w2q"
CLOVA_NAME = f"{CLIENT}.flow-test.{seal(CLIENT + '.flow-test')}"


def _clova_task(status: str, info: dict, updated: str) -> str:
    keys = ("label", "dataRows", "numOfTokens", "currStep",
            "totalTrainSteps", "currEpoch", "totalTrainEpochs",
            "estimatedTime", "trainLoss", "sendWeightSuccess",
            "failureReason", "message", "endDatetime")
    task = {
        "id": CLOVA_TASK_ID, "name": CLOVA_NAME,
        "model": "HCX-003", "method": "LoRA", "taskType": "GENERATION",
        "trainEpochs": 3, "learningRate": 0.0001, "status": status,
        "statusInfo": {k: info.get(k) for k in keys},
        "createdClientType": "API",
        "createdDate": "2026-01-15T10:00:00+0900", "updatedDate": updated,
    }
    return json.dumps({"status": {"code": "20000", "message": "OK"},
                       "result": task}, separators=(",", ":"))


# GET /tuning/v2/tasks/{id}: a task half-way through training
CLOVA_RUNNING = _clova_task("RUNNING", {
    "dataRows": 1200, "numOfTokens": 345678, "currStep": 120,
    "totalTrainSteps": 300, "currEpoch": 2, "totalTrainEpochs": 3,
    "estimatedTime": 1800, "trainLoss": 1.2345,
}, "2026-01-15T10:20:00+0900")

# POST /tuning/v2/tasks: the new task, waiting for a GPU
CLOVA_WAIT = _clova_task("WAIT", {}, "2026-01-15T10:00:00+0900")

# -- Baidu Qianfan fine-tune v1 ------------------------------------------

QF_TASK_ID, QF_JOB_ID = 41234, 91234


def _qf(result) -> str:
    return json.dumps({"log_id": "3812475690", "result": result},
                      separators=(",", ":"))


QF_CREATE_TASK = _qf({"id": QF_TASK_ID, "name": "qf-bench",
                      "description": f"ftgw:{CLIENT}.{seal('qf-bench')}",
                      "createTime": "2026-01-15 10:00:00"})
QF_CREATE_JOB = _qf({"id": QF_JOB_ID})
QF_JOB_DETAIL = _qf({
    "id": QF_JOB_ID,
    "description": f"ftgw:{CLIENT}.{seal(str(QF_TASK_ID))}",
    "taskId": QF_TASK_ID,
    "taskName": "qf-bench", "version": 1, "jobRunType": 0,
    "increConfig": None, "trainType": "ERNIE-Bot-turbo-0725",
    "trainMode": "SFT", "peftType": "LoRA", "trainStatus": "RUNNING",
    "progress": 42.5, "runTime": 1200, "trainTime": 1200,
    "startTime": "2026-01-15 10:00:00",
    "finishTime": "0000-00-00 00:00:00",
    "vdlLink": "https://console.bce.baidu.com/qianfan/visualdl/index"
               f"?taskId={QF_TASK_ID}&jobId={QF_JOB_ID}"})

# -- Yandex Cloud Foundation Models tuning v1 (gRPC) ----------------------

YX_FOLDER = "b1gbenchfolder000001"
YX_TASK_ID = "ftnbench0a1b2c3d4e5f"
YX_OPERATION_ID = "ftnopbench0a1b2c3d4e"
YX_SERVICE_ACCOUNT = "ajebenchaccount00001"
YX_TUNING = "/yandex.cloud.ai.tuning.v1.TuningService/"
YX_OPERATION = "/yandex.cloud.operation.OperationService/"


def grpc_frame(message) -> bytes:
    """One uncompressed gRPC message: flag 0, big-endian length, bytes."""
    data = message.SerializeToString()
    return b"\0" + len(data).to_bytes(4, "big") + data


def _ts(seconds: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=seconds)


def _yx_operation(status: int, step: int, modified: int):
    """The operation of a tuning task: Tune answers it, and
    OperationService.Get answers it while the task runs."""
    op = operation_pb2.Operation(
        id=YX_OPERATION_ID, description="Tuning",
        created_by=YX_SERVICE_ACCOUNT, created_at=_ts(1768438800),
        modified_at=_ts(modified), done=False)
    op.metadata.Pack(tuning_service_pb2.TuningMetadata(
        tuning_task_id=YX_TASK_ID, status=status, total_steps=100,
        current_step=step))
    return op


_YX_STATUS = tuning_task_pb2.TuningTask.Status

# TuningService/Tune: the new task's operation, its dataset being checked
YX_TUNE = grpc_frame(_yx_operation(_YX_STATUS.CREATED, 0, 1768438800))

# TuningService/Describe: a task half-way through training
YX_DESCRIBE = grpc_frame(tuning_service_pb2.DescribeTuningResponse(
    tuning_task=tuning_task_pb2.TuningTask(
        task_id=YX_TASK_ID, operation_id=YX_OPERATION_ID,
        status=_YX_STATUS.IN_PROGRESS, folder_id=YX_FOLDER,
        created_by=YX_SERVICE_ACCOUNT, created_at=_ts(1768438800),
        started_at=_ts(1768439100),
        source_model_uri=f"gpt://{YX_FOLDER}/yandexgpt-lite/latest",
        name="yx-bench", description="benchmark tuning",
        labels={"ftgw-owner": f"{CLIENT}.{seal('yx-bench')}"})))

# OperationService/Get: its operation, with the steps done so far
YX_OPERATION_GET = grpc_frame(_yx_operation(_YX_STATUS.IN_PROGRESS, 42,
                                            1768440000))

# DatasetService, for a staged upload: a draft, its upload URL (to the
# mock's sink, through the gateway's upload location), a validation, and
# the dataset READY at the first look
YX_DATASET = "/yandex.cloud.ai.dataset.v1.DatasetService/"
YX_DATASET_ID = "fdsbenchstaged000001"
YX_UPLOAD_URL = ("https://storage.yandexcloud.net/sink/yandex/upload.jsonl"
                 "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=bench")
_YX_DATASET_INFO = dataset_pb2.DatasetInfo(
    dataset_id=YX_DATASET_ID, folder_id=YX_FOLDER, name="bench-staged",
    status=dataset_pb2.DatasetInfo.Status.READY,
    task_type="TextToTextGeneration", labels={"ftgw-owner": CLIENT})

# gRPC method path -> canned answer, served by the mock's HTTP/2 server
YX_ROUTES = {
    YX_TUNING + "Tune": YX_TUNE,
    YX_TUNING + "Describe": YX_DESCRIBE,
    YX_OPERATION + "Get": YX_OPERATION_GET,
    YX_DATASET + "Create": grpc_frame(dataset_service_pb2.CreateDatasetResponse(
        dataset_id=YX_DATASET_ID, dataset=_YX_DATASET_INFO)),
    YX_DATASET + "GetUploadDraftUrl": grpc_frame(
        dataset_service_pb2.GetUploadDraftUrlResponse(
            dataset_id=YX_DATASET_ID, upload_url=YX_UPLOAD_URL)),
    YX_DATASET + "Validate": grpc_frame(operation_pb2.Operation(
        id="fdsvalidatebench0001", description="Validate", done=True)),
    YX_DATASET + "Describe": grpc_frame(
        dataset_service_pb2.DescribeDatasetResponse(
            dataset=_YX_DATASET_INFO)),
}

# -- Slurm: slurmrestd, OpenAPI v0.0.38 ------------------------------------

SLURM_JOB_ID = 4242
SLURM_MODELS = "qwen-0_5b:/srv/ftgw/models/Qwen2.5-0.5B-Instruct"
SLURM_ROOTS = {"dataset_root": "/srv/ftgw/datasets",
               "output_root": "/srv/ftgw/out"}
SLURM_TRAINER = "/opt/ftgw/trainer-venv/bin/ftgw-trainer"
# "ftgw.<client>.<model>.<suffix>-<ms>": the gateway reads the owner back
_SLURM_BASE = f"ftgw.{CLIENT}.qwen-0_5b.slurm-bench-1768438800000"
SLURM_JOB_NAME = f"{_SLURM_BASE}.{seal(_SLURM_BASE)}"
_SLURM_META = {"plugin": {"type": "openapi/v0.0.38",
                          "name": "Slurm OpenAPI v0.0.38"},
               "Slurm": {"version": {"major": 22, "micro": 8, "minor": 5},
                         "release": "22.05.8"}}


def _slurm_job() -> dict:
    """A running job as slurmrestd v0.0.38 (Slurm 22.05) returns it: the
    fields of t/slurm/samples/job_running_with_comment.json, with the
    trainer's progress in the comment."""
    job = {
        "account": "", "accrue_time": 1768438800, "admin_comment": "",
        "array_job_id": 0, "array_task_id": None, "array_max_tasks": 0,
        "array_task_string": "", "association_id": 0, "batch_features": "",
        "batch_flag": True, "batch_host": "gpu01",
        "flags": ["JOB_WAS_RUNNING"], "burst_buffer": "",
        "burst_buffer_state": "", "cluster": "ftgw",
        "cluster_features": "", "command": "",
        "comment": json.dumps({"s": 120, "S": 300, "e": 2, "E": 3,
                               "l": 1.2345, "eta": 1768442400, "c": 1},
                              separators=(",", ":")),
        "container": "", "contiguous": False, "core_spec": None,
        "thread_spec": None, "cores_per_socket": None, "billable_tres": 1.0,
        "cpus_per_task": None, "cpu_frequency_minimum": None,
        "cpu_frequency_maximum": None, "cpu_frequency_governor": None,
        "cpus_per_tres": "", "deadline": 0, "delay_boot": 0,
        "dependency": "", "derived_exit_code": 0,
        "eligible_time": 1768438800, "end_time": 1768525200,
        "excluded_nodes": "", "exit_code": 0, "features": "",
        "federation_origin": "", "federation_siblings_active": "",
        "federation_siblings_viable": "", "gres_detail": [],
        "group_id": 995, "group_name": "ftgw-svc", "job_id": SLURM_JOB_ID,
        "job_resources": {
            "nodes": "gpu01", "allocated_cores": 1, "allocated_hosts": 1,
            "allocated_nodes": [{
                "sockets": {"0": {"cores": {"0": "allocated"}}},
                "nodename": "gpu01", "cpus_used": 0, "memory_used": 0,
                "memory_allocated": 0}]},
        "job_state": "RUNNING", "last_sched_evaluation": 1768438801,
        "licenses": "", "max_cpus": 0, "max_nodes": 0, "mcs_label": "",
        "memory_per_tres": "", "name": SLURM_JOB_NAME, "nodes": "gpu01",
        "nice": None, "tasks_per_core": None, "tasks_per_node": 0,
        "tasks_per_socket": None, "tasks_per_board": 0, "cpus": 1,
        "node_count": 1, "tasks": 1, "het_job_id": 0, "het_job_id_set": "",
        "het_job_offset": 0, "partition": "gpu", "prefer": "",
        "memory_per_node": None, "memory_per_cpu": None,
        "minimum_cpus_per_node": 1, "minimum_tmp_disk_per_node": 0,
        "preempt_time": 0, "pre_sus_time": 0, "priority": 4294901758,
        "profile": None, "qos": "", "reboot": False, "required_nodes": "",
        "requeue": True, "resize_time": 0, "restart_cnt": 0,
        "resv_name": "", "shared": None, "show_flags": ["SHOW_ALL",
                                                        "SHOW_DETAIL",
                                                        "SHOW_LOCAL"],
        "sockets_per_board": 0, "sockets_per_node": None,
        "start_time": 1768438801, "state_description": "",
        "state_reason": "None", "standard_error": "/dev/null",
        "standard_input": "/dev/null", "standard_output": "/dev/null",
        "submit_time": 1768438800, "suspend_time": 0, "system_comment": "",
        "time_limit": 1440, "time_minimum": 0, "threads_per_core": None,
        "tres_bind": "", "tres_freq": "", "tres_per_job": "",
        "tres_per_node": "", "tres_per_socket": "", "tres_per_task": "",
        "tres_req_str": "cpu=1,node=1,billing=1",
        "tres_alloc_str": "cpu=1,node=1,billing=1", "user_id": 995,
        "user_name": "ftgw-svc", "wckey": "",
        "current_working_directory": "/tmp"}
    return job


# POST /slurm/v0.0.38/job/submit: the new job's id
SLURM_SUBMIT = json.dumps({"meta": _SLURM_META, "errors": [],
                           "job_id": SLURM_JOB_ID, "step_id": "BATCH",
                           "job_submit_user_msg": ""}, separators=(",", ":"))

# GET /slurm/v0.0.38/job/{id}: the job, training
SLURM_JOB = json.dumps({"meta": _SLURM_META, "errors": [],
                        "jobs": [_slurm_job()]}, separators=(",", ":"))

# -- OpenAI, for the peers (they pass the route through) -----------------

OPENAI_JOB_ID = "ftjob-abc123def456ghi789jkl012"
OPENAI_JOB = json.dumps({
    "object": "fine_tuning.job", "id": OPENAI_JOB_ID,
    "model": "gpt-4o-mini-2024-07-18", "created_at": 1768438800,
    "finished_at": None, "fine_tuned_model": None,
    "organization_id": "org-bench0123456789", "result_files": [],
    "status": "running", "validation_file": None,
    "training_file": "file-abc123def456ghi789jkl012",
    "hyperparameters": {"n_epochs": 3, "batch_size": 4,
                        "learning_rate_multiplier": 1.8},
    "trained_tokens": None, "error": None, "user_provided_suffix": "bench",
    "seed": 42, "estimated_finish": 1768442400, "integrations": [],
    "metadata": None, "method": {"type": "supervised"},
}, separators=(",", ":"))

# mock location -> canned answer (nginx `return` cannot vary per request)
MOCK_ROUTES = {
    "/tuning/v2/tasks/": CLOVA_RUNNING,
    "= /tuning/v2/tasks": CLOVA_WAIT,
    "= /wenxinworkshop/finetune/createTask": QF_CREATE_TASK,
    "= /wenxinworkshop/finetune/createJob": QF_CREATE_JOB,
    "= /wenxinworkshop/finetune/jobDetail": QF_JOB_DETAIL,
    "= /slurm/v0.0.38/job/submit": SLURM_SUBMIT,
    "/slurm/v0.0.38/job/": SLURM_JOB,
    "/v1/fine_tuning/jobs/": OPENAI_JOB,
}

# -- what clients send ----------------------------------------------------

# canonical create bodies, as the openai SDK sends them
CREATE = {
    "clova": {"model": "clova/HCX-003",
              "training_file": "s3://tuning-data/sets/train.csv",
              "suffix": "flow-test", "hyperparameters": {"n_epochs": 3},
              "tuning": {"learning_rate": 1e-4, "tuning_type": "lora",
                         "task_type": "generation",
                         "lora": {"rank": 8, "alpha": 16}}},
    "qianfan": {"model": "qianfan/ERNIE-Bot-turbo-0725",
                "training_file": "qianfan://dataset/1234",
                "suffix": "qf-bench", "hyperparameters": {"n_epochs": 2},
                "tuning": {"max_seq_len": 4096, "learning_rate": 3e-5,
                           "tuning_type": "lora",
                           "validation_split": 0.2}},
    # as in the Yandex and local-engine integration tests (t/)
    "yandex": {"model": "yandex/yandexgpt-lite",
               "training_file": "yandex://dataset/fds1train",
               "suffix": "yx-bench", "seed": 42,
               "tuning": {"tuning_type": "lora", "learning_rate": 1e-4,
                          "lora": {"rank": 8, "alpha": 16},
                          "scheduler": {"type": "cosine",
                                        "warmup_ratio": 0.1}}},
    "slurm": {"model": "slurm/qwen-0_5b",
              "training_file": "local://datasets/chat.jsonl",
              "suffix": "slurm-bench", "seed": 7,
              "hyperparameters": {"n_epochs": 3, "batch_size": 4},
              "tuning": {"learning_rate": 2e-4, "tuning_type": "lora",
                         "lora": {"rank": 8, "alpha": 16},
                         "scheduler": {"type": "cosine",
                                       "warmup_ratio": 0.1}}},
}



def _yx_tune_request() -> bytes:
    """The TuningRequest that the gateway sends for CREATE["yandex"]."""
    req = tuning_service_pb2.TuningRequest(
        base_model_uri=f"gpt://{YX_FOLDER}/yandexgpt-lite/latest",
        train_datasets=[tuning_service_pb2.TuningRequest.WeightedDataset(
            dataset_id="fds1train", weight=1.0)],
        name="yx-bench",
        labels={"ftgw-owner": f"{CLIENT}.{seal('yx-bench')}"})
    params = req.text_to_text_completion
    params.seed, params.lr = 42, 1e-4
    params.lora.rank, params.lora.alpha = 8, 16
    params.scheduler.cosine.SetInParent()
    params.scheduler.warmup_ratio = 0.1
    return grpc_frame(req)


def _slurm_submit_request() -> str:
    """The job/submit body that the gateway sends for CREATE["slurm"]:
    a batch script that writes the job's spec and runs the trainer."""
    out = SLURM_ROOTS["output_root"] + "/" + SLURM_JOB_NAME
    spec = json.dumps({
        "model_dir": SLURM_MODELS.split(":", 1)[1], "output_dir": out,
        "training_files": [{"path": SLURM_ROOTS["dataset_root"]
                            + "/chat.jsonl"}],
        "tuning_type": "lora", "n_epochs": 3, "batch_size": 4, "seed": 7,
        "learning_rate": 0.0002, "lora": {"rank": 8, "alpha": 16},
        "scheduler": {"type": "cosine", "warmup_ratio": 0.1}},
        separators=(",", ":"))
    script = (f"#!/bin/bash\nset -eu\nmkdir -p {out}\n"
              f"cat > {out}/spec.json <<'FTGW_SPEC'\n{spec}\nFTGW_SPEC\n"
              f"exec {SLURM_TRAINER} --spec {out}/spec.json "
              f"--progress-file {out}/progress.json --progress-cmd "
              '"scontrol update JobId=$SLURM_JOB_ID Comment="\n')
    return json.dumps({"job": {
        "environment": {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:"
                                "/sbin"},
        "name": SLURM_JOB_NAME, "partition": "gpu",
        "current_working_directory": "/tmp", "standard_output": "/dev/null",
        "time_limit": 1440}, "script": script}, separators=(",", ":"))


# vendor calls per gateway request, where not one
VENDOR_CALLS = {
    ("qianfan", "create"): 3,    # createTask, createJob, jobDetail
    ("yandex", "retrieve"): 2,   # Describe, then OperationService.Get
    ("slurm", "create"): 2,      # job/submit, then GET job/{id}
}

# the ceiling's vendor calls: what the gateway sends for the same work
CEILING = {
    ("clova", "retrieve"): ("GET", f"/tuning/v2/tasks/{CLOVA_TASK_ID}",
                            None),
    ("clova", "create"): ("POST", "/tuning/v2/tasks", json.dumps({
        "name": CLOVA_NAME, "model": "HCX-003",
        "tuningType": "PEFT", "taskType": "GENERATION", "trainEpochs": 3,
        "learningRate": 1e-4, "loraR": 8, "loraAlpha": 16,
        "trainingDatasetFilePath": "sets/train.csv",
        "trainingDatasetBucket": "tuning-data",
        "trainingDatasetAccessKey": "bucket-access-ak0001",
        "trainingDatasetSecretKey": "bucket-secret-sk0001xyz"})),
    # every Qianfan call is a POST; jobDetail is the retrieve call, and
    # the single-call ceiling for create too (create makes three calls)
    ("qianfan", "retrieve"): ("POST", "/wenxinworkshop/finetune/jobDetail",
                              json.dumps({"taskId": QF_TASK_ID,
                                          "jobId": QF_JOB_ID})),
    ("qianfan", "create"): ("POST", "/wenxinworkshop/finetune/jobDetail",
                            json.dumps({"taskId": QF_TASK_ID,
                                        "jobId": QF_JOB_ID})),
    # gRPC: the framed request, the method path after /ceiling/yandex.
    # Describe is retrieve's first call (a running task adds
    # OperationService.Get)
    ("yandex", "retrieve"): ("POST", YX_TUNING + "Describe", grpc_frame(
        tuning_service_pb2.DescribeTuningRequest(tuning_task_id=YX_TASK_ID))),
    ("yandex", "create"): ("POST", YX_TUNING + "Tune", _yx_tune_request()),
    ("slurm", "retrieve"): ("GET", f"/slurm/v0.0.38/job/{SLURM_JOB_ID}",
                            None),
    # the submit only: create's GET of the new job is retrieve's call
    ("slurm", "create"): ("POST", "/slurm/v0.0.38/job/submit",
                          _slurm_submit_request()),
}

# the ceiling's own headers, where not JSON's Content-Type
CEILING_HEADERS = {
    "yandex": {"Content-Type": "application/grpc", "TE": "trailers"},
}
