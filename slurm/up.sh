#!/bin/bash
# Brings up a private single-node Slurm cluster entirely under STATE_DIR:
# munged, slurmctld and slurmd as root, slurmrestd as the system user
# `slurmrest` on a unix socket (rest_auth/local, openapi/v0.0.38).
#
#   slurm/up.sh STATE_DIR        prints the slurmrestd socket path
#
# Safe to run again: daemons already running from STATE_DIR are kept, and
# the configuration of a running cluster is not rewritten.  slurm/down.sh
# STATE_DIR stops it all.  Works as root without systemd (containers).
#
# Environment:
#   SLURMCTLD_PORT    slurmctld's port (default 16817, not Slurm's 6817)
#   SLURMD_PORT       slurmd's port (default 16818, not Slurm's 6818)
#   SLURM_CLUSTER     ClusterName (default ftgw)
#   SLURMREST_USER    the user slurmrestd runs as (default slurmrest)
#   SLURM_GPUS        GPUs to give the node (default: what nvidia-smi -L
#                     lists; 0 for none), each with its /dev/nvidiaN
#   SLURM_FAKE_GPUS   N stand-in GPUs instead, for tests on a machine
#                     without any: links to /dev/null in STATE_DIR/fake-gpu
#                     as their device files (default 0)
#   SLURM_UP_TIMEOUT  seconds to wait for the node and slurmrestd (60)
#
# Clients use SLURM_CONF=STATE_DIR/slurm.conf; STATE_DIR/env says so.
set -euo pipefail

