"""Engine throughput of the work tree ("v2") against a committed version ("v1"), interleaved.

v1 is a git commit of this repository (default ``e4d1d48``), checked out for the run with
``git worktree add --detach`` into a temporary folder and removed at the end; v2 is the work
tree this file sits in, uncommitted changes included. Neither tree is modified.

Each measurement is a fresh child process of this interpreter with ``PYTHONPATH`` and the working
directory set to one tree, so ``import society`` resolves there (the child checks
``society.__file__``). It builds the shipped ``baseline`` scenario with ``population.size=N``,
``days=365``, ``record.checkpoint_every_days=0`` and ``outcomes.stop_on_catastrophe=false``,
then times ``SocietyModel(scenario).run()`` alone (imports and construction excluded):
agent-days/s = N x 365 / wall seconds. For each size the runs alternate v1, v2, v1, v2, ... so
both versions see the same load on a shared machine; the table gives the median agent-days/s of
each version, the ratio of the medians, and the ratio of every v1/v2 pair.

Memory per instance (v2): a child builds the model at 100,000 instances and sums the ``nbytes``
of the population's arrays and the network's arrays (edge list plus its CSR views, each buffer
counted once), divided by N; the child's peak-RSS increase while building is shown alongside.

    .venv/bin/python benchmarks/engine_v1_vs_v2.py                     # 10k x3, 100k x2 pairs
    .venv/bin/python benchmarks/engine_v1_vs_v2.py --sizes 10000 --repeats 5

Targets: v2 keeps >= 90% of v1's agent-days/s at each size; <= 2,048 bytes per instance.
PASS/FAIL is information only: the exit code is 0 unless a run crashed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

V2_TREE = Path(__file__).resolve().parent.parent
V1_COMMIT = "e4d1d48"
DAYS = 365
THROUGHPUT_TARGET = 0.90  # v2 agent-days/s over v1's
BYTES_TARGET = 2048  # per instance
MEMORY_SIZE = 100_000

# Both children are given the tree as argv[1] and refuse to measure another tree's society.
_IMPORT = r"""
import json, resource, sys, time
from pathlib import Path
tree = Path(sys.argv[1]).resolve()
import society
import society.model
where = Path(society.__file__).resolve()
if not where.is_relative_to(tree):
    sys.exit(f"society imported from {where}, not from {tree}")
"""

THROUGHPUT_CHILD = (
    _IMPORT
    + r"""
n, days = int(sys.argv[2]), int(sys.argv[3])
scenario = society.load_scenario("baseline", overrides={
    "population.size": n, "days": days,
    "record.checkpoint_every_days": 0, "outcomes.stop_on_catastrophe": False})
