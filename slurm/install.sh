#!/bin/bash
# Installs what the project's single-node Slurm cluster needs, from Debian's
# packages: munge, slurmctld and slurmd (slurm-wlm), the client commands,
# slurmrestd, curl (up.sh probes slurmrestd with it) and procps (down.sh).
# Only what is missing is installed, so a ready machine returns at once.
# As root, or through sudo.
#
# Exit status: 0 when everything is there; 3 when the packages cannot be
# installed (no root and no sudo, no package index, apt-get failing); the
# tests skip on 3 and fail on anything else.
#
# Debian's maintainer scripts would start munge, slurmctld and slurmd with
# the system-wide configuration; none of that is wanted (up.sh runs its own
# daemons under a private state directory), so the install runs with a
# policy-rc.d that forbids service starts, unless the machine has one.
set -uo pipefail

PKGS="munge slurm-wlm slurmctld slurmd slurm-client slurmrestd curl procps"

missing=""
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

cannot() { echo "slurm/install.sh: cannot install$missing: $*" >&2; exit 3; }

command -v apt-get >/dev/null 2>&1 || cannot "no apt-get"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || cannot "not root and no sudo"
    sudo -n true 2>/dev/null || cannot "sudo asks for a password"
    SUDO="sudo -n"
fi

echo "slurm/install.sh: installing:$missing" >&2
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null &&
        $SUDO chmod 755 "$policy" && own_policy=1
fi
cleanup() { if [ -n "$own_policy" ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

$SUDO apt-get update -qq || cannot "apt-get update failed"
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends $missing >/dev/null ||
    cannot "apt-get install failed"
for p in $missing; do
    dpkg -s "$p" >/dev/null 2>&1 || cannot "$p is still missing"
done
