"""What an experiment run returns: samples, verdicts, errors and provenance."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, overload

from crystallize.core.analysis import aligned, by_condition, samples
from crystallize.core.exceptions import CrystallizeError, suggest
from crystallize.core.jsonable import standard_json
from crystallize.core.record import RunError, RunRecord, is_finite
from crystallize.core.verdict import Verdict

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import RenderableType

__all__ = ["PairedSamples", "Result", "ResultReader", "use_store_opener"]


class ResultReader(Protocol):
    """A run store open for reading, as :meth:`Result.load` uses it."""

    def load_result(self, run_id: str) -> Result:
        """The stored result of ``run_id`` (a unique prefix is enough)."""
        ...


#: Opens a store folder for :meth:`Result.load`. The model knows no store: the
#: package's top level, which assembles model and store, sets it (``use_store_opener``).
_store_opener: Callable[[str | os.PathLike[str]], AbstractContextManager[ResultReader]] | None = None


def use_store_opener(opener: Callable[[str | os.PathLike[str]], AbstractContextManager[ResultReader]]) -> None:
    """Set how :meth:`Result.load` opens a store folder: ``opener(path)`` gives a context
    manager holding a :class:`ResultReader` (``crystallize.store.open`` is one)."""
    global _store_opener  # noqa: PLW0603 - the one place the store is wired into the model
    _store_opener = opener


class PairedSamples(NamedTuple):
    """Baseline and treatment samples of one metric, aligned by replicate."""

    replicates: tuple[int, ...]
    baseline: tuple[float, ...]
    treatment: tuple[float, ...]


FORMAT_VERSION = 1


@dataclass(frozen=True)
class Result:
    """The outcome of an experiment run.

    Attributes:
        name: the experiment's name.
        conditions: ``"baseline"`` then each treatment, in definition order.
        records: one :class:`RunRecord` per run, in plan order.
        verdicts: one :class:`Verdict` per (hypothesis, treatment).
        provenance: fingerprint, seeds, step hashes, code, environment, git.
        run_id: the experiment run's id in the store, if stored.
        interrupted: ``True`` when the run was stopped before every run finished.
    """

    name: str
    conditions: tuple[str, ...]
    records: tuple[RunRecord, ...]
    verdicts: tuple[Verdict, ...] = ()
    provenance: Mapping[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    interrupted: bool = False

    # -- the seed's mapping view ---------------------------------------------
    @functools.cached_property
    def metrics(self) -> dict[str, Any]:
        """``{condition: {metric: [one sample per replicate]}, "hypothesis": primary verdict}``.

        Every list has one entry per replicate, in replicate order, and entry
        ``i`` of every condition comes from replicate ``i`` (the same seed): a
        failed run (or a run that did not return the metric) is ``nan``, never
        dropped, so the lists stay aligned for paired analyses. For clean pairs
        use :meth:`paired_samples`.
        """
        table = by_condition(self.records)
        replicates = sorted({r.replicate for r in self.records})
        names = self.metric_names
        out: dict[str, Any] = {c: samples(table.get(c, {}), replicates, names) for c in self.conditions}
        out["hypothesis"] = self.verdicts[0].as_dict() if self.verdicts else {}
        return out

    def paired_samples(self, metric: str, treatment: str | None = None) -> PairedSamples:
        """Replicate-aligned samples of ``metric``, baseline and ``treatment`` (default:
        the first), over the replicates where both runs succeeded with a finite value:
        what a paired test uses.

        Raises:
            KeyError: an unknown metric or treatment (with close matches).
        """
        from crystallize.core.plan import BASELINE  # noqa: PLC0415

        names = self.metric_names
        if metric not in names:
            raise KeyError(f"no metric named {metric!r}{suggest(metric, names)}; metrics: {names}")
        treatments = list(self.conditions[1:])
        name = treatment if treatment is not None else (treatments[0] if treatments else "")
        if name not in treatments:
            raise KeyError(f"no treatment named {name!r}{suggest(name, treatments)}; treatments: {treatments}")
        table = by_condition(self.records)
        replicates, b, _, t = aligned(table.get(BASELINE, {}), table.get(name, {}), metric, True)
        keep = [i for i, (x, y) in enumerate(zip(b, t)) if is_finite(x) and is_finite(y)]
        return PairedSamples(tuple(replicates[i] for i in keep), tuple(float(b[i]) for i in keep),
                             tuple(float(t[i]) for i in keep))

    @property
    def metric_names(self) -> list[str]:
        """Every metric any run returned, in first-seen order."""
        names: dict[str, None] = {}
        for record in self.records:
            names.update(dict.fromkeys(record.metrics))
        return list(names)

    # -- verdicts -----------------------------------------------------------
    @property
    def hypotheses(self) -> list[Verdict]:
        """Every verdict, hypothesis-major, treatments in definition order."""
        return list(self.verdicts)

    def get_hypothesis(self, name: str, treatment: str | None = None) -> Verdict:
        """The verdict of hypothesis ``name`` (for ``treatment``, default: the first).

        Raises:
            KeyError: no such hypothesis or treatment (with close matches).
        """
        matches = [v for v in self.verdicts if v.hypothesis == name]
        if not matches:
            names = list(dict.fromkeys(v.hypothesis for v in self.verdicts))
            raise KeyError(f"no hypothesis named {name!r}{suggest(name, names)}; hypotheses: {names}")
        if treatment is None:
            return matches[0]
        for verdict in matches:
            if verdict.treatment == treatment:
                return verdict
        treatments = [v.treatment for v in matches]
        raise KeyError(f"hypothesis {name!r} has no verdict for treatment {treatment!r}"
                       f"{suggest(treatment, treatments)}; treatments: {treatments}")

    # -- failures -------------------------------------------------------------
    @functools.cached_property
    def errors(self) -> dict[str, RunError]:
        """Every failed run, keyed ``"<condition>/<replicate>"``."""
        return {r.key: r.error for r in self.records if r.error is not None}

    # -- sequential designs ---------------------------------------------------
    @property
    def stopped_at(self) -> int | None:
        """Sequential designs: the replicates run per condition when it stopped (``None`` for a fixed design)."""
        info = self.provenance.get("sequential")
        return int(info["stopped_at"]) if info else None

    @property
    def stop_reason(self) -> str | None:
        """Sequential designs: why it stopped: ``"decided"`` (every hypothesis decided, or
        futile), ``"futile"`` (all of them futile), ``"max_replicates"`` (the budget was
        spent) or ``"interrupted"``; ``None`` for a fixed design."""
        info = self.provenance.get("sequential")
        return str(info["stop_reason"]) if info else None

    @property
    def looks(self) -> list[dict[str, Any]]:
        """Sequential designs: every look at the evidence, in order: its replicate count and,
        per verdict, ln E, the anytime p-value (raw and adjusted) and the decision so far."""
        info = self.provenance.get("sequential")
        return list(info["looks"]) if info else []

    @property
    def seeds(self) -> dict[int, int]:
        """Seed of each replicate."""
        return {r.replicate: r.seed for r in sorted(self.records, key=lambda r: r.replicate)}

    # -- power ----------------------------------------------------------------
    def power_analysis(
        self,
        effect_size: float | Mapping[str, float] | None = None,
        *,
        difference: float | Mapping[str, float] | None = None,
        power: float = 0.8,
    ) -> list[dict[str, Any]]:
        """How many replicates each comparison needs to detect the effect you care about.

        Give the effect of interest, exactly one of ``effect_size`` (standardised:
        Cohen's d, or d_z for paired tests) or ``difference`` (in the metric's
        units, standardised by the sd observed here), as one number or
        ``{hypothesis name: value}``. It is taken in the hypothesised direction: a
        positive value moves the metric the way an ``"increase"`` or
        ``"decrease"`` hypothesis says, is an improvement for ``"no_worse"``, and
        is the true difference for ``"equal"`` (usually 0). The observed effect is
        never used: its "post-hoc power" is a function of the p-value, biased
        upwards for significant results.

        Alpha is the family's most stringent step, ``alpha / k`` for the ``k``
        comparisons of the hypothesis's family under Holm, Bonferroni or BH, so
        that the plan holds for every comparison. Equivalence and non-inferiority
        are planned with their own tests (exact TOST power, the shifted one-sided
        t-test), margins standardised by the observed sd.

        Args:
            effect_size: the standardised effect to detect.
            difference: the raw difference to detect, instead of ``effect_size``.
            power: the power wanted, in (0, 1).

        Returns:
            One dict per verdict: ``hypothesis``, ``treatment``, ``effect_size``
            (standardised) and ``difference`` (raw), the ``sd`` used, the
            ``alpha`` used, ``power``, ``replicates_used`` with the
            ``power_at_replicates_used``, ``replicates_required``, the
            ``method``, and a ``note`` when a row cannot be planned.

        Raises:
            ValueError: no effect, both kinds, or a non-finite one; ``power``
                outside (0, 1).
        """
        from crystallize.core.power_plan import plan_replicates  # noqa: PLC0415 - SciPy only when planning

        return plan_replicates(self, effect_size=effect_size, difference=difference, power=power)

    @classmethod
    def load(cls, run_id: str, store: str | os.PathLike[str] | ResultReader = ".crystallize") -> Result:
        """Load a stored experiment run without running anything.

        Args:
            run_id: the experiment run's id, or any unique prefix of it.
            store: the store folder, or a store already open for reading (any
                object with ``load_result(run_id)``, such as ``crystallize.store.open(path)``).

        Raises:
            StoreNotFoundError: there is no store in the folder.
            RunIdError: no single run matches ``run_id``.
        """
        if not isinstance(store, (str, os.PathLike)):
            return store.load_result(run_id)
        if _store_opener is None:
            raise CrystallizeError("no run store can be opened here: the crystallize package sets its opener when "
                                   "it is imported (use_store_opener); pass an opened store instead")
        with _store_opener(store) as reader:
            return reader.load_result(run_id)

    # -- exports -------------------------------------------------------------
    def to_dataframe(self) -> pd.DataFrame:
        """Tidy samples: one row per (condition, replicate, metric), with the run's ``status``.

        Columns: condition, replicate, seed, metric, value, status (``"ok"``,
        ``"failed"`` or ``"timeout"``). A run that did not succeed has one row per
        metric of the experiment with ``value`` NaN, so failures are counted, not lost.
        """
        from crystallize.core.frames import samples_frame  # noqa: PLC0415 - pandas only when asked

        return samples_frame(self)

    def verdicts_frame(self) -> pd.DataFrame:
        """Tidy verdicts: one row per (hypothesis, treatment), in the summary's order.

        Columns: hypothesis, metric, treatment, test, direction, estimand,
        difference (the estimate the verdict uses), ci_low, ci_high, ci_level
        (the interval's true two-sided level), ci_simultaneous, effect_size,
        effect_size_name, p_value, p_value_adjusted, correction, alpha, margin,
        label (``"accepted"``, ``"not accepted"``, ...), n_baseline, n_treatment,
        n_pairs, failed_baseline, failed_treatment, notes (joined with ``"; "``).
        Missing numbers are NaN. ``crystallize export --verdicts`` writes this table.
        """
        from crystallize.core.frames import verdicts_frame  # noqa: PLC0415 - pandas only when asked

        return verdicts_frame(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict that :meth:`from_dict` turns back into an equal result."""
        return {
            "format_version": FORMAT_VERSION, "name": self.name, "conditions": list(self.conditions),
            "records": [r.as_dict() for r in self.records], "verdicts": [v.as_dict() for v in self.verdicts],
            "provenance": dict(self.provenance), "run_id": self.run_id, "interrupted": self.interrupted,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Result:
        """Rebuild a result from :meth:`to_dict` output."""
        return cls(
            name=data["name"], conditions=tuple(data["conditions"]),
            records=tuple(RunRecord.from_dict(r) for r in data["records"]),
            verdicts=tuple(Verdict.from_dict(v) for v in data["verdicts"]),
            provenance=data.get("provenance", {}), run_id=data.get("run_id"),
            interrupted=bool(data.get("interrupted", False)),
        )

    @overload
    def to_json(self, path: None = None, *, indent: int | None = 2) -> str: ...

    @overload
    def to_json(self, path: str | os.PathLike[str], *, indent: int | None = 2) -> None: ...

    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int | None = 2) -> str | None:
        """Serialise to standard JSON (NaN and infinities as ``null``).

        As pandas' writers do: without ``path`` return the JSON text; with
        ``path`` write it there (UTF-8) and return ``None``.
        """
        text = standard_json(self.to_dict(), indent=indent)
        if path is None:
            return text
        Path(path).write_text(text, encoding="utf-8")
        return None

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> Result:
        """Load a result from a JSON string or file written by :meth:`to_json`."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            text = Path(text_or_path).read_text()
        return cls.from_dict(json.loads(text))

    # -- display -------------------------------------------------------------
    def __rich__(self) -> RenderableType:
        from crystallize.core.summary import render_summary  # noqa: PLC0415

        return render_summary(self)

    def _repr_html_(self) -> str | None:
        """Jupyter's rich display: the verdict table with coloured labels and the
        difference plots, the same numbers as the HTML report."""
        from crystallize.core.rich_html import html_of  # noqa: PLC0415

        return html_of(self)

    def __str__(self) -> str:
        from crystallize.core.summary import summary_text  # noqa: PLC0415

        return summary_text(self)

    def __repr__(self) -> str:
        return (f"Result(name={self.name!r}, conditions={list(self.conditions)!r}, runs={len(self.records)}, "
                f"failed={len(self.errors)}, verdicts={len(self.verdicts)}, run_id={self.run_id!r})")