model = society.model.SocietyModel(scenario)
t0 = time.perf_counter(); c0 = time.process_time()
model.run()
wall = time.perf_counter() - t0; cpu = time.process_time() - c0
print(json.dumps({"n": n, "days": days, "wall": wall, "cpu": cpu,
                  "simulated_days": float(model.env.now), "society": str(where),
                  "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""
)

MEMORY_CHILD = (
    _IMPORT
    + r"""
import numpy as np
import scipy.sparse as sp
n = int(sys.argv[2])
scenario = society.load_scenario("baseline", overrides={
    "population.size": n, "record.checkpoint_every_days": 0,
    "outcomes.stop_on_catastrophe": False})
warm = society.load_scenario("baseline", overrides={"population.size": 200})
society.model.SocietyModel(warm)  # warm-up: lazy imports and caches are not the population's
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
model = society.model.SocietyModel(scenario)
net = model.network
for name in ("adjacency", "rows", "reading"):  # the CSR views the kernels use every day
    if hasattr(type(net), name):
        getattr(net, name)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
seen = set()

def buffers(obj):
    if isinstance(obj, np.ndarray):
        yield obj
    elif sp.issparse(obj):
        for part in ("data", "indices", "indptr", "row", "col"):
            if isinstance(getattr(obj, part, None), np.ndarray):
                yield getattr(obj, part)

def nbytes(obj):
    total = 0
    for value in vars(obj).values():
        for arr in buffers(value):
            key = (arr.__array_interface__["data"][0], arr.nbytes)
            if key not in seen:
                seen.add(key)
                total += int(arr.nbytes)
    return total

pop_bytes = nbytes(model.population)
net_bytes = nbytes(net)
print(json.dumps({"n": n, "population": pop_bytes, "network": net_bytes,
                  "edges": int(getattr(net, "n_edges", 0)), "rss_delta": peak - base}))
"""
)


class ChildFailed(RuntimeError):
    pass


def run_child(code: str, tree: Path, *args: object) -> dict:
    """One fresh interpreter with ``import society`` resolving in ``tree``; its JSON line."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tree), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=tree,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise ChildFailed(f"child in {tree} exited {proc.returncode}:\n{tail}")
    out: dict = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def run_with_retries(code: str, tree: Path, args: tuple, retries: int, wait: float) -> dict:
    """``run_child``, retried after ``wait`` s (the v2 tree may be mid-edit and briefly broken)."""
    for attempt in range(retries + 1):
        try:
            return run_child(code, tree, *args)
        except ChildFailed as err:
            if attempt == retries:
                raise
            print(f"  ! {err}\n  ! retrying in {wait:.0f} s", file=sys.stderr, flush=True)
            time.sleep(wait)
    raise AssertionError("unreachable")


def source_digest(tree: Path) -> str:
    """Hash of the tree's ``society/`` sources, to notice v2 being edited during the benchmark."""
    h = hashlib.sha256()
    for path in sorted((tree / "society").rglob("*.py")):
        h.update(str(path.relative_to(tree)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _git(*args: str, check: bool = True, tree: Path = V2_TREE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(tree), *args], capture_output=True, text=True, check=check
    )


def add_worktree(commit: str) -> Path:
    """A detached worktree of ``commit`` under the temp folder, reusing one from an earlier run."""
    full = _git("rev-parse", "--verify", f"{commit}^{{commit}}").stdout.strip()
    path = Path(tempfile.gettempdir()) / f"society-bench-v1-{full[:12]}"
    _git("worktree", "prune")
    if path.exists():
        head = _git("rev-parse", "HEAD", check=False, tree=path)
        dirty = _git("status", "--porcelain", check=False, tree=path)
        if head.returncode == 0 and head.stdout.strip() == full and not dirty.stdout.strip():
            return path
        _git("worktree", "remove", "--force", str(path), check=False)
        shutil.rmtree(path, ignore_errors=True)
        _git("worktree", "prune")
    _git("worktree", "add", "--detach", str(path), full)
    return path


def remove_worktree(path: Path) -> None:
    _git("worktree", "remove", "--force", str(path), check=False)
    shutil.rmtree(path, ignore_errors=True)
    _git("worktree", "prune", check=False)


def measure_size(
    n: int, repeats: int, trees: dict[str, Path], retries: int, wait: float
) -> dict[str, list[dict]]:
    """``repeats`` pairs of runs at ``n`` instances, alternating v1, v2, v1, v2, ..."""
    runs: dict[str, list[dict]] = {"v1": [], "v2": []}
    for rep in range(repeats):
        for version in ("v1", "v2"):
            digest = source_digest(trees[version])
            r = run_with_retries(THROUGHPUT_CHILD, trees[version], (n, DAYS), retries, wait)
            r["digest"] = digest
            r["agent_days_per_s"] = n * DAYS / r["wall"]
            runs[version].append(r)
            if r["simulated_days"] < DAYS:
                print(f"  ! {version} stopped at day {r['simulated_days']:g} of {DAYS}", flush=True)
            print(
                f"  {n:>9,} pair {rep + 1}/{repeats} {version}: {r['wall']:7.2f} s wall "
                f"{r['cpu']:7.2f} s cpu {r['agent_days_per_s']:>12,.0f} agent-days/s "
                f"(peak RSS {r['rss_kb'] / 1024:,.0f} MB)",
                flush=True,
            )
    return runs


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000], help="population sizes"
    )
    ap.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="v1/v2 pairs per size (default 3 below 100,000 instances, else 2)",
    )
    ap.add_argument("--v1", default=V1_COMMIT, help="commit measured as v1 (default %(default)s)")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory-per-instance child")
    ap.add_argument("--retries", type=int, default=2, help="retries of a failed child run")
    ap.add_argument("--retry-wait", type=float, default=120.0, help="seconds before a retry")
    ap.add_argument("--keep-worktree", action="store_true", help="leave the v1 worktree in place")
    args = ap.parse_args()

    v1_tree = add_worktree(args.v1)
    trees = {"v1": v1_tree, "v2": V2_TREE}
    print(f"v1: {args.v1} in {v1_tree}")
    print(f"v2: work tree {V2_TREE} (society/ sources {source_digest(V2_TREE)})")
    print(f"interpreter: {sys.executable}; baseline scenario, {DAYS} days, no checkpoints\n")
    results: dict[int, dict[str, list[dict]]] = {}
    memory: dict | None = None
    try:
        for n in args.sizes:
            repeats = args.repeats or (3 if n < 100_000 else 2)
            results[n] = measure_size(n, repeats, trees, args.retries, args.retry_wait)
        if not args.no_memory:
            memory = run_with_retries(
                MEMORY_CHILD, V2_TREE, (MEMORY_SIZE,), args.retries, args.retry_wait
            )
    finally:
        if not args.keep_worktree:
            remove_worktree(v1_tree)

    print(
        f"\n{'instances':>10} {'pairs':>5} {'v1 agent-days/s':>16} {'v2 agent-days/s':>16} "
        f"{'v2/v1':>6} {'pair ratios v2/v1':<24} {'target':>7} {'verdict':>7}"
    )
    for n, runs in results.items():
        med = {v: statistics.median(r["agent_days_per_s"] for r in runs[v]) for v in runs}
        ratio = med["v2"] / med["v1"]
        pairs = " ".join(
            f"{b['agent_days_per_s'] / a['agent_days_per_s']:.2f}"
            for a, b in zip(runs["v1"], runs["v2"], strict=True)
        )
        verdict = "PASS" if ratio >= THROUGHPUT_TARGET else "FAIL"
        print(
            f"{n:>10,} {len(runs['v1']):>5} {med['v1']:>16,.0f} {med['v2']:>16,.0f} "
            f"{ratio:>6.2f} {pairs:<24} {'>=' + format(THROUGHPUT_TARGET, '.2f'):>7} "
            f"{verdict:>7}"
        )
    print("agent-days/s = instances x 365 / wall seconds of run(); medians over the pairs")
    digests = {r["digest"] for runs in results.values() for r in runs["v2"]}
    if len(digests) > 1:
        print(
            f"warning: v2's society/ sources changed during the benchmark ({len(digests)} "
            "versions measured)"
        )

    if memory is not None:
        n = memory["n"]
        per = (memory["population"] + memory["network"]) / n
        print(
            f"\nv2 memory per instance at {n:,} instances: {per:,.0f} bytes "
            f"(population {memory['population'] / n:,.0f} + network "
            f"{memory['network'] / n:,.0f}, {memory['edges']:,} edges; arrays' nbytes) "
            f"target <= {BYTES_TARGET:,}: {'PASS' if per <= BYTES_TARGET else 'FAIL'}"
        )
        print(
            f"  peak RSS increase while building the model: "
            f"{memory['rss_delta'] / n:,.0f} bytes per instance"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
