#!/usr/bin/env bash
# The GPU checks of issue 19, in one call on a machine with an NVIDIA GPU
# (written on a machine without one: this script has not run yet).
#
#   scripts/gpu-check.sh [OUT_DIR]      # default build/gpu-check
#   scripts/gpu-check.sh --cpu-rehearsal [OUT_DIR]
#
# --cpu-rehearsal runs stages 2 to 5 on a machine without a GPU (the CPU
# build, jobs on the CPU, no bench): a check of this script itself.
#
# Stages, each logged to OUT_DIR/gpu-check.log with its time and status;
# a failed stage is reported and the next ones still run where they can:
#
#   1. nvidia-smi: the GPUs (a machine without one stops here);
#   2. trainer/install.sh for the CUDA build into build/trainer-venv-gpu.
#      With PyPI reachable: FTGW_TORCH=auto (PyPI's torch 2.5.1 + CUDA).
#      Without (a lent device machine is offline): FTGW_TORCH=system over
#      a python3 that already has a CUDA torch, with the pip packages from
#      build/wheelhouse (17 MB; make it beforehand with
#        build/trainer-venv/bin/pip download --no-deps --only-binary=:all: \
#            -d build/wheelhouse -r trainer/requirements.txt \
#            -r trainer/requirements-test.txt
#      and carry it to the machine);
#   3. one training job on one GPU, directly: the tiny model, LoRA, bf16
#      (checks device, dtype, fused AdamW, tokens/s and MFU in the
#      progress report);
#   4. the same job with --compile and --group-by-length (torch 2);
#   5. the trainer's test suite on that venv (CPU tests; DDP with gloo);
#   6. bench/trainer_bench.py: through the gateway and a local Slurm
#      (every run a one-GPU Slurm job) when slurm/install.sh and the
#      module (build/nginx/ngx_http_ftgw_module.so) are there, else the
#      trainer directly; ~0.5B and ~1.5B Qwen2 shapes, LoRA and full.
#
# OUT_DIR gets the log, the results (results.json, results.md) and the
# result.json of stages 3 and 4.  Give it a timeout of about 9 minutes
# (the whole device budget of a session is 15): stage 6 alone takes ~5.
set -uo pipefail
rehearsal=0
if [ "${1:-}" = --cpu-rehearsal ]; then rehearsal=1; shift; fi
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/gpu-check}
mkdir -p "$out"
log=$out/gpu-check.log
: > "$log"
venv=$root/build/trainer-venv-gpu
export FTGW_TRAINER_VENV=$venv
t0=$(date +%s)

say() { echo "[$(( $(date +%s) - t0 ))s] $*" | tee -a "$log"; }
stage() {        # stage NAME CMD...: runs it, logs its output and status
    local name=$1; shift
    say "== $name"
    "$@" >> "$log" 2>&1
    local rc=$?
    say "   $name: $([ $rc = 0 ] && echo ok || echo "FAILED (exit $rc)")"
    return $rc
}

# -- 1 ------------------------------------------------------------------------
if [ $rehearsal = 1 ]; then
    say "CPU rehearsal: no GPU expected"
    export FTGW_EXPECT_DEVICE=cpu
elif ! nvidia-smi -L | tee -a "$log"; then
    say "no GPU (nvidia-smi -L failed): nothing to check"
    exit 1
else
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv \
        | tee -a "$log"
    export FTGW_EXPECT_DEVICE=cuda
fi

# -- 2 ------------------------------------------------------------------------
install() {
    if [ $rehearsal = 1 ]; then
        FTGW_TORCH=cpu "$root/trainer/install.sh" "$venv" --test
        return
    fi
    if timeout 8 python3 -c 'import urllib.request as u; u.urlopen(
            "https://pypi.org/simple/torch/", timeout=6)' 2>/dev/null; then
        say "PyPI reachable: the CUDA build from PyPI"
        "$root/trainer/install.sh" "$venv" --test
        return
    fi
    say "PyPI unreachable: FTGW_TORCH=system"
    local py
    for py in "${FTGW_PYTHON:-}" python3 /usr/bin/python3 \
              /opt/conda/bin/python /usr/local/bin/python3; do
        [ -n "$py" ] || continue
        if "$py" -c 'import torch, sys; sys.exit(
                not torch.cuda.is_available())' 2>/dev/null; then
            say "a CUDA torch: $py ($("$py" -c \
                'import torch; print(torch.__version__)'))"
            [ -d "$root/build/wheelhouse" ] || {
                say "no build/wheelhouse to install the pip packages from"
                return 1; }
            FTGW_TORCH=system FTGW_PYTHON=$py PIP_NO_INDEX=1 \
                PIP_FIND_LINKS=$root/build/wheelhouse \
                "$root/trainer/install.sh" "$venv" --test
            return
        fi
    done
    say "no python3 here has a CUDA torch"
    return 1
}
stage "install (CUDA)" install || { say "no trainer venv: stopping"; exit 1; }

