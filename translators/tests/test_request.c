
/*
 * gw_request.c: the canonical create request, gw_spec_check_supported(),
 * gw_field_param() and dataset references.
 *
 * Bodies are written with ' for " and two repetition forms, expanded by
 * body(): "{{N:text}}" is text N times, "<<N:text>>" is text N times
 * joined by commas; in a repeated text '#' is the repetition's index.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <core/gw_core.h>
#include <sign/gw_sign.h>


#define nelts(a)  (sizeof(a) / sizeof((a)[0]))

#define BASE      "'model':'clova/HCX-003','training_file':'s3://b/t.jsonl'"
/* a valid body plus the fields x */
#define B(x)      "{" BASE "," x "}"
#define H(x)      B("'hyperparameters':{" x "}")
#define MH(x)     B("'method':{'type':'supervised','supervised':"            \
                    "{'hyperparameters':{" x "}}}")
#define T(x)      B("'tuning':{" x "}")
#define L(x)      T("'lora':{" x "}")
#define S(x)      T("'scheduler':{" x "}")
#define O(x)      T("'optimizer':{" x "}")
/* a body with the model x */
#define M(x)      "{'model':" x ",'training_file':'s3://b/t'}"
/* a body with the training_file x */
#define F(x)      "{'model':'a/b','training_file':" x "}"
/* a body with tuning fields x and no training_file */
#define D(x)      "{'model':'a/b','tuning':{" x "}}"

#define ALL_FLAGS  ((1ULL << 31) - 1)


typedef struct {
    const char  *body;
    const char  *param;         /* NULL: a null param */
    const char  *code;
} bad_t;


