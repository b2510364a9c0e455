#!/usr/bin/env python3
"""The seed corpora of translators/fuzz (make fuzz copies them): the test
fixtures and small hand-made inputs.  Run again to rebuild them:

    python3 scripts/fuzz-seeds.py
"""
import os
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "translators", "fuzz", "corpus")
FIX = os.path.join(ROOT, "translators", "tests", "fixtures")
SLURM = os.path.join(ROOT, "t", "slurm", "samples")
MAX = 6000


def put(target, name, data, limit=MAX):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data[:limit])


def read(*p):
    with open(os.path.join(*p), "rb") as f:
        return f.read()


# protobuf, by hand
def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def fld(num, val):
    if isinstance(val, int):
        return varint(num << 3) + varint(val)
    if isinstance(val, str):
        val = val.encode()
    return varint(num << 3 | 2) + varint(len(val)) + val


def ts(sec):
    return fld(1, sec)


def grpc(msg):
    return b"\0" + struct.pack(">I", len(msg)) + msg


def task(tid, status):
    return (fld(1, tid) + fld(3, "op-" + tid) + fld(4, status)
            + fld(5, "b1gfolderapi0000001") + fld(7, ts(1699990000))
            + fld(8, ts(1699990600)) + fld(10, "gpt://b1g/yandexgpt-lite")
            + fld(11, "gpt://b1g/yandexgpt-lite/ft") + fld(12, "alice.x")
            + fld(14, fld(1, "ftgw-owner") + fld(2, "alice")))


