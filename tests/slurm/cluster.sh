#!/usr/bin/env bash
# A real one-node SLURM cluster for tests (munge, slurmctld, slurmd from Debian's packages),
# with every file under one folder. Needs root (the daemons run as root here).
#   cluster.sh start DIR    writes DIR/slurm.conf, starts the daemons, waits for an idle node;
#                           clients then need SLURM_CONF=DIR/slurm.conf
#   cluster.sh stop DIR     stops the daemons (by the pids in their own pid files)
set -euo pipefail
cmd="$1" dir="$(realpath -m "$2")"

stop_pidfile() {
  local f="$1" pid name
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  name=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  case "$name" in munged|slurmctld|slurmd) kill "$pid" 2>/dev/null || true ;; esac
  for _ in $(seq 50); do
    # gone, or a zombie waiting to be reaped: stopped either way
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo gone)
    [ "$state" = gone ] || [ "$state" = Z ] && break
    sleep 0.1
  done
  rm -f "$f"
}

if [ "$cmd" = stop ]; then
  stop_pidfile "$dir/slurmd.pid"
  stop_pidfile "$dir/slurmctld.pid"
  stop_pidfile "$dir/munged.pid"
  exit 0
fi
[ "$cmd" = start ] || { echo "usage: cluster.sh start|stop DIR" >&2; exit 2; }
for exe in munged mungekey slurmctld slurmd scontrol sinfo; do
  command -v "$exe" > /dev/null || { echo "cluster.sh: $exe not found (apt-get install slurm-wlm munge)" >&2; exit 1; }
done
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 0755 "$dir" "$dir/munge"
mungekey --create --keyfile="$dir/munge/munge.key" --force > /dev/null
chmod 0400 "$dir/munge/munge.key"
munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" --pid-file="$dir/munged.pid" \
       --log-file="$dir/munged.log" --seed-file="$dir/munge/munge.seed"

host=$(hostname)
node=$(slurmd -C | head -1)
cat > "$dir/slurm.conf" <<EOF
ClusterName=alphanet-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
MailProg=/bin/true
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=$(echo "$node" | sed 's/NodeName=\([^ ]*\).*/\1/') Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$dir/slurm.conf"
slurmctld
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.1; done
scontrol ping | grep -q UP || { echo "cluster.sh: slurmctld did not come up (see $dir/slurmctld.log)" >&2; exit 1; }
slurmd
for _ in $(seq 100); do sinfo -h -o %t 2>/dev/null | grep -q idle && break; sleep 0.1; done
sinfo -h -o %t | grep -q idle || { echo "cluster.sh: the node is not idle (see $dir/slurmd.log)" >&2; exit 1; }
echo "cluster.sh: SLURM up (SLURM_CONF=$dir/slurm.conf)"
