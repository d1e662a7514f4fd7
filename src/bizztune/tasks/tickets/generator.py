"""The offline generator of German support tickets for the built-in ``tickets`` task.

    bizztune generate --task tickets -n 1000 --out data/tickets.jsonl
    bizztune generate --task tickets -n 1000 --generator-option prior=uniform

    from bizztune.tasks.tickets.generator import generate, generate_with_plans
    rows = list(generate(load_task("tickets"), n=1000, seed=0))
    row, plan = next(generate_with_plans(task, 1, seed=0))   # plan: how the row was made

A ticket comes about in this order:

1. its cell (subcategory, urgency) from the label prior (``prior.py``; realistic by default);
2. a problem of the subcategory that can have that urgency (``problems.txt``), in one of its
   paraphrases, with a product that can have it;
3. the customer's situation (``situations.txt``) whenever the urgency differs from the
   problem's default (a boot loop is Hoch; Mittel for someone with a spare phone), and
   sometimes when it does not; a dated deadline tells its level only by its distance from the
   ticket's date. The label follows from the content, as the task's rubric says;
4. explicit words ("Dringend!", "Keine Eile") at every level, only more often at the one they
   name: a cue, sometimes absent, sometimes misleading;
5. structure (``compose.py``): a second, minor concern of another subcategory, red herrings in
   other labels' words, details, asides, a question, in varying order; one line to several
   paragraphs; a follow-up, a forwarded mail or a reply above our acknowledgement;
6. the writer: style, greeting, signature, loanwords, missing umlauts, typos; a few in English.

Off-topic mail (``Kein Zusammenhang``) is what reaches a support inbox: spam, phishing,
automatic replies, bounces, sales pitches, messages meant for someone else, requests meant for
another company; almost always Niedrig.

Ticket ``i`` depends only on the seed, the options and the tickets before it, so
``generate(n=500)`` is a prefix of ``generate(n=1000)``: resuming an interrupted file is exact.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Mapping
from typing import Any

from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import Task
from bizztune.tasks.tickets import catalog as cat
from bizztune.tasks.tickets.compose import OFFTOPIC, Person, Plan, State, support
from bizztune.tasks.tickets.pools import POOLS
from bizztune.tasks.tickets.prior import URGENCIES, CellSchedule, label_prior, prior_name, schedule
from bizztune.tasks.tickets.prompt import generation_messages
from bizztune.tasks.tickets.slots import PART_GENDER, caps
from bizztune.tasks.tickets.stray import offtopic
from bizztune.tasks.tickets.voice import STYLES, Style

__all__ = [
    "PART_GENDER",
    "Plan",
    "caps",
    "generate",
    "generate_with_plans",
    "generation_messages",
    "label_prior",
]

STYLE_WEIGHTS: dict[str, tuple[float, ...]] = {
    # formal, informal, terse, long, angry, polite: anger at every level, more with trouble
    "Hoch": (1.0, 1.2, 0.8, 0.8, 1.2, 0.6),
    "Mittel": (1.0, 1.2, 0.9, 0.9, 0.9, 0.9),
    "Niedrig": (1.0, 1.2, 1.0, 0.9, 0.4, 1.2),
}


def generate(task: Task, n: int, seed: int, **options: Any) -> Iterator[dict[str, Any]]:
    """``n`` tickets ``{id, title, description, user, date, category, subcategory, urgency}``
    whose labels follow the prior (option ``prior``: realistic or uniform). The task and the
    options are checked at the call, before anything is written."""
    return (row for row, _ in generate_with_plans(task, n, seed, **options))


def generate_with_plans(
    task: Task, n: int, seed: int, **options: Any
) -> Iterator[tuple[dict[str, Any], Plan]]:
    """The rows of ``generate`` with the plan of each: problem, situation, cue, second concern."""
    name = prior_name(options)
    try:
        sub_field = task.schema.field("subcategory")
        urgencies = task.schema.field("urgency").labels
    except KeyError:
        raise ConfigError(
            f"the built-in ticket generator writes the 'tickets' task, not '{task.name}'"
        ) from None
    missing = [s for s in sub_field.labels if s not in POOLS]
    if missing:
        raise ConfigError(
            f"task '{task.name}': the built-in generator has no tickets for subcategories "
            f"{', '.join(missing)}; generate with --provider instead"
        )
    for u in urgencies:
        if u not in URGENCIES:
            raise ConfigError(f"task '{task.name}': unknown urgency label {u!r} for the generator")
    cells = schedule(sub_field.labels, seed, name)
    return _tickets(n, seed, cells, sub_field.parent_of)


def _tickets(
    n: int, seed: int, cells: CellSchedule, parent_of: Mapping[str, str]
) -> Iterator[tuple[dict[str, Any], Plan]]:
    st = State(seed, {})
    for i in range(n):
        sub, urg = cells.cell(i)
        rng = random.Random(f"{seed}:ticket:{i}")
        yield _ticket(st, rng, i, sub, urg, parent_of[sub])


def _ticket(
    st: State, rng: random.Random, i: int, sub: str, urg: str, category: str
) -> tuple[dict[str, Any], Plan]:
    style: Style = rng.choices(STYLES, weights=STYLE_WEIGHTS[urg])[0]
    ticket_date = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(730))
    first, gender = rng.choice(cat.FIRST_NAMES)
    person = Person(first, rng.choice(cat.LAST_NAMES), gender)
    if sub == OFFTOPIC:
        title, description, user, plan = offtopic(st, rng, urg, style, ticket_date, person)
    else:
        title, description, plan = support(st, rng, sub, urg, style, ticket_date, person)
        r = rng.random()
        user = person.full if r < 0.88 else f"{first[0]}. {person.last}"
    plan.id = f"t-{i + 1:06d}"
    row = {
        "id": plan.id,
        "title": title,
        "description": description,
        "user": user,
        "date": ticket_date.isoformat(),
        "category": category,
        "subcategory": sub,
        "urgency": urg,
    }
    return row, plan
