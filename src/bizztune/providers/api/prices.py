"""List prices of API models, to put a cost on every answer, with where each price came from.

    api_price("gpt-4o-2024-08-06")   # Price(2.5, 10.0, source="litellm 1.110.2 cost map", ...)
    price_of("gpt-4o")               # (2.5, 10.0): USD per 1M input, output tokens

Prices come first from litellm's maintained cost map (``litellm.model_cost``): the map bundled
with the installed litellm package (``model_prices_and_context_window_backup.json``), read as a
file so that asking for a price neither imports litellm (seconds) nor fetches the map from the
internet. When litellm is already imported, its live ``litellm.model_cost`` is used instead.
The project's own table below is the fallback, for models the map lacks (open-mistral-7b) or
when litellm is not installed. Every price says its source and date; reports print them.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

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
PRICES_DATE = "2025-06"
"""When the table above was last checked against the vendors' price pages."""
_SNAPSHOT = re.compile(r"-\d{4}(-\d{2}-\d{2})?$")
_MAP_FILE = "model_prices_and_context_window_backup.json"


@dataclass(frozen=True)
class Price:
    """USD per 1M input and output tokens, and where the figure came from."""

    input: float
    output: float
    source: str
    """``litellm 1.110.2 cost map``, ``bizztune price table`` or ``config``."""
    date: str
    """When the figure was current: the litellm package's install date (its map is at least
    that old), the table's check date, or ``config``."""
    key: str = ""
    """The name the price was found under (``mistral/mistral-small-latest``)."""

    def usd(self, prompt_tokens: float, completion_tokens: float) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1e6


def price_of(model: str) -> tuple[float, float] | None:
    """USD per 1M (input, output) tokens from the project's table, or None when it does not
    know the model. A litellm prefix ("openai/gpt-4o") and a snapshot date are ignored."""
    name = model.rsplit("/", 1)[-1]
    if name in PRICES:
        return PRICES[name]
    return PRICES.get(_SNAPSHOT.sub("", name))


@cache
def _litellm_map() -> tuple[dict[str, Any], str, str] | None:
    """litellm's cost map, its version and date; None without litellm."""
    try:
        version = metadata.version("litellm")
    except metadata.PackageNotFoundError:
        return None
    live = sys.modules.get("litellm")
    if live is not None and isinstance(getattr(live, "model_cost", None), dict):
        return live.model_cost, version, datetime.now(UTC).date().isoformat()
    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).with_name(_MAP_FILE)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    date = datetime.fromtimestamp(path.stat().st_mtime, UTC).date().isoformat()
    return data, version, date


def _litellm_price(model: str, family: str | None) -> Price | None:
    found = _litellm_map()
    if found is None:
        return None
    table, version, date = found
    name = model.rsplit("/", 1)[-1]
    keys = [model, name, _SNAPSHOT.sub("", name)]
    if family:
        keys = [f"{family}/{name}", *keys, f"{family}/{_SNAPSHOT.sub('', name)}"]
    for key in keys:
        entry = table.get(key)
        if not isinstance(entry, dict):
            continue
        p_in, p_out = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
        if isinstance(p_in, int | float) and isinstance(p_out, int | float):
            return Price(p_in * 1e6, p_out * 1e6, f"litellm {version} cost map", date, key)
    return None


def api_price(
    model: str,
    family: str | None = None,
    overrides: dict[str, list[float]] | dict[str, tuple[float, float]] | None = None,
) -> Price | None:
    """The price of an API model: ``overrides`` (the run's ``costs.api_prices``), then
    litellm's cost map, then the project's table; None when nobody knows it."""
    name = model.rsplit("/", 1)[-1]
    for key in (model, name):
        if overrides and key in overrides:
            p_in, p_out = overrides[key]
            return Price(float(p_in), float(p_out), "config", "config", key)
    got = _litellm_price(model, family)
    if got is not None:
        return got
    table = price_of(model)
    if table is not None:
        return Price(table[0], table[1], "bizztune price table", PRICES_DATE, name)
    return None
