#!/usr/bin/env bash
# A genuine single-node Slurm cluster on this machine, for trying and testing `epam-tui launch --slurm`.
#
#   sudo scripts/slurm_local.sh up     # configure munge + Slurm, start munged, slurmctld, slurmd; wait for idle
#   sudo scripts/slurm_local.sh down   # stop the three daemons this script started
#   scripts/slurm_local.sh status      # sinfo's view (exit 0 when the node is idle or busy)
#
# Installs nothing: it needs Debian's packages, installed once as root with
#   apt-get install -y --no-install-recommends slurm-wlm munge
# The cluster: node `localhost` (CPUs=2, or fewer when the machine has fewer), partition `debug`
# (override with SLURM_LOCAL_PARTITION), no slurmdbd: finished jobs are read with `sacct --completion`
# from the jobcomp/filetxt log. It writes /etc/slurm/slurm.conf and refuses to replace one it did not write.
# Idempotent: `up` on a running cluster only checks that the node is idle; `down` when nothing runs is a no-op.
set -euo pipefail

PARTITION=${SLURM_LOCAL_PARTITION:-debug}
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
MARK="# written by epam-tui scripts/slurm_local.sh"
STATE=/var/lib/slurm
LOGS=/var/log/slurm
MUNGE_RUN=/run/munge
MUNGE_KEY=/etc/munge/munge.key
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_PID=$MUNGE_RUN/munged.pid
WAIT_S=${SLURM_LOCAL_WAIT_S:-60}
CONF_CHANGED=0

die() { echo "slurm_local.sh: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 $1): it starts munged, slurmctld and slurmd"; }

need_packages() {
    local missing=()
    for bin in munged slurmctld slurmd sinfo sbatch sacct scontrol; do
        command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || missing+=("$bin")
    done
    [ ${#missing[@]} -eq 0 ] || die "${missing[*]} not found: install the packages with \`apt-get install -y --no-install-recommends slurm-wlm munge\`"
}

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

node_state() { sinfo -h -n localhost -o %T 2>/dev/null | head -n 1 || true; }

write_conf() {
    if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
        die "$CONF exists and was not written by this script: this machine already has a Slurm configuration; use that cluster (or move the file away)"
    fi
    local cpus
    cpus=$(nproc)
    [ "$cpus" -gt 2 ] && cpus=2
    mkdir -p "$CONF_DIR" "$STATE/slurmctld" "$STATE/slurmd" "$LOGS"
    cat > "$CONF.tmp" <<EOF
$MARK
ClusterName=epamlocal
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
# no slurmdbd: finished jobs are kept in a text file that \`sacct --completion\` reads
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOGS/jobcomp.log
JobAcctGatherType=jobacct_gather/none
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=$PARTITION Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
    if cmp -s "$CONF.tmp" "$CONF"; then rm -f "$CONF.tmp"; else mv "$CONF.tmp" "$CONF"; CONF_CHANGED=1; fi
}

start_munge() {
    if pid_alive "$MUNGE_PID"; then return; fi
    if [ ! -s "$MUNGE_KEY" ]; then
        mkdir -p /etc/munge
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile="$MUNGE_KEY"
        else
            dd if=/dev/urandom of="$MUNGE_KEY" bs=1 count=1024 status=none
        fi
    fi
    chown munge:munge /etc/munge "$MUNGE_KEY"
    chmod 700 /etc/munge
    chmod 400 "$MUNGE_KEY"
    mkdir -p "$MUNGE_RUN" /var/log/munge /var/lib/munge
    chown munge:munge "$MUNGE_RUN" /var/log/munge /var/lib/munge
    chmod 755 "$MUNGE_RUN"
    runuser -u munge -- /usr/sbin/munged --pid-file="$MUNGE_PID" || die "munged did not start: see /var/log/munge/munged.log"
    munge -n | unmunge >/dev/null || die "munge does not round-trip a credential: see /var/log/munge/munged.log"
}

up() {
    need_root up
    need_packages
    write_conf
    start_munge
    if pid_alive "$CTLD_PID"; then
        [ "$CONF_CHANGED" -eq 0 ] || scontrol reconfigure || die "scontrol reconfigure failed: see $LOGS/slurmctld.log"
    else
        /usr/sbin/slurmctld || die "slurmctld did not start: see $LOGS/slurmctld.log"
    fi
    pid_alive "$SLURMD_PID" || /usr/sbin/slurmd -N localhost || die "slurmd did not start: see $LOGS/slurmd.log"
    local state="" resumed=0
    for _ in $(seq 1 "$WAIT_S"); do
        state=$(node_state)
        case "$state" in
            idle|mixed|allocated|completing) echo "slurm_local.sh: up: partition $PARTITION, node localhost $state"; return 0 ;;
            down*|drain*|drained*)
                if [ "$resumed" -eq 0 ]; then scontrol update NodeName=localhost State=RESUME >/dev/null 2>&1 || true; resumed=1; fi ;;
        esac
        sleep 1
    done
    die "the node is not idle after ${WAIT_S} s (sinfo says '${state:-nothing}'): see $LOGS/slurmctld.log and $LOGS/slurmd.log"
}

stop_pid() {  # stop_pid NAME PIDFILE: SIGTERM the daemon started from PIDFILE, wait up to 15 s
    local pid
    pid_alive "$2" || { rm -f "$2"; return 0; }
    pid=$(cat "$2")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || { rm -f "$2"; return 0; }; sleep 0.5; done
    die "$1 (pid $pid) did not stop in 15 s"
}

down() {
    need_root down
    stop_pid slurmd "$SLURMD_PID"
    stop_pid slurmctld "$CTLD_PID"
    stop_pid munged "$MUNGE_PID"
    echo "slurm_local.sh: down"
}

status() {
    command -v sinfo >/dev/null 2>&1 || die "sinfo not found: Slurm is not installed"
    local state
    state=$(node_state)
    echo "node localhost: ${state:-unreachable (slurmctld not running?)}"
    case "$state" in idle|mixed|allocated|completing) return 0 ;; *) return 1 ;; esac
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) die "usage: $0 up|down|status" ;;
esac