# -- 3, 4 ---------------------------------------------------------------------
job() {          # job NAME [trainer options]: the tiny model, one GPU
    local name=$1; shift
    local d=$out/$name
    rm -rf "$d"; mkdir -p "$d"
    # a ~2.5M-parameter Qwen2 on the GPU; the CPU rehearsal (reference
    # BLAS) takes the 0.1M one of the CPU bench
    local size=(--hidden 256 --layers 4 --heads 4 --kv-heads 2)
    [ $rehearsal = 1 ] && size=(--hidden 64 --layers 2 --heads 4 \
                                --kv-heads 2 --intermediate 172)
    "$venv/bin/python" -m trainer.tiny_model "$d/model" --arch qwen2 \
        "${size[@]}" || return
    "$venv/bin/python" - "$d" <<'EOF' || return
import json, random, sys
d = sys.argv[1]
r = random.Random(0)
w = "apple river stone cloud green quick seven music".split()
with open(f"{d}/train.jsonl", "w") as f:
    for _ in range(128):
        t = " ".join(r.choice(w) for _ in range(r.randint(3, 30)))
        f.write(json.dumps({"messages": [
            {"role": "user", "content": f"repeat {t}"},
            {"role": "assistant", "content": t}]}) + "\n")
json.dump({"model_dir": "model", "output_dir": "out",
           "training_files": ["train.jsonl"], "n_epochs": 2,
           "batch_size": 16, "learning_rate": 1e-3,
           "lora": {"rank": 8, "alpha": 16}}, open(f"{d}/spec.json", "w"))
EOF
    FTGW_GPUS=1 "$venv/bin/ftgw-trainer" --spec "$d/spec.json" \
        --progress-file "$d/progress.json" --progress-interval 0 "$@" \
        || return
    "$venv/bin/python" - "$d" <<'EOF'
import json, os, sys
d = sys.argv[1]
r = json.load(open(f"{d}/out/result.json"))
p = json.load(open(f"{d}/progress.json"))
m = r["metrics"]
print("device", r["device"], r["device_name"], "dtype", r["dtype"],
      "options", r["options"])
print("tokens/s", m["tokens_per_second"], "mfu", m["mfu"], "peak GPU MiB",
      (m["peak_gpu_memory_bytes"] or 0) >> 20, "padding",
      m["padding_fraction"], "loss", r["step_losses"][0], "->",
      r["step_losses"][-1])
print("last progress", p)
assert r["status"] == "succeeded"
assert r["device"] == os.environ["FTGW_EXPECT_DEVICE"], r["device"]
assert r["step_losses"][-1] < r["step_losses"][0]
assert p.get("tps", 0) > 0
EOF
    cp "$d/out/result.json" "$out/$name-result.json"
}
stage "one GPU, LoRA, bf16" job gpu-lora
stage "one GPU, compile + group_by_length" job gpu-compile \
    --compile --group-by-length

# -- 5 ------------------------------------------------------------------------
stage "trainer tests" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
    --confcutdir="$root/t/trainer" "$root/t/trainer" -x

# -- 6 ------------------------------------------------------------------------
bench() {
    local py=$root/.venv/bin/python
    # the gateway route needs the project's venv (openai); without it the
    # trainer venv runs the bench directly
    if [ -x "$py" ] && "$py" -c 'import openai' 2>/dev/null; then
        "$py" "$root/bench/trainer_bench.py" --skip-install
    else
        "$venv/bin/python" "$root/bench/trainer_bench.py" --skip-install \
            --direct
    fi
}
[ $rehearsal = 1 ] && { say "CPU rehearsal: no bench"; exit 0; }
stage "bench-trainer" bench
cp "$root"/build/bench-trainer/results.* "$out/" 2>/dev/null
cat "$out/results.md" 2>/dev/null | tee -a "$log"
say "done"
