#!/usr/bin/env bash
# The trainer's tests: installs the trainer's venv with pytest (see
# install.sh; a no-op when it is ready), then runs t/trainer/ with it.
#
#   trainer/test.sh [VENV_DIR] [pytest arguments...]
#
# VENV_DIR defaults to build/trainer-venv.  --confcutdir keeps pytest from
# loading t/conftest.py, which belongs to the gateway's suite and needs the
# project's own venv.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$root/build/trainer-venv}
[ $# -gt 0 ] && shift
"$root/trainer/install.sh" "$venv" --test
cd "$root"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider \
    --confcutdir=t/trainer t/trainer "$@"
