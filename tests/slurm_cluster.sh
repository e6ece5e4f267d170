#!/bin/bash
# A private Slurm cluster on this machine, for tests/test_slurm.sh (docs/slurm.md):
#   slurm_cluster.sh start ROOT NNODES    munged + slurmctld + NNODES slurmd, all up and idle
#   slurm_cluster.sh stop ROOT            cancels the jobs left, ends the daemons, then
#                                         any process still holding a file under ROOT
# Everything — config, munge key and socket, state, spool, pid files, logs — lives under ROOT;
# nothing under /etc is read or written and no systemd is needed. Clients find the cluster
# with SLURM_CONF=ROOT/etc/slurm.conf. NNODES 1 is one node "localhost"; more are node1..N,
# one slurmd each on 127.0.0.1 with a port of its own. The TCP ports are picked free at start.
# start exits 0 when every node is idle, 77 when this machine cannot run slurmd (no cgroup
# filesystem: slurmd 22.05 needs one even with proctrack/linuxproc and task/none), 1 else.
# Runs as root (SlurmUser=root). Not here: accounting (slurmdbd), real cgroup confinement.
set -uo pipefail

fail() {
    echo "slurm_cluster: $*" >&2
    exit 1
}
skip() {
    echo "SKIP: $*" >&2
    exit 77
}

