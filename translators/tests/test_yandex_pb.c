/*
 * The protobuf-c code generated from translators/proto (Yandex Cloud tuning
 * v1, yandex.cloud.operation, google.rpc.Status) against bytes made by
 * Yandex's official Python stubs: every vector unpacks with every field as
 * the stubs set it, and the same message built in C packs to exactly the
 * stubs' bytes (for prompt_hex, the one vector with a two-entry map, whose
 * order on the wire is not defined: to the same size and the same decoded
 * fields; rerun, the program below prints its two labels in either order).
 *
 * The *_hex vectors below were printed by this program, run with the
 * project's pinned Python packages (yandexcloud 0.413.0, protobuf 6.33.6,
 * googleapis-common-protos 1.76.0; make venv), as
 * .venv/bin/python gen.py:
 *
 * from google.protobuf import any_pb2, timestamp_pb2
 * from google.rpc import error_details_pb2, status_pb2
 * from yandex.cloud.ai.tuning.v1 import tuning_error_pb2 as te
 * from yandex.cloud.ai.tuning.v1 import tuning_service_pb2 as ts
 * from yandex.cloud.ai.tuning.v1 import tuning_task_pb2 as tt
 * from yandex.cloud.operation import operation_pb2 as op
 * from yandex.cloud.operation import operation_service_pb2 as ops
 *
 * WD = ts.TuningRequest.WeightedDataset
 * TT = tt.TuningTask
 *
 *
 * def ts_(s, n=0):
 *     return timestamp_pb2.Timestamp(seconds=s, nanos=n)
 *
 *
 * def any_(m):
 *     a = any_pb2.Any()
 *     a.Pack(m)
 *     return a
 *
 *
 * full = ts.TuningRequest(
 *     base_model_uri="gpt://b1gfolder/yandexgpt-lite/latest",
 *     train_datasets=[WD(dataset_id="fds1train", weight=0.75),
 *                     WD(dataset_id="fds2train", weight=0.25)],
 *     validation_datasets=[WD(dataset_id="fds3old", weight=1.0)],
 *     validation_dataset=WD(dataset_id="fds4valid", weight=1.0),
 *     test_datasets=[WD(dataset_id="fds5test", weight=0.5)],
 *     name="my-tuning", description="cool tuning", labels={"team": "ml"})
 * p = full.text_to_text_completion
 * p.seed, p.lr, p.n_samples = 500, 0.0001, 100
 * p.additional_arguments = '{"max_len": 2048}'
 * p.lora.rank, p.lora.alpha = 8, 16.0
 * p.lora.initialization, p.lora.type = "kaiming", "lora"
 * p.scheduler.cosine.min_lr = 1e-05
 * p.scheduler.warmup_ratio = 0.1
 * w = p.optimizer.adamw
 * w.beta1, w.beta2, w.eps, w.weight_decay = 0.9, 0.999, 1e-08, 0.1
 *
 * prompt = ts.TuningRequest(
 *     base_model_uri="gpt://b1gfolder/yandexgpt/rc",
 *     train_datasets=[WD(dataset_id="fds1train", weight=1.0)],
 *     name="prompt", labels={"a": "1", "b": "2"})
 * p = prompt.text_to_text_completion
 * p.seed, p.lr, p.n_samples = -1, 0.01, 1
 * p.prompt_tune.virtual_tokens = 20
 * p.scheduler.linear.min_lr = 0.0
 * p.scheduler.warmup_ratio = 0.2
 *
 * mclass = ts.TuningRequest(
 *     base_model_uri="cls://b1gfolder/yandexgpt-lite/latest",
 *     train_datasets=[WD(dataset_id="fdsc", weight=1.0)], name="mc")
 * p = mclass.text_classification_multiclass
 * p.seed, p.lr, p.n_samples = 42, 0.0002, 1000
 * p.lora.rank, p.lora.alpha = 16, 32.0
 * p.scheduler.constant.SetInParent()
 * p.optimizer.adamw.beta1 = 0.8
 *
 * mlabel = ts.TuningRequest(
 *     base_model_uri="cls://b1gfolder/yandexgpt-lite/latest",
 *     train_datasets=[WD(dataset_id="fdsl", weight=2.5)])
 * p = mlabel.text_classification_multilabel
 * p.lr = 0.003
 * p.prompt_tune.virtual_tokens = 7
 * p.scheduler.linear.min_lr = 1e-06
 * p.additional_arguments = "x"
 *
 * pair = ts.TuningRequest(
 *     base_model_uri="emb://b1gfolder/text-embeddings/latest",
 *     train_datasets=[WD(dataset_id="fdse", weight=1.0)])
 * p = pair.text_embedding_pair_params
 * p.embedding_dims.extend([256, 1024, -1])
 * p.scheduler.warmup_ratio = 0.0     # a oneof member: sent although zero
 *
 * meta = ts.TuningMetadata(tuning_task_id="ftn1", status=TT.IN_PROGRESS,
 *                          total_steps=1000, current_step=120)
 * running = op.Operation(
 *     id="ftnop1", description="Tune", created_at=ts_(1735725600),
 *     created_by="aje1user", modified_at=ts_(1735725900, 500000000),
 *     done=False, metadata=any_(meta))
 *
 * resp = ts.TuningResponse(tuning_task_id="ftn1", status=TT.COMPLETED,
 *                          target_model_uri="gpt://b1gfolder/yandexgpt-lite"
 *                                           "/latest@tamrf7g0")
 * succeeded = op.Operation(
 *     id="ftnop1", created_at=ts_(1735725600), modified_at=ts_(1735729200),
 *     done=True, metadata=any_(meta), response=any_(resp))
 *
 * status = status_pb2.Status(
 *     code=16, message="Token is invalid or has expired.",
 *     details=[any_(error_details_pb2.RequestInfo(
 *         request_id="e38e71c3-adc6-4584-98a4-b0f103d55f61"))])
 * failed = op.Operation(id="ftnop2", done=True,
 *                       error=status_pb2.Status(code=13, message="boom"))
 *
 *
 * def task(n, st):
 *     return TT(task_id="ftn%d" % n, operation_id="ftnop%d" % n, status=st,
 *               folder_id="b1gfolder", created_by="aje1user",
 *               created_at=ts_(1735725600 + n), started_at=ts_(1735725700),
 *               finished_at=ts_(1735729200, 1), source_model_uri="gpt://src",
 *               target_model_uri="gpt://dst%d" % n, name="job-%d" % n,
 *               description="d%d" % n, labels={"n": str(n)})
 *
 *
 * tasks = ts.ListTuningsResponse(
 *     tuning_tasks=[task(1, TT.COMPLETED), task(2, TT.PAID)],
 *     next_page_token="tok2")
 *
 * errors = ts.ListErrorsResponse(tuning_error=[
 *     te.TuningError(tuning_task_id="ftn1", message="bad dataset",
 *                    type=te.TuningError.PUBLIC),
 *     te.TuningError(tuning_task_id="ftn1", message="oom",
 *                    type=te.TuningError.INTERNAL)])
 *
 * small = [
 *     ts.ListTuningsRequest(folder_id="b1gfolder", page_size=50,
 *                           page_token="tok2", status=TT.FAILED),
 *     ts.DescribeTuningRequest(tuning_task_id="ftn1"),
 *     ts.DescribeTuningResponse(tuning_task=task(3, TT.CANCELED)),
 *     ts.CancelTuningRequest(tuning_task_id="ftn1"),
 *     ts.CancelTuningResponse(tuning_task_id="ftn1"),
 *     ts.ListErrorsRequest(tuning_task_id="ftn1"),
 *     ops.GetOperationRequest(operation_id="ftnop1"),
 *     ops.CancelOperationRequest(operation_id="ftnop1"),
 * ]
 *
 * vectors = [("full", full), ("prompt", prompt), ("mclass", mclass),
 *            ("mlabel", mlabel), ("pair", pair), ("running", running),
 *            ("succeeded", succeeded), ("failed", failed),
 *            ("status", status), ("tasks", tasks), ("errors", errors)]
 * vectors += [("small%d" % i, m) for i, m in enumerate(small)]
 *
 * for name, m in vectors:
 *     h = m.SerializeToString().hex()
 *     print("static const char  %s_hex[] =" % name)
 *     lines = [h[i:i + 64] for i in range(0, len(h), 64)]
 *     for i, l in enumerate(lines):
 *         print('    "%s"%s' % (l, ";" if i == len(lines) - 1 else ""))
 *     print()
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <google/rpc/status.pb-c.h>
#include <yandex/cloud/ai/tuning/v1/tuning_service.pb-c.h>
#include <yandex/cloud/operation/operation.pb-c.h>
#include <yandex/cloud/operation/operation_service.pb-c.h>



static const char  full_hex[] =
    "0a256770743a2f2f623167666f6c6465722f79616e6465786770742d6c697465"
    "2f6c617465737412140a0966647331747261696e11000000000000e83f12140a"
    "0966647332747261696e11000000000000d03f1a120a07666473336f6c641100"
    "0000000000f03f22140a096664733476616c696411000000000000f03f2a130a"
    "08666473357465737411000000000000e03fa2067f08f403112d431cebe2361a"
    "3f18643a117b226d61785f6c656e223a20323034387da2061a08081100000000"
    "000030401a076b61696d696e6722046c6f7261c20c151a0909f168e388b5f8e4"
    "3ea9069a9999999999b93fca0c260a2409cdccccccccccec3f112b8716d9cef7"
    "ef3f193a8c30e28e79453e219a9999999999b93fc20c096d792d74756e696e67"
    "ca0c0b636f6f6c2074756e696e67d20c0a0a047465616d12026d6c";

static const char  prompt_hex[] =
    "0a1c6770743a2f2f623167666f6c6465722f79616e6465786770742f72631214"
    "0a0966647331747261696e11000000000000f03fa2062a08ffffffffffffffff"
    "ff01117b14ae47e17a843f1801aa06020814c20c0c0a00a9069a9999999999c9"
    "3fc20c0670726f6d7074d20c060a0162120132d20c060a0161120131";

static const char  mclass_hex[] =
    "0a25636c733a2f2f623167666f6c6465722f79616e6465786770742d6c697465"
    "2f6c6174657374120f0a046664736311000000000000f03fb2062f082a112d43"
    "1cebe2362a3f18e807a2060b0810110000000000004040c20c021200ca0c0b0a"
    "09099a9999999999e93fc20c026d63";

static const char  mlabel_hex[] =
    "0a25636c733a2f2f623167666f6c6465722f79616e6465786770742d6c697465"
    "2f6c6174657374120f0a046664736c110000000000000440aa061f11fa7e6abc"
    "7493683f3a0178aa06020807c20c0b0a09098dedb5a0f7c6b03e";

static const char  pair_hex[] =
    "0a26656d623a2f2f623167666f6c6465722f746578742d656d62656464696e67"
    "732f6c6174657374120f0a046664736511000000000000f03fba061d420e8002"
    "8008ffffffffffffffffff01c20c0aa9060000000000000000";

static const char  running_hex[] =
    "0a0666746e6f7031120454756e651a0608a0a4d4bb062208616a653175736572"
    "2a0c08cca6d4bb061080cab5ee013a4d0a3c747970652e676f6f676c65617069"
    "732e636f6d2f79616e6465782e636c6f75642e61692e74756e696e672e76312e"
    "54756e696e674d65746164617461120d0a0466746e31100318e8072078";

static const char  succeeded_hex[] =
    "0a0666746e6f70311a0608a0a4d4bb062a0608b0c0d4bb0630013a4d0a3c7479"
    "70652e676f6f676c65617069732e636f6d2f79616e6465782e636c6f75642e61"
    "692e74756e696e672e76312e54756e696e674d65746164617461120d0a046674"
    "6e31100318e80720784a780a3c747970652e676f6f676c65617069732e636f6d"
    "2f79616e6465782e636c6f75642e61692e74756e696e672e76312e54756e696e"
    "67526573706f6e736512381a0466746e3120042a2e6770743a2f2f623167666f"
    "6c6465722f79616e6465786770742d6c6974652f6c61746573744074616d7266"
    "376730";

static const char  failed_hex[] =
    "0a0666746e6f703230014208080d1204626f6f6d";

static const char  status_hex[] =
    "08101220546f6b656e20697320696e76616c6964206f72206861732065787069"
    "7265642e1a540a2a747970652e676f6f676c65617069732e636f6d2f676f6f67"
    "6c652e7270632e52657175657374496e666f12260a2465333865373163332d61"
    "6463362d343538342d393861342d623066313033643535663631";

static const char  tasks_hex[] =
    "0a690a0466746e311a0666746e6f703120042a09623167666f6c646572320861"
    "6a6531757365723a0608a1a4d4bb0642060884a5d4bb064a0808b0c0d4bb0610"
    "0152096770743a2f2f7372635a0a6770743a2f2f6473743162056a6f622d316a"
    "02643172060a016e1201310a690a0466746e321a0666746e6f703220092a0962"
    "3167666f6c6465723208616a6531757365723a0608a2a4d4bb0642060884a5d4"
    "bb064a0808b0c0d4bb06100152096770743a2f2f7372635a0a6770743a2f2f64"
    "73743262056a6f622d326a02643272060a016e1201321204746f6b32";

static const char  errors_hex[] =
    "0a150a0466746e31120b626164206461746173657418010a0d0a0466746e3112"
    "036f6f6d1802";

static const char  small0_hex[] =
    "0a09623167666f6c64657210321a04746f6b322005";

static const char  small1_hex[] =
    "0a0466746e31";

static const char  small2_hex[] =
    "0a690a0466746e331a0666746e6f703320062a09623167666f6c646572320861"
    "6a6531757365723a0608a3a4d4bb0642060884a5d4bb064a0808b0c0d4bb0610"
    "0152096770743a2f2f7372635a0a6770743a2f2f6473743362056a6f622d336a"
    "02643372060a016e120133";

static const char  small3_hex[] =
    "0a0466746e31";

static const char  small4_hex[] =
    "0a0466746e31";

static const char  small5_hex[] =
    "0a0466746e31";

static const char  small6_hex[] =
    "0a0666746e6f7031";

static const char  small7_hex[] =
    "0a0666746e6f7031";


/* the generated names are long: Y(X) and y(x) are the tuning v1 ones */
#define YT(name)  Yandex__Cloud__Ai__Tuning__V1__##name
#define Y(name)   YANDEX__CLOUD__AI__TUNING__V1__##name
#define y(name)   yandex__cloud__ai__tuning__v1__##name
#define T2T(x)    Y(TEXT_TO_TEXT_COMPLETION_TUNING_PARAMS__##x)
#define MC(x)     Y(TEXT_CLASSIFICATION_MULTICLASS_PARAMS__##x)
#define ML(x)     Y(TEXT_CLASSIFICATION_MULTILABEL_PARAMS__##x)
#define PAIR(x)   Y(TEXT_EMBEDDING_PAIR_PARAMS__##x)
#define PARAMS(x) Y(TUNING_REQUEST__TUNING_PARAMS_##x)
#define ST(x)     Y(TUNING_TASK__STATUS__##x)
#define OP(x)     YANDEX__CLOUD__OPERATION__##x
#define op(x)     yandex__cloud__operation__##x