def main():
    shutil.rmtree(OUT, ignore_errors=True)

    # JSON: vendor fixtures, and small documents
    for n in ["clova/task_running.json", "clova/list_clova.json",
              "qianfan/detail_running.json", "qianfan/create_job_full.json",
              "clova/error_invalid_parameter.json"]:
        put("fuzz_json", n.replace("/", "_"), read(FIX, n))
    for i, s in enumerate([b'{"a":[1,-2.5e3,true,false,null,"\\u00e9\\n"]}',
                           b'"\\ud83d\\ude00"', b"[[[[]]]]", b"0", b"-0.0E+1",
                           b'\xef\xbb\xbf{"k":"v","k":"w"}', b' {} ']):
        put("fuzz_json", "small_%d" % i, s)

    # job ids: created_at, then client, provider, vendor ids by '\n'
    for i, s in enumerate([b"alice\nclova\nczf9fbky\n",
                           b"bob\nqianfan\n7001\n8002",
                           b"\nyandex\nftn-a5\nop-1",
                           b"team-a\nlocal\n17\n"]):
        put("fuzz_jobid", "ref_%d" % i, struct.pack(">q", 1692590826) + s)
    put("fuzz_jobid", "id_0",
        b"ftjob-AQAAAABk4lTqBWNsb3ZhCWFiYzEyM3h5egA3cI5yLqN_8tC4")

    # multipart: flags, 4 chunk sizes, body
    mp = (b'--b1\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n'
          b'fine-tune\r\n--b1\r\nContent-Disposition: form-data; '
          b'name="file"; filename="t.jsonl"\r\nContent-Type: '
          b'application/octet-stream\r\n\r\n{"messages":[]}\n\r\n--b1--\r\n')
    put("fuzz_multipart", "two_parts", b"\x00\x03\x05\x81\x02" + mp)
    put("fuzz_multipart", "ct_line", b"\x01\x00\x1f\x07\x90"
        b"multipart/form-data; boundary=\"b1\"\n" + mp)
    put("fuzz_multipart", "stop", b"\x02\x01\x01\x01\x01" + mp)
    put("fuzz_multipart", "truncated", b"\x00\x02\x02\x02\x02" + mp[:70])

    # chat files: flags, 4 chunk sizes, file
    good = (b'{"messages":[{"role":"system","content":"s"},{"role":"user",'
            b'"content":"q"},{"role":"assistant","content":"a"}]}\n')
    put("fuzz_chatfile", "ten", b"\x14\x03\x05\x81\x02" + good * 10)
    put("fuzz_chatfile", "crlf_bom", b"\x02\x10\x01\x02\x03\xef\xbb\xbf"
        + good.replace(b"\n", b"\r\n") * 2)
    put("fuzz_chatfile", "bad_utf8", b"\x02\x01\x01\x01\x01" + good
        + b'{"messages":[{"role":"user","content":"\xc3"}]}\n')
    put("fuzz_chatfile", "long", b"\x03\x1f\x1f\x1f\x1f" + good)
    put("fuzz_chatfile", "blank", b"\x00\x00\x00\x00\x00\n\n \n" + good)

    # chat files to convert: vendor (0 CLOVA, 1 Qianfan, 2 Yandex), file;
    # CLOVA's minimum is 100 rows, so its seeds are long multi-turn lines
    turn = (b'{"role":"user","content":"q, \\"x\\"\\n\xc3\xa9"},'
            b'{"role":"assistant","content":"a"}')
    many = (b'{"messages":[{"role":"system","content":"s, \\"p\\""},'
            + b",".join([turn] * 51) + b']}\n')
    for v in range(3):
        put("fuzz_stage", f"multi_turn_{v}", bytes([v]) + many * 2, 16384)
        put("fuzz_stage", f"short_{v}", bytes([v]) + good * 40, 16384)
        put("fuzz_stage", f"weight0_{v}", bytes([v]) + many.replace(
            b'"a"}', b'"a","weight":0}', 1) * 2, 16384)

    # requests: a create body, or a list / events / checkpoints query
    for n, s in [("create_clova", b'\x00{"model":"clova/HCX-003",'
                  b'"training_file":"s3://b/t.csv","hyperparameters":'
                  b'{"n_epochs":3,"batch_size":"auto",'
                  b'"learning_rate_multiplier":0.5},"suffix":"x","seed":7,'
                  b'"metadata":{"k":"v"},"validation_file":"s3://b/v.csv"}'),
                 ("create_local", b'\x00{"model":"local/tiny",'
                  b'"training_file":"local://datasets/support/train.jsonl",'
                  b'"method":{"type":"supervised","supervised":'
                  b'{"hyperparameters":{"n_epochs":2}}}}'),
                 ("list", b"\x01limit=3&after=ftjob-AQAAAABk4lTqBWNsb3ZhCWFi"
                  b"YzEyM3h5egA3cI5yLqN_8tC4"),
                 ("events", b"\x02limit=10&after=ftevent-1"),
                 ("checkpoints", b"\x03limit=2&after=%41")]:
        put("fuzz_request", n, s)

    # vendors: operation, status, answer body
    ops = {"create": 0, "retrieve": 1, "list": 2, "cancel": 3, "events": 4}
    for target, files in [
            ("fuzz_clova", [("create", "clova/task_created.json"),
                            ("retrieve", "clova/task_succeeded.json"),
                            ("retrieve", "clova/task_failed_file_error.json"),
                            ("list", "clova/list_clova.json"),
                            ("cancel", "clova/delete_ok.json"),
                            ("events", "clova/task_running.json"),
                            ("retrieve", "clova/error_not_found.json")]),
            ("fuzz_qianfan", [("create", "qianfan/task_created.json"),
                              ("create", "qianfan/job_created.json"),
                              ("retrieve", "qianfan/detail_running.json"),
                              ("retrieve", "qianfan/detail_fail.json"),
                              ("cancel", "qianfan/stop_ok.json"),
                              ("events", "qianfan/detail_finish.json"),
                              ("retrieve",
                               "qianfan/error_access_denied.json")])]:
        for op, n in files:
            put(target, op + "_" + os.path.basename(n),
                bytes([ops[op], 0]) + read(FIX, n))
    for op, n in [("create", "submit.json"), ("retrieve", "job_completed.json"),
                  ("retrieve", "job_failed.json"), ("list", "jobs.json"),
                  ("cancel", "cancel.json"),
                  ("events", "job_running_with_comment.json"),
                  ("retrieve", "error_job_unknown.json")]:
        put("fuzz_slurm", op + "_" + n, bytes([ops[op], 0]) + read(SLURM, n))

    # yandex: gRPC frames (status byte < 128: gRPC OK)
    any_md = (fld(1, "type.googleapis.com/yandex.cloud.ai.tuning.v1."
                     "TuningMetadata")
              + fld(2, fld(1, "ftn-a5")))
    op = (fld(1, "op-1") + fld(3, ts(1699990000)) + fld(6, 0)
          + fld(7, any_md))
    put("fuzz_yandex", "create_op", b"\x00\x00" + grpc(op))
    put("fuzz_yandex", "retrieve_running",
        b"\x01\x00" + grpc(fld(1, task("ftn-a5", 3))))
    put("fuzz_yandex", "retrieve_done",
        b"\x01\x00" + grpc(fld(1, task("ftn-a5", 4))))
    put("fuzz_yandex", "list", b"\x02\x00" + grpc(
        fld(1, task("ftn-a5", 3)) + fld(1, task("ftn-a4", 5))
        + fld(2, "next")))
    put("fuzz_yandex", "cancel", b"\x03\x00" + grpc(b""))
    put("fuzz_yandex", "events", b"\x04\x00" + grpc(fld(1, task("ftn-a5",
                                                                 6))))
    put("fuzz_yandex", "grpc_error", b"\x01\x85")

    # Yandex IAM: operation, HTTP status, the IAM answer
    put("fuzz_yandex_iam", "token", b'\x00\x00{"iamToken":"t1.9euelZq.t-1",'
        b'"expiresAt":"2023-11-15T10:13:20.481516203Z"}')
    put("fuzz_yandex_iam", "token_create", b'\x01\x00{"iamToken":"t1.x",'
        b'"expiresAt":"2023-11-15T19:13:20Z"}')
    put("fuzz_yandex_iam", "error", b'\x00\x08{"code":16,"message":'
        b'"bad jwt","details":[]}')


if __name__ == "__main__":
    main()
