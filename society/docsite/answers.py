"""Recorded answers: the only way a number from a long `society ask` reaches the site.

A page never quotes an answer by hand. ``python -m society.docsite.answers ASK_DIR NAME``
records a finished ask as ``docs/answers/NAME.json``: its verdict sentence, k of n, interval,
rule, the command that reproduces it, the git commit and the society version it ran on, and
its wall time. A page writes ``<!-- answer: NAME -->`` where the answer belongs, and the site's
hook (:mod:`society.docsite.hook`) puts the rendered record there, so every quoted number names
its command and n, and says which version of the model gave it. Rerun the command and record
again after the model changes.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ANSWERS_DIR = ROOT / "docs" / "answers"
MARKER = re.compile(r"<!-- answer: ([A-Za-z0-9_-]+) -->")
#: What a record must hold for a page to quote it.
REQUIRED = ("sentence", "command", "k", "n", "low", "high", "rule", "commit", "version")


def record(ask_dir: str | Path) -> dict[str, Any]:
    """The record of the finished ask in ``ask_dir`` (its manifest holds plan and answer)."""
    from society.asking import AskPlan

    manifest = json.loads((Path(ask_dir) / "manifest.json").read_text())
    ask = manifest.get("ask") or {}
    if "answer" not in ask or manifest.get("status") != "complete":
        raise ValueError(f"{ask_dir} holds no finished ask (status {manifest.get('status')!r})")
    plan = AskPlan(**ask["plan"])
    scenario = Path(plan.scenario)
    if scenario.is_absolute() and scenario.is_relative_to(ROOT):
        plan = AskPlan(**{**ask["plan"], "scenario": scenario.relative_to(ROOT).as_posix()})
    answer = ask["answer"]
    git = manifest.get("git") or {}
    return {
        "sentence": answer["sentence"],
        "verdict": answer["verdict"],
        "k": answer["k"],
        "n": answer["n"],
        "estimate": answer["estimate"],
        "low": answer["low"],
        "high": answer["high"],
        "rule": answer["rule"],
        "confidence": answer["confidence"],
        "command": plan.command(),
        "failed_runs": manifest.get("n_failed", 0),
        "commit": git.get("commit") or "unknown",
        "dirty": bool(git.get("dirty")),
        "version": (manifest.get("versions") or {}).get("society", "unknown"),
        "finished_utc": manifest.get("finished_utc"),
        "wall_seconds": round(sum(s.get("wall_seconds", 0.0) for s in manifest["sessions"]), 1),
    }


def render(name: str, answers_dir: Path = ANSWERS_DIR) -> str:
    """The Markdown block that quotes recorded answer ``name``; a page without its record, or a
    record without its command and n, is an error (the build fails rather than quote less)."""
    path = answers_dir / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"no recorded answer {path}: run the ask, then python -m society.docsite.answers "
            f"ASK_DIR {name}"
        )
    rec = json.loads(path.read_text())
    missing = [key for key in REQUIRED if key not in rec]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}: record it again")
    rule = (
        "exact Clopper-Pearson interval, runs fixed in advance"
        if rec["rule"] == "fixed"
        else "confidence sequence valid at every look"
    )
    commit = rec["commit"][:9] + (" with uncommitted changes" if rec.get("dirty") else "")
    minutes = rec.get("wall_seconds", 0) / 60
    return "\n".join(
        [
            '!!! note "Recorded answer"',
            "",
            f"    **{rec['sentence']}**",
            "",
            f"    {rec['k']} of {rec['n']} runs; {rule}"
            + (f"; {rec['failed_runs']} run(s) failed" if rec.get("failed_runs") else "")
            + ".",
            "",
            "    ```bash",
            "    " + rec["command"].replace(" --", " \\\n      --"),  # one option a line
            "    ```",
            "",
            f"    Recorded from society {rec['version']} at commit `{commit}` "
            f"({(rec.get('finished_utc') or '')[:10]}, {minutes:.0f} min of wall time). The model "
            "has changed since if that commit is not the one you run: rerun the command for the "
            "current answer.",
        ]
    )


def fill(markdown: str, answers_dir: Path = ANSWERS_DIR) -> str:
    """``markdown`` with every ``<!-- answer: NAME -->`` replaced by the recorded answer."""
    return MARKER.sub(lambda m: render(m.group(1), answers_dir), markdown)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m society.docsite.answers ASK_DIR NAME", file=sys.stderr)
        return 2
    ask_dir, name = argv
    ANSWERS_DIR.mkdir(parents=True, exist_ok=True)
    target = ANSWERS_DIR / f"{name}.json"
    target.write_text(json.dumps(record(ask_dir), indent=1) + "\n")
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
