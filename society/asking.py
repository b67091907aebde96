"""``society ask``: a scenario's claim answered from many runs, on the sweep engine.

An ask is a sweep of one arm: the scenario (with ``--set``) run on replicate seeds, replicate
``i`` with prior draw ``i`` when priors are given (Latin hypercube, drawn in blocks of one
batch so that adding batches keeps the earlier draws). Its directory is a sweep directory
(``society sweep-summary`` reads it) whose manifest also holds the ask's plan (``ask``), so
``society ask --resume DIR`` continues it and reaches the same answer.

Without ``until_decided`` the ask runs ``seeds`` runs and judges the claim with the exact
Clopper-Pearson interval. With it, the runs come in batches of ``seeds`` up to ``max_seeds``,
and after each batch the claim is judged with the beta-binomial confidence sequence
(:mod:`society.sequential`), which holds at every look at once: the ask stops at the first
batch where the sequence lies wholly on one side of ``p``, without inflating the error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from society.claims import Answer, Claim, Rule, answer, outcome_names
from society.errors import ScenarioError, printable
from society.priors import PriorSet, priors_from_doc, read_priors
from society.scenario_files import load_scenario, parse_override, read_toml, resolve_path
from society.sequential import Schedule
from society.store.provenance import utc_now
from society.sweeps.engines import make_engine
from society.sweeps.runner import SweepInterrupted, default_sweep_dir, execute
from society.sweeps.spec import Sweep, SweepError, build_sweep, priors_doc
from society.sweeps.store import SweepStore

#: Runs per ask (and per batch with --until-decided) and the cap, unless given.
DEFAULT_SEEDS = 100
DEFAULT_MAX_SEEDS = 1000
#: Days between the metrics rows of an ask's runs, unless the scenario or --set gives
#: ``record.every_days``: an ask answers from the runs' outcomes, which do not depend on it, and
#: a daily row costs about a fifth of a 1,000-instance run.
ASK_RECORD_EVERY = 5
ASKS_ROOT = Path("runs/asks")


@dataclass(frozen=True)
class AskPlan:
    """What an ask runs: everything needed to run it again, or continue it, to one answer."""

    scenario: str  # the scenario path as given (resolved)
    overrides: list[str] = field(default_factory=list)  # KEY=VALUE, --size included
    prior_files: list[str] = field(default_factory=list)
    seeds: int = DEFAULT_SEEDS
    until_decided: bool = False
    max_seeds: int = DEFAULT_MAX_SEEDS
    confidence: float = 0.95

    @property
    def looks(self) -> list[int]:
        """The run counts at which the claim is judged: once, or after every batch."""
        if not self.until_decided:
            return [self.seeds]
        return Schedule(self.seeds, max(self.max_seeds, self.seeds)).looks

    def command(self) -> str:
        """The ``society ask`` command line of this plan."""
        parts = ["society ask", self.scenario]
        parts += [f"--set {o}" for o in self.overrides]
        parts += [f"--priors {p}" for p in self.prior_files]
        parts.append(f"--seeds {self.seeds}")
        if self.until_decided:
            parts.append(f"--until-decided --max-seeds {self.max_seeds}")
        return " ".join(parts)


@dataclass
class Look:
    """One look at the runs: ``k`` of ``n`` successful runs had the event."""

    runs: int
    n: int
    k: int
    verdict: str


@dataclass
class AskResult:
    """An ask's answer, the looks that led to it and the sweep directory holding its runs."""

    path: Path
    plan: AskPlan
    claim: Claim
    answer: Answer
    looks: list[Look]
    priors: PriorSet
    failed: int
    scenario_name: str
    question: str

    @property
    def sentence(self) -> str:
        return self.answer.sentence()


def plan_from(
    scenario: str,
    *,
    overrides: list[str] | None = None,
    prior_files: list[str] | None = None,
    seeds: int | None = None,
    until_decided: bool = False,
    max_seeds: int | None = None,
    confidence: float = 0.95,
    size: int | None = None,
) -> AskPlan:
    """Check the command line's values and make the plan (nothing is read but the path)."""
    path = _scenario_path(scenario)
    if seeds is not None and seeds < 1:
        raise ScenarioError(f"--seeds {seeds}: give at least 1 run (per batch).")
    if max_seeds is not None and not until_decided:
        raise ScenarioError(
            "--max-seeds caps --until-decided; without it the ask runs exactly --seeds runs. "
            "Add --until-decided, or drop --max-seeds."
        )
    if max_seeds is not None and max_seeds < (seeds or DEFAULT_SEEDS):
        raise ScenarioError(
            f"--max-seeds {max_seeds} is below the batch of --seeds {seeds or DEFAULT_SEEDS}; "
            f"give a cap of at least one batch."
        )
    if not 0 < confidence < 1:
        raise ScenarioError(f"--confidence {confidence}: give a level between 0 and 1 (0.95).")
    sets = list(overrides or [])
    if size is not None:
        sets.append(f"population.size={size}")
    for text in sets:
        parse_override(text)  # a malformed KEY=VALUE says so here
    return AskPlan(
        scenario=str(path),
        overrides=sets,
        prior_files=[str(p) for p in prior_files or []],
        seeds=seeds or DEFAULT_SEEDS,
        until_decided=until_decided,
        max_seeds=max_seeds or DEFAULT_MAX_SEEDS,
        confidence=confidence,
    )