die() { echo "slurm/up.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: slurm/up.sh STATE_DIR"
if [ "$(id -u)" != 0 ]; then
    # munged, slurmctld and slurmd run as root
    command -v sudo >/dev/null || die "must run as root (or with sudo)"
    exec sudo env SLURMCTLD_PORT="${SLURMCTLD_PORT:-}" \
        SLURMD_PORT="${SLURMD_PORT:-}" SLURM_CLUSTER="${SLURM_CLUSTER:-}" \
        SLURMREST_USER="${SLURMREST_USER:-}" SLURM_GPUS="${SLURM_GPUS:-}" \
        SLURM_FAKE_GPUS="${SLURM_FAKE_GPUS:-}" \
        SLURM_UP_TIMEOUT="${SLURM_UP_TIMEOUT:-}" "$0" "$@"
fi

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

mkdir -p "$1"
STATE=$(cd "$1" && pwd -P)
CTLD_PORT=${SLURMCTLD_PORT:-16817}
D_PORT=${SLURMD_PORT:-16818}
CLUSTER=${SLURM_CLUSTER:-ftgw}
REST_USER=${SLURMREST_USER:-slurmrest}
TIMEOUT=${SLURM_UP_TIMEOUT:-60}
FAKE_GPUS=${SLURM_FAKE_GPUS:-0}
for n in "$FAKE_GPUS" "${SLURM_GPUS:-0}"; do
    [[ "$n" =~ ^[0-9]{1,3}$ ]] ||
        die "SLURM_GPUS and SLURM_FAKE_GPUS are numbers of GPUs (0 to 999)"
done
CONF=$STATE/slurm.conf
# slurmrestd binds its socket after dropping to $REST_USER, so the socket
# lives in a directory of that user; STATE_DIR/slurmrestd.sock links to it
SOCK=$STATE/rest/slurmrestd.sock
MUNGE_SOCK=$STATE/munge/munge.socket
export SLURM_CONF=$CONF

# a unix socket path holds at most 107 bytes
[ ${#SOCK} -lt 100 ] || die "STATE_DIR is too long for a unix socket path"
[ ${#MUNGE_SOCK} -lt 100 ] || die "STATE_DIR is too long for a unix socket"

for cmd in munged slurmctld slurmd slurmrestd sinfo scontrol curl; do
    command -v "$cmd" >/dev/null || die "$cmd missing: run slurm/install.sh"
done

# slurmrestd (as $REST_USER) and the jobs (which run as the user that
# submitted them through slurmrestd: $REST_USER) read slurm.conf and the
# munge socket: STATE_DIR and every directory above it must be searchable
# by them.
chmod 0755 "$STATE"
dir=$(dirname "$STATE")
while [ "$dir" != / ]; do
    perm=$(stat -c %A "$dir")
    [ "${perm:9:1}" = x ] || [ "${perm:9:1}" = t ] ||
        die "$dir is not searchable by others (mode $perm): slurmrestd" \
            "and the jobs run as $REST_USER; choose a STATE_DIR" \
            "outside it or chmod o+x it"
    dir=$(dirname "$dir")
done

# --- the system user slurmrestd runs as -----------------------------------
if ! id -u "$REST_USER" >/dev/null 2>&1; then
    # (another up.sh may be creating it at the same moment)
    useradd --system --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin "$REST_USER" ||
        id -u "$REST_USER" >/dev/null || die "cannot create user $REST_USER"
fi

# --- directories: root-owned, not writable by others (munged checks) -------
umask 022
cd /
# modes only on creation: slurmd opens up its spool directory itself (the
# jobs, running as $REST_USER, exec their scripts from it)
newdir() { [ -d "$2" ] || install -d -m "$1" "${@:3}" "$2"; }
newdir 0755 "$STATE/log"
newdir 0755 "$STATE/run"
newdir 0700 "$STATE/ctld"
newdir 0755 "$STATE/spool"
newdir 0755 "$STATE/munge"
newdir 0755 "$STATE/rest" -o "$REST_USER" -g "$REST_USER"

any_running() {
    local d
    for d in munged slurmctld slurmd slurmrestd; do
        if pid_alive "$STATE/run/$d.pid" "$d"; then return 0; fi
    done
    return 1
}

# --- slurm.conf (and gres.conf when there are NVIDIA GPUs) -----------------
if [ -f "$CONF" ] && any_running; then
    echo "slurm/up.sh: cluster in $STATE is running: keeping $CONF" >&2
else
    host=$(hostname -s)
    # this machine's CPUs and memory, as slurmd sees them
    node=$(slurmd -C | head -n 1)
    hw='^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)='
    node_hw=$(echo "$node" | tr ' ' '\n' | grep -E "$hw" | tr '\n' ' ')
    mem=$(echo "$node" | tr ' ' '\n' | sed -n 's/^RealMemory=//p')
    # a little below what slurmd sees: a node reporting less memory than
    # configured is drained ("Low RealMemory")
    mem=$(( ${mem:-1024} * 97 / 100 ))
    gres_types=""
    node_gres=""
    rm -f "$STATE/gres.conf"
    # the GPUs' device files, one gres.conf line each: Slurm 22.05's
    # gres/gpu drops a GPU without one ("Removing file-less GPU", and the
    # node, short of its Gres=, is set INVAL) and wants a character device
    gpu_files=()
    if [ "$FAKE_GPUS" -gt 0 ]; then
        # stand-ins: links to /dev/null.  Slurm schedules and allocates
        # them as GPUs (CUDA_VISIBLE_DEVICES, SLURM_GPUS_ON_NODE); no
        # cgroup restricts devices here, so nothing opens them
        rm -rf "$STATE/fake-gpu"
        install -d -m 0755 "$STATE/fake-gpu"
        for i in $(seq 0 $((FAKE_GPUS - 1))); do
            ln -s /dev/null "$STATE/fake-gpu/nvidia$i"
            gpu_files+=("$STATE/fake-gpu/nvidia$i")
        done
    else
        ngpu=${SLURM_GPUS:-}
        if [ -z "$ngpu" ]; then
            ngpu=0
            if command -v nvidia-smi >/dev/null 2>&1; then
                ngpu=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
            fi
        fi
        # the devices this machine (or container) has, in number order
        for f in $(find /dev -maxdepth 1 -name 'nvidia[0-9]*' \
                   -printf '%f\n' 2>/dev/null | grep -E '^nvidia[0-9]+$' |
                   sort -V); do
            [ "${#gpu_files[@]}" -lt "$ngpu" ] || break
            gpu_files+=("/dev/$f")
        done
        if [ "${#gpu_files[@]}" -lt "$ngpu" ]; then
            echo "slurm/up.sh: $ngpu GPUs but ${#gpu_files[@]} /dev/nvidiaN" \
                "device files: the node gets no GPU GRES" >&2
            gpu_files=()
        fi
    fi
    if [ "${#gpu_files[@]}" -gt 0 ]; then
        gres_types="GresTypes=gpu"
        node_gres="Gres=gpu:${#gpu_files[@]}"
        {
            echo "# written by slurm/up.sh: the GPUs of this node"
            for f in "${gpu_files[@]}"; do
                echo "NodeName=$host Name=gpu File=$f"
            done
        } > "$STATE/gres.conf"
        chmod 0644 "$STATE/gres.conf"
    fi
    cat > "$CONF.new" <<CONF
# written by slurm/up.sh: a private single-node cluster under $STATE
ClusterName=$CLUSTER
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$D_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCK
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
ReturnToService=2
SlurmctldTimeout=10
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
# finished jobs stay visible to GET /slurm/v0.0.38/job/{id} this long (s)
MinJobAge=3600
$gres_types
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host ${node_hw}RealMemory=$mem $node_gres State=UNKNOWN
PartitionName=gpu Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    mv "$CONF.new" "$CONF"
    chmod 0644 "$CONF"
fi
printf 'export SLURM_CONF=%q\n' "$CONF" > "$STATE/env"

# --- munged with its own key and socket -------------------------------------
if [ ! -s "$STATE/munge/munge.key" ]; then
    mungekey --create --keyfile="$STATE/munge/munge.key" 2>/dev/null ||
        dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 \
            status=none
fi
chmod 0400 "$STATE/munge/munge.key"
if ! pid_alive "$STATE/run/munged.pid" munged; then
    rm -f "$MUNGE_SOCK" "$MUNGE_SOCK.lock"
    # --force: run even where a directory above STATE_DIR is writable by
    # a group (munged refuses such paths otherwise)
    munged --force --socket="$MUNGE_SOCK" \
        --key-file="$STATE/munge/munge.key" \
        --pid-file="$STATE/run/munged.pid" \
        --log-file="$STATE/log/munged.log" \
        --seed-file="$STATE/munge/munged.seed" ||
        die "munged did not start: $(tail -n 5 "$STATE/log/munged.log")"
fi
wait_for 10 test -S "$MUNGE_SOCK" || die "no munge socket $MUNGE_SOCK"

# --- slurmctld, slurmd (they daemonize and write their pid files) -----------
if ! pid_alive "$STATE/run/slurmctld.pid" slurmctld; then
    slurmctld -f "$CONF" ||
        die "slurmctld did not start: $(tail -n 5 "$STATE/log/slurmctld.log")"
fi
wait_for 20 scontrol ping >/dev/null 2>&1 ||
    die "slurmctld does not answer: $(tail -n 5 "$STATE/log/slurmctld.log")"
if ! pid_alive "$STATE/run/slurmd.pid" slurmd; then
    slurmd -f "$CONF" ||
        die "slurmd did not start: $(tail -n 5 "$STATE/log/slurmd.log")"
fi

# --- slurmrestd as $REST_USER -------------------------------------------------
# Started as root, it drops to $REST_USER (-u/-g) before it binds its socket
# (hence STATE_DIR/rest, owned by that user); it refuses to serve as root.
# It does not daemonize: it runs in its own session, its pid in run/.
if ! pid_alive "$STATE/run/slurmrestd.pid" slurmrestd; then
    rm -f "$SOCK"
    # its working directory is the default one of jobs submitted without
    # current_working_directory: a directory the jobs' user can write
    cd "$STATE/rest"
    setsid slurmrestd -f "$CONF" -a rest_auth/local -s openapi/v0.0.38 \
        -u "$REST_USER" -g "$REST_USER" "unix:$SOCK" \
        </dev/null >>"$STATE/log/slurmrestd.log" 2>&1 &
    echo $! > "$STATE/run/slurmrestd.pid"
    cd /
fi
ln -sfn rest/slurmrestd.sock "$STATE/slurmrestd.sock"

# --- wait for the node to be idle and slurmrestd to answer ------------------
node_state() { sinfo -h -N -o %t 2>/dev/null | head -n 1; }
deadline=$((SECONDS + TIMEOUT))
while :; do
    st=$(node_state || true)
    case "$st" in
        idle|mix|alloc) break ;;
        drain*|drng|down*)
            # a node left down by an earlier run of this STATE_DIR
            scontrol update NodeName="$(hostname -s)" State=RESUME \
                >/dev/null 2>&1 || true ;;
    esac
    [ $SECONDS -lt $deadline ] || die "node not idle (state '$st'):" \
        "$(tail -n 5 "$STATE/log/slurmd.log")"
    sleep 0.5
done
rest_pid=$(tr -dc 0-9 < "$STATE/run/slurmrestd.pid")
while :; do
    # (just started, it may not have exec'd slurmrestd yet: any live pid)
    proc_alive "$rest_pid" ||
        die "slurmrestd exited: $(tail -n 5 "$STATE/log/slurmrestd.log")"
    if [ -S "$SOCK" ]; then
        # root reaches it anyway; $REST_USER (an nginx running as that
        # user) needs write permission on the socket
        chown "$REST_USER:$REST_USER" "$SOCK" 2>/dev/null || true
        chmod 0660 "$SOCK" 2>/dev/null || true
    fi
    if [ -S "$SOCK" ] && curl -sf --max-time 5 --unix-socket "$SOCK" \
            http://localhost/slurm/v0.0.38/ping >/dev/null 2>&1; then
        break
    fi
    [ $SECONDS -lt $deadline ] || die "slurmrestd does not answer:" \
        "$(tail -n 5 "$STATE/log/slurmrestd.log")"
    sleep 0.2
done
echo "$SOCK"