static const bad_t  bad[] = {

    /* not JSON, not an object, trailing data, repeated keys, NULs */
    { " ", NULL, "invalid_json" },
    { "{", NULL, "invalid_json" },
    { "[]", NULL, "invalid_json" },
    { "[{}]", NULL, "invalid_json" },
    { "1", NULL, "invalid_json" },
    { "'x'", NULL, "invalid_json" },
    { "null", NULL, "invalid_json" },
    { "true", NULL, "invalid_json" },
    { "{'model':}", NULL, "invalid_json" },
    { "{" BASE ",}", NULL, "invalid_json" },
    { B("'seed':1") " x", NULL, "invalid_json" },
    { B("'seed':1") "{}", NULL, "invalid_json" },
    { B("'seed':1") ",", NULL, "invalid_json" },
    { B("'seed':1") "\n}", NULL, "invalid_json" },
    { B("'model':'a/b'"), NULL, "invalid_json" },
    { B("'training_file':'x'"), NULL, "invalid_json" },
    { L("'rank':1,'rank':1"), NULL, "invalid_json" },
    { B("'metadata':{'k':'a','k':'b'}"), NULL, "invalid_json" },
    { T("'labels':{'k':'a','k':'b'}"), NULL, "invalid_json" },
    { D("'training_datasets':[{'ref':'a','ref':'a'}]"), NULL,
      "invalid_json" },
    { "{'model':'a/b\\u0000','training_file':'t'}", NULL, "invalid_json" },
    { "{'model\\u0000x':'a/b','training_file':'t'}", NULL, "invalid_json" },
    { B("'suffix':'a\\u0000'"), NULL, "invalid_json" },

    /* unknown keys at every level; known errors come first */
    { B("'foo':1"), "foo", "unknown_parameter" },
    { B("'Model':'a/b'"), "Model", "unknown_parameter" },
    { B("'foo':1,'seed':-1"), "seed", "invalid_value" },
    { B("'foo':1,'bar':2"), "foo", "unknown_parameter" },
    { H("'foo':1"), "hyperparameters.foo", "unknown_parameter" },
    { H("'beta':1"), "hyperparameters.beta", "unknown_parameter" },
    { B("'method':{'type':'supervised','dpo':{}}"), "method.dpo",
      "unknown_parameter" },
    { B("'method':{'type':'supervised','supervised':{'foo':1}}"),
      "method.supervised.foo", "unknown_parameter" },
    { MH("'foo':1"), "method.supervised.hyperparameters.foo",
      "unknown_parameter" },
    { T("'foo':1"), "tuning.foo", "unknown_parameter" },
    { T("'Lora':{}"), "tuning.Lora", "unknown_parameter" },
    { L("'foo':1"), "tuning.lora.foo", "unknown_parameter" },
    { T("'prompt_tuning':{'foo':1}"), "tuning.prompt_tuning.foo",
      "unknown_parameter" },
    { S("'type':'linear','foo':1"), "tuning.scheduler.foo",
      "unknown_parameter" },
    { O("'type':'adamw','foo':1"), "tuning.optimizer.foo",
      "unknown_parameter" },
    { D("'training_datasets':[{'ref':'a','foo':1}]"),
      "tuning.training_datasets[0].foo", "unknown_parameter" },
    { B("'tuning':{'validation_datasets':[{'ref':'v'},{'ref':'w','x':1}]}"),
      "tuning.validation_datasets[1].x", "unknown_parameter" },
    { B("'k\\u0001':1"), "k?", "unknown_parameter" },

    /* model */
    { "{'training_file':'t'}", "model", "missing_required_parameter" },
    { "{'training_file':1}", "model", "missing_required_parameter" },
    { "{}", "model", "missing_required_parameter" },
    { M("1"), "model", "invalid_type" },
    { M("null"), "model", "invalid_type" },
    { M("true"), "model", "invalid_type" },
    { M("['a/b']"), "model", "invalid_type" },
    { M("{}"), "model", "invalid_type" },
    { M("''"), "model", "invalid_value" },
    /* without '/', a route name: 1 to 64 of [A-Za-z0-9._:@-] */
    { M("'gpt 4o'"), "model", "invalid_value" },
    { M("'gpt!4o'"), "model", "invalid_value" },
    { M("'" "r123456789r123456789r123456789r123456789r123456789"
        "r123456789r1234" "'"), "model", "invalid_value" },
    { M("'/HCX-003'"), "model", "invalid_value" },
    { M("'clova/'"), "model", "invalid_value" },
    { M("'/'"), "model", "invalid_value" },
    { M("'a/b/c'"), "model", "invalid_value" },
    { M("'a//b'"), "model", "invalid_value" },
    { M("'cl ova/m'"), "model", "invalid_value" },
    { M("'cl.ova/m'"), "model", "invalid_value" },
    { M("'cl:ova/m'"), "model", "invalid_value" },
    { M("'clova/m m'"), "model", "invalid_value" },
    { M("'clova/m\\t'"), "model", "invalid_value" },
    /* U+202E, U+2028 and U+2069: bidirectional and line separators */
    { "{'model':'a/b','training_file':'s3://b/\xe2\x80\xaex'}",
      "training_file", "invalid_value" },
    { "{'model':'a/b','training_file':'t','tuning':{'description':"
      "'a\xe2\x80\xa8" "b'}}", "tuning.description", "invalid_value" },
    { "{'model':'a/b','training_file':'t','tuning':{'labels':{'k':"
      "'\xe2\x81\xa9'}}}", "tuning.labels.k", "invalid_value" },
    { M("'clova/m$'"), "model", "invalid_value" },
    { M("'clova/m\\u007f'"), "model", "invalid_value" },
    { M("'clova/\xc3\xa9'"), "model", "invalid_value" },
    { M("'{{33:p}}/m'"), "model", "invalid_value" },
    { M("'p/{{129:m}}'"), "model", "invalid_value" },

    /* training_file */
    { "{'model':'a/b'}", "training_file", "missing_required_parameter" },
    { "{'model':'a/b','tuning':{}}", "training_file",
      "missing_required_parameter" },
    { "{'model':'a/b','tuning':null}", "training_file",
      "missing_required_parameter" },
    { F("1"), "training_file", "invalid_type" },
    /* null is absent: then tuning.training_datasets must name them */
    { F("null"), "training_file", "missing_required_parameter" },
    { F("['t']"), "training_file", "invalid_type" },
    { F("''"), "training_file", "invalid_value" },
    { F("'a b'"), "training_file", "invalid_value" },
    { F("'a\\tb'"), "training_file", "invalid_value" },
    { F("'a\\u0001'"), "training_file", "invalid_value" },
    { F("'a\\u001f'"), "training_file", "invalid_value" },
    { F("'a\\u007f'"), "training_file", "invalid_value" },
    { F("'a\xff'"), "training_file", "invalid_value" },
    { F("'{{1025:f}}'"), "training_file", "invalid_value" },
    { B("'tuning':{'training_datasets':[{'ref':'a'}]}"),
      "tuning.training_datasets", "conflicting_parameter" },
    { "{'tuning':{'training_datasets':[{'ref':'a'}]},"
      "'training_file':'t','model':'a/b'}",
      "tuning.training_datasets", "conflicting_parameter" },

    /* validation_file */
    { B("'validation_file':1"), "validation_file", "invalid_type" },
    { B("'validation_file':false"), "validation_file", "invalid_type" },
    { B("'validation_file':''"), "validation_file", "invalid_value" },
    { B("'validation_file':'a b'"), "validation_file", "invalid_value" },
    { B("'validation_file':'a\\n'"), "validation_file", "invalid_value" },
    { B("'validation_file':'{{1025:v}}'"), "validation_file",
      "invalid_value" },
    { B("'validation_file':'v','tuning':"
        "{'validation_datasets':[{'ref':'w'}]}"),
      "tuning.validation_datasets", "conflicting_parameter" },

    /* hyperparameters */
    { B("'hyperparameters':1"), "hyperparameters", "invalid_type" },
    { B("'hyperparameters':'auto'"), "hyperparameters", "invalid_type" },
    { B("'hyperparameters':[]"), "hyperparameters", "invalid_type" },
    { B("'hyperparameters':true"), "hyperparameters", "invalid_type" },
    { H("'n_epochs':0"), "hyperparameters.n_epochs", "invalid_value" },
    { H("'n_epochs':-1"), "hyperparameters.n_epochs", "invalid_value" },
    { H("'n_epochs':1001"), "hyperparameters.n_epochs", "invalid_value" },
    { H("'n_epochs':1e300"), "hyperparameters.n_epochs", "invalid_value" },
    { H("'n_epochs':1e999"), "hyperparameters.n_epochs", "invalid_value" },
    { H("'n_epochs':-1e999"), "hyperparameters.n_epochs",
      "invalid_value" },
    { H("'n_epochs':1.5"), "hyperparameters.n_epochs", "invalid_type" },
    { H("'n_epochs':0.5"), "hyperparameters.n_epochs", "invalid_type" },
    { H("'n_epochs':true"), "hyperparameters.n_epochs", "invalid_type" },
    { H("'n_epochs':false"), "hyperparameters.n_epochs", "invalid_type" },
    { H("'n_epochs':null"), "hyperparameters.n_epochs", "invalid_type" },
    { H("'n_epochs':[3]"), "hyperparameters.n_epochs", "invalid_type" },
    { H("'n_epochs':{}"), "hyperparameters.n_epochs", "invalid_type" },
    { H("'n_epochs':'3'"), "hyperparameters.n_epochs", "invalid_value" },
    { H("'n_epochs':'AUTO'"), "hyperparameters.n_epochs", "invalid_value" },
    { H("'n_epochs':''"), "hyperparameters.n_epochs", "invalid_value" },
    { H("'batch_size':0"), "hyperparameters.batch_size", "invalid_value" },
    { H("'batch_size':65537"), "hyperparameters.batch_size",
      "invalid_value" },
    { H("'batch_size':2.5"), "hyperparameters.batch_size", "invalid_type" },
    { H("'batch_size':true"), "hyperparameters.batch_size", "invalid_type" },
    { H("'learning_rate_multiplier':0"),
      "hyperparameters.learning_rate_multiplier", "invalid_value" },
    { H("'learning_rate_multiplier':-0.5"),
      "hyperparameters.learning_rate_multiplier", "invalid_value" },
    { H("'learning_rate_multiplier':100.000001"),
      "hyperparameters.learning_rate_multiplier", "invalid_value" },
    { H("'learning_rate_multiplier':1e999"),
      "hyperparameters.learning_rate_multiplier", "invalid_value" },
    { H("'learning_rate_multiplier':true"),
      "hyperparameters.learning_rate_multiplier", "invalid_type" },
    { H("'learning_rate_multiplier':null"),
      "hyperparameters.learning_rate_multiplier", "invalid_type" },
    { H("'learning_rate_multiplier':'x'"),
      "hyperparameters.learning_rate_multiplier", "invalid_value" },

    /* method */
    { B("'method':'supervised'"), "method", "invalid_type" },
    { B("'method':[]"), "method", "invalid_type" },
    { B("'method':{}"), "method.type", "missing_required_parameter" },
    { B("'method':{'supervised':{}}"), "method.type",
      "missing_required_parameter" },
    { B("'method':{'type':'dpo'}"), "method.type", "unsupported_value" },
    { B("'method':{'type':'reinforcement'}"), "method.type",
      "unsupported_value" },
    { B("'method':{'type':'dpo','dpo':{'hyperparameters':{'beta':0.1}}}"),
      "method.type", "unsupported_value" },
    { B("'method':{'type':'Supervised'}"), "method.type", "invalid_value" },
    { B("'method':{'type':''}"), "method.type", "invalid_value" },
    { B("'method':{'type':1}"), "method.type", "invalid_type" },
    { B("'method':{'type':null}"), "method.type", "invalid_type" },
    { B("'method':{'type':'supervised','supervised':1}"),
      "method.supervised", "invalid_type" },
    { B("'method':{'type':'supervised','supervised':"
        "{'hyperparameters':[]}}"),
      "method.supervised.hyperparameters", "invalid_type" },
    { MH("'n_epochs':0"), "method.supervised.hyperparameters.n_epochs",
      "invalid_value" },
    { MH("'n_epochs':1001"), "method.supervised.hyperparameters.n_epochs",
      "invalid_value" },
    { MH("'batch_size':1.5"), "method.supervised.hyperparameters.batch_size",
      "invalid_type" },
    { MH("'learning_rate_multiplier':0"),
      "method.supervised.hyperparameters.learning_rate_multiplier",
      "invalid_value" },
    { B("'hyperparameters':{'n_epochs':3},'method':{'type':'supervised',"
        "'supervised':{'hyperparameters':{'n_epochs':4}}}"),
      "method.supervised.hyperparameters.n_epochs",
      "conflicting_parameter" },
    { B("'method':{'type':'supervised','supervised':{'hyperparameters':"
        "{'batch_size':8}}},'hyperparameters':{'batch_size':16}"),
      "method.supervised.hyperparameters.batch_size",
      "conflicting_parameter" },
    { B("'hyperparameters':{'learning_rate_multiplier':1},'method':"
        "{'type':'supervised','supervised':{'hyperparameters':"
        "{'learning_rate_multiplier':2}}}"),
      "method.supervised.hyperparameters.learning_rate_multiplier",
      "conflicting_parameter" },

    /* suffix */
    { B("'suffix':1"), "suffix", "invalid_type" },
    { B("'suffix':true"), "suffix", "invalid_type" },
    { B("'suffix':''"), "suffix", "invalid_value" },
    { B("'suffix':'{{65:s}}'"), "suffix", "invalid_value" },
    { B("'suffix':'a b'"), "suffix", "invalid_value" },
    { B("'suffix':'a/b'"), "suffix", "invalid_value" },
    { B("'suffix':'a:b'"), "suffix", "invalid_value" },
    { B("'suffix':'\xc3\xa9'"), "suffix", "invalid_value" },
    { B("'suffix':'a\\n'"), "suffix", "invalid_value" },

    /* seed */
    { B("'seed':-1"), "seed", "invalid_value" },
    { B("'seed':2147483648"), "seed", "invalid_value" },
    { B("'seed':1e999"), "seed", "invalid_value" },
    { B("'seed':1.5"), "seed", "invalid_type" },
    { B("'seed':'1'"), "seed", "invalid_type" },
    { B("'seed':'auto'"), "seed", "invalid_type" },
    { B("'seed':true"), "seed", "invalid_type" },
    { B("'seed':[]"), "seed", "invalid_type" },

    /* metadata */
    { B("'metadata':1"), "metadata", "invalid_type" },
    { B("'metadata':'k'"), "metadata", "invalid_type" },
    { B("'metadata':[]"), "metadata", "invalid_type" },
    { B("'metadata':{<<17:'k#':'v'>>}"), "metadata", "invalid_value" },
    { B("'metadata':{'{{65:k}}':'v'}"), "metadata", "invalid_value" },
    { B("'metadata':{'':'v'}"), "metadata", "invalid_value" },
    { B("'metadata':{'k\\n':'v'}"), "metadata", "invalid_value" },
    { B("'metadata':{'k':1}"), "metadata.k", "invalid_type" },
    { B("'metadata':{'k':null}"), "metadata.k", "invalid_type" },
    { B("'metadata':{'k':{}}"), "metadata.k", "invalid_type" },
    { B("'metadata':{'k':'{{513:v}}'}"), "metadata.k", "invalid_value" },
    { B("'metadata':{'k':'a\\nb'}"), "metadata.k", "invalid_value" },

    /* integrations */
    { B("'integrations':{}"), "integrations", "invalid_type" },
    { B("'integrations':'wandb'"), "integrations", "invalid_type" },
    { B("'integrations':[{'type':'wandb\\u0001'}]"), "integrations",
      "invalid_value" },
    { B("'integrations':[{'a\\u0002':1}]"), "integrations",
      "invalid_value" },
    { B("'integrations':[{'wandb':{'tags':['a\\tb']}}]"), "integrations",
      "invalid_value" },

    /* tuning */
    { B("'tuning':1"), "tuning", "invalid_type" },
    { B("'tuning':[]"), "tuning", "invalid_type" },
    { B("'tuning':'lora'"), "tuning", "invalid_type" },
    { T("'learning_rate':0"), "tuning.learning_rate", "invalid_value" },
    { T("'learning_rate':-0.1"), "tuning.learning_rate", "invalid_value" },
    { T("'learning_rate':1.0000001"), "tuning.learning_rate",
      "invalid_value" },
    { T("'learning_rate':1e999"), "tuning.learning_rate", "invalid_value" },
    { T("'learning_rate':'0.1'"), "tuning.learning_rate", "invalid_type" },
    { T("'learning_rate':'auto'"), "tuning.learning_rate", "invalid_type" },
    { T("'learning_rate':true"), "tuning.learning_rate", "invalid_type" },
    { T("'learning_rate':null"), "tuning.learning_rate", "invalid_type" },
    { T("'tuning_type':'qlora'"), "tuning.tuning_type", "invalid_value" },
    { T("'tuning_type':'LORA'"), "tuning.tuning_type", "invalid_value" },
    { T("'tuning_type':1"), "tuning.tuning_type", "invalid_type" },
    { T("'tuning_type':null"), "tuning.tuning_type", "invalid_type" },
    { T("'task_type':'chat'"), "tuning.task_type", "invalid_value" },
    { T("'task_type':2"), "tuning.task_type", "invalid_type" },

    /* tuning.lora */
    { T("'lora':1"), "tuning.lora", "invalid_type" },
    { T("'lora':null"), "tuning.lora", "invalid_type" },
    { T("'lora':true"), "tuning.lora", "invalid_type" },
    { L("'rank':0"), "tuning.lora.rank", "invalid_value" },
    { L("'rank':1025"), "tuning.lora.rank", "invalid_value" },
    { L("'rank':1.5"), "tuning.lora.rank", "invalid_type" },
    { L("'rank':'8'"), "tuning.lora.rank", "invalid_type" },
    { L("'rank':'auto'"), "tuning.lora.rank", "invalid_type" },
    { L("'alpha':0"), "tuning.lora.alpha", "invalid_value" },
    { L("'alpha':4097"), "tuning.lora.alpha", "invalid_value" },
    { L("'alpha':true"), "tuning.lora.alpha", "invalid_type" },
    { L("'dropout':-0.01"), "tuning.lora.dropout", "invalid_value" },
    { L("'dropout':1"), "tuning.lora.dropout", "invalid_value" },
    { L("'dropout':'0.1'"), "tuning.lora.dropout", "invalid_type" },
    { L("'initialization':''"), "tuning.lora.initialization",
      "invalid_value" },
    { L("'initialization':'{{33:i}}'"), "tuning.lora.initialization",
      "invalid_value" },
    { L("'initialization':'a.b'"), "tuning.lora.initialization",
      "invalid_value" },
    { L("'initialization':'a b'"), "tuning.lora.initialization",
      "invalid_value" },
    { L("'initialization':1"), "tuning.lora.initialization",
      "invalid_type" },
    { L("'type':''"), "tuning.lora.type", "invalid_value" },
    { L("'type':'a:b'"), "tuning.lora.type", "invalid_value" },
    { L("'type':'{{33:t}}'"), "tuning.lora.type", "invalid_value" },
    { L("'type':[]"), "tuning.lora.type", "invalid_type" },
    { L("'target_modules':'q_proj'"), "tuning.lora.target_modules",
      "invalid_type" },
    { L("'target_modules':{}"), "tuning.lora.target_modules",
      "invalid_type" },
    { L("'target_modules':[]"), "tuning.lora.target_modules",
      "invalid_value" },
    { L("'target_modules':[<<65:'m#'>>]"), "tuning.lora.target_modules",
      "invalid_value" },
    { L("'target_modules':[1]"), "tuning.lora.target_modules[0]",
      "invalid_type" },
    { L("'target_modules':['q',null]"), "tuning.lora.target_modules[1]",
      "invalid_type" },
    { L("'target_modules':['q','a b']"), "tuning.lora.target_modules[1]",
      "invalid_value" },
    { L("'target_modules':['']"), "tuning.lora.target_modules[0]",
      "invalid_value" },
    { L("'target_modules':['{{65:m}}']"), "tuning.lora.target_modules[0]",
      "invalid_value" },
    { T("'tuning_type':'full','lora':{}"), "tuning.lora",
      "conflicting_parameter" },
    { T("'lora':{'rank':8},'tuning_type':'prompt_tuning'"), "tuning.lora",
      "conflicting_parameter" },

    /* tuning.prompt_tuning */
    { T("'prompt_tuning':1"), "tuning.prompt_tuning", "invalid_type" },
    { T("'prompt_tuning':{'virtual_tokens':0}"),
      "tuning.prompt_tuning.virtual_tokens", "invalid_value" },
    { T("'prompt_tuning':{'virtual_tokens':10001}"),
      "tuning.prompt_tuning.virtual_tokens", "invalid_value" },
    { T("'prompt_tuning':{'virtual_tokens':1.5}"),
      "tuning.prompt_tuning.virtual_tokens", "invalid_type" },
    { T("'tuning_type':'lora','prompt_tuning':{}"), "tuning.prompt_tuning",
      "conflicting_parameter" },
    { T("'tuning_type':'full','prompt_tuning':{}"), "tuning.prompt_tuning",
      "conflicting_parameter" },
    { T("'lora':{},'prompt_tuning':{}"), "tuning.prompt_tuning",
      "conflicting_parameter" },

    /* tuning.scheduler */
    { T("'scheduler':'cosine'"), "tuning.scheduler", "invalid_type" },
    { S(""), "tuning.scheduler.type", "missing_required_parameter" },
    { S("'min_lr':0"), "tuning.scheduler.type",
      "missing_required_parameter" },
    { S("'type':'step'"), "tuning.scheduler.type", "invalid_value" },
    { S("'type':1"), "tuning.scheduler.type", "invalid_type" },
    { S("'type':'linear','min_lr':-1e-9"), "tuning.scheduler.min_lr",
      "invalid_value" },
    { S("'type':'linear','min_lr':1e999"), "tuning.scheduler.min_lr",
      "invalid_value" },
    { S("'type':'linear','min_lr':'0'"), "tuning.scheduler.min_lr",
      "invalid_type" },
    { S("'type':'linear','warmup_ratio':-0.1"),
      "tuning.scheduler.warmup_ratio", "invalid_value" },
    { S("'type':'linear','warmup_ratio':1.0001"),
      "tuning.scheduler.warmup_ratio", "invalid_value" },
    { S("'type':'linear','warmup_ratio':false"),
      "tuning.scheduler.warmup_ratio", "invalid_type" },

    /* tuning.optimizer */
    { T("'optimizer':'adamw'"), "tuning.optimizer", "invalid_type" },
    { O(""), "tuning.optimizer.type", "missing_required_parameter" },
    { O("'beta1':0.9"), "tuning.optimizer.type",
      "missing_required_parameter" },
    { O("'type':'sgd'"), "tuning.optimizer.type", "invalid_value" },
    { O("'type':'AdamW'"), "tuning.optimizer.type", "invalid_value" },
    { O("'type':true"), "tuning.optimizer.type", "invalid_type" },
    { O("'type':'adamw','beta1':1"), "tuning.optimizer.beta1",
      "invalid_value" },
    { O("'type':'adamw','beta1':-0.1"), "tuning.optimizer.beta1",
      "invalid_value" },
    { O("'type':'adamw','beta2':1"), "tuning.optimizer.beta2",
      "invalid_value" },
    { O("'type':'adamw','beta2':'0.9'"), "tuning.optimizer.beta2",
      "invalid_type" },
    { O("'type':'adamw','eps':0"), "tuning.optimizer.eps",
      "invalid_value" },
    { O("'type':'adamw','eps':-1e-8"), "tuning.optimizer.eps",
      "invalid_value" },
    { O("'type':'adamw','weight_decay':-0.1"),
      "tuning.optimizer.weight_decay", "invalid_value" },
    { O("'type':'adamw','weight_decay':true"),
      "tuning.optimizer.weight_decay", "invalid_type" },

    /* tuning.n_samples, tuning.max_seq_len */
    { T("'n_samples':0"), "tuning.n_samples", "invalid_value" },
    { T("'n_samples':9007199254740992"), "tuning.n_samples",
      "invalid_value" },
    { T("'n_samples':1e999"), "tuning.n_samples", "invalid_value" },
    { T("'n_samples':1.5"), "tuning.n_samples", "invalid_type" },
    { T("'max_seq_len':0"), "tuning.max_seq_len", "invalid_value" },
    { T("'max_seq_len':1048577"), "tuning.max_seq_len", "invalid_value" },
    { T("'max_seq_len':'4096'"), "tuning.max_seq_len", "invalid_type" },

    /* tuning.gpus */
    { T("'gpus':-1"), "tuning.gpus", "invalid_value" },
    { T("'gpus':1025"), "tuning.gpus", "invalid_value" },
    { T("'gpus':1.5"), "tuning.gpus", "invalid_type" },
    { T("'gpus':'2'"), "tuning.gpus", "invalid_type" },
    { T("'gpus':null"), "tuning.gpus", "invalid_type" },
    { T("'gpus':true"), "tuning.gpus", "invalid_type" },

    /* tuning.training_datasets, tuning.validation_datasets */
    { D("'training_datasets':'s3://b/t'"), "tuning.training_datasets",
      "invalid_type" },
    { D("'training_datasets':{}"), "tuning.training_datasets",
      "invalid_type" },
    { D("'training_datasets':null"), "tuning.training_datasets",
      "invalid_type" },
    { D("'training_datasets':[]"), "tuning.training_datasets",
      "invalid_value" },
    { D("'training_datasets':[<<9:{'ref':'r#'}>>]"),
      "tuning.training_datasets", "invalid_value" },
    { D("'training_datasets':['r']"), "tuning.training_datasets[0]",
      "invalid_type" },
    { D("'training_datasets':[{}]"), "tuning.training_datasets[0].ref",
      "missing_required_parameter" },
    { D("'training_datasets':[{'weight':0.5}]"),
      "tuning.training_datasets[0].ref", "missing_required_parameter" },
    { D("'training_datasets':[{'ref':1}]"),
      "tuning.training_datasets[0].ref", "invalid_type" },
    { D("'training_datasets':[{'ref':'a'},{'ref':''}]"),
      "tuning.training_datasets[1].ref", "invalid_value" },
    { D("'training_datasets':[{'ref':'a'},{'ref':'a b'}]"),
      "tuning.training_datasets[1].ref", "invalid_value" },
    { D("'training_datasets':[{'ref':'{{1025:r}}'}]"),
      "tuning.training_datasets[0].ref", "invalid_value" },
    { D("'training_datasets':[{'ref':'a'},{'ref':'b','weight':0}]"),
      "tuning.training_datasets[1].weight", "invalid_value" },
    { D("'training_datasets':[{'ref':'a','weight':1.1}]"),
      "tuning.training_datasets[0].weight", "invalid_value" },
    { D("'training_datasets':[{'ref':'a','weight':'0.5'}]"),
      "tuning.training_datasets[0].weight", "invalid_type" },
    { D("'training_datasets':[{'ref':'a','weight':null}]"),
      "tuning.training_datasets[0].weight", "invalid_type" },
    { D("'training_datasets':[<<8:{'ref':'r#'}>>,7]"),
      "tuning.training_datasets", "invalid_value" },
    { T("'validation_datasets':[]"), "tuning.validation_datasets",
      "invalid_value" },
    { T("'validation_datasets':[<<9:{'ref':'v#'}>>]"),
      "tuning.validation_datasets", "invalid_value" },
    { T("'validation_datasets':[{'ref':'v','weight':0}]"),
      "tuning.validation_datasets[0].weight", "invalid_value" },
    { T("'validation_datasets':[{'ref':'v'},[]]"),
      "tuning.validation_datasets[1]", "invalid_type" },

    /* tuning.validation_split */
    { T("'validation_split':1"), "tuning.validation_split",
      "invalid_value" },
    { T("'validation_split':-0.01"), "tuning.validation_split",
      "invalid_value" },
    { T("'validation_split':'0.1'"), "tuning.validation_split",
      "invalid_type" },

    /* tuning.continue_from */
    { T("'continue_from':1"), "tuning.continue_from", "invalid_type" },
    { T("'continue_from':'ftjob-'"), "tuning.continue_from",
      "invalid_value" },
    { T("'continue_from':'job-1'"), "tuning.continue_from",
      "invalid_value" },
    { T("'continue_from':'FTJOB-abc'"), "tuning.continue_from",
      "invalid_value" },
    { T("'continue_from':'ftjob-a b'"), "tuning.continue_from",
      "invalid_value" },
    { T("'continue_from':'ftjob-a.b'"), "tuning.continue_from",
      "invalid_value" },
    { T("'continue_from':'ftjob-a='"), "tuning.continue_from",
      "invalid_value" },
    { T("'continue_from':'ftjob-{{1018:x}}'"), "tuning.continue_from",
      "invalid_value" },

    /* tuning.description */
    { T("'description':1"), "tuning.description", "invalid_type" },
    { T("'description':'{{1025:d}}'"), "tuning.description",
      "invalid_value" },
    { T("'description':'{{1025:\xed\x95\x9c}}'"), "tuning.description",
      "invalid_value" },
    { T("'description':'a\\nb'"), "tuning.description", "invalid_value" },
    { T("'description':'a\\u007f'"), "tuning.description",
      "invalid_value" },
    { T("'description':'a\xff'"), "tuning.description", "invalid_value" },
    { T("'description':'\xc0\xaf'"), "tuning.description",
      "invalid_value" },
    { T("'description':'\xed\xa0\x80'"), "tuning.description",
      "invalid_value" },
    { T("'description':'\xf4\x90\x80\x80'"), "tuning.description",
      "invalid_value" },
    { T("'description':'\xe2\x82'"), "tuning.description",
      "invalid_value" },

    /* tuning.labels */
    { T("'labels':'x'"), "tuning.labels", "invalid_type" },
    { T("'labels':[]"), "tuning.labels", "invalid_type" },
    { T("'labels':null"), "tuning.labels", "invalid_type" },
    { T("'labels':{<<65:'k#':'v'>>}"), "tuning.labels", "invalid_value" },
    { T("'labels':{'Team':'v'}"), "tuning.labels", "invalid_value" },
    { T("'labels':{'1a':'v'}"), "tuning.labels", "invalid_value" },
    { T("'labels':{'_a':'v'}"), "tuning.labels", "invalid_value" },
    { T("'labels':{'':'v'}"), "tuning.labels", "invalid_value" },
    { T("'labels':{'a.b':'v'}"), "tuning.labels", "invalid_value" },
    { T("'labels':{'{{64:k}}':'v'}"), "tuning.labels", "invalid_value" },
    { T("'labels':{'team':1}"), "tuning.labels.team", "invalid_type" },
    { T("'labels':{'team':'{{64:v}}'}"), "tuning.labels.team",
      "invalid_value" },
    { T("'labels':{'team':'a\\tb'}"), "tuning.labels.team",
      "invalid_value" },
};