def _scenario_path(scenario: str) -> Path:
    path = resolve_path(scenario)
    doc = read_toml(path)
    if {"grid", "sample", "replicates"} & set(doc) or isinstance(doc.get("scenario"), str):
        raise ScenarioError(
            f"'{printable(scenario)}' is a sweep file, not a scenario: society ask answers one "
            f"scenario's [claim]. Run the sweep with `society sweep {printable(scenario)}`; "
            f"`society sweep-summary DIR` then judges its claim in every arm."
        )
    return path


class AskSession:
    """One ask from plan to answer, in its sweep directory (created, or resumed)."""

    def __init__(self, plan: AskPlan, store: SweepStore, previous: dict[str, Any] | None):
        self.plan = plan
        self.store = store
        self.previous = previous
        stored = ((previous or {}).get("sweep") or {}).get("scenario_doc")
        if isinstance(stored, dict):  # resuming: the scenario as it was, even if edited since
            scenario_doc = stored
        else:
            scenario_doc = read_toml(Path(plan.scenario))
            scenario_doc.setdefault("name", Path(plan.scenario).stem)
        self.scenario_doc = scenario_doc
        self.priors = self._priors(previous)
        given = dict(parse_override(o) for o in plan.overrides)
        self.sets = {**self._record_cadence(previous), **given}

    def _record_cadence(self, previous: dict[str, Any] | None) -> dict[str, Any]:
        """``{"record.every_days": ASK_RECORD_EVERY}`` unless the scenario file sets the
        cadence; a resumed ask keeps what it started with (asks written before this default
        recorded daily), so its runs stay one sweep."""
        if previous is not None:
            stored = (((previous.get("sweep") or {}).get("spec") or {}).get("set")) or {}
            key = "record.every_days"
            return {key: stored[key]} if key in stored else {}
        record = self.scenario_doc.get("record")
        if isinstance(record, dict) and "every_days" in record:
            return {}
        return {"record.every_days": ASK_RECORD_EVERY}

    def _priors(self, previous: dict[str, Any] | None) -> PriorSet:
        stored = (previous or {}).get("ask", {}).get("priors")
        if previous is not None and stored is not None:  # as drawn, whatever the files say now
            if not stored:
                return PriorSet({})
            table = priors_from_doc({"priors": stored}, f"{self.store.manifest_path} (ask)")
            return PriorSet(table.priors, tuple(self.plan.prior_files))
        if not self.plan.prior_files:
            return PriorSet({})
        return read_priors(self.plan.prior_files)

    def sweep(self, replicates: int) -> Sweep:
        """The ask's sweep at ``replicates`` runs (the first looks' runs are its first)."""
        name = f"ask-{self.scenario_doc['name']}"
        doc: dict[str, Any] = {
            "scenario": self.plan.scenario,
            "name": name,
            "question": str(self.scenario_doc.get("question", "")),
            "replicates": replicates,
            "set": self.sets,
            "prior_block": self.plan.seeds,
        }
        return build_sweep(
            doc,
            self.scenario_doc,
            source=self.plan.scenario,
            default_name=name,
            replicate_priors=self.priors,
            single_arm=True,
        )

    def run(
        self,
        *,
        workers: int | None,
        on_start: Callable[[int, int], None] | None = None,
        on_point: Callable[[dict[str, Any]], None] | None = None,
        batch: bool = True,
    ) -> AskResult:
        first = self.sweep(self.plan.looks[0])
        claim = self.claim_of(first)
        drawn = first.priors  # the priors left after --set pinned its fields
        annotations = {"ask": self._record(drawn, claim, [], None)}
        looks: list[Look] = []
        previous = self.previous
        result = None
        rule: Rule = "sequential" if self.plan.until_decided else "fixed"
        pool = None
        try:
            for n in self.plan.looks:
                sweep = first if n == len(first.seeds) else self.sweep(n)
                done = self.store.done_ids()
                if pool is None and any(p.point_id not in done for p in sweep.points):
                    pool = make_engine("local", workers, None)  # one pool for every look
                result = execute(
                    sweep,
                    self.store,
                    previous,
                    workers=workers,
                    on_start=on_start,
                    on_point=on_point,
                    annotations=annotations,
                    keep_lock=True,
                    runner=pool,
                    batch=batch,
                )
                previous = result.manifest
                ok = result.points.filter(pl.col("status") == "success")
                k = int(claim.holds_in(ok).sum()) if ok.height else 0
                current = answer(claim, k, ok.height, self.plan.confidence, rule)
                looks.append(Look(n, ok.height, k, current.verdict))
                annotations = {"ask": self._record(drawn, claim, looks, current)}
                if current.verdict != "not established":
                    break
        except SweepInterrupted as err:
            raise SweepInterrupted(
                str(err).replace("society sweep --resume", "society ask --resume"),
                int(err.args[1]) if len(err.args) > 1 else 2,
            ) from None
        finally:
            if pool is not None:
                pool.close()
            self.store.release()
        assert result is not None
        manifest = {**result.manifest, **annotations}
        self.store.write_manifest(manifest)
        return AskResult(
            path=self.store.root,
            plan=self.plan,
            claim=claim,
            answer=current,
            looks=looks,
            priors=drawn,
            failed=result.failed,
            scenario_name=str(self.scenario_doc["name"]),
            question=str(self.scenario_doc.get("question", "")),
        )

    def claim_of(self, sweep: Sweep) -> Claim:
        """The claim the ask answers (the scenario's, with --set), or a clear error."""
        if not sweep.claim.active:
            raise ScenarioError(
                f"{self.plan.scenario} has no [claim], so there is nothing to ask. Add one to "
                f'the scenario ([claim] outcome = "safe", op = ">=", p = 0.9) or give it here: '
                f"--set claim.outcome=safe --set claim.p=0.9. Outcomes: "
                f"{', '.join(outcome_names())}; or a metric with a threshold (docs/sweeps.md)."
            )
        return sweep.claim

    def _record(
        self, priors: PriorSet, claim: Claim, looks: list[Look], current: Answer | None
    ) -> dict[str, Any]:
        return {
            "plan": asdict(self.plan),
            "priors": priors_doc(priors),
            "claim": claim.model_dump(),
            "looks": [asdict(look) for look in looks],
            "answer": None
            if current is None
            else {
                "verdict": current.verdict,
                "sentence": current.sentence(),
                "k": current.k,
                "n": current.n,
                "estimate": current.estimate,
                "low": current.low,
                "high": current.high,
                "rule": current.rule,
                "confidence": current.confidence,
            },
            "updated_utc": utc_now().isoformat(),
        }


