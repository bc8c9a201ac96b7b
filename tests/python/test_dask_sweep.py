"""The Dask engine of `exoskin sweep` (exoskin.dask_sweep) on a real distributed cluster:
a scheduler and two workers on 127.0.0.1, started here as subprocesses (`dask scheduler`,
`dask worker`) from .venv-stats. Checks that a 64-shard sweep gives the same Parquet rows as
the local `exoskin sweep` run, bit for bit, and that it completes when a worker is killed
mid-run.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

import exoskin

from exoskin import dask_sweep  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
CLI = os.path.join(TARGET, "release", "exoskin")
BIN = os.path.dirname(sys.executable)
SHARDS = 64


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_spec(path, base, values_a, values_b):
    """A sweep over particles_per_ml x age_years of a bundled scenario."""
    a = ", ".join(repr(float(x)) for x in values_a)
    b = ", ".join(repr(float(x)) for x in values_b)
    # At most one shard per row: a sweep refuses more shards than rows.
    shards = min(SHARDS, len(values_a) * len(values_b))
    path.write_text(f"""base = "{os.path.join(ROOT, 'scenarios', base)}"
shards = {shards}
outputs = ["transport.reached_dermis_fraction", "transport.mass_balance.recovery"]
[[parameters]]
name = "product.particles_per_ml"
values = [{a}]
[[parameters]]
name = "skin.age_years"
values = [{b}]
""")
    return str(path)


def local_rows(spec, out):
    subprocess.run([CLI, "sweep", spec, "--out", out], check=True, capture_output=True)
    subprocess.run([CLI, "sweep", "merge", out], check=True, capture_output=True)
    return pq.read_table(os.path.join(out, "sweep.parquet"))


def same_rows(a, b):
    """Every column equal, value for value (floats compared by their bits)."""
    assert a.column_names == b.column_names
    assert a.num_rows == b.num_rows
    for name in a.column_names:
        x, y = a.column(name).combine_chunks(), b.column(name).combine_chunks()
        assert x.type == y.type, name
        if x.type == "double":
            # Bit patterns, so -0.0 vs 0.0 or two NaNs are told apart or matched exactly.
            xb = x.to_numpy(zero_copy_only=False).view("uint64")
            yb = y.to_numpy(zero_copy_only=False).view("uint64")
            assert (xb == yb).all(), name
        else:
            assert x.equals(y), name


class Cluster:
    """A scheduler and two single-threaded workers (no nanny: a killed worker stays dead)."""

    def __init__(self, tmp):
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.logs = open(tmp / "cluster.log", "w")
        self.scheduler = self._start("scheduler", "--host", "127.0.0.1", "--port",
                                     str(self.port), "--no-dashboard")
        self.workers = [
            self._start("worker", self.address, "--nthreads", "1", "--no-nanny",
                        "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{i}")
            for i in range(2)
        ]

    def _start(self, *args):
        return subprocess.Popen([os.path.join(BIN, "dask"), *args], cwd=ROOT,
                                stdout=self.logs, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def client(self):
        from distributed import Client

        c = Client(self.address, timeout="60s")
        c.wait_for_workers(2, timeout=120)
        return c

    def close(self):
        for p in [*self.workers, self.scheduler]:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in [*self.workers, self.scheduler]:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.logs.close()


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


def test_dask_sweep_equals_local_run(tmp_path, cluster):
    # 16 x 8 = 128 rows of a 10 ms scenario in 64 shards.
    spec = write_spec(tmp_path / "sweep.toml", "in_vivo_intact_forearm.toml",
                      [1e9 * (1 + k) for k in range(16)], [20 + 5 * k for k in range(8)])
    local = local_rows(spec, str(tmp_path / "local"))
    assert local.num_rows == 128
    client = cluster.client()
    try:
        r = dask_sweep.run(spec, str(tmp_path / "dask"), client, retries=2)
    finally:
        client.close()
    assert r["rows"] == 128 and r["failed"] == 0
    assert sorted(r["ran"]) == list(range(SHARDS)) and r["skipped"] == []
    same_rows(pq.read_table(r["path"]), local)
    # A second run finds every shard done and only merges.
    again = dask_sweep.main([spec, "--out", str(tmp_path / "dask"), "--scheduler",
                             cluster.address])
    assert again == 0


def test_killed_worker_still_completes(tmp_path, cluster):
    # 8 x 8 = 64 rows, one per shard, of a 12-week daily scenario (about 0.3 s each), so the
    # run lasts long enough to lose a worker in the middle of it.
    spec = write_spec(tmp_path / "sweep.toml", "in_vivo_daily_12_weeks.toml",
                      [1e9 * (1 + 2 * k) for k in range(8)], [20 + 7 * k for k in range(8)])
    out = tmp_path / "dask"
    client = cluster.client()
    victim = cluster.workers[1]
    killed_at = []

    def kill_when_started():
        # Kill the second worker once some shards are written and others are not.
        deadline = time.time() + 300
        while time.time() < deadline:
            done = len(list(out.glob("shard-*.parquet"))) if out.exists() else 0
            if done >= 4:
                os.killpg(victim.pid, signal.SIGKILL)
                killed_at.append(done)
                return
            time.sleep(0.05)

    import threading

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    try:
        r = dask_sweep.run(spec, str(out), client, retries=2)
    finally:
        killer.join()
        client.close()
    assert killed_at and killed_at[0] < SHARDS, killed_at
    assert victim.wait(timeout=10) == -signal.SIGKILL
    assert r["rows"] == 64 and r["failed"] == 0
    same_rows(pq.read_table(r["path"]), local_rows(spec, str(tmp_path / "local")))


def test_cli_engine_dask(tmp_path, cluster):
    spec = write_spec(tmp_path / "sweep.toml", "in_vivo_intact_forearm.toml",
                      [1e9, 2e9, 4e9, 8e9], [25.0, 35.0, 45.0, 55.0])
    env = dict(os.environ, EXOSKIN_PYTHON=sys.executable)
    p = subprocess.run([CLI, "sweep", spec, "--out", str(tmp_path / "dask"), "--engine", "dask",
                        "--scheduler", cluster.address], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    same_rows(pq.read_table(tmp_path / "dask" / "sweep.parquet"),
              local_rows(spec, str(tmp_path / "local")))


def test_bad_spec_and_shard_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "nowhere.toml"\nshards = 2\noutputs = ["transport.steps"]\n'
                   '[[parameters]]\nname = "skin.age_years"\nvalues = [30.0]\n')
    with pytest.raises(exoskin.ExoskinError) as e:
        exoskin._native.sweep_shard(str(bad), 0, str(tmp_path / "o"), 1)
    assert e.value.field == "base"
    spec = write_spec(tmp_path / "sweep.toml", "in_vivo_intact_forearm.toml",
                      [1e9 * (1 + k) for k in range(8)], [20 + 5 * k for k in range(8)])
    with pytest.raises(exoskin.ExoskinError) as e:
        exoskin._native.sweep_shard(spec, SHARDS, str(tmp_path / "o"), 1)
    assert f"shard {SHARDS} does not exist" in str(e.value)


def test_cli_sensitivity_and_power_on_dask(tmp_path, cluster):
    """The analyses on the shard contract: their shards run on the cluster and the
    documents equal the in-process ones (power: `elapsed_s` aside)."""
    import json

    env = dict(os.environ, EXOSKIN_PYTHON=sys.executable)
    sens = [CLI, "sensitivity", os.path.join(ROOT, "scenarios", "in_vivo_microneedling.toml"),
            "--output", "erythema_pct@0.5", "--method", "morris", "--trajectories", "2",
            "--parameters", "response.inflammation_max_excess,transport.co2_depth_um", "--json"]
    want = subprocess.run(sens, check=True, capture_output=True, text=True).stdout
    p = subprocess.run(sens + ["--shards", "3", "--out", str(tmp_path / "sens"), "--engine",
                               "dask", "--scheduler", cluster.address],
                       env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout == want
    trial = os.path.join(ROOT, "crates", "exoskin-trials", "tests", "data", "mn_trial.toml")
    power = [CLI, "power", trial, "--replicates", "100", "--max-participants", "16",
             "--assurance-draws", "2", "--json"]
    want = json.loads(subprocess.run(power, check=True, capture_output=True, text=True).stdout)
    p = subprocess.run(power + ["--shards", "2", "--out", str(tmp_path / "power"), "--engine",
                                "dask", "--scheduler", cluster.address],
                       env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    for doc in (want, got):
        doc.pop("elapsed_s")
    assert got == want