/* bodies that must parse: bounds just inside, nulls, "auto" */
static const char  *good[] = {
    "{'model':'a/b','training_file':'t'}",
    " \t\r\n{'model':'a/b','training_file':'t'} \t\r\n",
    M("'{{32:p}}/{{128:m}}'"),
    M("'my_prov-1/HCX-003:v1@x.y'"),
    M("'P_-9/._:@-'"),
    F("'{{1024:f}}'"),
    F("'file-abc123'"),
    F("'s3://bucket/path/to/train.jsonl'"),
    F("'\xec\x9d\xb4/\xed\x95\x9c'"),
    B("'validation_file':null"),
    B("'validation_file':'{{1024:v}}'"),
    B("'hyperparameters':null"),
    H(""),
    H("'n_epochs':1,'batch_size':1,'learning_rate_multiplier':1e-9"),
    H("'n_epochs':1000,'batch_size':65536,'learning_rate_multiplier':100"),
    H("'n_epochs':3.0,'batch_size':1e2"),
    H("'n_epochs':'auto','batch_size':'auto',"
      "'learning_rate_multiplier':'auto'"),
    B("'method':null"),
    B("'method':{'type':'supervised'}"),
    B("'method':{'type':'supervised','supervised':null}"),
    B("'method':{'type':'supervised','supervised':{}}"),
    B("'method':{'type':'supervised','supervised':"
      "{'hyperparameters':null}}"),
    MH("'n_epochs':'auto'"),
    B("'suffix':null"),
    B("'suffix':'{{64:s}}'"),
    B("'suffix':'my-model_v1.2'"),
    B("'seed':null"),
    B("'seed':0"),
    B("'seed':-0"),
    B("'seed':2147483647"),
    B("'metadata':null"),
    B("'metadata':{}"),
    B("'metadata':{<<16:'k#':'v'>>}"),
    B("'metadata':{'{{64:k}}':'{{512:v}}'}"),
    B("'metadata':{'K y':''}"),
    B("'integrations':null"),
    B("'integrations':[]"),
    B("'integrations':[{'type':'wandb','wandb':{'project':'p'}}]"),
    B("'tuning':null"),
    T(""),
    T("'learning_rate':1"),
    T("'learning_rate':1e-10"),
    T("'tuning_type':'lora'"),
    T("'tuning_type':'prompt_tuning'"),
    T("'tuning_type':'full'"),
    T("'task_type':'generation'"),
    T("'task_type':'classification'"),
    T("'task_type':'classification_multiclass'"),
    T("'task_type':'classification_multilabel'"),
    T("'task_type':'embedding_pair'"),
    T("'task_type':'embedding_triplet'"),
    L(""),
    L("'rank':1,'alpha':1,'dropout':0"),
    L("'rank':1024,'alpha':4096,'dropout':0.999999"),
    L("'initialization':'{{32:i}}','type':'{{32:t}}'"),
    L("'initialization':'pi-ssa_2','type':'dora'"),
    L("'target_modules':[<<64:'m#'>>]"),
    L("'target_modules':['{{64:m}}']"),
    L("'target_modules':['model.layers.0.q_proj']"),
    T("'tuning_type':'lora','lora':{'rank':8}"),
    T("'prompt_tuning':{}"),
    T("'prompt_tuning':{'virtual_tokens':1}"),
    T("'prompt_tuning':{'virtual_tokens':10000}"),
    T("'tuning_type':'prompt_tuning','prompt_tuning':{}"),
    S("'type':'linear'"),
    S("'type':'constant','min_lr':0,'warmup_ratio':0"),
    S("'type':'cosine','min_lr':1e9,'warmup_ratio':1"),
    O("'type':'adamw'"),
    O("'type':'adamw','beta1':0,'beta2':0.999999,'eps':1e-300,"
      "'weight_decay':0"),
    O("'type':'adamw','weight_decay':1e9"),
    T("'n_samples':1"),
    T("'n_samples':9007199254740991"),
    T("'max_seq_len':1"),
    T("'max_seq_len':1048576"),
    T("'gpus':0"),
    T("'gpus':1024"),
    D("'training_datasets':[{'ref':'a'}]"),
    D("'training_datasets':[<<8:{'ref':'r#','weight':1}>>]"),
    D("'training_datasets':[{'ref':'{{1024:r}}','weight':1e-9}]"),
    T("'validation_datasets':[<<8:{'ref':'v#'}>>]"),
    B("'validation_file':null,'tuning':{'validation_datasets':"
      "[{'ref':'v'}]}"),
    T("'validation_split':0"),
    T("'validation_split':0.999999"),
    T("'continue_from':'ftjob-a'"),
    T("'continue_from':'ftjob-{{1017:x}}'"),
    T("'continue_from':'ftjob-AZaz09_-'"),
    T("'description':''"),
    T("'description':'{{1024:d}}'"),
    T("'description':'{{1024:\xed\x95\x9c}}'"),
    T("'description':'caf\xc3\xa9 \xf0\x9f\x98\x80 a b'"),
    T("'labels':{}"),
    T("'labels':{<<64:'k#':'v'>>}"),
    T("'labels':{'{{63:k}}':'{{63:v}}'}"),
    T("'labels':{'team-a_1':''}"),
};


