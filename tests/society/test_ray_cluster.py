"""The Ray engine on a real two-node cluster started on this machine: points run on both
nodes, and points.parquet and every run's metrics equal a local sweep's."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from society_helpers import assert_identical

from society.store.provenance import vector_maths
from society.sweeps.runner import run_sweep
from society.sweeps.store import SweepStore

WORKTREE = Path(__file__).resolve().parents[2]
TINY = (WORKTREE / "scenarios" / "tiny.toml").as_posix()


@pytest.mark.slow
def test_a_sweep_on_a_two_node_ray_cluster_equals_a_local_one(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    sweep_file = tmp_path / "two_nodes.toml"
    sweep_file.write_text(
        f'scenario = "{TINY}"\nreplicates = 3\nseed = 4\n[set]\ndays = 10\n'
        '"population.size" = 50\n[grid]\n"lab.tax" = [0.0, 0.5, 1.0, 2.0]\n'
    )
    # Two raylets, one CPU each: a head node and a worker node, as `ray start` would make.
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
    )
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        assert len(nodes) == 2
        on_ray = run_sweep(sweep_file, out=tmp_path / "ray", engine="ray")
        assert on_ray.failed == 0 and on_ray.manifest["engine"]["engine"] == "ray"
        assert on_ray.manifest["engine"]["workers"] == 2
        assert ray.is_initialized()  # the engine leaves a Ray it did not start running
    finally:
        ray.shutdown()
        cluster.shutdown()
    records = [json.loads(p.read_text()) for p in (tmp_path / "ray" / "points").glob("*.json")]
    ran_on = {r["node"] for r in records}
    assert ran_on == nodes, "every node of the cluster ran points"
    assert {r["numpy_simd"] for r in records} == {vector_maths()}
    local = run_sweep(sweep_file, out=tmp_path / "local", workers=2)
    assert_identical(on_ray.points, local.points)
    assert_identical(
        pl.read_parquet(tmp_path / "ray" / "points.parquet"),
        pl.read_parquet(tmp_path / "local" / "points.parquet"),
    )
    for store in (SweepStore(tmp_path / "ray"), SweepStore(tmp_path / "local")):
        assert store.scan_metrics().collect().height > 0
    assert_identical(
        SweepStore(tmp_path / "ray").scan_metrics().collect().sort("arm", "replicate", "day"),
        SweepStore(tmp_path / "local").scan_metrics().collect().sort("arm", "replicate", "day"),
    )
    assert "node" not in on_ray.points.columns  # host-dependent: point files only
    assert "numpy_simd" not in on_ray.points.columns
