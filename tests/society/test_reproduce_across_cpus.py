"""``society run --reproduce`` on a CPU whose vector maths differ from the original's.

numpy dispatches ``exp``, ``log`` and ``power`` to AVX-512 code where the CPU has it and to
AVX2 code elsewhere, and the two round a few percent of results differently in the last digit.
``NPY_DISABLE_CPU_FEATURES`` makes a subprocess on this machine compute as one without AVX-512
would, so the original run really comes from other vector maths (nothing is patched); the
reproductions run here, at this CPU's own levels.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from society_helpers import run_cli

from society.cli import main as cli_main
from society.store.provenance import vector_maths
from society.tidy import ROUNDING, comparable

AVX2_ONLY = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"}
pytestmark = pytest.mark.skipif(
    "X86_V4" not in vector_maths(), reason="this CPU has no AVX-512 maths to differ from"
)


def _reproduce(original: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli_main(["run", "--reproduce", str(original), "--out", str(out), "--no-report"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, " ".join(captured.out.split())  # as one line: the terminal wraps it


def test_a_run_from_other_vector_maths_reproduces_to_within_rounding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = ("run", "tiny", "--quiet", "--no-report", "--set", "days=20", "--out", "avx2")
    assert run_cli(*run, cwd=tmp_path, env=AVX2_ONLY).returncode == 0
    original = tmp_path / "avx2"
    manifest = json.loads((original / "manifest.json").read_text())
    assert manifest["platform"]["numpy_simd"] == "X86_V2 X86_V3"

    code, said = _reproduce(original, tmp_path / "here", capsys)
    assert code == 0, said
    assert said.startswith("reproduced to within rounding: every output of")
    assert "at X86_V2 X86_V3, this machine at " + vector_maths() in said
    # The difference is real and is rounding only: some metrics move in the last digits, and
    # the events (what happened, and when) are identical.
    old = comparable(pl.read_parquet(original / "metrics.parquet"))
    new = comparable(pl.read_parquet(tmp_path / "here" / "metrics.parquet"))
    moved = [c for c in old.columns if not old[c].equals(new[c])]
    assert moved and all(old[c].dtype == pl.Float64 for c in moved)
    worst = max(((old[c] - new[c]).abs() / old[c].abs()).max() for c in moved)  # type: ignore[type-var]
    assert 0 < worst <= ROUNDING
    for table in ("events", "generations"):
        assert comparable(pl.read_parquet(original / f"{table}.parquet")).equals(
            comparable(pl.read_parquet(tmp_path / "here" / f"{table}.parquet"))
        )

    # The same last-digit differences where the manifest says the vector maths were this
    # machine's are not excused, nor where it does not say.
    for claimed in (vector_maths(), None):
        if claimed is None:
            del manifest["platform"]["numpy_simd"]
        else:
            manifest["platform"]["numpy_simd"] = claimed
        (original / "manifest.json").write_text(json.dumps(manifest))
        code, said = _reproduce(original, tmp_path / f"claimed-{claimed is None}", capsys)
        assert code == 1 and "NOT reproduced: the last digits of metrics" in said
        assert ("not expected" if claimed else "does not record") in said