/* ---- helpers ----------------------------------------------------------- */


typedef struct {
    char    *p;
    size_t   len;
    size_t   size;
} buf_t;


static void
put(buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->size) {
        b->size = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->size);
        assert_non_null(b->p);
    }

    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}


/* text with ' as ", and '#' as index */

static void
put_text(buf_t *b, const char *s, size_t n, unsigned index)
{
    char    num[16];
    size_t  i;

    for (i = 0; i < n; i++) {
        if (s[i] == '#') {
            snprintf(num, sizeof(num), "%u", index);
            put(b, num, strlen(num));

        } else {
            put(b, s[i] == '\'' ? "\"" : &s[i], 1);
        }
    }
}


/* expands a template (see the top): a malloc'd string */

static char *
body(const char *t)
{
    char         close[3];
    buf_t        b;
    unsigned     n, i;
    const char  *text, *end;

    memset(&b, 0, sizeof(b));
    put(&b, "", 0);

    while (*t != '\0') {
        if ((t[0] == '{' && t[1] == '{') || (t[0] == '<' && t[1] == '<')) {
            close[0] = close[1] = (t[0] == '{') ? '}' : '>';
            close[2] = '\0';
            n = (unsigned) strtoul(t + 2, (char **) &text, 10);
            assert_true(*text == ':');
            text++;
            end = strstr(text, close);
            assert_non_null(end);

            for (i = 0; i < n; i++) {
                if (i > 0 && t[0] == '<') {
                    put(&b, ",", 1);
                }

                put_text(&b, text, end - text, i);
            }

            t = end + 2;
            continue;
        }

        put_text(&b, t, 1, 0);
        t++;
    }

    return b.p;
}