#define TYPE_URL  "type.googleapis.com/"

typedef YT(TuningRequest)                                  treq_t;
typedef YT(TuningRequest__WeightedDataset)                 wd_t;
typedef YT(TuningRequest__LabelsEntry)                     rlabel_t;
typedef YT(TextToTextCompletionTuningParams)               t2t_t;
typedef YT(TextToTextCompletionTuningParams__Scheduler)    t2t_s_t;
typedef YT(TextToTextCompletionTuningParams__Optimizer)    t2t_o_t;
typedef YT(TextClassificationMulticlassParams)             mc_t;
typedef YT(TextClassificationMulticlassParams__Scheduler)  mc_s_t;
typedef YT(TextClassificationMulticlassParams__Optimizer)  mc_o_t;
typedef YT(TextClassificationMultilabelParams)             ml_t;
typedef YT(TextClassificationMultilabelParams__Scheduler)  ml_s_t;
typedef YT(TextEmbeddingPairParams)                        pair_t;
typedef YT(TextEmbeddingPairParams__Scheduler)             pair_s_t;
typedef YT(TuningTypeLora)                                 lora_t;
typedef YT(TuningTypePromptTune)                           ptune_t;
typedef YT(SchedulerLinear)                                linear_t;
typedef YT(SchedulerConstant)                              constant_t;
typedef YT(SchedulerCosine)                                cosine_t;
typedef YT(OptimizerAdamw)                                 adamw_t;
typedef YT(TuningMetadata)                                 tmeta_t;
typedef YT(TuningResponse)                                 tresp_t;
typedef YT(TuningTask)                                     task_t;
typedef YT(TuningTask__LabelsEntry)                        tlabel_t;
typedef YT(ListTuningsRequest)                             list_req_t;
typedef YT(ListTuningsResponse)                            list_resp_t;
typedef YT(DescribeTuningRequest)                          desc_req_t;
typedef YT(DescribeTuningResponse)                         desc_resp_t;
typedef YT(CancelTuningRequest)                            cancel_req_t;
typedef YT(CancelTuningResponse)                           cancel_resp_t;
typedef YT(TuningError)                                    terr_t;
typedef YT(ListErrorsRequest)                              errs_req_t;
typedef YT(ListErrorsResponse)                             errs_resp_t;
typedef Yandex__Cloud__Operation__Operation                op_t;
typedef Yandex__Cloud__Operation__GetOperationRequest      op_get_t;
typedef Yandex__Cloud__Operation__CancelOperationRequest   op_cancel_t;
typedef Google__Rpc__Status                                status_t;
typedef Google__Protobuf__Any                              any_t;
typedef Google__Protobuf__Timestamp                        tstamp_t;


