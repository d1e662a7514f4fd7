"""The prompt that asks an LLM for one German support ticket (``bizztune generate --provider``).

    messages = generation_messages(task, {"category": ..., "subcategory": ..., "urgency": ...},
                                   random.Random("0:prompt:0:1"))

``bizztune.data.llm_generate`` finds this function next to the task's offline generator (the
module that ``generator:`` in tickets.yaml names). It spells out the taxonomy and the urgency
rubric, the labels the ticket must have, and a writing style, sender, date and product for
variety. The draws from ``rng`` come in a fixed order, so a prompt (and the cache key of its
answer) is the same for the same seed, item and attempt.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from bizztune.core.interfaces import Message, Task
from bizztune.tasks.tickets import catalog as cat

WRITING_STYLES = (
    "förmlich und höflich",
    "locker und umgangssprachlich",
    "sehr knapp, ein bis zwei Sätze",
    "ausführlich mit Vorgeschichte",
    "verärgert",
    "freundlich, mit ein paar Tippfehlern",
    "sachlich, mit Bestellnummer und Datum im Text",
)

PROMPT = """Du erzeugst realistische Trainingsdaten für diese Aufgabe: {description}
Schreibe genau ein neues Ticket auf Deutsch, so wie eine echte Kundin oder ein echter Kunde es schreiben würde.

Taxonomie der Aufgabe:
{taxonomy}

Das Ticket muss genau zu diesen Labels passen:
{cell}
{rubric}
Für Abwechslung:
- Schreibstil: {style}
- Absender: {name}
- Datum des Tickets: {date}
- Produkt, falls es zum Anliegen passt: {product}

Regeln:
- Der Titel ist kurz (2 bis 8 Wörter) und nennt das Label nicht wörtlich.
- Die Beschreibung nennt weder Kategorie noch Dringlichkeit ausdrücklich; beides muss sich aus dem Inhalt ergeben.
- Keine Platzhalter wie [Name] oder XXX.

Antworte ausschließlich mit einem JSON-Objekt mit genau diesen Schlüsseln: {keys}"""


def generation_messages(task: Task, cell: Mapping[str, str], rng: random.Random) -> list[Message]:
    """The request for one ticket of ``cell``; ``rng`` varies style, sender, date and product."""
    cell_lines = []
    rubric_lines = []
    for f in task.schema.fields:
        title = f.description or f.name
        cell_lines.append(f"- {title} ({f.name}): {cell[f.name]}")
        if f.rubric:
            rubric_lines.append(f"So ist „{title}“ festgelegt (genau daran halten):")
            rubric_lines += [f"- {label}: {meaning}" for label, meaning in f.rubric.items()]
    taxonomy_text = getattr(task, "taxonomy_text", None)
    first, _ = rng.choice(cat.FIRST_NAMES)
    product = rng.choice(cat.PRODUCTS)
    keys = ", ".join(f'"{k}"' for k in (*task.input_fields, *task.schema.names))
    prompt = PROMPT.format(
        description=task.description or task.name,
        taxonomy=taxonomy_text() if callable(taxonomy_text) else "",
        cell="\n".join(cell_lines),
        rubric="\n".join(rubric_lines) + ("\n" if rubric_lines else ""),
        style=rng.choice(WRITING_STYLES),
        name=f"{first} {rng.choice(cat.LAST_NAMES)}",
        date=f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        product=f"{product.name} ({product.noun})",
        keys=keys,
    )
    return [{"role": "user", "content": prompt}]