static gw_rc_t
parse(const char *t, gw_job_spec_t *spec, gw_error_t *err)
{
    char     *s;
    gw_rc_t   rc;

    s = body(t);
    memset(err, 0, sizeof(gw_error_t));
    rc = gw_spec_parse(s, strlen(s), spec, err);
    free(s);

    return rc;
}


static void
parse_ok(const char *t, gw_job_spec_t *spec)
{
    gw_rc_t     rc;
    gw_error_t  err;

    rc = parse(t, spec, &err);
    if (rc != GW_OK) {
        print_error("body %s: %s (%s, %s)\n", t, err.message, err.param,
                    err.code);
    }

    assert_int_equal(rc, GW_OK);
}


static void
expect_error(const char *t, size_t len, const char *param,
    const char *code)
{
    gw_rc_t        rc;
    gw_error_t     err;
    gw_job_spec_t  spec;

    memset(&err, 0, sizeof(err));
    rc = gw_spec_parse(t, len, &spec, &err);

    assert_int_equal(rc, GW_ERROR);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.type, GW_TYPE_INVALID);
    assert_string_equal(err.param, param != NULL ? param : "");
    assert_string_equal(err.code, code);
    assert_null(spec.provider);

    gw_spec_free(&spec);
}


/* ---- the error table --------------------------------------------------- */


static int
check_bad(size_t i, const bad_t *c)
{
    int            ok;
    gw_rc_t        rc;
    gw_error_t     err;
    const char    *param;
    gw_job_spec_t  spec;

    param = (c->param != NULL) ? c->param : "";
    rc = parse(c->body, &spec, &err);

    ok = (rc == GW_ERROR && err.http_status == 400
          && strcmp(err.type, GW_TYPE_INVALID) == 0
          && strcmp(err.param, param) == 0
          && strcmp(err.code, c->code) == 0
          && err.message[0] != '\0'
          /* plain English that names the param */
          && strstr(err.message, param) != NULL
          /* a failed parse leaves nothing behind */
          && spec.provider == NULL && spec.ntrain == 0
          && spec.present == 0 && spec.labels == NULL);

    if (!ok) {
        print_error("bad[%zu] %s\n  want %s %s\n  got rc %d: %s %s: %s\n",
                    i, c->body, param, c->code, (int) rc, err.param,
                    err.code, err.message);
    }

    gw_spec_free(&spec);

    return ok;
}


static void
test_bad_bodies(void **state)
{
    size_t  i, failed;

    failed = 0;

    for (i = 0; i < nelts(bad); i++) {
        failed += !check_bad(i, &bad[i]);
    }

    assert_int_equal(failed, 0);
}


static void
test_good_bodies(void **state)
{
    size_t         i;
    gw_job_spec_t  spec;

    for (i = 0; i < nelts(good); i++) {
        parse_ok(good[i], &spec);
        gw_spec_free(&spec);
    }
}


/* a model without '/' is a route name, resolved by the exchange */
static void
test_route_model(void **state)
{
    gw_job_spec_t  spec;

    parse_ok("{'model':'support-bot.v2:eu@a_1','training_file':'t'}", &spec);
    assert_string_equal(spec.route, "support-bot.v2:eu@a_1");
    assert_null(spec.provider);
    assert_null(spec.vendor_model);
    assert_string_equal(spec.learning_rate_param, "tuning.learning_rate");
    gw_spec_free(&spec);

    parse_ok("{'model':'clova/HCX-003','training_file':'t'}", &spec);
    assert_null(spec.route);
    assert_string_equal(spec.provider, "clova");
    gw_spec_free(&spec);
}


