"""What the benchmark sends and what its mock vendors answer.

The answers are shaped like the sandboxes' (sandbox/*_sandbox.py), so the
gateway parses and translates bodies of a realistic size and shape. The
owner tags ("bench." for CLOVA task names, "ftgw:bench" for Qianfan run
descriptions) name the benchmark's client, or the gateway would answer
retrieve with 404.
"""

import json

CLIENT = "bench"

# -- CLOVA Studio tuning v2 ----------------------------------------------

CLOVA_TASK_ID = "bx3k9w2q"


def _clova_task(status: str, info: dict, updated: str) -> str:
    keys = ("label", "dataRows", "numOfTokens", "currStep",
            "totalTrainSteps", "currEpoch", "totalTrainEpochs",
            "estimatedTime", "trainLoss", "sendWeightSuccess",
            "failureReason", "message", "endDatetime")
    task = {
        "id": CLOVA_TASK_ID, "name": CLIENT + ".flow-test",
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
                      "description": "ftgw:" + CLIENT,
                      "createTime": "2026-01-15 10:00:00"})
QF_CREATE_JOB = _qf({"id": QF_JOB_ID})
QF_JOB_DETAIL = _qf({
    "id": QF_JOB_ID, "description": "ftgw:" + CLIENT, "taskId": QF_TASK_ID,
    "taskName": "qf-bench", "version": 1, "jobRunType": 0,
    "increConfig": None, "trainType": "ERNIE-Bot-turbo-0725",
    "trainMode": "SFT", "peftType": "LoRA", "trainStatus": "RUNNING",
    "progress": 42.5, "runTime": 1200, "trainTime": 1200,
    "startTime": "2026-01-15 10:00:00",
    "finishTime": "0000-00-00 00:00:00",
    "vdlLink": "https://console.bce.baidu.com/qianfan/visualdl/index"
               f"?taskId={QF_TASK_ID}&jobId={QF_JOB_ID}"})

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
}

# vendor calls per gateway request, where not one
VENDOR_CALLS = {("qianfan", "create"): 3}    # createTask, createJob, jobDetail

# the ceiling's vendor calls: what the gateway sends for the same work
CEILING = {
    ("clova", "retrieve"): ("GET", f"/tuning/v2/tasks/{CLOVA_TASK_ID}",
                            None),
    ("clova", "create"): ("POST", "/tuning/v2/tasks", json.dumps({
        "name": CLIENT + ".flow-test", "model": "HCX-003",
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
}
