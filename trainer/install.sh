#!/usr/bin/env bash
# Installs the trainer into a venv, idempotently:
#
#   trainer/install.sh VENV_DIR [--test] [--print-plan]
#   FTGW_TORCH=auto|cpu|cuda|system   which torch (default auto)
#
# The torch build: "auto" takes the CUDA build when `nvidia-smi -L` lists a
# GPU, else the CPU one; FTGW_TORCH=cpu or cuda forces it.  "system" uses
# the torch that $FTGW_PYTHON (default: python3 on PATH) already has, as in
# an NGC container or on a machine that can't reach PyPI: a venv with
# --system-site-packages over it, and requirements.txt only.
#
#   cpu   1. Debian's python3-torch (torch 1.13.1, CPU, ~150 MB of .debs)
#            and python3-venv through apt-get, only when they are missing;
#         2. VENV_DIR made from /usr/bin/python3 with
#            --system-site-packages, so it sees Debian's torch and numpy;
#   cuda  1. python3-venv through apt-get when it is missing;
#         2. VENV_DIR made from /usr/bin/python3 as a plain venv, and
#            trainer/requirements-cuda.txt (torch 2.5.1 from PyPI with its
#            CUDA 12.4 libraries, several GB) installed into it with
#            --no-deps;
#   both  3. trainer/requirements.txt (and with --test requirements-test.txt)
#            with pip --no-deps: every package is pinned there, and a
#            resolving pip would replace Debian's torch (it calls itself
#            1.13.0a0, which fails peft's "torch>=1.13.0") with PyPI's torch
#            and its CUDA libraries;
#         4. a check that transformers and peft import, and which torch they
#            got;
#         5. VENV_DIR/bin/ftgw-trainer: runs `python -m trainer` from this
#            checkout (the command to give the gateway's slurm provider as
#            `trainer`), or with FTGW_GPUS=N (N > 1) in the environment
#            `python -m torch.distributed.run --standalone
#            --nproc_per_node=N -m trainer` (through trainer/torchrun.py,
#            which mends torch 1.13's torchrun on Python 3.11): one
#            data-parallel process a GPU.
#
# --print-plan prints the choice and what would be installed, and changes
# nothing.  A second run with the same requirements and venv does nothing
# (about a second).  docs/trainer.md says why torch comes from Debian on
# CPU nodes.
set -euo pipefail

usage() {
    echo "usage: [FTGW_TORCH=auto|cpu|cuda] $0 VENV_DIR [--test]" \
         "[--print-plan]" >&2
    exit 64
}
[ $# -ge 1 ] || usage
venv=$1; shift
with_tests=0
plan_only=0
for a in "$@"; do
    case $a in
        --test) with_tests=1 ;;
        --print-plan|--dry-run) plan_only=1 ;;
        *) usage ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
case $venv in /*) ;; *) venv=$PWD/$venv ;; esac
PY=/usr/bin/python3

# -- 0. which torch --------------------------------------------------------------
want_torch=${FTGW_TORCH:-auto}
case $want_torch in
    auto)
        # `nvidia-smi -L` prints "GPU 0: NVIDIA H100 ... (UUID: ...)" a GPU
        gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU [0-9]' || true)
        if [ "${gpus:-0}" -gt 0 ]; then
            flavour=cuda
            why="nvidia-smi -L lists $gpus GPU(s)"
        else
            flavour=cpu
            if command -v nvidia-smi >/dev/null 2>&1; then
                why="nvidia-smi lists no GPU"
            else
                why="no nvidia-smi"
            fi
        fi ;;
    cpu|cuda|system) flavour=$want_torch; why="FTGW_TORCH=$want_torch" ;;
    *) echo "trainer/install.sh: FTGW_TORCH must be auto, cpu, cuda or" \
            "system" \
            "(not '$want_torch')" >&2
       exit 64 ;;
esac

if [ $flavour = cuda ]; then
    debs="python3-venv"
    reqs=("$here/requirements-cuda.txt" "$here/requirements.txt")
    venv_kind="plain venv (no system site packages)"
elif [ $flavour = system ]; then
    PY=${FTGW_PYTHON:-$(command -v python3 || echo /usr/bin/python3)}
    debs=""
    reqs=("$here/requirements.txt")
    venv_kind="venv with --system-site-packages over $PY and its torch"
else
    debs="python3-torch python3-venv"
    reqs=("$here/requirements.txt")
    venv_kind="venv with --system-site-packages (Debian's torch 1.13.1, CPU)"
fi
[ $with_tests = 1 ] && reqs+=("$here/requirements-test.txt")
# the stamp: this script (it writes the wrapper), the torch build and the
# pins; a change to any of them installs again
want=$( (echo "torch=$flavour"; cat "$0" "${reqs[@]}") | sha256sum \
        | cut -c1-16)
stamp=$venv/.trainer-ready

if [ $plan_only = 1 ]; then
    echo "torch: $flavour ($why)"
    echo "venv: $venv, $venv_kind"
    missing=""
    for p in $debs; do
        dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
    echo "apt-get install:${missing:- (nothing missing)}"
    for r in "${reqs[@]}"; do
        echo "pip install --no-deps -r ${r#$root/}:" \
            $(sed -e 's/#.*//' -e '/^ *$/d' "$r")
    done
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        echo "state: $venv is ready (nothing to do)"
    else
        echo "state: to install"
    fi
    exit 0