static void
test_odd_buffers(void **state)
{
    char         *s, *t;
    size_t        len;
    gw_rc_t       rc;
    gw_error_t    err;
    gw_job_spec_t spec;
    static const char  ok[] = "{\"model\":\"a/b\",\"training_file\":\"t\"}";
    static const char  nul_in[] =
        "{\"model\":\"a/b\",\"training_file\":\"t\0x\"}";

    expect_error(NULL, 0, NULL, "invalid_json");
    expect_error("", 0, NULL, "invalid_json");
    expect_error(ok, 0, NULL, "invalid_json");

    /* the length counts, not a NUL: a cut body is not JSON */
    expect_error(ok, sizeof(ok) - 2, NULL, "invalid_json");

    /* a NUL after the object, or inside a string */
    expect_error(ok, sizeof(ok), NULL, "invalid_json");
    expect_error(nul_in, sizeof(nul_in) - 1, NULL, "invalid_json");

    /* a body that is not NUL-terminated */
    s = malloc(sizeof(ok) - 1);
    assert_non_null(s);
    memcpy(s, ok, sizeof(ok) - 1);
    rc = gw_spec_parse(s, sizeof(ok) - 1, &spec, &err);
    assert_int_equal(rc, GW_OK);
    assert_string_equal(spec.vendor_model, "b");
    gw_spec_free(&spec);
    free(s);

    /* nesting deeper than cJSON's limit */
    len = 4096;
    s = malloc(2 * len + 64);
    assert_non_null(s);
    strcpy(s, "{\"model\":\"a/b\",\"training_file\":\"t\",\"integrations\":");

    t = s + strlen(s);
    memset(t, '[', len);
    memset(t + len, ']', len);
    strcpy(t + 2 * len, "}");
    expect_error(s, strlen(s), NULL, "invalid_json");
    free(s);
}


/* client input is echoed short, printable, and never in full */

static void
test_echo_capped(void **state)
{
    char          *t;
    gw_rc_t        rc;
    gw_error_t     err;
    gw_job_spec_t  spec;

    rc = parse(M("'{{5000:x}}'"), &spec, &err);
    assert_int_equal(rc, GW_ERROR);
    assert_string_equal(err.code, "invalid_value");
    assert_non_null(strstr(err.message, "<provider>/<vendor model>"));
    assert_non_null(strstr(err.message, "...\""));

    t = body("{{65:x}}");
    assert_null(strstr(err.message, t));
    free(t);

    rc = parse(B("'{{300:k}}':1"), &spec, &err);
    assert_int_equal(rc, GW_ERROR);
    assert_string_equal(err.code, "unknown_parameter");
    assert_int_equal(strlen(err.param), 64 + 3);

    rc = parse(M("'a\\n\xff/b'"), &spec, &err);
    assert_int_equal(rc, GW_ERROR);
    assert_non_null(strstr(err.message, "\"a?" "?/b\""));

    /* messages say what is expected */
    rc = parse(L("'rank':2000"), &spec, &err);
    assert_int_equal(rc, GW_ERROR);
    assert_string_equal(err.message, "tuning.lora.rank must be an integer "
                        "between 1 and 1024");

    rc = parse(H("'learning_rate_multiplier':0"), &spec, &err);
    assert_string_equal(err.message, "hyperparameters."
                        "learning_rate_multiplier must be \"auto\" or a "
                        "number > 0 and <= 100");

    rc = parse(T("'max_seq_len':0"), &spec, &err);
    assert_string_equal(err.message, "tuning.max_seq_len must be an "
                        "integer between 1 and 1048576");

    rc = parse(S("'type':'x'"), &spec, &err);
    assert_string_equal(err.message, "tuning.scheduler.type must be one of "
                        "\"linear\", \"constant\", \"cosine\"");

    rc = parse(B("'method':{'type':'dpo'}"), &spec, &err);
    assert_string_equal(err.message, "method.type \"dpo\" is not supported "
                        "by this gateway; it must be \"supervised\"");

    rc = parse(O("'type':'adamw','weight_decay':-1"), &spec, &err);
    assert_string_equal(err.message, "tuning.optimizer.weight_decay must "
                        "be a number >= 0");

    rc = parse(B("'suffix':''"), &spec, &err);
    assert_string_equal(err.message, "suffix must be a string of 1 to 64 "
                        "characters of [A-Za-z0-9._-]");
}


/* ---- parsed values ----------------------------------------------------- */


static void
assert_unset(const gw_job_spec_t *s)
{
    size_t  i;

    assert_int_equal(s->seed, GW_UNSET_INT);
    assert_int_equal(s->n_epochs, GW_UNSET_INT);
    assert_int_equal(s->batch_size, GW_UNSET_INT);
    assert_false(gw_has_num(s->lr_multiplier));
    assert_false(gw_has_num(s->learning_rate));
    assert_int_equal(s->tuning_type, GW_TUNING_UNSET);
    assert_int_equal(s->task_type, GW_TASK_UNSET);
    assert_int_equal(s->lora_rank, GW_UNSET_INT);
    assert_int_equal(s->lora_alpha, GW_UNSET_INT);
    assert_false(gw_has_num(s->lora_dropout));
    assert_null(s->lora_init);
    assert_null(s->lora_type);
    assert_null(s->lora_target_modules);
    assert_int_equal(s->nlora_target_modules, 0);
    assert_int_equal(s->virtual_tokens, GW_UNSET_INT);
    assert_int_equal(s->scheduler, GW_SCHED_UNSET);
    assert_false(gw_has_num(s->min_lr));
    assert_false(gw_has_num(s->warmup_ratio));
    assert_false(gw_has_num(s->beta1));
    assert_false(gw_has_num(s->beta2));
    assert_false(gw_has_num(s->eps));
    assert_false(gw_has_num(s->weight_decay));
    assert_int_equal(s->n_samples, GW_UNSET_INT);
    assert_int_equal(s->max_seq_len, GW_UNSET_INT);
    assert_int_equal(s->gpus, GW_UNSET_INT);
    assert_false(gw_has_num(s->validation_split));
    assert_null(s->suffix);
    assert_null(s->continue_from);
    assert_null(s->description);
    assert_null(s->labels);
    assert_int_equal(s->nvalid, 0);

    for (i = 0; i < GW_MAX_DATASETS; i++) {
        assert_false(gw_has_num(s->train[i].weight));
        assert_null(s->valid[i].ref);
    }
}


static void
test_minimal(void **state)
{
    gw_job_spec_t  spec;

    parse_ok("{'model':'clova/HCX-003','training_file':'s3://b/t.jsonl'}",
             &spec);

    assert_string_equal(spec.provider, "clova");
    assert_string_equal(spec.vendor_model, "HCX-003");
    assert_int_equal(spec.ntrain, 1);
    assert_string_equal(spec.train[0].ref, "s3://b/t.jsonl");
    assert_null(spec.train[1].ref);
    assert_int_equal(spec.present, 0);
    assert_unset(&spec);

    gw_spec_free(&spec);
    assert_null(spec.provider);
    assert_null(spec.train[0].ref);

    /* freeing twice, or nothing, is harmless */
    gw_spec_free(&spec);
    gw_spec_free(NULL);
}


