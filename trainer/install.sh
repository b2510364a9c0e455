#!/usr/bin/env bash
# Installs the trainer into a venv, idempotently:
#
#   trainer/install.sh VENV_DIR [--test]
#
# 1. Debian's python3-torch (torch 1.13.1, CPU, ~150 MB of .debs) and
#    python3-venv through apt-get, only when they are missing;
# 2. VENV_DIR made from /usr/bin/python3 with --system-site-packages, so it
#    sees Debian's torch and numpy;
# 3. trainer/requirements.txt (and with --test requirements-test.txt) with
#    pip --no-deps: every package is pinned there, and a resolving pip
#    would replace Debian's torch (it calls itself 1.13.0a0, which fails
#    peft's "torch>=1.13.0") with PyPI's torch and its CUDA libraries;
# 4. a check that transformers and peft import, and which torch they got
#    (Debian's, unless the site installed a CUDA build into the venv: see
#    docs/trainer.md, "GPU nodes");
# 5. VENV_DIR/bin/ftgw-trainer: runs `python -m trainer` from this checkout
#    (the command to give the gateway's slurm provider as `trainer`).
#
# A second run with the same requirements and venv does nothing (about a
# second).  docs/trainer.md says why torch comes from Debian.
set -euo pipefail

usage() { echo "usage: $0 VENV_DIR [--test]" >&2; exit 64; }
[ $# -ge 1 ] || usage
venv=$1; shift
with_tests=0
for a in "$@"; do
    case $a in
        --test) with_tests=1 ;;
        *) usage ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
case $venv in /*) ;; *) venv=$PWD/$venv ;; esac
PY=/usr/bin/python3

# -- 1. Debian packages ------------------------------------------------------
missing=""
for p in python3-torch python3-venv; do
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
reqs=("$here/requirements.txt")
[ $with_tests = 1 ] && reqs+=("$here/requirements-test.txt")
want=$(cat "${reqs[@]}" | sha256sum | cut -c1-16)
stamp=$venv/.trainer-ready

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
    && [ -x "$venv/bin/ftgw-trainer" ] \
    && "$venv/bin/python" -c 'import torch, transformers, peft' 2>/dev/null
then
    echo "trainer/install.sh: $venv is ready"
    exit 0
fi

if [ -e "$venv/pyvenv.cfg" ]; then
    if ! grep -Eq '^include-system-site-packages *= *true' \
            "$venv/pyvenv.cfg"; then
        echo "trainer/install.sh: $venv is a venv without" \
             "--system-site-packages; remove it first" >&2
        exit 1
    fi
else
    "$PY" -m venv --system-site-packages "$venv"
fi

# -- 3. the pinned packages ------------------------------------------------------
for r in "${reqs[@]}"; do
    "$venv/bin/python" -m pip install -q --disable-pip-version-check \
        --no-deps -r "$r"
done

# -- 4. check --------------------------------------------------------------------
"$venv/bin/python" - <<'EOF'
import torch, transformers, peft, accelerate, tokenizers, safetensors
where = ("Debian" if torch.__file__.startswith("/usr/lib/python3/")
         else torch.__file__)
print(f"trainer/install.sh: torch {torch.__version__} ({where}, CUDA "
      f"{torch.cuda.is_available()}), transformers "
      f"{transformers.__version__}, peft {peft.__version__}")
EOF

# -- 5. the command ----------------------------------------------------------------
cat > "$venv/bin/ftgw-trainer" <<EOF
#!/bin/sh
# the local training engine's trainer (made by trainer/install.sh)
PYTHONPATH="$root\${PYTHONPATH:+:\$PYTHONPATH}" \\
    exec "$venv/bin/python" -m trainer "\$@"
EOF
chmod 755 "$venv/bin/ftgw-trainer"

echo "$want" > "$stamp"
echo "trainer/install.sh: $venv is ready ($venv/bin/ftgw-trainer)"
