"""The README's command blocks, run verbatim in a fresh shell inside a fresh clone.

A block marked ``<!-- readme-test: NAME -->`` is extracted as written. The clone is made from
the committed tree (``git clone`` of this checkout), so what a new user clones is what runs;
its ``.venv`` is this environment (the two setup commands themselves are what ``.ci/run``
runs). Each bash line runs in the same ``bash`` process, as a user would type it, and must
exit 0.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def block(name: str, language: str) -> str:
    text = (REPO / "README.md").read_text()
    found = re.search(
        rf"<!-- readme-test: {name} -->\n```{language}\n(.*?)```", text, flags=re.DOTALL
    )
    assert found, f"README has no {language} block marked readme-test: {name}"
    return found.group(1)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: nothing to clone")
    target = tmp_path_factory.mktemp("fresh") / "society"
    subprocess.run(["git", "clone", "-q", str(REPO), str(target)], check=True)
    (target / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return target


def fresh_shell(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    # A fresh shell: the venv is NOT on PATH until the block activates it.
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(sys.prefix)
    )
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_everyday_block_runs_verbatim_in_a_fresh_clone(clone: Path) -> None:
    lines = [line for line in block("everyday", "bash").splitlines() if line.strip()]
    assert lines[0].startswith("source .venv/bin/activate")
    # Echo a marker before each line, so a failure names the README line that failed.
    script = "\n".join(f"echo '>>> {i}' >&2\n{line}" for i, line in enumerate(lines))
    r = fresh_shell(script, clone)
    failed = re.findall(r">>> (\d+)", r.stderr)
    assert r.returncode == 0, f"README line failed: {lines[int(failed[-1])]}\n{r.stderr[-3000:]}"
    assert (clone / "runs" / "my-baseline" / "report.html").is_file()
    assert (clone / "runs" / "sweeps" / "small" / "points.parquet").is_file()
    assert "reproduced: every output" in r.stdout
    assert "Traceback" not in r.stderr


@pytest.mark.slow
def test_analyze_block_runs_verbatim_in_a_fresh_clone(clone: Path) -> None:
    lines = [line for line in block("analyze", "bash").splitlines() if line.strip()]
    script = "\n".join(f"echo '>>> {i}' >&2\n{line}" for i, line in enumerate(lines))
    r = fresh_shell(script, clone)
    failed = re.findall(r">>> (\d+)", r.stderr)
    assert r.returncode == 0, f"README line failed: {lines[int(failed[-1])]}\n{r.stderr[-3000:]}"
    assert (clone / "runs/sweeps/sens/analysis/sobol-final_alignment.png").is_file()
    assert "matters most for final_alignment" in " ".join(r.stdout.split())
    assert "Traceback" not in r.stderr


@pytest.mark.slow
def test_python_api_block_runs_verbatim(clone: Path) -> None:
    code = block("python", "python")
    r = fresh_shell(f".venv/bin/python - <<'PY'\n{code}PY\n", clone)
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.mark.slow
def test_ask_block_runs_verbatim_and_each_ask_ends_with_a_verdict(clone: Path) -> None:
    lines = [line for line in block("ask", "bash").splitlines() if line.strip()]
    script = "\n".join(f"echo '>>> {i}' >&2\n{line}" for i, line in enumerate(lines))
    r = fresh_shell(script, clone)
    failed = re.findall(r">>> (\d+)", r.stderr)
    assert r.returncode == 0, f"README line failed: {lines[int(failed[-1])]}\n{r.stderr[-3000:]}"
    verdicts = re.findall(r"^(yes|no|not established at this n): P\(safe\) = ", r.stdout, re.M)
    assert len(verdicts) == 2  # one per ask, each its last line
    assert "Priors: P integrates over 3 uncertain field(s)" in r.stdout
    assert "Answer: " in r.stdout and "estimated wall time" in r.stdout
    assert (clone / "runs" / "asks" / "small" / "summary.parquet").is_file()
    assert "Traceback" not in r.stderr