/* ---- helpers --------------------------------------------------------- */

/* the bytes of a hex vector, malloc'd */
static uint8_t *
unhex(const char *hex, size_t *len)
{
    size_t     i, n;
    uint8_t   *buf;
    unsigned   byte;

    n = strlen(hex);
    assert_int_equal(n % 2, 0);

    buf = malloc(n / 2 + 1);
    assert_non_null(buf);

    for (i = 0; i < n / 2; i++) {
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &byte), 1);
        buf[i] = (uint8_t) byte;
    }

    *len = n / 2;
    return buf;
}


/* m (built in C) is valid and packs to exactly the bytes of hex */
static void
expect_packed(const ProtobufCMessage *m, const char *hex)
{
    size_t    len, size;
    uint8_t  *want, *got;

    assert_true(protobuf_c_message_check(m));

    want = unhex(hex, &len);
    size = protobuf_c_message_get_packed_size(m);
    assert_int_equal(size, len);

    got = malloc(size + 1);
    assert_non_null(got);
    assert_int_equal(protobuf_c_message_pack(m, got), size);
    assert_memory_equal(got, want, len);

    free(got);
    free(want);
}


/* m packed, malloc'd */
static uint8_t *
pack(const ProtobufCMessage *m, size_t *len)
{
    uint8_t  *buf;

    assert_true(protobuf_c_message_check(m));

    *len = protobuf_c_message_get_packed_size(m);
    buf = malloc(*len + 1);
    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(m, buf), *len);

    return buf;
}


/* a = Any(m), as the stubs' Any.Pack() makes it; free with any_free() */
static void
any_pack(any_t *a, const ProtobufCMessage *m)
{
    size_t  n;

    google__protobuf__any__init(a);

    n = sizeof(TYPE_URL) + strlen(m->descriptor->name);
    a->type_url = malloc(n);
    assert_non_null(a->type_url);
    snprintf(a->type_url, n, TYPE_URL "%s", m->descriptor->name);

    a->value.data = pack(m, &a->value.len);
}


static void
any_free(any_t *a)
{
    free(a->type_url);
    free(a->value.data);
}


static void
wd_set(wd_t *w, char *id, double weight)
{
    y(tuning_request__weighted_dataset__init)(w);
    w->dataset_id = id;
    w->weight = weight;
}


static void
check_wd(const wd_t *w, const char *id, double weight)
{
    assert_non_null(w);
    assert_string_equal(w->dataset_id, id);
    assert_true(w->weight == weight);
}


static void
check_ts(const tstamp_t *t, int64_t seconds, int32_t nanos)
{
    assert_non_null(t);
    assert_int_equal(t->seconds, seconds);
    assert_int_equal(t->nanos, nanos);
}


static void
ts_set(tstamp_t *t, int64_t seconds, int32_t nanos)
{
    google__protobuf__timestamp__init(t);
    t->seconds = seconds;
    t->nanos = nanos;
}


/* the value of key in a TuningRequest's labels, or NULL */
static const char *
rlabel(const treq_t *r, const char *key)
{
    size_t  i;

    for (i = 0; i < r->n_labels; i++) {
        if (strcmp(r->labels[i]->key, key) == 0) {
            return r->labels[i]->value;
        }
    }

    return NULL;
}


/* ---- TuningRequest ---------------------------------------------------- */

static void
check_full(const treq_t *r)
{
    const t2t_t  *p;

    assert_string_equal(r->base_model_uri,
                        "gpt://b1gfolder/yandexgpt-lite/latest");
    assert_int_equal(r->n_train_datasets, 2);
    check_wd(r->train_datasets[0], "fds1train", 0.75);
    check_wd(r->train_datasets[1], "fds2train", 0.25);
    assert_int_equal(r->n_validation_datasets, 1);
    check_wd(r->validation_datasets[0], "fds3old", 1.0);
    check_wd(r->validation_dataset, "fds4valid", 1.0);
    assert_int_equal(r->n_test_datasets, 1);
    check_wd(r->test_datasets[0], "fds5test", 0.5);

    assert_int_equal(r->tuning_params_case,
                     PARAMS(TEXT_TO_TEXT_COMPLETION));
    p = r->text_to_text_completion;
    assert_non_null(p);
    assert_int_equal(p->seed, 500);
    assert_true(p->lr == 0.0001);
    assert_int_equal(p->n_samples, 100);
    assert_string_equal(p->additional_arguments, "{\"max_len\": 2048}");

    assert_int_equal(p->tuning_type_case, T2T(TUNING_TYPE_LORA));
    assert_int_equal(p->lora->rank, 8);
    assert_true(p->lora->alpha == 16.0);
    assert_string_equal(p->lora->initialization, "kaiming");
    assert_string_equal(p->lora->type, "lora");

    assert_non_null(p->scheduler);
    assert_int_equal(p->scheduler->type_case, T2T(SCHEDULER__TYPE_COSINE));
    assert_true(p->scheduler->cosine->min_lr == 1e-05);
    assert_true(p->scheduler->warmup_ratio == 0.1);

    assert_non_null(p->optimizer);
    assert_int_equal(p->optimizer->type_case, T2T(OPTIMIZER__TYPE_ADAMW));
    assert_true(p->optimizer->adamw->beta1 == 0.9);
    assert_true(p->optimizer->adamw->beta2 == 0.999);
    assert_true(p->optimizer->adamw->eps == 1e-08);
    assert_true(p->optimizer->adamw->weight_decay == 0.1);

    assert_string_equal(r->name, "my-tuning");
    assert_string_equal(r->description, "cool tuning");
    assert_int_equal(r->n_labels, 1);
    assert_string_equal(r->labels[0]->key, "team");
    assert_string_equal(r->labels[0]->value, "ml");
}