# Ports in use on this machine (any state), from /proc/net/tcp{,6}.
used_ports() {
    local sl addr rest
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | while read -r sl addr rest; do
        [[ $addr == *:* ]] && echo $((16#${addr##*:}))
    done
}

# A base port P such that P .. P+COUNT are free.
free_ports() {
    local count=$1 used base i ok
    used=" $(used_ports | tr '\n' ' ') "
    for _ in $(seq 1 100); do
        base=$((20000 + RANDOM % 12000)) # below the kernel's ephemeral ports (32768-)
        ok=1
        for ((i = 0; i <= count; i++)); do
            [[ $used == *" $((base + i)) "* ]] && ok=0
        done
        [ $ok = 1 ] && { echo $base; return 0; }
    done
    return 1
}

# Is a cgroup filesystem mounted at /sys/fs/cgroup (v1, hybrid or v2)?
have_cgroup_fs() {
    awk '$2 ~ "^/sys/fs/cgroup(/|$)" && ($3 == "cgroup" || $3 == "cgroup2") { found = 1 }
         END { exit !found }' /proc/mounts
}

start() {
    local root=$1 nnodes=$2
    have_cgroup_fs ||
        skip "no cgroup filesystem at /sys/fs/cgroup (see /proc/mounts): slurmd 22.05 cannot start without one, so no Slurm cluster can run on this machine"
    for cmd in munged mungekey munge slurmctld slurmd sbatch scontrol sinfo; do
        command -v $cmd >/dev/null ||
            fail "$cmd: not found; expected the Slurm and munge packages (scripts/setup.sh)"
    done
    [ "$(id -u)" = 0 ] || fail "uid $(id -u): the private cluster runs its daemons as root; expected root"
    local cpus mem base nodes="" nodelines="" i
    cpus=$(nproc)
    # RealMemory above what slurmd finds would leave the node INVALID
    mem=$(($(awk '/MemTotal/ { print $2 }' /proc/meminfo) / 1024 - 512))
    base=$(free_ports "$nnodes") || fail "no free TCP ports found"
    mkdir -p "$root"/{etc,munge,run,state,log} || fail "$root: cannot create"
    chmod 755 "$root" # munged wants its socket's folders searchable by all
    chmod 700 "$root/munge"
    mungekey --create --keyfile="$root/munge/munge.key" || fail "mungekey failed"
    munged --socket="$root/run/munge.sock" --key-file="$root/munge/munge.key" \
        --pid-file="$root/run/munged.pid" --log-file="$root/log/munged.log" \
        --seed-file="$root/munge/munged.seed" || fail "munged did not start ($root/log/munged.log)"
    munge -n -S "$root/run/munge.sock" | unmunge -S "$root/run/munge.sock" >/dev/null ||
        fail "munge credentials do not round-trip through $root/run/munge.sock"
    if [ "$nnodes" -eq 1 ]; then
        nodes=localhost
        nodelines="NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN"
    else
        for i in $(seq 1 "$nnodes"); do
            nodes+=" node$i"
            nodelines+="NodeName=node$i NodeAddr=127.0.0.1 Port=$((base + i)) CPUs=$cpus"
            nodelines+=" RealMemory=$((mem / nnodes)) State=UNKNOWN"$'\n'
        done
    fi
    # TmpFS=%n: the PMIx plugin makes its directories there, which collide when several
    # slurmd share a host. No DependencyParameters=kill_invalid_depend: slurm/submit-all.sh
    # asks for it per job (--kill-on-invalid-dep), as it must on clusters without it.
    # MinJobAge keeps ended jobs visible to scontrol (no accounting database here).
    # FirstJobId from the ports: two clusters on one host at once (ctest -j) do not give
    # the same job ids, which would name the same PMIx namespaces and MPI session files.
    # Quicker than the defaults, for a test of seconds: batch_sched_delay=0 starts a job
    # whose dependency is met without waiting 3 s; cred_expire=10 lets a requeued job start
    # again after 11 s rather than 121 s, and sched_interval=1 and bf_interval=1 start it
    # then rather than at the next scheduling pass (60 s, 30 s).
    cat >"$root/etc/slurm.conf" <<CONF
ClusterName=t2test
SlurmctldHost=localhost
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$root/run/munge.sock,cred_expire=10
StateSaveLocation=$root/state
SlurmdSpoolDir=$root/spool/%n
TmpFS=$root/tmp/%n
SlurmctldPidFile=$root/run/slurmctld.pid
SlurmdPidFile=$root/run/slurmd-%n.pid
SlurmctldLogFile=$root/log/slurmctld.log
SlurmdLogFile=$root/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_interval=1,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=600
FirstJobId=$(((base - 20000) * 1000 + 1))
KillWait=5
Waittime=0
$nodelines
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
    # A pure cgroup-v2 host has no systemd hierarchy of the v1 kind; tell slurmd (not tried
    # here: this was written on a hybrid host; a slurmd that still fails is reported below).
    if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
        printf 'CgroupPlugin=cgroup/v2\nIgnoreSystemd=yes\n' >"$root/etc/cgroup.conf"
    fi
    export SLURM_CONF=$root/etc/slurm.conf
    slurmctld -f "$SLURM_CONF" -c || fail "slurmctld did not start ($root/log/slurmctld.log)"
    for n in $nodes; do
        mkdir -p "$root/spool/$n" "$root/tmp/$n"
        slurmd -f "$SLURM_CONF" -N "$n" || true # its log says why; checked below
    done
    local notidle total
    for _ in $(seq 1 60); do
        total=$(sinfo -h -N -o '%N' 2>/dev/null | wc -l)
        notidle=$(sinfo -h -N -o '%N %t' 2>/dev/null | awk '$2 != "idle"' | wc -l)
        [ "$total" -ge "$nnodes" ] && [ "$notidle" -eq 0 ] && break
        grep -q -E 'fatal|initialization failed' "$root"/log/slurmd-*.log 2>/dev/null && break
        sleep 0.5
    done
    if [ "$total" -lt "$nnodes" ] || [ "$notidle" -ne 0 ]; then
        sinfo -N -l >&2
        local why
        why=$(grep -h -i 'cgroup' "$root"/log/slurmd-*.log 2>/dev/null | grep -i 'error\|fatal' |
            sed 's/^\[[^]]*\] //' | sort -u | head -n 3)
        [ -z "$why" ] ||
            skip "slurmd cannot use this machine's cgroup filesystem: $(echo $why)"
        tail -n 20 "$root"/log/*.log >&2
        fail "the nodes did not become idle (logs above)"
    fi
    echo "slurm_cluster: $nnodes node(s) idle; SLURM_CONF=$SLURM_CONF, ports $base-$((base + nnodes))"
}

# Is PID running (not gone, not a zombie that nobody reaps)?
running() {
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$state" ] && [ "$state" != Z ]
}

# Is PID a process of ROOT's cluster: a job's process (SLURM_JOB_ID and ROOT's SLURM_CONF in
# its environment), or one that holds a file under ROOT (a daemon, a step daemon)?
of_cluster() {
    local pid=$1 root=$2 env fd
    env=$(cat "/proc/$pid/environ" 2>/dev/null | tr '\0' '\n')
    if grep -q '^SLURM_JOB_ID=' <<<"$env" &&
        grep -q -x -F "SLURM_CONF=$root/etc/slurm.conf" <<<"$env"; then
        return 0
    fi
    for fd in "/proc/$pid"/fd/*; do
        [[ $(readlink "$fd" 2>/dev/null) == "$root/"* ]] && return 0
    done
    return 1
}

stop() {
    local root=$1 f pid pids=() ids p
    export SLURM_CONF=$root/etc/slurm.conf
    # Jobs first, so that no job step outlives the daemons: cancel what is left, wait for it.
    if [ -f "$root/run/slurmctld.pid" ] && running "$(cat "$root/run/slurmctld.pid")"; then
        ids=$(timeout 5 squeue -h -o %A 2>/dev/null)
        if [ -n "$ids" ]; then
            echo "slurm_cluster: cancelling jobs" $ids >&2
            timeout 5 scancel $ids
            for _ in $(seq 1 40); do
                [ -z "$(timeout 5 squeue -h -o %A 2>/dev/null)" ] && break
                sleep 0.25
            done
        fi
    fi
    # The daemons start wrote pid files for: their command lines name ROOT's files.
    for f in "$root"/run/slurmctld.pid "$root"/run/slurmd-*.pid "$root"/run/munged.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -F "$root/" && pids+=("$pid")
    done
    if [ ${#pids[@]} -gt 0 ]; then
        kill -TERM "${pids[@]}" 2>/dev/null
        for _ in $(seq 1 40); do
            alive=0
            for pid in "${pids[@]}"; do running "$pid" && alive=1; done
            [ $alive = 0 ] && break
            sleep 0.25
        done
    fi
    # What is left was started by this cluster: kill it.
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [ "$pid" = $$ ] || [ "$pid" = "$PPID" ] || ! running "$pid" && continue
        of_cluster "$pid" "$root" || continue
        echo "slurm_cluster: killing $pid ($(tr '\0' ' ' <"$p/cmdline" | cut -c1-60))" >&2
        kill -KILL "$pid" 2>/dev/null
    done
    return 0
}

case ${1:-} in
start) [ $# -eq 3 ] || fail "usage: slurm_cluster.sh start ROOT NNODES"; start "$2" "$3" ;;
stop) [ $# -eq 2 ] || fail "usage: slurm_cluster.sh stop ROOT"; stop "$2" ;;
*) fail "usage: slurm_cluster.sh start ROOT NNODES | stop ROOT" ;;
esac
