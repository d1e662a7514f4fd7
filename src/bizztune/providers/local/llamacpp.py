"""The optional ``llamacpp`` provider: a GGUF served in-process by llama-cpp-python.

    pip install llama-cpp-python          # compiles llama.cpp: minutes, hence optional
    bizztune eval --provider llamacpp --model smollm2-135m --decoding constrained

``--model`` is an embedded alias (its GGUF is used directly, no conversion) or a ``.gguf``
path. Free decoding uses the GGUF's chat template through ``create_chat_completion``;
constrained decoding passes a GBNF grammar whose only sentences are the valid answers of the
request (same answer space as the ``hf`` provider), so the invalid rate is 0 here too.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bizztune.core.errors import ConfigError, MissingDependencyError
from bizztune.core.interfaces import Completion, ProviderConfig, Request, Schema
from bizztune.providers.local.constrained import answer_space


def gbnf_alternatives(texts: Sequence[str]) -> str:
    """A GBNF grammar whose sentences are exactly ``texts``."""
    alts = " | ".join(json.dumps(t, ensure_ascii=False) for t in texts)
    return f"root ::= {alts}\n"


class LlamaCppProvider:
    def __init__(self, config: ProviderConfig) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise MissingDependencyError("llama-cpp-python", "llamacpp")
        from llama_cpp import Llama

        from bizztune.models.embedded import EMBEDDED, gguf_path

        model = config.model or "smollm2-135m"
        path = gguf_path(model) if model in EMBEDDED else Path(model)
        if not path.is_file() or path.suffix.lower() != ".gguf":
            raise ConfigError(
                f"--provider llamacpp --model {model}: expected one of {', '.join(EMBEDDED)} "
                f"or a .gguf file"
            )
        self.config = config
        self.name = config.name
        self.model = model
        self.llm = Llama(model_path=str(path), n_ctx=4096, seed=config.seed, verbose=False)
        self._grammars: dict[tuple[str, ...], Any] = {}

    def _grammar(self, schema: Schema, fields: tuple[str, ...]) -> Any:
        from llama_cpp import LlamaGrammar

        if fields not in self._grammars:
            space = answer_space(schema, fields)
            self._grammars[fields] = LlamaGrammar.from_string(
                gbnf_alternatives(space.texts), verbose=False
            )
        return self._grammars[fields]

    def complete(self, requests: Sequence[Request], schema: Schema) -> Iterator[Completion]:
        for r in requests:
            kwargs: dict[str, Any] = {
                "messages": r.messages,
                "temperature": self.config.temperature,
                "max_tokens": int(r.params.get("max_tokens", self.config.max_new_tokens)),
                "seed": self.config.seed,
            }
            if self.config.decoding == "constrained":
                kwargs["grammar"] = self._grammar(schema, tuple(r.fields))
                kwargs["max_tokens"] = 256
            t0 = time.perf_counter()
            try:
                out = self.llm.create_chat_completion(**kwargs)
            except ValueError as e:  # llama.cpp refuses a prompt longer than its n_ctx
                if "context window" not in str(e):
                    raise
                yield Completion(r.id, None, error=f"input longer than the model's context ({e})")
                continue
            usage = out.get("usage", {})
            yield Completion(
                request_id=r.id,
                text=out["choices"][0]["message"]["content"],
                latency_s=time.perf_counter() - t0,
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
            )