static void
test_request_full(void **state)
{
    size_t     len;
    uint8_t   *buf;
    treq_t     r, *u;
    wd_t       train[2], old, valid, test;
    wd_t      *trainp[2], *oldp, *testp;
    t2t_t      p;
    lora_t     lora;
    t2t_s_t    sched;
    t2t_o_t    opt;
    cosine_t   cosine;
    adamw_t    adamw;
    rlabel_t   label, *labelp;

    buf = unhex(full_hex, &len);
    u = y(tuning_request__unpack)(NULL, len, buf);
    assert_non_null(u);
    check_full(u);
    y(tuning_request__free_unpacked)(u, NULL);
    free(buf);

    /* the same request built in C: the stubs' bytes exactly */
    wd_set(&train[0], "fds1train", 0.75);
    wd_set(&train[1], "fds2train", 0.25);
    wd_set(&old, "fds3old", 1.0);
    wd_set(&valid, "fds4valid", 1.0);
    wd_set(&test, "fds5test", 0.5);
    trainp[0] = &train[0];
    trainp[1] = &train[1];
    oldp = &old;
    testp = &test;

    y(tuning_type_lora__init)(&lora);
    lora.rank = 8;
    lora.alpha = 16;
    lora.initialization = "kaiming";
    lora.type = "lora";

    y(scheduler_cosine__init)(&cosine);
    cosine.min_lr = 1e-05;
    y(text_to_text_completion_tuning_params__scheduler__init)(&sched);
    sched.type_case = T2T(SCHEDULER__TYPE_COSINE);
    sched.cosine = &cosine;
    sched.warmup_ratio = 0.1;

    y(optimizer_adamw__init)(&adamw);
    adamw.beta1 = 0.9;
    adamw.beta2 = 0.999;
    adamw.eps = 1e-08;
    adamw.weight_decay = 0.1;
    y(text_to_text_completion_tuning_params__optimizer__init)(&opt);
    opt.type_case = T2T(OPTIMIZER__TYPE_ADAMW);
    opt.adamw = &adamw;

    y(text_to_text_completion_tuning_params__init)(&p);
    p.seed = 500;
    p.lr = 0.0001;
    p.n_samples = 100;
    p.additional_arguments = "{\"max_len\": 2048}";
    p.tuning_type_case = T2T(TUNING_TYPE_LORA);
    p.lora = &lora;
    p.scheduler = &sched;
    p.optimizer = &opt;

    y(tuning_request__labels_entry__init)(&label);
    label.key = "team";
    label.value = "ml";
    labelp = &label;

    y(tuning_request__init)(&r);
    r.base_model_uri = "gpt://b1gfolder/yandexgpt-lite/latest";
    r.n_train_datasets = 2;
    r.train_datasets = trainp;
    r.n_validation_datasets = 1;
    r.validation_datasets = &oldp;
    r.validation_dataset = &valid;
    r.n_test_datasets = 1;
    r.test_datasets = &testp;
    r.tuning_params_case =
        PARAMS(TEXT_TO_TEXT_COMPLETION);
    r.text_to_text_completion = &p;
    r.name = "my-tuning";
    r.description = "cool tuning";
    r.n_labels = 1;
    r.labels = &labelp;

    check_full(&r);
    expect_packed(&r.base, full_hex);
}


static void
check_prompt(const treq_t *r)
{
    const t2t_t  *p;

    assert_string_equal(r->base_model_uri, "gpt://b1gfolder/yandexgpt/rc");
    assert_int_equal(r->n_train_datasets, 1);
    check_wd(r->train_datasets[0], "fds1train", 1.0);
    assert_int_equal(r->n_validation_datasets, 0);
    assert_null(r->validation_dataset);
    assert_int_equal(r->n_test_datasets, 0);

    assert_int_equal(r->tuning_params_case,
                     PARAMS(TEXT_TO_TEXT_COMPLETION));
    p = r->text_to_text_completion;
    assert_int_equal(p->seed, -1);
    assert_true(p->lr == 0.01);
    assert_int_equal(p->n_samples, 1);
    assert_string_equal(p->additional_arguments, "");
    assert_int_equal(p->tuning_type_case, T2T(TUNING_TYPE_PROMPT_TUNE));
    assert_int_equal(p->prompt_tune->virtual_tokens, 20);

    /* linear{min_lr: 0}: present, with nothing in it on the wire */
    assert_int_equal(p->scheduler->type_case, T2T(SCHEDULER__TYPE_LINEAR));
    assert_non_null(p->scheduler->linear);
    assert_true(p->scheduler->linear->min_lr == 0.0);
    assert_true(p->scheduler->warmup_ratio == 0.2);
    assert_null(p->optimizer);

    assert_string_equal(r->name, "prompt");
    assert_string_equal(r->description, "");

    /* a map of two: its order on the wire is not defined */
    assert_int_equal(r->n_labels, 2);
    assert_non_null(rlabel(r, "a"));
    assert_string_equal(rlabel(r, "a"), "1");
    assert_non_null(rlabel(r, "b"));
    assert_string_equal(rlabel(r, "b"), "2");
}


static void
test_request_prompt_tune(void **state)
{
    size_t     len, want_len;
    uint8_t   *buf;
    treq_t     r, *u;
    wd_t       train, *trainp;
    t2t_t      p;
    ptune_t    prompt;
    t2t_s_t    sched;
    linear_t   linear;
    rlabel_t   labels[2], *labelp[2];

    buf = unhex(prompt_hex, &want_len);
    u = y(tuning_request__unpack)(NULL, want_len, buf);
    assert_non_null(u);
    check_prompt(u);
    y(tuning_request__free_unpacked)(u, NULL);
    free(buf);

    wd_set(&train, "fds1train", 1.0);
    trainp = &train;

    y(tuning_type_prompt_tune__init)(&prompt);
    prompt.virtual_tokens = 20;
    y(scheduler_linear__init)(&linear);
    y(text_to_text_completion_tuning_params__scheduler__init)(&sched);
    sched.type_case = T2T(SCHEDULER__TYPE_LINEAR);
    sched.linear = &linear;
    sched.warmup_ratio = 0.2;

    y(text_to_text_completion_tuning_params__init)(&p);
    p.seed = -1;
    p.lr = 0.01;
    p.n_samples = 1;
    p.tuning_type_case = T2T(TUNING_TYPE_PROMPT_TUNE);
    p.prompt_tune = &prompt;
    p.scheduler = &sched;

    y(tuning_request__labels_entry__init)(&labels[0]);
    labels[0].key = "a";
    labels[0].value = "1";
    y(tuning_request__labels_entry__init)(&labels[1]);
    labels[1].key = "b";
    labels[1].value = "2";
    labelp[0] = &labels[0];
    labelp[1] = &labels[1];

    y(tuning_request__init)(&r);
    r.base_model_uri = "gpt://b1gfolder/yandexgpt/rc";
    r.n_train_datasets = 1;
    r.train_datasets = &trainp;
    r.tuning_params_case =
        PARAMS(TEXT_TO_TEXT_COMPLETION);
    r.text_to_text_completion = &p;
    r.name = "prompt";
    r.n_labels = 2;
    r.labels = labelp;

    /* decode-equal (and of the same size), as the map order may differ */
    buf = pack(&r.base, &len);
    assert_int_equal(len, want_len);
    u = y(tuning_request__unpack)(NULL, len, buf);
    assert_non_null(u);
    check_prompt(u);
    y(tuning_request__free_unpacked)(u, NULL);
    free(buf);
}


static void
check_multiclass(const treq_t *r)
{
    const mc_t  *p;

    assert_string_equal(r->base_model_uri,
                        "cls://b1gfolder/yandexgpt-lite/latest");
    assert_int_equal(r->n_train_datasets, 1);
    check_wd(r->train_datasets[0], "fdsc", 1.0);
    assert_string_equal(r->name, "mc");
    assert_int_equal(r->n_labels, 0);

    assert_int_equal(r->tuning_params_case,
                     PARAMS(TEXT_CLASSIFICATION_MULTICLASS));
    /* the members of a oneof share a union: only the case tells */
    p = r->text_classification_multiclass;
    assert_int_equal(p->seed, 42);
    assert_true(p->lr == 0.0002);
    assert_int_equal(p->n_samples, 1000);
    assert_int_equal(p->tuning_type_case, MC(TUNING_TYPE_LORA));
    assert_int_equal(p->lora->rank, 16);
    assert_true(p->lora->alpha == 32.0);
    assert_string_equal(p->lora->initialization, "");
    assert_int_equal(p->scheduler->type_case, MC(SCHEDULER__TYPE_CONSTANT));
    assert_non_null(p->scheduler->constant);
    assert_true(p->scheduler->warmup_ratio == 0.0);
    assert_int_equal(p->optimizer->type_case, MC(OPTIMIZER__TYPE_ADAMW));
    assert_true(p->optimizer->adamw->beta1 == 0.8);
    assert_true(p->optimizer->adamw->beta2 == 0.0);
}