static void
test_full(void **state)
{
    gw_job_spec_t  spec;

    parse_ok("{'model':'local/Qwen2.5-7B-Instruct',"
             "'hyperparameters':{'n_epochs':3,'batch_size':'auto'},"
             "'method':{'type':'supervised','supervised':{'hyperparameters':"
             "{'batch_size':16,'learning_rate_multiplier':0.5}}},"
             "'suffix':'support-bot','seed':42,"
             "'metadata':{'team':'support'},"
             "'integrations':[{'type':'wandb','wandb':{'project':'p'}}],"
             "'tuning':{"
             "'learning_rate':0.0002,'tuning_type':'lora',"
             "'task_type':'generation',"
             "'lora':{'rank':16,'alpha':32,'dropout':0.05,"
             "'initialization':'gaussian','type':'lora',"
             "'target_modules':['q_proj','v_proj']},"
             "'scheduler':{'type':'cosine','min_lr':1e-6,"
             "'warmup_ratio':0.03},"
             "'optimizer':{'type':'adamw','beta1':0.9,'beta2':0.999,"
             "'eps':1e-8,'weight_decay':0.01},"
             "'n_samples':5000,'max_seq_len':4096,"
             "'training_datasets':[{'ref':'s3://b/a.jsonl','weight':0.7},"
             "{'ref':'s3://b/b.jsonl','weight':0.3}],"
             "'validation_datasets':[{'ref':'s3://b/v.jsonl'}],"
             "'validation_split':0.1,"
             "'continue_from':'ftjob-AbC_1-2',"
             "'description':'first run',"
             "'labels':{'team':'support','env':'dev'},"
             "'gpus':2}}", &spec);

    assert_string_equal(spec.provider, "local");
    assert_string_equal(spec.vendor_model, "Qwen2.5-7B-Instruct");
    assert_int_equal(spec.ntrain, 2);
    assert_string_equal(spec.train[0].ref, "s3://b/a.jsonl");
    assert_true(spec.train[0].weight == 0.7);
    assert_string_equal(spec.train[1].ref, "s3://b/b.jsonl");
    assert_true(spec.train[1].weight == 0.3);
    assert_int_equal(spec.nvalid, 1);
    assert_string_equal(spec.valid[0].ref, "s3://b/v.jsonl");
    assert_false(gw_has_num(spec.valid[0].weight));
    assert_string_equal(spec.suffix, "support-bot");
    assert_int_equal(spec.seed, 42);
    assert_int_equal(spec.n_epochs, 3);
    assert_int_equal(spec.batch_size, 16);
    assert_true(spec.lr_multiplier == 0.5);
    assert_true(spec.learning_rate == 0.0002);
    assert_int_equal(spec.tuning_type, GW_TUNING_LORA);
    assert_int_equal(spec.task_type, GW_TASK_GENERATION);
    assert_int_equal(spec.lora_rank, 16);
    assert_int_equal(spec.lora_alpha, 32);
    assert_true(spec.lora_dropout == 0.05);
    assert_string_equal(spec.lora_init, "gaussian");
    assert_string_equal(spec.lora_type, "lora");
    assert_int_equal(spec.nlora_target_modules, 2);
    assert_string_equal(spec.lora_target_modules[0], "q_proj");
    assert_string_equal(spec.lora_target_modules[1], "v_proj");
    assert_int_equal(spec.virtual_tokens, GW_UNSET_INT);
    assert_int_equal(spec.scheduler, GW_SCHED_COSINE);
    assert_true(spec.min_lr == 1e-6);
    assert_true(spec.warmup_ratio == 0.03);
    assert_true(spec.beta1 == 0.9);
    assert_true(spec.beta2 == 0.999);
    assert_true(spec.eps == 1e-8);
    assert_true(spec.weight_decay == 0.01);
    assert_int_equal(spec.n_samples, 5000);
    assert_int_equal(spec.max_seq_len, 4096);
    assert_true(spec.validation_split == 0.1);
    assert_string_equal(spec.continue_from, "ftjob-AbC_1-2");
    assert_string_equal(spec.description, "first run");
    assert_non_null(spec.labels);
    assert_string_equal(gw_json_str(spec.labels, "team"), "support");
    assert_string_equal(gw_json_str(spec.labels, "env"), "dev");
    assert_int_equal(spec.gpus, 2);

    /* every flag but the prompt-tuning one, which lora excludes */
    assert_true(spec.present == (ALL_FLAGS & ~(uint64_t) GW_F_VIRTUAL_TOKENS));

    gw_spec_free(&spec);
}


static void
test_training_file_and_validation_file(void **state)
{
    gw_job_spec_t  spec;

    parse_ok(B("'validation_file':'s3://b/v.jsonl'"), &spec);

    assert_int_equal(spec.ntrain, 1);
    assert_int_equal(spec.nvalid, 1);
    assert_string_equal(spec.valid[0].ref, "s3://b/v.jsonl");
    assert_true(spec.present == GW_F_VALIDATION_FILE);

    gw_spec_free(&spec);

    /* one weighted dataset: weights, not multi */
    parse_ok(D("'training_datasets':[{'ref':'x','weight':1}]"), &spec);
    assert_int_equal(spec.ntrain, 1);
    assert_true(spec.present == GW_F_DATASET_WEIGHTS);
    gw_spec_free(&spec);

    parse_ok(D("'training_datasets':[{'ref':'x'},{'ref':'y'}]"), &spec);
    assert_int_equal(spec.ntrain, 2);
    assert_true(spec.present == GW_F_MULTI_DATASETS);
    gw_spec_free(&spec);

    parse_ok(T("'validation_datasets':[{'ref':'v','weight':0.5}]"), &spec);
    assert_int_equal(spec.nvalid, 1);
    assert_true(spec.valid[0].weight == 0.5);
    assert_true(spec.present
                == (GW_F_VALIDATION_FILE | GW_F_DATASET_WEIGHTS));
    gw_spec_free(&spec);
}


static void
test_auto(void **state)
{
    gw_job_spec_t  spec;

    parse_ok(B("'hyperparameters':{'n_epochs':'auto','batch_size':'auto',"
               "'learning_rate_multiplier':'auto'},"
               "'method':{'type':'supervised','supervised':"
               "{'hyperparameters':{'n_epochs':'auto','batch_size':'auto',"
               "'learning_rate_multiplier':'auto'}}}"), &spec);

    assert_int_equal(spec.present, 0);
    assert_unset(&spec);

    gw_spec_free(&spec);
}


static void
test_method_and_hyperparameters(void **state)
{
    gw_job_spec_t  spec;

    /* method alone */
    parse_ok(MH("'n_epochs':4,'batch_size':8,'learning_rate_multiplier':2"),
             &spec);
    assert_int_equal(spec.n_epochs, 4);
    assert_int_equal(spec.batch_size, 8);
    assert_true(spec.lr_multiplier == 2);
    assert_true(spec.present
                == (GW_F_N_EPOCHS | GW_F_BATCH_SIZE | GW_F_LR_MULTIPLIER));
    gw_spec_free(&spec);

    /* the same values in both; "auto" in one */
    parse_ok(B("'hyperparameters':{'n_epochs':4,'batch_size':'auto',"
               "'learning_rate_multiplier':2},"
               "'method':{'type':'supervised','supervised':"
               "{'hyperparameters':{'n_epochs':4,'batch_size':8,"
               "'learning_rate_multiplier':2.0}}}"), &spec);
    assert_int_equal(spec.n_epochs, 4);
    assert_int_equal(spec.batch_size, 8);
    assert_true(spec.lr_multiplier == 2);
    gw_spec_free(&spec);

    /* different keys merge, whatever the order */
    parse_ok(B("'method':{'type':'supervised','supervised':"
               "{'hyperparameters':{'batch_size':8}}},"
               "'hyperparameters':{'n_epochs':2}"), &spec);
    assert_int_equal(spec.n_epochs, 2);
    assert_int_equal(spec.batch_size, 8);
    assert_false(gw_has_num(spec.lr_multiplier));
    assert_true(spec.present == (GW_F_N_EPOCHS | GW_F_BATCH_SIZE));
    gw_spec_free(&spec);

    /* top level alone */
    parse_ok(H("'learning_rate_multiplier':0.1"), &spec);
    assert_true(spec.lr_multiplier == 0.1);
    assert_int_equal(spec.n_epochs, GW_UNSET_INT);
    assert_true(spec.present == GW_F_LR_MULTIPLIER);
    gw_spec_free(&spec);
}


static void
test_implied_tuning_type(void **state)
{
    gw_job_spec_t  spec;

    parse_ok(L(""), &spec);
    assert_int_equal(spec.tuning_type, GW_TUNING_LORA);
    assert_int_equal(spec.present, 0);
    gw_spec_free(&spec);

    parse_ok(L("'rank':8"), &spec);
    assert_int_equal(spec.tuning_type, GW_TUNING_LORA);
    assert_true(spec.present == GW_F_LORA_RANK);
    gw_spec_free(&spec);

    parse_ok(T("'prompt_tuning':{'virtual_tokens':20}"), &spec);
    assert_int_equal(spec.tuning_type, GW_TUNING_PROMPT);
    assert_int_equal(spec.virtual_tokens, 20);
    assert_true(spec.present == GW_F_VIRTUAL_TOKENS);
    gw_spec_free(&spec);

    parse_ok(T("'tuning_type':'full','task_type':'embedding_triplet'"),
             &spec);
    assert_int_equal(spec.tuning_type, GW_TUNING_FULL);
    assert_int_equal(spec.task_type, GW_TASK_EMBEDDING_TRIPLET);
    assert_true(spec.present == (GW_F_TUNING_TYPE | GW_F_TASK_TYPE));
    gw_spec_free(&spec);
}


/* null and empty containers hold nothing to honour: no flags */

