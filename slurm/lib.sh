# shellcheck shell=bash
# Helpers shared by slurm/up.sh and slurm/down.sh.

# pid_alive PIDFILE NAME: the pid in PIDFILE is a live process called NAME
# (a stale pid file whose pid now belongs to something else does not count)
pid_alive() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(tr -dc 0-9 < "$1")
    [ -n "$pid" ] && proc_alive "$pid" && [ "$(proc_comm "$pid")" = "$2" ]
}

# proc_alive PID: PID runs (a zombie, exited but not yet reaped, does not)
proc_alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ] && [ "${stat%% *}" != X ]
}

proc_comm() { cat "/proc/$1/comm" 2>/dev/null; }

# wait_for SECONDS COMMAND...: runs COMMAND until it succeeds or time is up
wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}