static void
test_request_multiclass(void **state)
{
    size_t      len;
    uint8_t    *buf;
    treq_t      r, *u;
    wd_t        train, *trainp;
    mc_t        p;
    lora_t      lora;
    mc_s_t      sched;
    mc_o_t      opt;
    constant_t  constant;
    adamw_t     adamw;

    buf = unhex(mclass_hex, &len);
    u = y(tuning_request__unpack)(NULL, len, buf);
    assert_non_null(u);
    check_multiclass(u);
    y(tuning_request__free_unpacked)(u, NULL);
    free(buf);

    wd_set(&train, "fdsc", 1.0);
    trainp = &train;

    y(tuning_type_lora__init)(&lora);
    lora.rank = 16;
    lora.alpha = 32;
    y(scheduler_constant__init)(&constant);
    y(text_classification_multiclass_params__scheduler__init)(&sched);
    sched.type_case = MC(SCHEDULER__TYPE_CONSTANT);
    sched.constant = &constant;
    y(optimizer_adamw__init)(&adamw);
    adamw.beta1 = 0.8;
    y(text_classification_multiclass_params__optimizer__init)(&opt);
    opt.type_case = MC(OPTIMIZER__TYPE_ADAMW);
    opt.adamw = &adamw;

    y(text_classification_multiclass_params__init)(&p);
    p.seed = 42;
    p.lr = 0.0002;
    p.n_samples = 1000;
    p.tuning_type_case = MC(TUNING_TYPE_LORA);
    p.lora = &lora;
    p.scheduler = &sched;
    p.optimizer = &opt;

    y(tuning_request__init)(&r);
    r.base_model_uri = "cls://b1gfolder/yandexgpt-lite/latest";
    r.n_train_datasets = 1;
    r.train_datasets = &trainp;
    r.tuning_params_case =
        PARAMS(TEXT_CLASSIFICATION_MULTICLASS);
    r.text_classification_multiclass = &p;
    r.name = "mc";

    check_multiclass(&r);
    expect_packed(&r.base, mclass_hex);
}


static void
check_multilabel(const treq_t *r)
{
    const ml_t  *p;

    assert_string_equal(r->base_model_uri,
                        "cls://b1gfolder/yandexgpt-lite/latest");
    check_wd(r->train_datasets[0], "fdsl", 2.5);
    assert_string_equal(r->name, "");

    assert_int_equal(r->tuning_params_case,
                     PARAMS(TEXT_CLASSIFICATION_MULTILABEL));
    p = r->text_classification_multilabel;
    assert_int_equal(p->seed, 0);
    assert_true(p->lr == 0.003);
    assert_int_equal(p->n_samples, 0);
    assert_string_equal(p->additional_arguments, "x");
    assert_int_equal(p->tuning_type_case, ML(TUNING_TYPE_PROMPT_TUNE));
    assert_int_equal(p->prompt_tune->virtual_tokens, 7);
    assert_int_equal(p->scheduler->type_case, ML(SCHEDULER__TYPE_LINEAR));
    assert_true(p->scheduler->linear->min_lr == 1e-06);
    assert_null(p->optimizer);
}


static void
test_request_multilabel(void **state)
{
    size_t     len;
    uint8_t   *buf;
    treq_t     r, *u;
    wd_t       train, *trainp;
    ml_t       p;
    ptune_t    prompt;
    ml_s_t     sched;
    linear_t   linear;

    buf = unhex(mlabel_hex, &len);
    u = y(tuning_request__unpack)(NULL, len, buf);
    assert_non_null(u);
    check_multilabel(u);
    y(tuning_request__free_unpacked)(u, NULL);
    free(buf);

    wd_set(&train, "fdsl", 2.5);
    trainp = &train;

    y(tuning_type_prompt_tune__init)(&prompt);
    prompt.virtual_tokens = 7;
    y(scheduler_linear__init)(&linear);
    linear.min_lr = 1e-06;
    y(text_classification_multilabel_params__scheduler__init)(&sched);
    sched.type_case = ML(SCHEDULER__TYPE_LINEAR);
    sched.linear = &linear;

    y(text_classification_multilabel_params__init)(&p);
    p.lr = 0.003;
    p.additional_arguments = "x";
    p.tuning_type_case = ML(TUNING_TYPE_PROMPT_TUNE);
    p.prompt_tune = &prompt;
    p.scheduler = &sched;

    y(tuning_request__init)(&r);
    r.base_model_uri = "cls://b1gfolder/yandexgpt-lite/latest";
    r.n_train_datasets = 1;
    r.train_datasets = &trainp;
    r.tuning_params_case =
        PARAMS(TEXT_CLASSIFICATION_MULTILABEL);
    r.text_classification_multilabel = &p;

    check_multilabel(&r);
    expect_packed(&r.base, mlabel_hex);
}


/*
 * The embedding params' warmup_ratio is in a oneof of its own: present
 * even when zero. embedding_dims is a packed repeated int64.
 */

static void
test_request_embedding_pair(void **state)
{
    size_t     len;
    uint8_t   *buf;
    treq_t     r, *u;
    wd_t       train, *trainp;
    pair_t     p;
    pair_s_t   sched;
    int64_t    dims[] = { 256, 1024, -1 };

    buf = unhex(pair_hex, &len);
    u = y(tuning_request__unpack)(NULL, len, buf);
    assert_non_null(u);
    assert_string_equal(u->base_model_uri,
                        "emb://b1gfolder/text-embeddings/latest");
    check_wd(u->train_datasets[0], "fdse", 1.0);
    assert_int_equal(u->tuning_params_case,
                     PARAMS(TEXT_EMBEDDING_PAIR_PARAMS));
    assert_int_equal(u->text_embedding_pair_params->n_embedding_dims, 3);
    assert_memory_equal(u->text_embedding_pair_params->embedding_dims, dims,
                        sizeof(dims));
    assert_int_equal(u->text_embedding_pair_params->tuning_type_case,
                     PAIR(TUNING_TYPE__NOT_SET));
    assert_int_equal(u->text_embedding_pair_params->scheduler->type_case,
                     PAIR(SCHEDULER__TYPE__NOT_SET));
    assert_int_equal(
        u->text_embedding_pair_params->scheduler->optional_warmup_ratio_case,
        PAIR(SCHEDULER__OPTIONAL_WARMUP_RATIO_WARMUP_RATIO));
    assert_true(u->text_embedding_pair_params->scheduler->warmup_ratio == 0);
    y(tuning_request__free_unpacked)(u, NULL);
    free(buf);

    wd_set(&train, "fdse", 1.0);
    trainp = &train;

    y(text_embedding_pair_params__scheduler__init)(&sched);
    sched.optional_warmup_ratio_case =
        PAIR(SCHEDULER__OPTIONAL_WARMUP_RATIO_WARMUP_RATIO);
    sched.warmup_ratio = 0.0;

    y(text_embedding_pair_params__init)(&p);
    p.n_embedding_dims = 3;
    p.embedding_dims = dims;
    p.scheduler = &sched;

    y(tuning_request__init)(&r);
    r.base_model_uri = "emb://b1gfolder/text-embeddings/latest";
    r.n_train_datasets = 1;
    r.train_datasets = &trainp;
    r.tuning_params_case =
        PARAMS(TEXT_EMBEDDING_PAIR_PARAMS);
    r.text_embedding_pair_params = &p;

    expect_packed(&r.base, pair_hex);
}


/* ---- Operation --------------------------------------------------------- */