static void
test_nothing_given(void **state)
{
    gw_job_spec_t  spec;

    parse_ok(B("'validation_file':null,'hyperparameters':null,"
               "'method':null,'suffix':null,'seed':null,'metadata':null,"
               "'integrations':null,'tuning':null"), &spec);
    assert_int_equal(spec.present, 0);
    assert_unset(&spec);
    gw_spec_free(&spec);

    parse_ok(B("'hyperparameters':{},'metadata':{},'integrations':[],"
               "'tuning':{'labels':{},'optimizer':{'type':'adamw'}}"),
             &spec);
    assert_int_equal(spec.present, 0);
    assert_unset(&spec);
    gw_spec_free(&spec);

    parse_ok(B("'metadata':{'a':'b'},'integrations':[{}]"), &spec);
    assert_true(spec.present == (GW_F_METADATA | GW_F_INTEGRATIONS));
    gw_spec_free(&spec);

    parse_ok(S("'type':'linear'"), &spec);
    assert_int_equal(spec.scheduler, GW_SCHED_LINEAR);
    assert_true(spec.present == GW_F_SCHEDULER);
    gw_spec_free(&spec);

    parse_ok(O("'type':'adamw','eps':1e-6"), &spec);
    assert_true(spec.eps == 1e-6);
    assert_true(spec.present == GW_F_OPTIMIZER);
    gw_spec_free(&spec);
}


/* ---- gw_spec_check_supported, gw_field_param --------------------------- */


static void
test_check_supported(void **state)
{
    gw_rc_t        rc;
    gw_error_t     err;
    gw_job_spec_t  spec;
    gw_provider_t  p;
    gw_vendor_t    vendor;

    memset(&vendor, 0, sizeof(vendor));
    vendor.kind = "clova";
    memset(&p, 0, sizeof(p));
    p.name = "hcx";
    p.vendor = &vendor;

    parse_ok(B("'seed':1,'tuning':{'lora':{'rank':8},'learning_rate':0.1}"),
             &spec);

    memset(&err, 0, sizeof(err));
    rc = gw_spec_check_supported(&spec, ALL_FLAGS, &p, &err);
    assert_int_equal(rc, GW_OK);
    rc = gw_spec_check_supported(&spec,
                                 GW_F_SEED | GW_F_LORA_RANK
                                 | GW_F_LEARNING_RATE, &p, &err);
    assert_int_equal(rc, GW_OK);

    /* the lowest unsupported flag is named */
    rc = gw_spec_check_supported(&spec, GW_F_SEED, &p, &err);
    assert_int_equal(rc, GW_ERROR);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.type, GW_TYPE_INVALID);
    assert_string_equal(err.code, "unsupported_parameter");
    assert_string_equal(err.param, "tuning.learning_rate");
    assert_string_equal(err.message, "provider 'hcx' (clova) does not "
                        "support tuning.learning_rate");

    rc = gw_spec_check_supported(&spec, GW_F_LEARNING_RATE, &p, &err);
    assert_int_equal(rc, GW_ERROR);
    assert_string_equal(err.param, "seed");

    rc = gw_spec_check_supported(&spec, 0, &p, &err);
    assert_int_equal(rc, GW_ERROR);
    assert_string_equal(err.param, "seed");

    gw_spec_free(&spec);

    /* a spec with nothing optional suits every vendor */
    parse_ok(B("'hyperparameters':{'n_epochs':'auto'}"), &spec);
    rc = gw_spec_check_supported(&spec, 0, &p, &err);
    assert_int_equal(rc, GW_OK);
    gw_spec_free(&spec);

    parse_ok(D("'training_datasets':[{'ref':'a','weight':0.5},"
               "{'ref':'b','weight':0.5}]"), &spec);
    rc = gw_spec_check_supported(&spec, GW_F_MULTI_DATASETS, &p, &err);
    assert_int_equal(rc, GW_ERROR);
    assert_string_equal(err.param, "tuning.training_datasets[].weight");
    rc = gw_spec_check_supported(&spec, GW_F_DATASET_WEIGHTS, &p, &err);
    assert_int_equal(rc, GW_ERROR);
    assert_string_equal(err.param, "tuning.training_datasets");
    gw_spec_free(&spec);
}


static void
test_field_param(void **state)
{
    size_t       i, j;
    const char  *a, *b;

    /* every flag has one param, and no two flags share one */
    for (i = 0; i < 31; i++) {
        a = gw_field_param((gw_field_t) (1ULL << i));
        assert_non_null(a);

        for (j = 0; j < i; j++) {
            b = gw_field_param((gw_field_t) (1ULL << j));
            assert_string_not_equal(a, b);
        }
    }

    assert_null(gw_field_param((gw_field_t) 0));
    assert_null(gw_field_param((gw_field_t) (1ULL << 31)));
    assert_null(gw_field_param((gw_field_t) (GW_F_SEED | GW_F_SUFFIX)));

    assert_string_equal(gw_field_param(GW_F_VALIDATION_FILE),
                        "validation_file");
    assert_string_equal(gw_field_param(GW_F_N_EPOCHS),
                        "hyperparameters.n_epochs");
    assert_string_equal(gw_field_param(GW_F_LR_MULTIPLIER),
                        "hyperparameters.learning_rate_multiplier");
    assert_string_equal(gw_field_param(GW_F_OPTIMIZER), "tuning.optimizer");
    assert_string_equal(gw_field_param(GW_F_MULTI_DATASETS),
                        "tuning.training_datasets");
    assert_string_equal(gw_field_param(GW_F_DATASET_WEIGHTS),
                        "tuning.training_datasets[].weight");
    assert_string_equal(gw_field_param(GW_F_VIRTUAL_TOKENS),
                        "tuning.prompt_tuning.virtual_tokens");
    assert_string_equal(gw_field_param(GW_F_LABELS), "tuning.labels");
    assert_string_equal(gw_field_param(GW_F_GPUS), "tuning.gpus");
}


/* ---- dataset references ------------------------------------------------ */


static void
test_dataset_ref(void **state)
{
    size_t            i;
    gw_dataset_ref_t  r;

    static const struct {
        const char  *ref, *scheme, *bucket, *path;
    } ok[] = {
        { "s3://bucket/path/to/train.jsonl", "s3", "bucket",
          "path/to/train.jsonl" },
        { "s3://b/t", "s3", "b", "t" },
        { "gs://b/dir/", "gs", "b", "dir/" },
        { "file://datasets/a..b/c.d", "file", "datasets", "a..b/c.d" },
        { "x+y.z-1://b/./t", "x+y.z-1", "b", "./t" },
        { "abcdefghijklmnop://b/t", "abcdefghijklmnop", "b", "t" },
        { "s3://b/\xed\x95\x9c.jsonl", "s3", "b", "\xed\x95\x9c.jsonl" },
    };

    static const char  *bad_refs[] = {
        "", "s3", "s3:/b/t", "s3:b/t", "://b/t", "S3://b/t", "3s://b/t",
        "s_3://b/t", "abcdefghijklmnopq://b/t", "s3://", "s3://b",
        "s3://b/", "s3:///t", "s3://b//t", "s3://b/a//t", "s3://b/..",
        "s3://b/../t", "s3://b/a/../t", "s3://b/a/..", "s3://../t",
        "s3://b/a b", "s3://b c/t", "s3://b/a\tb", "s3://b/a\x7f",
        "file-abc123", "s3:x://b/t",
    };

    for (i = 0; i < nelts(ok); i++) {
        assert_int_equal(gw_dataset_ref_parse(ok[i].ref, &r), GW_OK);
        assert_string_equal(r.scheme, ok[i].scheme);
        assert_string_equal(r.bucket, ok[i].bucket);
        assert_string_equal(r.path, ok[i].path);
        gw_dataset_ref_free(&r);
        assert_null(r.scheme);
        assert_null(r.bucket);
        assert_null(r.path);
        gw_dataset_ref_free(&r);
    }

    for (i = 0; i < nelts(bad_refs); i++) {
        memset(&r, 0x5a, sizeof(r));

        if (gw_dataset_ref_parse(bad_refs[i], &r) != GW_ERROR) {
            print_error("ref \"%s\" was accepted\n", bad_refs[i]);
            fail();
        }

        assert_null(r.scheme);
        assert_null(r.bucket);
        assert_null(r.path);
    }

    assert_int_equal(gw_dataset_ref_parse(NULL, &r), GW_ERROR);
    gw_dataset_ref_free(NULL);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_bad_bodies),
        cmocka_unit_test(test_good_bodies),
        cmocka_unit_test(test_route_model),
        cmocka_unit_test(test_odd_buffers),
        cmocka_unit_test(test_echo_capped),
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_training_file_and_validation_file),
        cmocka_unit_test(test_auto),
        cmocka_unit_test(test_method_and_hyperparameters),
        cmocka_unit_test(test_implied_tuning_type),
        cmocka_unit_test(test_nothing_given),
        cmocka_unit_test(test_check_supported),
        cmocka_unit_test(test_field_param),
        cmocka_unit_test(test_dataset_ref),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
