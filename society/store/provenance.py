"""Where a result came from: package versions, the git state of the checkout, the platform,
and the UTC clock (recorded in run and sweep manifests)."""

from __future__ import annotations

import functools
import hashlib
import importlib
import platform
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

TRACKED_PACKAGES = (
    "numpy",
    "scipy",
    "networkx",
    "simpy",
    "mesa",
    "polars",
    "pyarrow",
    "pydantic",
    "openai",
    "SALib",  # a sampled sweep's design is rebuilt with it for `society analyze`
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def package_versions() -> dict[str, str]:
    """The versions of Python, society and :data:`TRACKED_PACKAGES` (a fresh dict each call)."""
    return dict(_package_versions())


@functools.cache
def _package_versions() -> dict[str, str]:
    # Read once per process (each lookup parses a METADATA file: about 6 ms for the eleven,
    # which every run paid); a package upgraded while a process runs keeps the version it had
    # when the process first asked, the one it most likely imported.
    versions = {"python": sys.version.split()[0]}
    for name in ("society", *TRACKED_PACKAGES):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


#: What does not decide a run's numbers, so a change to it changes none: the command line, the
#: documentation, the playground, the analyses and judgements of finished runs, storage (its
#: format has its own version, ``checkpoint.FORMAT``) and the sweep engines' orchestration.
#: What builds a run's scenario, seeds and prior draws (scenario files, priors, a sweep's spec
#: and design) counts as model, as does any module added elsewhere: the side that refuses a
#: resume rather than mixing two models.
_NOT_MODEL = (
    "society/cli/",
    "society/docsite/",
    "society/app/",
    "society/analysis/",
    "society/store/",
    "society/sweeps/ablation.py",
    "society/sweeps/answers.py",
    "society/sweeps/dryrun.py",
    "society/sweeps/engines.py",
    "society/sweeps/preload.py",
    "society/sweeps/runner.py",
    "society/sweeps/store.py",
    "society/sweeps/summary.py",
    "society/docs.py",
    "society/calibrate.py",
    "society/claims.py",
    "society/errors.py",
    "society/scanning.py",
    "society/sequential.py",
    "society/text.py",
    "society/tidy.py",
    "society/validation.py",
    "society/validation_ask.py",
    "society/validation_cases.py",
    "society/verdict.py",
)


@functools.cache
def model_fingerprint() -> str:
    """A hash of the source of the code that decides a run's numbers (``society`` but
    :data:`_NOT_MODEL`, and ``llm_backends``): two versions with the same fingerprint give a
    scenario and seed, or a sweep's stored plan, the same numbers. Checkpoints and sweeps
    store it so that a resume never continues a run, or adds runs to a sweep, under a
    different model than the one that started it. Any edit to those files changes it, a
    comment included: it errs towards refusing a resume.

    >>> len(model_fingerprint())
    16
    """
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for package in ("society", "llm_backends"):
        for path in sorted((root / package).rglob("*.py")):
            name = path.relative_to(root).as_posix()
            if name.startswith(_NOT_MODEL):
                continue
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_change(stored: str | None) -> str | None:
    """How ``stored`` (a fingerprint a checkpoint or sweep recorded) differs from this
    society's model, for a message; None when it is the same model.

    >>> model_change(model_fingerprint()) is None
    True
    >>> model_change(None).startswith("its code's fingerprint not recorded, this society's ")
    True
    """
    now = model_fingerprint()
    if stored == now:
        return None
    return f"its code's fingerprint {stored or 'not recorded'}, this society's {now}"


def git_state() -> dict[str, Any]:
    """Commit and dirty flag of the checkout society runs from, if it is a git checkout."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists() or shutil.which("git") is None:
        return {"commit": None, "dirty": None}
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
    except (subprocess.SubprocessError, OSError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def vector_maths() -> str:
    """The SIMD levels numpy's vectorised maths run at on this CPU: its build's baseline, then
    each dispatch target this CPU has, e.g. ``"X86_V2 X86_V3 X86_V4 AVX512_ICL AVX512_SPR"``.

    numpy's ``exp``, ``log``, ``expm1`` and ``power`` round differently at different levels
    (AVX-512 against AVX2) in the last digit of a few percent of their results, so two
    machines give bit-identical runs only where this string is the same ("unknown" where this
    numpy does not say).
    """
    try:
        core = importlib.import_module("numpy._core._multiarray_umath")
        baseline = list(core.__cpu_baseline__)
        targets = [t for t in core.__cpu_dispatch__ if core.__cpu_features__.get(t)]
    except (ImportError, AttributeError):  # pragma: no cover - another numpy layout
        return "unknown"
    return " ".join(baseline + targets)


def platform_info() -> dict[str, str]:
    return {
        "system": platform.system(),
        "machine": platform.machine(),
        "python_implementation": platform.python_implementation(),
        "numpy_simd": vector_maths(),
    }