def start(plan: AskPlan, out: str | Path | None = None) -> AskSession:
    """A new ask in ``out`` (default ``runs/asks/<scenario>-<UTC time>``), its directory
    created and locked; every input is checked before it is created."""
    load_scenario(plan.scenario, overrides=plan.overrides)  # the scenario's own errors first
    # Read the scenario and priors and check every run's scenario before any directory
    # exists; the store is given once the checks pass.
    session = AskSession(plan, SweepStore(Path(".")), None)
    probe = session.sweep(plan.looks[0])  # checks every run's scenario
    session.claim_of(probe)
    root = Path(out) if out is not None else default_sweep_dir(ASKS_ROOT, probe.name)
    store = SweepStore(root)
    store.create()
    session.store = store
    return session


def resume(root: str | Path) -> AskSession:
    """The ask stored in ``root``, locked, to continue it with its own plan."""
    store = SweepStore(Path(root))
    manifest = store.resume()
    try:
        record = manifest.get("ask")
        if not isinstance(record, dict) or "plan" not in record:
            raise SweepError(
                f"--resume {store.root}: its manifest holds no ask, so it was not written by "
                f"`society ask`; continue a sweep with `society sweep --resume {store.root}`."
            )
        try:
            plan = AskPlan(**record["plan"])
        except TypeError:
            raise SweepError(
                f"--resume {store.root}: its ask was written by another version of society "
                f"and cannot be continued; start it again: society ask ..."
            ) from None
        return AskSession(plan, store, manifest)
    except BaseException:
        store.release()
        raise


__all__ = ["AskPlan", "AskResult", "AskSession", "Look", "plan_from", "resume", "start"]
