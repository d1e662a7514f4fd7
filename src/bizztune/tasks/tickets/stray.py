"""Stray mail that reaches a support inbox: spam, phishing, automatic replies, bounces, sales
pitches, messages meant for someone else, requests meant for another company.

    title, description, user, plan = offtopic(st, rng, "Niedrig", "informal", date, person)

Used by ``bizztune.tasks.tickets.generator``, with the pieces of ``compose``. It has no
situations: a stray mail's urgency is its own (almost always Niedrig).
"""

from __future__ import annotations

import datetime as dt
import random

from bizztune.tasks.tickets import catalog as cat
from bizztune.tasks.tickets.compose import (
    OFFTOPIC,
    Draft,
    Person,
    Plan,
    State,
    cap,
    draw_cue,
    draw_problem,
    draw_variant,
    insert_at,
    signature,
    write_title,
)
from bizztune.tasks.tickets.noise import mess
from bizztune.tasks.tickets.pools import POOLS
from bizztune.tasks.tickets.slots import fill, slots
from bizztune.tasks.tickets.voice import GREETINGS, STRAY_EXTRAS, STRAY_SENDERS, Style


def offtopic(
    st: State, rng: random.Random, urg: str, style: Style, date: dt.date, person: Person
) -> tuple[str, str, str, Plan]:
    """Stray mail: (title, description, user, plan). It never names our products or orders."""
    problem = draw_problem(st, f"problem:de:{OFFTOPIC}:{urg}", POOLS[OFFTOPIC].problems, urg)
    kind = problem.tag
    s = slots(rng, rng.choice(cat.PRODUCTS), date)
    s["sender"] = person.full
    text = fill(draw_variant(st, rng, problem, style == "terse"), s, rng)
    plan = Plan(OFFTOPIC, urg, problem.variants[0], problem.default, kind=kind, style=style)
    plan.texts.append(text)
    user = person.full
    if kind in STRAY_SENDERS:
        # machines and marketing: their own title, sender and footer
        titles, senders, footers = STRAY_SENDERS[kind]
        if problem.titles and (kind in ("auto", "bounce") or rng.random() < 0.6):
            titles = problem.titles
        title = fill(rng.choice(titles), s, rng)
        user = fill(rng.choice(senders), s, rng)
        footer = fill(rng.choice(footers), s, rng)
        if kind == "auto" and rng.random() < 0.6:
            footer = f"{person.full}\n{s['company']}"
        head = ""
        if kind in STRAY_EXTRAS:
            salutations, extras = STRAY_EXTRAS[kind]
            head = rng.choice(salutations) if rng.random() < 0.6 else ""
            if rng.random() < 0.6:
                text = f"{text} {fill(st.pick(f'stray-extra:{kind}', extras), s, rng)}"
        description = "\n\n".join(x for x in (head, text, footer) if x)
        return title, description, user, plan
    # people who wrote to the wrong address
    segs = [text]
    if rng.random() < 0.3:
        insert_at(segs, fill(st.pick("detail:stray", POOLS[OFFTOPIC].details), s, rng), rng)
    plan.cue, cue = draw_cue(st, rng, urg, "de")
    if cue:
        if rng.random() < 0.4:
            segs.insert(0, cue)
        else:
            segs.append(cue)
    careless = style in ("informal", "terse", "angry") and rng.random() < 0.35
    body = mess(" ".join(segs), rng, careless)
    greeting = rng.choice(GREETINGS[style]) if not text.startswith(("Hallo", "Hi", "Lieb")) else ""
    d = Draft(st, rng, style, s, person, plan)
    sig = signature(d, True)
    description = "\n".join(x for x in (greeting, body if greeting else cap(body), *sig) if x)
    title = write_title(d, problem)
    return title, description, user, plan
