
/* Baidu Qianfan's answers (vendors/gw_qianfan.c): see fuzz_vendor.h */


#include "fuzz_vendor.h"


static gw_provider_t  providers[1];
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


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    gw_mem_init();

    providers[0].name = "qianfan";
    providers[0].vendor = gw_vendor_find("qianfan");
    providers[0].endpoint = "/_ftgw/qianfan";
    providers[0].params[0] =
        (gw_param_t) { "access_key", "ALTAK-qf7d3e9a2b5c1f", 1 };
    providers[0].params[1] =
        (gw_param_t) { "secret_key", "qfsk-0a1b2c3d4e5f6a7b8c9d", 1 };
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
