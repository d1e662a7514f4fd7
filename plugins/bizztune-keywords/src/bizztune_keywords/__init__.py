"""An example bizztune plugin: two providers and a task, registered through pluggy hooks.

- ``keywords``: a keyword-rule baseline (no model, no key).
- ``acme``: a paid API of its own (an imaginary OpenAI-compatible vendor) on bizztune's API
  engine, which brings retries, the response cache and cost. It declares its key variable and
  that it is paid when it registers, so ``bizztune run`` skips it without ``ACME_API_KEY`` (or
  with ``--no-api``), exactly as it skips the built-in API providers.
- ``tickets-urgency``: a task of its own (``tickets_urgency.yaml``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import bizztune
from bizztune.core.interfaces import Completion, ProviderConfig, Request, Schema

# Stems are matched against the lower-cased ticket text; for labels without stems the
# provider falls back to the label's own words.
KEYWORDS: dict[str, list[str]] = {
    "Geräte-Setup-Probleme": ["einricht", "install", "verbind", "koppel", "setup", "wlan"],
    "Softwarefehler": ["update", "absturz", "stürzt", "fehler", "app ", "firmware", "bug"],
    "Zahlungsprobleme": ["zahlung", "abgebucht", "karte", "paypal", "rechnung", "lastschrift"],
    "Rückerstattungsanfragen": ["erstatt", "zurück", "retour", "storn", "gutschrift"],
    "Produktspezifikationen": [
        "technisch",
        "daten",
        "kompatib",
        "unterstützt",
        "akku",
        "auflösung",
    ],
    "Garantieinformationen": ["garantie", "gewährleist", "defekt nach", "reparatur"],
    "Bestellverfolgung": ["sendung", "tracking", "status", "bestellnummer", "wo ist"],
    "Lieferverzögerungen": ["verspät", "verzöger", "noch nicht angekommen", "liefertermin"],
    "Unternehmensrichtlinien": ["datenschutz", "richtlinie", "agb", "bedingungen", "rückgabe"],
    "Feedback und Vorschläge": ["vorschlag", "feedback", "lob", "toll", "wünsche mir"],
    "Kein Zusammenhang": ["gewinnspiel", "rezept", "wetter", "falsche adresse"],
    "Hoch": ["sofort", "dringend", "geht gar nicht", "komplett", "notfall", "heute"],
    "Niedrig": ["frage", "interesse", "wann immer", "keine eile", "vorschlag"],
}


class KeywordProvider:
    """Counts keyword stems per label; the most frequent wins, ties go to taxonomy order."""

    name = "keywords"

    def __init__(self, config: ProviderConfig) -> None:
        self.model = "keyword-rules"

    def _pick(self, text: str, labels: Sequence[str]) -> str:
        def hits(label: str) -> int:
            stems = KEYWORDS.get(label) or [w.lower() for w in label.split() if len(w) > 3]
            return sum(text.count(s) for s in stems)

        return max(labels, key=lambda lab: (hits(lab), -labels.index(lab)))

    def complete(self, requests: Sequence[Request], schema: Schema) -> Iterator[Completion]:
        for r in requests:
            text = " ".join(m["content"] for m in r.messages if m["role"] == "user").lower()
            if r.example is not None:
                text = " ".join(r.example.inputs.values()).lower()
            answer: dict[str, Any] = {}
            for f in schema.fields:
                if f.name not in r.fields:
                    continue
                if f.parent is None:
                    answer[f.name] = self._pick(text, f.labels)
                else:  # a child decides its parent, so the answer is always consistent
                    answer[f.name] = self._pick(text, f.labels)
                    if f.parent in r.fields:
                        answer[f.parent] = f.parent_of[answer[f.name]]
            if "urgency" in answer and answer["urgency"] not in ("Hoch", "Niedrig"):
                answer["urgency"] = "Mittel"
            ordered = {n: answer[n] for n in schema.names if n in answer}
            yield Completion(r.id, json.dumps(ordered, ensure_ascii=False))


ACME_KEY_ENV = "ACME_API_KEY"
ACME_URL = "https://api.acme.example/v1"


def acme_provider(config: ProviderConfig) -> Any:
    """An OpenAI-compatible API through bizztune's engine; ``--base-url`` points it elsewhere."""
    from bizztune.providers.api.backend import api_key, resolve_model
    from bizztune.providers.api.engine import ApiProvider
    from bizztune.providers.api.openai import OpenAIBackend

    base_url = config.base_url or ACME_URL

    def connect() -> OpenAIBackend:
        key = api_key(ACME_KEY_ENV, config.base_url, f"provider '{config.name}' (Acme)")
        return OpenAIBackend(key, base_url, config.timeout_s)

    return ApiProvider(
        config,
        family="acme",
        model=resolve_model(config, "acme", "acme-small"),
        key_env=ACME_KEY_ENV,
        base_url=base_url,
        where=base_url,
        connect=connect,
    )


@bizztune.hookimpl
def register_providers(register: Any) -> None:
    register("keywords", KeywordProvider, description="keyword-rule baseline (example plugin)")
    register(
        "acme",
        acme_provider,
        description=f"Acme's API (example plugin); key: {ACME_KEY_ENV}",
        key_env=ACME_KEY_ENV,
        paid=True,
    )


@bizztune.hookimpl
def register_tasks(register: Any) -> None:
    from bizztune.tasks.yaml_task import load_task_file

    path = Path(__file__).with_name("tickets_urgency.yaml")
    register("tickets-urgency", lambda: load_task_file(path), description="urgency only (example)")