static void
check_meta(const any_t *a)
{
    tmeta_t  *m;

    assert_non_null(a);
    assert_string_equal(a->type_url,
        TYPE_URL "yandex.cloud.ai.tuning.v1.TuningMetadata");
    assert_string_equal(a->type_url + sizeof(TYPE_URL) - 1,
                        y(tuning_metadata__descriptor).name);

    m = y(tuning_metadata__unpack)(NULL, a->value.len, a->value.data);
    assert_non_null(m);
    assert_string_equal(m->tuning_task_id, "ftn1");
    assert_int_equal(m->status, ST(IN_PROGRESS));
    assert_int_equal(m->total_steps, 1000);
    assert_int_equal(m->current_step, 120);
    y(tuning_metadata__free_unpacked)(m, NULL);
}


static void
meta_set(tmeta_t *m)
{
    y(tuning_metadata__init)(m);
    m->tuning_task_id = "ftn1";
    m->status = ST(IN_PROGRESS);
    m->total_steps = 1000;
    m->current_step = 120;
}


static void
test_operation_running(void **state)
{
    size_t     len;
    uint8_t   *buf;
    op_t       o, *u;
    any_t      meta_any;
    tmeta_t    meta;
    tstamp_t   created, modified;

    buf = unhex(running_hex, &len);
    u = op(operation__unpack)(NULL, len, buf);
    assert_non_null(u);
    assert_string_equal(u->id, "ftnop1");
    assert_string_equal(u->description, "Tune");
    check_ts(u->created_at, 1735725600, 0);
    assert_string_equal(u->created_by, "aje1user");
    check_ts(u->modified_at, 1735725900, 500000000);
    assert_false(u->done);
    check_meta(u->metadata);
    assert_int_equal(u->result_case, OP(OPERATION__RESULT__NOT_SET));
    op(operation__free_unpacked)(u, NULL);
    free(buf);

    meta_set(&meta);
    any_pack(&meta_any, &meta.base);
    ts_set(&created, 1735725600, 0);
    ts_set(&modified, 1735725900, 500000000);

    op(operation__init)(&o);
    o.id = "ftnop1";
    o.description = "Tune";
    o.created_at = &created;
    o.created_by = "aje1user";
    o.modified_at = &modified;
    o.done = 0;
    o.metadata = &meta_any;

    expect_packed(&o.base, running_hex);
    any_free(&meta_any);
}


static void
test_operation_succeeded(void **state)
{
    size_t     len;
    uint8_t   *buf;
    op_t       o, *u;
    any_t      meta_any, resp_any;
    tmeta_t    meta;
    tresp_t    resp, *r;
    tstamp_t   created, modified;

    buf = unhex(succeeded_hex, &len);
    u = op(operation__unpack)(NULL, len, buf);
    assert_non_null(u);
    assert_string_equal(u->id, "ftnop1");
    assert_string_equal(u->description, "");
    check_ts(u->created_at, 1735725600, 0);
    assert_string_equal(u->created_by, "");
    check_ts(u->modified_at, 1735729200, 0);
    assert_true(u->done);
    check_meta(u->metadata);
    assert_int_equal(u->result_case, OP(OPERATION__RESULT_RESPONSE));
    assert_string_equal(u->response->type_url,
        TYPE_URL "yandex.cloud.ai.tuning.v1.TuningResponse");

    r = y(tuning_response__unpack)(NULL, u->response->value.len,
                                   u->response->value.data);
    assert_non_null(r);
    assert_string_equal(r->tuning_task_id, "ftn1");
    assert_int_equal(r->status, ST(COMPLETED));
    assert_string_equal(r->target_model_uri,
                        "gpt://b1gfolder/yandexgpt-lite/latest@tamrf7g0");
    y(tuning_response__free_unpacked)(r, NULL);
    op(operation__free_unpacked)(u, NULL);
    free(buf);

    meta_set(&meta);
    any_pack(&meta_any, &meta.base);
    y(tuning_response__init)(&resp);
    resp.tuning_task_id = "ftn1";
    resp.status = ST(COMPLETED);
    resp.target_model_uri = "gpt://b1gfolder/yandexgpt-lite/latest@tamrf7g0";
    any_pack(&resp_any, &resp.base);
    ts_set(&created, 1735725600, 0);
    ts_set(&modified, 1735729200, 0);

    op(operation__init)(&o);
    o.id = "ftnop1";
    o.created_at = &created;
    o.modified_at = &modified;
    o.done = 1;
    o.metadata = &meta_any;
    o.result_case = OP(OPERATION__RESULT_RESPONSE);
    o.response = &resp_any;

    expect_packed(&o.base, succeeded_hex);
    any_free(&meta_any);
    any_free(&resp_any);
}


static void
test_operation_failed(void **state)
{
    size_t     len;
    uint8_t   *buf;
    op_t       o, *u;
    status_t   err;

    buf = unhex(failed_hex, &len);
    u = op(operation__unpack)(NULL, len, buf);
    assert_non_null(u);
    assert_string_equal(u->id, "ftnop2");
    assert_null(u->created_at);
    assert_null(u->metadata);
    assert_true(u->done);
    assert_int_equal(u->result_case, OP(OPERATION__RESULT_ERROR));
    assert_int_equal(u->error->code, 13);
    assert_string_equal(u->error->message, "boom");
    assert_int_equal(u->error->n_details, 0);
    op(operation__free_unpacked)(u, NULL);
    free(buf);

    google__rpc__status__init(&err);
    err.code = 13;
    err.message = "boom";

    op(operation__init)(&o);
    o.id = "ftnop2";
    o.done = 1;
    o.result_case = OP(OPERATION__RESULT_ERROR);
    o.error = &err;

    expect_packed(&o.base, failed_hex);
}


/* ---- google.rpc.Status ------------------------------------------------- */

#define REQUEST_ID  "e38e71c3-adc6-4584-98a4-b0f103d55f61"

static void
test_rpc_status(void **state)
{
    size_t     len;
    uint8_t   *buf;
    status_t   s, *u;
    any_t      detail, *detailp;
    uint8_t    info[2 + sizeof(REQUEST_ID) - 1];

    /* google.rpc.RequestInfo{request_id = 1}: not compiled here, opaque */
    info[0] = 0x0a;
    info[1] = sizeof(REQUEST_ID) - 1;
    memcpy(info + 2, REQUEST_ID, sizeof(REQUEST_ID) - 1);

    buf = unhex(status_hex, &len);
    u = google__rpc__status__unpack(NULL, len, buf);
    assert_non_null(u);
    assert_int_equal(u->code, 16);
    assert_string_equal(u->message, "Token is invalid or has expired.");
    assert_int_equal(u->n_details, 1);
    assert_string_equal(u->details[0]->type_url,
                        TYPE_URL "google.rpc.RequestInfo");
    assert_int_equal(u->details[0]->value.len, sizeof(info));
    assert_memory_equal(u->details[0]->value.data, info, sizeof(info));
    google__rpc__status__free_unpacked(u, NULL);
    free(buf);

    google__protobuf__any__init(&detail);
    detail.type_url = TYPE_URL "google.rpc.RequestInfo";
    detail.value.len = sizeof(info);
    detail.value.data = info;
    detailp = &detail;

    google__rpc__status__init(&s);
    s.code = 16;
    s.message = "Token is invalid or has expired.";
    s.n_details = 1;
    s.details = &detailp;

    expect_packed(&s.base, status_hex);
}


/* ---- TuningTask, List, ListErrors, the small messages ------------------ */

typedef struct {
    task_t    task;
    tstamp_t  created, started, finished;
    tlabel_t  label, *labelp;
    char      id[16], op[16], dst[16], name[16], desc[16], num[16];
} task_buf_t;


