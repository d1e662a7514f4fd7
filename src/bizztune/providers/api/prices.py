"""List prices of API models, to put a cost on every answer (and on cached ones in reports).

price_of("gpt-4o-2024-08-06")      # (2.5, 10.0): USD per 1M input, output tokens
"""

from __future__ import annotations

import re

# USD per 1M (input, output) tokens, from the price map shipped with litellm 1.106 (2025) and
# the providers' price pages. Prices change: check openai.com/api/pricing and
# mistral.ai/pricing before you quote a cost. Dated snapshots ("gpt-4o-2024-08-06",
# "mistral-small-2501") use the price of their base name. Unknown models cost 0.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4": (30.0, 60.0),
    "gpt-4-turbo": (10.0, 30.0),
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.4, 1.6),
    "gpt-4.1-nano": (0.1, 0.4),
    "gpt-3.5-turbo": (0.5, 1.5),
    "open-mistral-7b": (0.25, 0.25),
    "open-mixtral-8x7b": (0.7, 0.7),
    "open-mistral-nemo": (0.3, 0.3),
    "mistral-small-latest": (0.15, 0.6),
    "ministral-8b-latest": (0.15, 0.15),
    "ministral-3b-latest": (0.1, 0.1),
}
_SNAPSHOT = re.compile(r"-\d{4}(-\d{2}-\d{2})?$")


def price_of(model: str) -> tuple[float, float] | None:
    """USD per 1M (input, output) tokens, or None when the table does not know the model.

    A litellm prefix ("openai/gpt-4o") and a snapshot date ("gpt-4o-2024-08-06") are ignored.
    """
    name = model.rsplit("/", 1)[-1]
    if name in PRICES:
        return PRICES[name]
    return PRICES.get(_SNAPSHOT.sub("", name))
