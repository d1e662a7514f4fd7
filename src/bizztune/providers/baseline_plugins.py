"""Registration of the model-free baselines."""

from __future__ import annotations

from typing import Any

from bizztune.core.hookspecs import Register
from bizztune.core.interfaces import ProviderConfig


def _majority(config: ProviderConfig) -> Any:
    from bizztune.providers.baselines import MajorityProvider

    return MajorityProvider(config)


def _tfidf(config: ProviderConfig) -> Any:
    from bizztune.providers.baselines import TfidfProvider

    return TfidfProvider(config)


def register(register: Register) -> None:
    register("majority", _majority, description="most frequent train label per field (no model)")
    register("tfidf", _tfidf, description="TF-IDF + logistic regression fitted on train (no model)")