/* task(n, status) of the generating program, built in C */
static task_t *
task_set(task_buf_t *b, int n, int status)
{
    snprintf(b->id, sizeof(b->id), "ftn%d", n);
    snprintf(b->op, sizeof(b->op), "ftnop%d", n);
    snprintf(b->dst, sizeof(b->dst), "gpt://dst%d", n);
    snprintf(b->name, sizeof(b->name), "job-%d", n);
    snprintf(b->desc, sizeof(b->desc), "d%d", n);
    snprintf(b->num, sizeof(b->num), "%d", n);

    ts_set(&b->created, 1735725600 + n, 0);
    ts_set(&b->started, 1735725700, 0);
    ts_set(&b->finished, 1735729200, 1);

    y(tuning_task__labels_entry__init)(&b->label);
    b->label.key = "n";
    b->label.value = b->num;
    b->labelp = &b->label;

    y(tuning_task__init)(&b->task);
    b->task.task_id = b->id;
    b->task.operation_id = b->op;
    b->task.status = status;
    b->task.folder_id = "b1gfolder";
    b->task.created_by = "aje1user";
    b->task.created_at = &b->created;
    b->task.started_at = &b->started;
    b->task.finished_at = &b->finished;
    b->task.source_model_uri = "gpt://src";
    b->task.target_model_uri = b->dst;
    b->task.name = b->name;
    b->task.description = b->desc;
    b->task.n_labels = 1;
    b->task.labels = &b->labelp;

    return &b->task;
}


static void
check_task(const task_t *t, int n, int status)
{
    task_buf_t  want;

    assert_non_null(t);
    task_set(&want, n, status);

    assert_string_equal(t->task_id, want.id);
    assert_string_equal(t->operation_id, want.op);
    assert_int_equal(t->status, status);
    assert_string_equal(t->folder_id, "b1gfolder");
    assert_string_equal(t->created_by, "aje1user");
    check_ts(t->created_at, 1735725600 + n, 0);
    check_ts(t->started_at, 1735725700, 0);
    check_ts(t->finished_at, 1735729200, 1);
    assert_string_equal(t->source_model_uri, "gpt://src");
    assert_string_equal(t->target_model_uri, want.dst);
    assert_string_equal(t->name, want.name);
    assert_string_equal(t->description, want.desc);
    assert_int_equal(t->n_labels, 1);
    assert_string_equal(t->labels[0]->key, "n");
    assert_string_equal(t->labels[0]->value, want.num);
}


static void
test_list_tunings_response(void **state)
{
    size_t        len;
    uint8_t      *buf;
    task_t       *tasks[2];
    task_buf_t    b1, b2;
    list_resp_t   l, *u;

    buf = unhex(tasks_hex, &len);
    u = y(list_tunings_response__unpack)(NULL, len, buf);
    assert_non_null(u);
    assert_int_equal(u->n_tuning_tasks, 2);
    check_task(u->tuning_tasks[0], 1, ST(COMPLETED));
    check_task(u->tuning_tasks[1], 2, ST(PAID));
    assert_string_equal(u->next_page_token, "tok2");
    y(list_tunings_response__free_unpacked)(u, NULL);
    free(buf);

    tasks[0] = task_set(&b1, 1, ST(COMPLETED));
    tasks[1] = task_set(&b2, 2, ST(PAID));

    y(list_tunings_response__init)(&l);
    l.n_tuning_tasks = 2;
    l.tuning_tasks = tasks;
    l.next_page_token = "tok2";

    expect_packed(&l.base, tasks_hex);
}


static void
test_list_errors_response(void **state)
{
    size_t        len;
    uint8_t      *buf;
    terr_t        e[2], *ep[2];
    errs_resp_t   l, *u;

    buf = unhex(errors_hex, &len);
    u = y(list_errors_response__unpack)(NULL, len, buf);
    assert_non_null(u);
    assert_int_equal(u->n_tuning_error, 2);
    assert_string_equal(u->tuning_error[0]->tuning_task_id, "ftn1");
    assert_string_equal(u->tuning_error[0]->message, "bad dataset");
    assert_int_equal(u->tuning_error[0]->type,
                     Y(TUNING_ERROR__TYPE__PUBLIC));
    assert_string_equal(u->tuning_error[1]->tuning_task_id, "ftn1");
    assert_string_equal(u->tuning_error[1]->message, "oom");
    assert_int_equal(u->tuning_error[1]->type,
                     Y(TUNING_ERROR__TYPE__INTERNAL));
    y(list_errors_response__free_unpacked)(u, NULL);
    free(buf);

    y(tuning_error__init)(&e[0]);
    e[0].tuning_task_id = "ftn1";
    e[0].message = "bad dataset";
    e[0].type = Y(TUNING_ERROR__TYPE__PUBLIC);
    y(tuning_error__init)(&e[1]);
    e[1].tuning_task_id = "ftn1";
    e[1].message = "oom";
    e[1].type = Y(TUNING_ERROR__TYPE__INTERNAL);
    ep[0] = &e[0];
    ep[1] = &e[1];

    y(list_errors_response__init)(&l);
    l.n_tuning_error = 2;
    l.tuning_error = ep;

    expect_packed(&l.base, errors_hex);
}


/* the requests the gateway sends, and the small responses */

static void
test_small_messages(void **state)
{
    size_t          len;
    uint8_t        *buf;
    task_buf_t      b;
    list_req_t      lr, *lru;
    desc_req_t      dr, *dru;
    desc_resp_t     ds, *dsu;
    cancel_req_t    cr, *cru;
    cancel_resp_t   cs, *csu;
    errs_req_t      er, *eru;
    op_get_t        og, *ogu;
    op_cancel_t     oc, *ocu;

    buf = unhex(small0_hex, &len);
    lru = y(list_tunings_request__unpack)(NULL, len, buf);
    assert_non_null(lru);
    assert_string_equal(lru->folder_id, "b1gfolder");
    assert_int_equal(lru->page_size, 50);
    assert_string_equal(lru->page_token, "tok2");
    assert_int_equal(lru->status, ST(FAILED));
    y(list_tunings_request__free_unpacked)(lru, NULL);
    free(buf);

    y(list_tunings_request__init)(&lr);
    lr.folder_id = "b1gfolder";
    lr.page_size = 50;
    lr.page_token = "tok2";
    lr.status = ST(FAILED);
    expect_packed(&lr.base, small0_hex);

    buf = unhex(small1_hex, &len);
    dru = y(describe_tuning_request__unpack)(NULL, len, buf);
    assert_non_null(dru);
    assert_string_equal(dru->tuning_task_id, "ftn1");
    y(describe_tuning_request__free_unpacked)(dru, NULL);
    free(buf);

    y(describe_tuning_request__init)(&dr);
    dr.tuning_task_id = "ftn1";
    expect_packed(&dr.base, small1_hex);

    buf = unhex(small2_hex, &len);
    dsu = y(describe_tuning_response__unpack)(NULL, len, buf);
    assert_non_null(dsu);
    check_task(dsu->tuning_task, 3, ST(CANCELED));
    y(describe_tuning_response__free_unpacked)(dsu, NULL);
    free(buf);

    y(describe_tuning_response__init)(&ds);
    ds.tuning_task = task_set(&b, 3, ST(CANCELED));
    expect_packed(&ds.base, small2_hex);

    buf = unhex(small3_hex, &len);
    cru = y(cancel_tuning_request__unpack)(NULL, len, buf);
    assert_non_null(cru);
    assert_string_equal(cru->tuning_task_id, "ftn1");
    y(cancel_tuning_request__free_unpacked)(cru, NULL);
    free(buf);

    y(cancel_tuning_request__init)(&cr);
    cr.tuning_task_id = "ftn1";
    expect_packed(&cr.base, small3_hex);

    buf = unhex(small4_hex, &len);
    csu = y(cancel_tuning_response__unpack)(NULL, len, buf);
    assert_non_null(csu);
    assert_string_equal(csu->tuning_task_id, "ftn1");
    y(cancel_tuning_response__free_unpacked)(csu, NULL);
    free(buf);

    y(cancel_tuning_response__init)(&cs);
    cs.tuning_task_id = "ftn1";
    expect_packed(&cs.base, small4_hex);

    buf = unhex(small5_hex, &len);
    eru = y(list_errors_request__unpack)(NULL, len, buf);
    assert_non_null(eru);
    assert_string_equal(eru->tuning_task_id, "ftn1");
    y(list_errors_request__free_unpacked)(eru, NULL);
    free(buf);

    y(list_errors_request__init)(&er);
    er.tuning_task_id = "ftn1";
    expect_packed(&er.base, small5_hex);

    buf = unhex(small6_hex, &len);
    ogu = op(get_operation_request__unpack)(NULL, len, buf);
    assert_non_null(ogu);
    assert_string_equal(ogu->operation_id, "ftnop1");
    op(get_operation_request__free_unpacked)(ogu, NULL);
    free(buf);

    op(get_operation_request__init)(&og);
    og.operation_id = "ftnop1";
    expect_packed(&og.base, small6_hex);

    buf = unhex(small7_hex, &len);
    ocu = op(cancel_operation_request__unpack)(NULL, len, buf);
    assert_non_null(ocu);
    assert_string_equal(ocu->operation_id, "ftnop1");
    op(cancel_operation_request__free_unpacked)(ocu, NULL);
    free(buf);

    op(cancel_operation_request__init)(&oc);
    oc.operation_id = "ftnop1";
    expect_packed(&oc.base, small7_hex);
}


