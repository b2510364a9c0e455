
/* CLOVA Studio's answers (vendors/gw_clova.c): see fuzz_vendor.h */


#include "fuzz_vendor.h"


#define API_KEY  "nv-test-7f3a9c2e5b8d4f1a"
#define OBJ_AK   "NCP-OBJ-AK-1a2b3c4d5e"
#define OBJ_SK   "ncp-obj-sk-9f8e7d6c5b4a3210"


static gw_provider_t  provider;
static gw_gateway_t   gw;

static const char  *secrets[] = { API_KEY, OBJ_SK, NULL };

static const fuzz_vendor_t  vendor = {
    "clova",
    "{\"model\":\"clova/HCX-003\","
    "\"training_file\":\"s3://tuning-data/sets/train.csv\","
    "\"hyperparameters\":{\"n_epochs\":3},\"suffix\":\"fuzz\"}",
    "czf9fbky", "", 0, secrets
};


static const gw_param_t  params[] = {
    { "auth", "bearer", 0 },
    { "api_key", API_KEY, 1 },
    { "storage_access_key", OBJ_AK, 1 },
    { "storage_secret_key", OBJ_SK, 1 },
    { NULL, NULL, 0 }
};


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_vendor_init(&gw, &provider, "clova", params);
    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_vendor_run(&gw, &vendor, data, size);
    return 0;
}
