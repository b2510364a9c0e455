
/* Slurm (slurmrestd)'s answers (vendors/gw_slurm.c): see fuzz_vendor.h */


#include "fuzz_vendor.h"


static gw_provider_t  provider;
static gw_gateway_t   gw;

static const char  *secrets[] = {
    "eyJhbGciOiJIUzI1NiJ9.slurm-jwt-5e1d9c2b7a", NULL
};

static const fuzz_vendor_t  vendor = {
    "slurm",
    "{\"model\":\"slurm/tiny\","
    "\"training_file\":\"local://datasets/support/train.jsonl\"}",
    "17", "", 0, secrets
};


static const gw_param_t  params[] = {
    { "models", "tiny:/srv/models/tiny", 0 },
    { "dataset_root", "/srv/data", 0 },
    { "output_root", "/srv/out", 0 },
    { "trainer", "/opt/venv/bin/ftgw-trainer", 0 },
    { "user_name", "ftgw-svc", 0 },
    { "user_token", "eyJhbGciOiJIUzI1NiJ9.slurm-jwt-5e1d9c2b7a", 1 },
    { NULL, NULL, 0 }
};


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_vendor_init(&gw, &provider, "slurm", params);
    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_vendor_run(&gw, &vendor, data, size);
    return 0;
}
