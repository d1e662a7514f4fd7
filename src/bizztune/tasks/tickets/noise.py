"""How typing on a phone, in a hurry or on a foreign keyboard changes a ticket's text.

    text = typos(text, rng)           # swapped, dropped and doubled letters, at a word rate
    text = umlauts(text, "ae")        # "Gerät" -> "Geraet"; "plain": "Gerat"
    text = loanwords(text, rng)       # "Konto" -> "Account", "stürzt ab" -> "crasht"

Used by ``bizztune.tasks.tickets.generator``. Nothing here knows a label: noise is drawn for the
writer, never for the class.
"""

from __future__ import annotations

import random
import re
from typing import Literal

UMLAUTS = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}
_PLAIN = {"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "Ä": "A", "Ö": "O", "Ü": "U"}

LOANWORDS: tuple[tuple[str, str], ...] = (
    ("Kundenkonto", "Account"),
    ("Einstellungen", "Settings"),
    ("Sendungsverfolgung", "Tracking-Seite"),
    ("Sendungsnummer", "Trackingnummer"),
    ("stürzt ab", "crasht"),
    ("abgestürzt", "gecrasht"),
    ("Fehlermeldung", "Error-Meldung"),
    ("herunterladen", "downloaden"),
    ("heruntergeladen", "downloadet"),
    ("so schnell wie möglich", "asap"),
    ("Bildschirmfoto", "Screenshot"),
    ("Passwort", "Password"),
    ("Neustart", "Reboot"),
    ("zurücksetzen", "resetten"),
    ("Verbindung", "Connection"),
    ("Rechnung", "Invoice"),
    ("Termin", "Slot"),
)
"""German word -> the English one people write instead, chosen so the article still fits."""


def typos(text: str, rng: random.Random, rate: float = 0.06) -> str:
    """Swap, drop or double a letter in about ``rate`` of the longer words."""
    out = []
    for w in text.split(" "):
        if len(w) > 3 and w.isalpha() and rng.random() < rate:
            i = rng.randrange(len(w) - 1)
            op = rng.randrange(3)
            if op == 0:
                w = w[:i] + w[i + 1] + w[i] + w[i + 2 :]
            elif op == 1:
                w = w[:i] + w[i + 1 :]
            else:
                w = w[:i] + w[i] + w[i:]
        out.append(w)
    return " ".join(out)


def umlauts(text: str, how: Literal["ae", "plain"] = "ae") -> str:
    """Umlauts written out (``ae``) or dropped (``plain``), as keyboards without them do."""
    table = UMLAUTS if how == "ae" else _PLAIN
    for k, v in table.items():
        text = text.replace(k, v)
    return text.replace("ı", "i").replace("ć", "c").replace("ş", "s")


def loanwords(text: str, rng: random.Random, rate: float = 0.5) -> str:
    """Replace some German words by the English ones many customers use."""
    for de, en in LOANWORDS:
        if de in text and rng.random() < rate:
            text = re.sub(rf"\b{re.escape(de)}\b", en, text)
    return text


def mess(text: str, rng: random.Random, careless: bool) -> str:
    """The writer's habits: loanwords, umlauts, typos, lower case, missing commas."""
    if rng.random() < 0.25:
        text = loanwords(text, rng)
    r = rng.random()
    if r < 0.12:
        text = umlauts(text, "ae")
    elif r < 0.18:
        text = umlauts(text, "plain")
    if careless:
        text = typos(text, rng)
        if rng.random() < 0.3:
            text = text.lower()
        if rng.random() < 0.4:
            text = text.replace(", ", " ")
    return text
