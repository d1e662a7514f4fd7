"""How much of the task a frozen open model already knows: a linear probe on its hidden states.

    python benchmarks/linear_probe.py gemma3-270m
    python benchmarks/linear_probe.py smollm2-135m --sets test,tickets:foreign-dev,tickets:foreign

No fine-tuning: every ticket (the task's compact chat prompt) goes through the frozen model once;
the mean of its hidden states at a few depths (and the last token's final state) is the
feature vector; a logistic regression per field (subcategory, urgency; the category follows
from the subcategory) is fitted on the train split of the embedded default set and scored on
each set. The depth is chosen on ``tickets:foreign-dev`` only; ``tickets:foreign`` is reported
for that choice, never chosen on. TF-IDF fitted on the same train split is printed beside it,
so the figure reads as a ratio to the baseline of the same run. The CPU model and flags are
printed with the timings. Never run it beside another heavy job on the same cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def features(model: Any, tok: Any, task: Any, examples: list[Any], layers: list[int]) -> Any:
    import torch

    n_layers = model.config.get_text_config().num_hidden_layers
    out: dict[str, list[Any]] = {f"mean{x}": [] for x in layers} | {"last": []}
    for ex in examples:
        ids = tok.apply_chat_template(
            task.messages(ex, style="compact"), add_generation_prompt=True, tokenize=True
        )
        if not isinstance(ids, list):
            ids = list(ids["input_ids"])
        ids = ids[-512:]
        with torch.inference_mode():
            hs = model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states
        for x in layers:
            out[f"mean{x}"].append(hs[x][0].float().mean(0).numpy())
        out["last"].append(hs[n_layers][0, -1].float().numpy())
    return {k: np.stack(v) for k, v in out.items()}


def scores(task: Any, pred_sub: Any, pred_urg: Any, examples: list[Any]) -> dict[str, float]:
    parent = task.schema.field("subcategory").parent_of
    g = [ex.labels for ex in examples]
    cat = np.mean([parent[s] == x["category"] for s, x in zip(pred_sub, g, strict=True)])
    sub = np.mean([s == x["subcategory"] for s, x in zip(pred_sub, g, strict=True)])
    urg = np.mean([u == x["urgency"] for u, x in zip(pred_urg, g, strict=True)])
    joint = np.mean(
        [
            parent[s] == x["category"] and s == x["subcategory"] and u == x["urgency"]
            for s, u, x in zip(pred_sub, pred_urg, g, strict=True)
        ]
    )
    return {"cat": 100 * cat, "sub": 100 * sub, "urg": 100 * urg, "joint": 100 * joint}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("model", help="embedded model name or local Hugging Face folder")
    ap.add_argument("--sets", default="test,tickets:foreign-dev,tickets:foreign")
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()

    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from transformers import AutoModel, AutoTokenizer

    from bizztune.core.interfaces import ProviderConfig
    from bizztune.data.io import load_examples
    from bizztune.data.sources import resolve_data
    from bizztune.models.embedded import resolve_model
    from bizztune.models.tokenizer import prepare_tokenizer
    from bizztune.providers.baselines import TfidfProvider, _text
    from bizztune.tasks import load_task

    sys.path.insert(0, str(Path(__file__).parent))
    from bizztune.core.machine import cpu_line

    if a.threads:
        torch.set_num_threads(a.threads)
    task = load_task("tickets")
    default = resolve_data(task, None)
    sets: dict[str, list[Any]] = {"train": load_examples(default, task, "train")}
    for s in a.sets.split(","):
        sets[s] = (
            load_examples(default, task, "test")
            if s == "test"
            else load_examples(resolve_data(task, s), task)
        )
    path = resolve_model(a.model)
    tok = prepare_tokenizer(AutoTokenizer.from_pretrained(path))
    model = AutoModel.from_pretrained(path, dtype=torch.bfloat16).eval()
    n_layers = model.config.get_text_config().num_hidden_layers
    layers = sorted({n_layers // 3, n_layers // 2, (2 * n_layers) // 3, n_layers})
    t0 = time.perf_counter()
    feats = {name: features(model, tok, task, exs, layers) for name, exs in sets.items()}
    fwd = time.perf_counter() - t0
    n_items = sum(len(v) for v in sets.values())

    tfidf = TfidfProvider(ProviderConfig(name="tfidf"))
    tfidf.fit(sets["train"], task.schema)
    results: dict[str, dict[str, dict[str, float]]] = {"tfidf": {}}
    for s in sets:
        if s == "train":
            continue
        texts = [_text(ex) for ex in sets[s]]
        sub, urg = (
            [max(p, key=p.__getitem__) for p in tfidf._proba(f, texts)]
            for f in ("subcategory", "urgency")
        )
        results["tfidf"][s] = scores(task, sub, urg, sets[s])
    for key in feats["train"]:
        clfs = {
            f: make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000)).fit(
                feats["train"][key], [ex.labels[f] for ex in sets["train"]]
            )
            for f in ("subcategory", "urgency")
        }
        results[f"probe {key}"] = {
            s: scores(
                task,
                clfs["subcategory"].predict(feats[s][key]),
                clfs["urgency"].predict(feats[s][key]),
                sets[s],
            )
            for s in sets
            if s != "train"
        }
    shown = [s for s in sets if s != "train"]
    print(f"CPU: {cpu_line()}; model {a.model}; {n_items} tickets through the frozen model in "
          f"{fwd:.0f} s ({n_items / fwd:.1f} tickets/s)")  # fmt: skip
    print("| features | " + " | ".join(f"{s}: cat / sub / urg / joint" for s in shown) + " |")
    print("|---|" + "---|" * len(shown))
    for name, r in results.items():
        cells = [
            " / ".join(f"{r[s][k]:.1f}" for k in ("cat", "sub", "urg", "joint")) for s in shown
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    dev = "tickets:foreign-dev"
    if dev in shown:
        best = max((k for k in results if k != "tfidf"), key=lambda k: results[k][dev]["joint"])
        print(f"chosen on {dev} (joint): {best}")


if __name__ == "__main__":
    main()
