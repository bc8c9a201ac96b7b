"""Run a sweep's shards on a Dask distributed cluster, then merge them.

    python -m exoskin.dask_sweep SPEC --out DIR --scheduler ADDR [--retries N] [--threads N]

(``exoskin sweep SPEC --engine dask --scheduler ADDR`` runs this.) One task per shard not yet
done in DIR: each calls the native ``sweep_shard(spec, i, DIR, threads)``, which computes
shard ``i`` of the spec exactly as a local run does and writes ``DIR/shard-*.parquet``, so
the merged rows equal the local run's bit for bit. A task whose worker is lost is run again
elsewhere by the scheduler; a task that raises is retried ``--retries`` times. When every
shard is done the shards are merged into ``DIR/sweep.parquet`` (or ``--merge-out``).

The workers need this package installed and DIR and SPEC (and the spec's base scenario) at
the same paths: one machine, or a shared file system.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Dict, List, Optional

from . import _native
from ._native import ExoskinError

__all__ = ["run", "run_shard", "main"]


def run_shard(spec: str, shard: int, out_dir: str, threads: int) -> str:
    """Compute shard ``shard`` of the sweep ``spec`` into ``out_dir`` (a task on a worker);
    returns the shard's file. Done shards of the same spec are not computed again."""
    return _native.sweep_shard(spec, shard, out_dir, threads)


def run(
    spec: str,
    out_dir: str,
    scheduler: Any,
    retries: int = 2,
    threads: int = 1,
    merge_out: Optional[str] = None,
    progress: bool = False,
) -> Dict[str, Any]:
    """Run the sweep ``spec`` on the cluster at ``scheduler`` (an address such as
    ``tcp://127.0.0.1:8786``, or a ``distributed.Client``) into ``out_dir`` and merge it.

    Returns ``{"path", "rows", "failed", "shards", "ran", "skipped", "elapsed_s"}``: the
    merged file, its rows, rows whose run failed, the spec's shard count, the shards run now
    and those found done.
    """
    from distributed import Client, as_completed

    started = time.perf_counter()
    spec = os.path.abspath(spec)
    out_dir = os.path.abspath(out_dir)
    plan = _native.sweep_plan(spec, out_dir)
    pending: List[int] = list(plan["pending"])
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        if pending:
            futures = client.map(
                run_shard,
                [spec] * len(pending),
                pending,
                [out_dir] * len(pending),
                [threads] * len(pending),
                key=[f"exoskin-shard-{plan['hash'][:16]}-{i}" for i in pending],
                retries=retries,
                pure=False,
            )
            done = 0
            for future in as_completed(futures):
                # Re-raises a task's error once its retries are spent.
                future.result()
                done += 1
                if progress:
                    print(f"\rshards {done}/{len(pending)}", end="", file=sys.stderr, flush=True)
            if progress:
                print(file=sys.stderr)
    finally:
        if client is not scheduler:
            client.close()
    merged = _native.sweep_merge(out_dir, merge_out)
    merged.update(
        shards=plan["shards"],
        ran=pending,
        skipped=[i for i in range(plan["shards"]) if i not in set(pending)],
        elapsed_s=time.perf_counter() - started,
    )
    return merged


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m exoskin.dask_sweep",
        description="Run an exoskin sweep's shards on a Dask distributed cluster and merge them.",
    )
    p.add_argument("spec", help="sweep spec (TOML)")
    p.add_argument("--out", required=True, help="output directory (shards, manifest, merge)")
    p.add_argument("--scheduler", required=True, help="scheduler address, e.g. tcp://host:8786")
    p.add_argument("--retries", type=int, default=2,
                   help="times a shard whose task raised is run again (default 2)")
    p.add_argument("--threads", type=int, default=1,
                   help="threads per shard task (default 1; give workers --nthreads instead)")
    p.add_argument("--merge-out", default=None, help="merged file (default DIR/sweep.parquet)")
    a = p.parse_args(argv)
    if a.retries < 0:
        p.error(f"--retries {a.retries}: give 0 or more")
    if a.threads < 1:
        p.error(f"--threads {a.threads}: give 1 or more")
    try:
        r = run(a.spec, a.out, a.scheduler, retries=a.retries, threads=a.threads,
                merge_out=a.merge_out, progress=sys.stderr.isatty())
    except ExoskinError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: the Dask cluster at {a.scheduler}: {e}", file=sys.stderr)
        return 1
    print(f"ran {len(r['ran'])} shard(s) on the cluster, {len(r['skipped'])} already done; "
          f"merged {r['rows']} rows ({r['failed']} failed) into {r['path']} "
          f"in {r['elapsed_s']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
