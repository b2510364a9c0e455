
/* Yandex Cloud's answers, gRPC frames of protobuf (vendors/gw_yandex.c) */


#include "fuzz_vendor.h"


static gw_provider_t  providers[1];
static gw_gateway_t   gw;

static const char  *secrets[] = { "AQVNyx-api-key-7c1e9a2b4d6f8e0a", NULL };

static const fuzz_vendor_t  vendor = {
    "yandex",
    "{\"model\":\"yandex/yandexgpt-lite\","
    "\"training_file\":\"yandex://dataset/fds1\"}",
    "ftn-a5", "", 1, secrets
};


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    gw_mem_init();

    providers[0].name = "yandex";
    providers[0].vendor = gw_vendor_find("yandex");
    providers[0].endpoint = "/_ftgw/yandex";
    providers[0].params[0] =
        (gw_param_t) { "folder_id", "b1gfolderapi0000001", 0 };
    providers[0].params[1] =
        (gw_param_t) { "api_key", "AQVNyx-api-key-7c1e9a2b4d6f8e0a", 1 };
    providers[0].nparams = 2;

    if (providers[0].vendor == NULL) {
        abort();
    }

    fuzz_gateway(&gw, providers, 1);
    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_vendor_run(&gw, &vendor, data, size);
    return 0;
}
