
/* Slurm (slurmrestd)'s answers (vendors/gw_slurm.c): see fuzz_vendor.h */


#include "fuzz_vendor.h"


static gw_provider_t  providers[1];
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


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    gw_mem_init();

    providers[0].name = "slurm";
    providers[0].vendor = gw_vendor_find("slurm");
    providers[0].endpoint = "/_ftgw/slurm";
    providers[0].params[0] =
        (gw_param_t) { "models", "tiny:/srv/models/tiny", 0 };
    providers[0].params[1] = (gw_param_t) { "dataset_root", "/srv/data", 0 };
    providers[0].params[2] = (gw_param_t) { "output_root", "/srv/out", 0 };
    providers[0].params[3] =
        (gw_param_t) { "trainer", "/opt/venv/bin/ftgw-trainer", 0 };
    providers[0].params[4] = (gw_param_t) { "user_name", "ftgw-svc", 0 };
    providers[0].params[5] = (gw_param_t) { "user_token",
        "eyJhbGciOiJIUzI1NiJ9.slurm-jwt-5e1d9c2b7a", 1 };
    providers[0].nparams = 6;

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