/* ---- names: gRPC paths, Any type URLs, the status enum ----------------- */

static void
expect_method(const ProtobufCServiceDescriptor *s, const char *name,
    const ProtobufCMessageDescriptor *in,
    const ProtobufCMessageDescriptor *out, const char *path)
{
    char                            buf[128];
    const ProtobufCMethodDescriptor  *m;

    m = protobuf_c_service_descriptor_get_method_by_name(s, name);
    assert_non_null(m);
    assert_ptr_equal(m->input, in);
    assert_ptr_equal(m->output, out);

    snprintf(buf, sizeof(buf), "/%s/%s", s->name, m->name);
    assert_string_equal(buf, path);
}


static void
test_names(void **state)
{
    size_t                           i;
    const ProtobufCEnumDescriptor   *e;
    const ProtobufCServiceDescriptor  *s;
    static const char               *status[] = {
        "STATUS_UNSPECIFIED", "CREATED", "PENDING", "IN_PROGRESS",
        "COMPLETED", "FAILED", "CANCELED", "DRAFT", "ARCHIVED", "PAID"
    };

    s = &y(tuning_service__descriptor);
    assert_int_equal(s->n_methods, 5);
    expect_method(s, "Tune", &y(tuning_request__descriptor),
                  &op(operation__descriptor),
                  "/yandex.cloud.ai.tuning.v1.TuningService/Tune");
    expect_method(s, "List", &y(list_tunings_request__descriptor),
                  &y(list_tunings_response__descriptor),
                  "/yandex.cloud.ai.tuning.v1.TuningService/List");
    expect_method(s, "Describe", &y(describe_tuning_request__descriptor),
                  &y(describe_tuning_response__descriptor),
                  "/yandex.cloud.ai.tuning.v1.TuningService/Describe");
    expect_method(s, "Cancel", &y(cancel_tuning_request__descriptor),
                  &y(cancel_tuning_response__descriptor),
                  "/yandex.cloud.ai.tuning.v1.TuningService/Cancel");
    expect_method(s, "ListErrors", &y(list_errors_request__descriptor),
                  &y(list_errors_response__descriptor),
                  "/yandex.cloud.ai.tuning.v1.TuningService/ListErrors");

    s = &op(operation_service__descriptor);
    assert_int_equal(s->n_methods, 2);
    expect_method(s, "Get", &op(get_operation_request__descriptor),
                  &op(operation__descriptor),
                  "/yandex.cloud.operation.OperationService/Get");
    expect_method(s, "Cancel", &op(cancel_operation_request__descriptor),
                  &op(operation__descriptor),
                  "/yandex.cloud.operation.OperationService/Cancel");

    assert_string_equal(y(tuning_response__descriptor).name,
                        "yandex.cloud.ai.tuning.v1.TuningResponse");
    assert_string_equal(google__rpc__status__descriptor.name,
                        "google.rpc.Status");

    e = &y(tuning_task__status__descriptor);
    assert_int_equal(e->n_values, 10);
    for (i = 0; i < 10; i++) {
        assert_non_null(protobuf_c_enum_descriptor_get_value(e, (int) i));
        assert_string_equal(
            protobuf_c_enum_descriptor_get_value(e, (int) i)->name,
            status[i]);
    }
    assert_int_equal(ST(PAID), 9);
    assert_null(protobuf_c_enum_descriptor_get_value(e, 10));
}


/* ---- robustness --------------------------------------------------------- */

/*
 * A field the schema does not know (a newer Yandex) is kept as an unknown
 * field and packed back as it came.
 */

static void
test_unknown_field_kept(void **state)
{
    char      hex[sizeof(full_hex) + 6];
    size_t    len;
    uint8_t  *buf;
    treq_t   *u;

    /* field 300, varint 7: key (300 << 3 | 0) = e0 12 */
    snprintf(hex, sizeof(hex), "%se01207", full_hex);

    buf = unhex(hex, &len);
    u = y(tuning_request__unpack)(NULL, len, buf);
    assert_non_null(u);
    check_full(u);
    assert_int_equal(u->base.n_unknown_fields, 1);
    assert_int_equal(u->base.unknown_fields[0].tag, 300);

    expect_packed(&u->base, hex);
    y(tuning_request__free_unpacked)(u, NULL);
    free(buf);
}


/* every prefix and every one-byte corruption of every vector: no crash */

static void
test_truncated_and_corrupted(void **state)
{
    size_t             i, v, k, len;
    uint8_t           *buf, save;
    ProtobufCMessage  *m;
    static const struct {
        const char                        *hex;
        const ProtobufCMessageDescriptor  *d;
    }  vec[] = {
        { full_hex, &y(tuning_request__descriptor) },
        { prompt_hex, &y(tuning_request__descriptor) },
        { mclass_hex, &y(tuning_request__descriptor) },
        { mlabel_hex, &y(tuning_request__descriptor) },
        { pair_hex, &y(tuning_request__descriptor) },
        { running_hex, &op(operation__descriptor) },
        { succeeded_hex, &op(operation__descriptor) },
        { failed_hex, &op(operation__descriptor) },
        { status_hex, &google__rpc__status__descriptor },
        { tasks_hex, &y(list_tunings_response__descriptor) },
        { errors_hex, &y(list_errors_response__descriptor) },
        { small2_hex, &y(describe_tuning_response__descriptor) },
    };
    static const uint8_t  flips[] = { 0x00, 0x7f, 0x80, 0xff };

    for (v = 0; v < sizeof(vec) / sizeof(vec[0]); v++) {
        buf = unhex(vec[v].hex, &len);

        for (i = 0; i < len; i++) {
            m = protobuf_c_message_unpack(vec[v].d, NULL, i, buf);
            if (m != NULL) {
                protobuf_c_message_free_unpacked(m, NULL);
            }
        }

        for (i = 0; i < len; i++) {
            save = buf[i];
            for (k = 0; k < sizeof(flips); k++) {
                buf[i] = flips[k];
                m = protobuf_c_message_unpack(vec[v].d, NULL, len, buf);
                if (m != NULL) {
                    protobuf_c_message_free_unpacked(m, NULL);
                }
            }
            buf[i] = save;
        }

        /* and intact, it still unpacks */
        m = protobuf_c_message_unpack(vec[v].d, NULL, len, buf);
        assert_non_null(m);
        protobuf_c_message_free_unpacked(m, NULL);
        free(buf);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_request_full),
        cmocka_unit_test(test_request_prompt_tune),
        cmocka_unit_test(test_request_multiclass),
        cmocka_unit_test(test_request_multilabel),
        cmocka_unit_test(test_request_embedding_pair),
        cmocka_unit_test(test_operation_running),
        cmocka_unit_test(test_operation_succeeded),
        cmocka_unit_test(test_operation_failed),
        cmocka_unit_test(test_rpc_status),
        cmocka_unit_test(test_list_tunings_response),
        cmocka_unit_test(test_list_errors_response),
        cmocka_unit_test(test_small_messages),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_unknown_field_kept),
        cmocka_unit_test(test_truncated_and_corrupted),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
