#!/usr/bin/env bash
# Runs a sweep as a real Slurm job array on a single-node Slurm (Debian's slurm-wlm with
# munge) started here, then checks the merged Parquet equals the local run's, byte for byte.
# Needs root (the daemons run as root), slurm-wlm and munge (scripts/test.sh installs them)
# and the release binary (target/release/exoskin, built by the tests).
# Usage: bash scripts/check_slurm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
exe="${CARGO_TARGET_DIR:-$root/target}/release/exoskin"
[ -x "$exe" ] || { echo "check_slurm: build first (cargo build --release -p exoskin)"; exit 1; }
for t in slurmctld slurmd sbatch munged; do
  command -v "$t" >/dev/null || { echo "check_slurm: $t is missing (apt-get install slurm-wlm munge)"; exit 1; }
done

tmp=$(mktemp -d /tmp/exoskin-slurm.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# munge: its own key and socket in the temporary directory, run as the munge user.
# The key's directory is private to munge; the socket's must be searchable by everyone.
mkdir -p "$tmp/munge" "$tmp/msock"
dd if=/dev/urandom bs=1 count=1024 of="$tmp/munge/munge.key" 2>/dev/null
chown -R munge:munge "$tmp/munge" "$tmp/msock"; chmod 700 "$tmp/munge"; chmod 755 "$tmp/msock"
chmod 400 "$tmp/munge/munge.key"
sock="$tmp/msock/munge.socket"
runuser -u munge -- munged -F --key-file="$tmp/munge/munge.key" --socket="$sock" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/seed" >"$tmp/munged.out" 2>&1 &
pids+=($!)

node=$(hostname -s)
mkdir -p "$tmp/state" "$tmp/spool"
cat >"$tmp/slurm.conf" <<CONF
ClusterName=exoskintest
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
NodeName=$node CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$tmp/slurm.conf"
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
slurmctld -D -f "$SLURM_CONF" >"$tmp/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$node" >"$tmp/slurmd.out" 2>&1 &
pids+=($!)
up=0
for _ in $(seq 60); do
  if sinfo -h -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; then up=1; break; fi
  sleep 1
done
if [ "$up" != 1 ]; then
  echo "check_slurm: the single-node Slurm did not come up; logs:"
  tail -n 20 "$tmp"/*.log "$tmp/munge/munged.log" 2>/dev/null || true
  exit 1
fi

# The README's example spec, 8 rows in 4 shards.
cat >"$tmp/sweep.toml" <<SPEC
base = "$root/scenarios/in_vivo_microneedling.toml"
shards = 4
outputs = ["transport.reached_dermis_fraction", "outcomes.collagen_pct@2"]
[[parameters]]
name = "product.particles_per_ml"
values = [1.0e9, 3.0e9, 1.0e10, 3.0e10]
[[parameters]]
name = "skin.age_years"
values = [30.0, 60.0]
SPEC
"$exe" sweep "$tmp/sweep.toml" --out "$tmp/slurm" --engine slurm
jobid=$(sbatch --parsable "$tmp/slurm/sweep.sbatch")
mergeid=$(sbatch --parsable --dependency=afterok:"$jobid" "$tmp/slurm/merge.sbatch")
echo "check_slurm: array job $jobid, merge job $mergeid"
for _ in $(seq 300); do
  [ -z "$(squeue -h -j "$jobid,$mergeid" 2>/dev/null)" ] && break
  sleep 1
done
if [ ! -f "$tmp/slurm/sweep.parquet" ]; then
  echo "check_slurm: no merged file after the jobs; their logs:"
  tail -n 20 "$tmp"/slurm/slurm-*.out "$tmp/slurmctld.log" "$tmp/slurmd.log" 2>/dev/null || true
  exit 1
fi
tasks=$(ls "$tmp"/slurm/slurm-"$jobid"_*.out | wc -l)
"$exe" sweep "$tmp/sweep.toml" --out "$tmp/local" --threads 2 2>/dev/null
"$exe" sweep merge "$tmp/local" 2>/dev/null
for i in 0 1 2 3; do
  cmp "$tmp/slurm/shard-0000$i.parquet" "$tmp/local/shard-0000$i.parquet"
done
cmp "$tmp/slurm/sweep.parquet" "$tmp/local/sweep.parquet"
echo "check_slurm: ok: $tasks array tasks ran the 4 shards, the merge job joined them; shards and merged file equal the local run's byte for byte"

# A sensitivity analysis on the same contract: a Morris design as a job array whose merge
# job ends with the analysis; its indices must equal the in-process run's.
sens=(sensitivity "$root/scenarios/in_vivo_microneedling.toml" --output erythema_pct@0.5
  --method morris --trajectories 2
  --parameters response.inflammation_max_excess,transport.co2_depth_um --json)
"$exe" "${sens[@]}" --shards 2 --out "$tmp/sens" --engine slurm >/dev/null
jobid=$(sbatch --parsable "$tmp/sens/sweep.sbatch")
mergeid=$(sbatch --parsable --dependency=afterok:"$jobid" "$tmp/sens/merge.sbatch")
for _ in $(seq 300); do
  [ -z "$(squeue -h -j "$jobid,$mergeid" 2>/dev/null)" ] && break
  sleep 1
done
if [ ! -s "$tmp/sens/sensitivity.json" ]; then
  echo "check_slurm: the sensitivity merge job wrote no indices; its logs:"
  tail -n 20 "$tmp"/sens/slurm-*.out 2>/dev/null || true
  exit 1
fi
"$exe" "${sens[@]}" >"$tmp/sens-local.json"
cmp "$tmp/sens/sensitivity.json" "$tmp/sens-local.json"
echo "check_slurm: ok: the sharded Morris sensitivity's Slurm merge job wrote the in-process indices byte for byte"
