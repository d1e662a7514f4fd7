"""The label prior of the offline ticket generator, and the order of the labels it writes.

    bizztune generate --task tickets -n 1000                                # realistic
    bizztune generate --task tickets -n 1000 --generator-option prior=uniform

    label_prior(task)                   # {"subcategory": {...}, "urgency": {...}, "category": {...}}
    label_prior(task, prior="uniform")

``realistic`` (the default) is what the support inbox of a consumer-electronics maker gets:
more technical and order tickets than policy questions or feedback, and urgency that depends on
the problem (a double charge is often ``Hoch``, a feature question rarely, stray mail almost
never), ``Niedrig`` and ``Mittel`` more common than ``Hoch``. ``uniform`` gives every
(subcategory, urgency) cell the same share, as the generator did before: every label equally
often, urgency independent of the subcategory. docs/data.md argues the numbers.

Cells are written in rounds: each round holds every cell as often as the prior says, by
largest remainder with the remainders carried to the next round, in a fresh seeded order. So
any prefix follows the prior closely, and cell ``i`` depends only on the seed and ``i``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from bizztune.core.errors import ConfigError

PRIORS = ("realistic", "uniform")
OPTIONS = {
    "prior": "realistic (default) or uniform: the label prior of the generated tickets",
}

SUBCATEGORY_SHARE: dict[str, float] = {
    "Geräte-Setup-Probleme": 0.16,
    "Softwarefehler": 0.16,
    "Zahlungsprobleme": 0.08,
    "Rückerstattungsanfragen": 0.08,
    "Produktspezifikationen": 0.07,
    "Garantieinformationen": 0.08,
    "Bestellverfolgung": 0.12,
    "Lieferverzögerungen": 0.10,
    "Unternehmensrichtlinien": 0.05,
    "Feedback und Vorschläge": 0.05,
    "Kein Zusammenhang": 0.05,
}
"""Realistic share of each subcategory: devices first, then orders, money, information."""

URGENCY_GIVEN: dict[str, tuple[float, float, float]] = {
    "Geräte-Setup-Probleme": (0.30, 0.45, 0.25),
    "Softwarefehler": (0.30, 0.45, 0.25),
    "Zahlungsprobleme": (0.35, 0.40, 0.25),
    "Rückerstattungsanfragen": (0.20, 0.50, 0.30),
    "Produktspezifikationen": (0.05, 0.25, 0.70),
    "Garantieinformationen": (0.10, 0.35, 0.55),
    "Bestellverfolgung": (0.10, 0.45, 0.45),
    "Lieferverzögerungen": (0.25, 0.50, 0.25),
    "Unternehmensrichtlinien": (0.03, 0.17, 0.80),
    "Feedback und Vorschläge": (0.03, 0.07, 0.90),
    "Kein Zusammenhang": (0.02, 0.06, 0.92),
}
"""Realistic (Hoch, Mittel, Niedrig) shares within each subcategory."""
URGENCIES = ("Hoch", "Mittel", "Niedrig")

Cell = tuple[str, str]


def prior_name(options: Mapping[str, Any]) -> str:
    """The ``prior`` option, checked; any other option is an error naming the known ones."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        known = "; ".join(f"{k}: {v}" for k, v in OPTIONS.items())
        raise ConfigError(
            f"the tickets generator has no option {', '.join(map(repr, unknown))} "
            f"(--generator-option / generator_options); it knows {known}"
        )
    name = str(options.get("prior", "realistic"))
    if name not in PRIORS:
        raise ConfigError(
            f"generator option prior={name!r}: choose one of {', '.join(PRIORS)} "
            "(--generator-option prior=uniform)"
        )
    return name


def cell_prior(subcategories: Sequence[str], name: str) -> dict[Cell, float]:
    """(subcategory, urgency) -> share, summing to 1."""
    if name == "uniform":
        k = len(subcategories) * len(URGENCIES)
        return {(s, u): 1 / k for s in subcategories for u in URGENCIES}
    total = sum(SUBCATEGORY_SHARE[s] for s in subcategories)
    return {
        (s, u): SUBCATEGORY_SHARE[s] / total * URGENCY_GIVEN[s][j]
        for s in subcategories
        for j, u in enumerate(URGENCIES)
    }


def label_prior(task: Any, **options: Any) -> dict[str, dict[str, float]]:
    """Field -> label -> expected share, for the data card to compare the rows with."""
    sub_field = task.schema.field("subcategory")
    cells = cell_prior(sub_field.labels, prior_name(options))
    out: dict[str, dict[str, float]] = {"category": {}, "subcategory": {}, "urgency": {}}
    for (s, u), p in cells.items():
        c = sub_field.parent_of[s]
        out["category"][c] = out["category"].get(c, 0.0) + p
        out["subcategory"][s] = out["subcategory"].get(s, 0.0) + p
        out["urgency"][u] = out["urgency"].get(u, 0.0) + p
    return {f: {k: round(v, 6) for k, v in d.items()} for f, d in out.items()}


class CellSchedule:
    """The cell of ticket ``i``: rounds that follow the prior, each in a seeded order."""

    def __init__(self, prior: Mapping[Cell, float], seed: int, round_size: int) -> None:
        self.cells = list(prior)
        self.prior = prior
        self.seed = seed
        self.size = round_size
        self.carry = dict.fromkeys(self.cells, 0.0)
        self.rounds: list[list[Cell]] = []

    def _next_round(self) -> list[Cell]:
        quota = {c: self.prior[c] * self.size + self.carry[c] for c in self.cells}
        take = {c: max(0, math.floor(q)) for c, q in quota.items()}
        left = self.size - sum(take.values())
        # the largest remainders fill the round; ties go to the earlier cell
        by_rest = sorted(self.cells, key=lambda c: -(quota[c] - take[c]))
        for c in by_rest[: max(0, left)]:
            take[c] += 1
        self.carry = {c: quota[c] - take[c] for c in self.cells}
        order = [c for c in self.cells for _ in range(take[c])]
        random.Random(f"{self.seed}:cells:{len(self.rounds)}").shuffle(order)
        return order

    def cell(self, i: int) -> Cell:
        while len(self.rounds) <= i // self.size:
            self.rounds.append(self._next_round())
        return self.rounds[i // self.size][i % self.size]


def schedule(subcategories: Sequence[str], seed: int, name: str) -> CellSchedule:
    prior = cell_prior(subcategories, name)
    # uniform: one round is every cell once, so every prefix of 33 is balanced
    size = len(prior) if name == "uniform" else 100
    return CellSchedule(prior, seed, size)