fi
echo "trainer/install.sh: torch $flavour ($why)"

# -- 1. Debian packages ------------------------------------------------------
missing=""
for p in $debs; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "trainer/install.sh: apt-get install$missing"
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 \
        install -y -qq --no-install-recommends $missing >/dev/null
fi

# -- 2. the venv ---------------------------------------------------------------
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
    && [ -x "$venv/bin/ftgw-trainer" ] \
    && "$venv/bin/python" -c 'import torch, transformers, peft' 2>/dev/null
then
    echo "trainer/install.sh: $venv is ready"
    exit 0
fi

if [ -e "$venv/pyvenv.cfg" ]; then
    if [ -f "$venv/.trainer-torch" ]; then
        has=$(cat "$venv/.trainer-torch")
    elif grep -Eq '^include-system-site-packages *= *true' \
            "$venv/pyvenv.cfg"
    then has=cpu; else has=cuda; fi
    if [ "$has" != $flavour ]; then
        echo "trainer/install.sh: $venv was made for the $has torch, not" \
             "the $flavour one; remove it first" >&2
        exit 1
    fi
elif [ $flavour = cuda ]; then
    "$PY" -m venv "$venv"
else
    "$PY" -m venv --system-site-packages "$venv"
fi
echo $flavour > "$venv/.trainer-torch"

# -- 3. the pinned packages ------------------------------------------------------
for r in "${reqs[@]}"; do
    "$venv/bin/python" -m pip install -q --disable-pip-version-check \
        --no-deps -r "$r"
done

# -- 4. check --------------------------------------------------------------------
FTGW_FLAVOUR=$flavour "$venv/bin/python" - <<'EOF'
import os, sys
import torch, transformers, peft, accelerate, tokenizers, safetensors
where = ("Debian" if torch.__file__.startswith("/usr/lib/python3/")
         else torch.__file__)
print(f"trainer/install.sh: torch {torch.__version__} ({where}, CUDA build "
      f"{torch.version.cuda}, CUDA available {torch.cuda.is_available()}), "
      f"transformers {transformers.__version__}, peft {peft.__version__}")
if os.environ["FTGW_FLAVOUR"] == "system" and not torch.cuda.is_available():
    print("trainer/install.sh: warning: the system torch sees no GPU",
          file=sys.stderr)
if os.environ["FTGW_FLAVOUR"] == "cuda":
    if torch.version.cuda is None:
        sys.exit("trainer/install.sh: the venv's torch is not a CUDA build")
    if not torch.cuda.is_available():
        print("trainer/install.sh: warning: CUDA torch installed, but it "
              "sees no GPU (the NVIDIA driver must be 525 or newer)",
              file=sys.stderr)
EOF

# -- 5. the command ----------------------------------------------------------------
# FTGW_GPUS (exported by the batch script of a job that asked for GPUs):
# more than one starts one data-parallel trainer a GPU through torchrun
cat > "$venv/bin/ftgw-trainer" <<EOF
#!/bin/sh
# the local training engine's trainer (made by trainer/install.sh)
PYTHONPATH="$root\${PYTHONPATH:+:\$PYTHONPATH}"
export PYTHONPATH
n=\${FTGW_GPUS:-1}
case \$n in
    ''|*[!0-9]*) echo "ftgw-trainer: FTGW_GPUS must be a number" >&2; exit 2 ;;
esac
if [ "\$n" -gt 1 ]; then
    # torchrun (trainer/torchrun.py mends it on Debian's torch 1.13)
    exec "$venv/bin/python" -m trainer.torchrun --standalone \\
        --nproc_per_node="\$n" -m trainer "\$@"
fi
exec "$venv/bin/python" -m trainer "\$@"
EOF
chmod 755 "$venv/bin/ftgw-trainer"

echo "$want" > "$stamp"
echo "trainer/install.sh: $venv is ready ($venv/bin/ftgw-trainer)"
