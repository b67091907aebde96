"""Command blocks of the README and the documentation site, run verbatim in a fresh shell inside
a fresh clone.

A block is marked with an HTML comment on the line before its fence: ``<!-- readme-test: NAME
-->`` in README.md, ``<!-- docs-test: NAME -->`` in a page under docs/. It is extracted as
written. The clone is made from the committed tree (``git clone`` of this checkout), so what a
new user clones is what runs; its ``.venv`` is this environment (the two setup commands
themselves are what ``.ci/run`` runs). Each bash line runs in the same ``bash`` process, as a
user would type it, and must exit 0.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MARKED = re.compile(r"<!-- (readme|docs)-test: ([\w-]+) -->\n```(\w+)\n(.*?)```", re.DOTALL)


def marked_blocks(path: Path) -> dict[str, tuple[str, str]]:
    """Every marked block of ``path`` by name: ``{name: (language, code)}``."""
    return {m[2]: (m[3], m[4]) for m in MARKED.finditer(path.read_text())}


def block(path: Path, name: str, language: str) -> str:
    """The marked block ``name`` of ``path``, which must be in ``language``."""
    found = marked_blocks(path).get(name)
    assert found, f"{path.name} has no block marked {name}"
    assert found[0] == language, f"{path.name}: block {name} is {found[0]}, not {language}"
    return found[1]


def make_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
    env["MPLBACKEND"] = "Agg"  # no display; a user's plots still save
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def run_bash(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a bash block line by line; a failure names the line that failed."""
    lines = [line for line in code.splitlines() if line.strip()]
    # Echo a marker before each line, so a failure names the line that failed.
    script = "\n".join(f"echo '>>> {i}' >&2\n{line}" for i, line in enumerate(lines))
    r = fresh_shell(script, cwd)
    failed = re.findall(r">>> (\d+)", r.stderr)
    assert r.returncode == 0, f"line failed: {lines[int(failed[-1])]}\n{r.stderr[-3000:]}"
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    return r


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    r = fresh_shell(f".venv/bin/python - <<'PY'\n{code}PY\n", cwd)
    assert r.returncode == 0, r.stderr[-3000:]
    return r
