#!/bin/bash
# Stops the private cluster that slurm/up.sh STATE_DIR started: cancels its
# jobs, then stops slurmrestd, slurmd, slurmctld and munged (by their pid
# files), and kills any job step (slurmstepd and its processes) still tied
# to STATE_DIR.  Leaves STATE_DIR itself (configuration, logs, state) in
# place.  Safe to run again, and on a cluster that is half up.
#
#   slurm/down.sh STATE_DIR
set -uo pipefail

die() { echo "slurm/down.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: slurm/down.sh STATE_DIR"
[ -d "$1" ] || exit 0
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "must run as root (or with sudo)"
    exec sudo "$0" "$@"
fi

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

STATE=$(cd "$1" && pwd -P)
cd /
export SLURM_CONF=$STATE/slurm.conf
RUN=$STATE/run

# stop_daemon NAME [SIGNAL]: signals the daemon of pid file RUN/NAME.pid and
# waits for it to go (up to 15 s), then kills it
stop_daemon() {
    local name=$1 sig=${2:-TERM} pid i
    if pid_alive "$RUN/$name.pid" "$name"; then
        pid=$(tr -dc 0-9 < "$RUN/$name.pid")
        kill "-$sig" "$pid" 2>/dev/null
        for i in $(seq 150); do
            proc_alive "$pid" || break
            sleep 0.1
        done
        if proc_alive "$pid"; then
            echo "slurm/down.sh: $name ($pid) still up: killing it" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    rm -f "$RUN/$name.pid"
}

# descendants PID: PID's children, grandchildren...
descendants() {
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$child"
        descendants "$child"
    done
}

# stepds: the slurmstepd processes of this cluster (they hold sockets and
# files in its SlurmdSpoolDir)
stepds() {
    local p
    for p in $(pgrep -x slurmstepd 2>/dev/null); do
        if ls -l "/proc/$p/fd" 2>/dev/null | grep -q -- "-> $STATE/"; then
            echo "$p"
        else
            case "$(readlink "/proc/$p/cwd" 2>/dev/null)/" in
                "$STATE"/*) echo "$p" ;;
            esac
        fi
    done
}

# 1. cancel every job while slurmctld and slurmd can still end them cleanly
if pid_alive "$RUN/slurmctld.pid" slurmctld; then
    jobs=$(squeue -h -o %i 2>/dev/null)
    if [ -n "$jobs" ]; then
        # shellcheck disable=SC2086
        scancel $jobs >/dev/null 2>&1
        for _ in $(seq 100); do
            [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.1
        done
    fi
fi

# 2. the daemons, clients first
stop_daemon slurmrestd INT
stop_daemon slurmd
stop_daemon slurmctld
stop_daemon munged

# 3. any job step left behind (jobs of a controller that was already gone)
for p in $(stepds); do
    # shellcheck disable=SC2046
    kill -KILL $(descendants "$p") "$p" 2>/dev/null
done

# 4. whatever still works in STATE_DIR (slurmctld's helper slurmscriptd on
# its way out, a job's process that outlived its step) or names it
mine() {
    local p cmd
    for p in $(ls /proc | grep -E '^[0-9]+$'); do
        [ "$p" != $$ ] && [ "$p" != "$BASHPID" ] && proc_alive "$p" ||
            continue
        case "$(readlink "/proc/$p/cwd" 2>/dev/null)/" in
            "$STATE"/*) echo "$p"; continue ;;
        esac
        cmd=$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)
        case "$cmd" in
            *"$STATE/"*) echo "$p" ;;
        esac
    done
}
for i in $(seq 50); do
    left=$(mine)
    [ -n "$left" ] || break
    # shellcheck disable=SC2086
    [ "$i" -lt 30 ] || kill -KILL $left 2>/dev/null
    sleep 0.1
done

rm -f "$STATE/rest/slurmrestd.sock" "$STATE/munge/munge.socket" \
    "$STATE/munge/munge.socket.lock"
exit 0
