
/* Baidu Qianfan's answers (vendors/gw_qianfan.c): see fuzz_vendor.h */


#include "fuzz_vendor.h"


static gw_provider_t  provider;
static gw_gateway_t   gw;

static const char  *secrets[] = {
    "ALTAK-qf7d3e9a2b5c1f", "qfsk-0a1b2c3d4e5f6a7b8c9d", NULL
};

static const fuzz_vendor_t  vendor = {
    "qianfan",
    "{\"model\":\"qianfan/Llama-2-7b\","
    "\"training_file\":\"qianfan://dataset/1234\"}",
    "7001", "8002", 0, secrets
};


static const gw_param_t  params[] = {
    { "access_key", "ALTAK-qf7d3e9a2b5c1f", 1 },
    { "secret_key", "qfsk-0a1b2c3d4e5f6a7b8c9d", 1 },
    { NULL, NULL, 0 }
};


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_vendor_init(&gw, &provider, "qianfan", params);
    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_vendor_run(&gw, &vendor, data, size);
    return 0;
}
