
/* Yandex Cloud's answers, gRPC frames of protobuf (vendors/gw_yandex.c) */


#include "fuzz_vendor.h"


static gw_provider_t  provider;
static gw_gateway_t   gw;

static const char  *secrets[] = { "AQVNyx-api-key-7c1e9a2b4d6f8e0a", NULL };

static const fuzz_vendor_t  vendor = {
    "yandex",
    "{\"model\":\"yandex/yandexgpt-lite\","
    "\"training_file\":\"yandex://dataset/fds1\"}",
    "ftn-a5", "", 1, secrets
};


static const gw_param_t  params[] = {
    { "folder_id", "b1gfolderapi0000001", 0 },
    { "api_key", "AQVNyx-api-key-7c1e9a2b4d6f8e0a", 1 },
    { NULL, NULL, 0 }
};


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_vendor_init(&gw, &provider, "yandex", params);
    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_vendor_run(&gw, &vendor, data, size);
    return 0;
}
