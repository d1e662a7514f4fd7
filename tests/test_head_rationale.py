"""Rationale supervision of the attention queries (``--head-rationale``): the words a TF-IDF
regression finds for a ticket's gold label become where its field's attention should look.

    pytest tests/test_head_rationale.py
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import torch

from bizztune.data.io import load_examples, row_to_example
from bizztune.models.heads import encode_prompt
from bizztune.models.tokenizer import load_tokenizer
from bizztune.plugins import load_task
from bizztune.trainers.head.rationale import Rationales, token_targets, word_weights

from conftest import make_rows, train_head


def test_word_weights_favour_the_words_of_the_gold_label() -> None:
    texts = [f"Gerät kaputt {w} bitte {i}" for i in range(6) for w in ("sofort", "irgendwann")]
    labels = [0 if "sofort" in t else 1 for t in texts]
    w = word_weights(texts, labels, 3)
    assert "sofort" in w[0] and "irgendwann" not in w[0]
    assert "irgendwann" in w[1] and "sofort" not in w[1]
    assert all(v > 0 for d in w for v in d.values())
    assert "kaputt" not in w[0]  # in every ticket: it favours no label
    assert word_weights(texts, [1] * len(texts), 3) == [{} for _ in texts]  # one label: nothing


def test_token_targets_spread_a_word_over_its_tokens(tiny_model: Path) -> None:
    task = load_task("tickets")
    tok = load_tokenizer(tiny_model)
    ex = row_to_example(make_rows()[0], task, "row")
    msgs = task.messages(ex, style="compact")
    text = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    word = max(re.findall(r"\w\w+", ex.inputs["description"]), key=len).lower()
    ids, _ = encode_prompt(tok, msgs, 10_000)
    t = token_targets(tok, msgs, ids, {word: 2.0})
    assert t is not None and len(t) == len(ids)
    assert math.isclose(sum(t), 1.0, abs_tol=1e-9)
    spans = tok(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    found = [m.span() for m in re.finditer(rf"\b{re.escape(word)}\b", text, flags=re.I)]
    hit = [spans[i] for i in range(len(t)) if t[i] > 0]
    assert found and hit  # every token with mass overlaps the word, and every word has tokens
    assert all(any(a < e and s < b for s, e in found) for a, b in hit)
    assert all(any(a < e and s < b for a, b in hit) for s, e in found)
    assert token_targets(tok, msgs, ids, {"wortgibtsnicht": 1.0}) is None
    # a prompt cut in the middle keeps its head and tail, and the targets follow the cut
    cut, was_cut = encode_prompt(tok, msgs, 40)
    assert was_cut
    tc = token_targets(tok, msgs, cut, {w: 1.0 for w in text.lower().split()})
    assert tc is not None and len(tc) == 40 and math.isclose(sum(tc), 1.0, abs_tol=1e-9)


def test_the_loss_is_the_cross_entropy_against_the_targets() -> None:
    r = Rationales(
        targets={2: [[0.0, 1.0, 0.0], None, [0.5, 0.5]]},
        weights={2: 3.0},
        names=["category", "subcategory", "urgency"],
    )
    attn = torch.full((3, 4, 3), 0.25)
    attn[0, :, 2] = torch.tensor([0.1, 0.6, 0.2, 0.1])
    attn[2, :, 2] = torch.tensor([0.2, 0.3, 0.5, 0.0])
    want = 3.0 * (-math.log(0.6) - 0.5 * math.log(0.2) - 0.5 * math.log(0.3)) / 3
    assert float(r.loss(attn, [0, 1, 2])) == pytest.approx(want)
    assert float(r.loss(attn, [1])) == 0.0  # no target: nothing to learn
    assert r.coverage() == {"urgency": pytest.approx(2 / 3, abs=1e-4)}


def _mass_on_targets(model: Path, adapter: Path, split_dir: Path) -> float:
    """Mean urgency attention on each training ticket's rationale tokens."""
    from bizztune.models.heads import collate, load_head_classifier

    task = load_task("tickets")
    clf, tok = load_head_classifier(str(model), adapter, device="cpu", dtype="float32")
    clf.keep_attention = True
    exs = load_examples(split_dir, task, "train")
    seqs = [encode_prompt(tok, task.messages(e, style="compact"), 512)[0] for e in exs]
    r = Rationales.build(task, tok, exs, "compact", seqs, {"urgency": 1.0})
    f = r.names.index("urgency")
    masses = []
    with torch.no_grad():
        for i, s in enumerate(seqs):
            t = r.targets[f][i]
            if t is None:
                continue
            ids, mask = collate([s], 0)
            clf(ids, mask)
            assert clf.attention is not None
            a = clf.attention[0, : len(t), f]
            masses.append(float(sum(a[j] for j, v in enumerate(t) if v > 0)))
    return sum(masses) / len(masses)


def test_rationale_moves_the_attention_to_the_words(
    tiny_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    """Trained with the rationale loss, the urgency query puts more of its attention on the
    rationale's tokens than the same training without it; the refit works with attn pooling."""
    common = ("--max-steps", "24", "--eval-steps", "0", "--head-pooling", "attn",
              "--head-lr-ratio", "10", "--head-refit", "0.1")  # fmt: skip
    plain, taught = tmp_path / "plain", tmp_path / "taught"
    r = train_head(tiny_model, split_dir, plain, *common)
    assert r.returncode == 0, r.stderr[-3000:]
    r = train_head(tiny_model, split_dir, taught, *common, "--head-rationale", "urgency=20")
    assert r.returncode == 0, r.stderr[-3000:]
    cfg = json.loads((taught / "train_config.json").read_text())
    assert cfg["resolved"]["rationale_coverage"]["urgency"] > 0.9
    before = _mass_on_targets(tiny_model, plain, split_dir)
    after = _mass_on_targets(tiny_model, taught, split_dir)
    assert after > before + 0.1, (before, after)


def test_rationale_flags_fail_in_one_line(
    tiny_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    r = train_head(tiny_model, split_dir, tmp_path / "a", "--head-rationale", "urgency=1")
    assert r.returncode == 2 and "--head-rationale teaches the attention queries" in r.stderr
    r = train_head(tiny_model, split_dir, tmp_path / "b", "--head-pooling", "attn",
                   "--head-rationale", "urgncy=1")  # fmt: skip
    assert r.returncode == 2 and "--head-rationale names urgncy; the task's fields" in r.stderr
    r = train_head(tiny_model, split_dir, tmp_path / "c", "--head-pooling", "attn",
                   "--head-rationale", "urgency")  # fmt: skip
    assert r.returncode == 2 and "--head-rationale takes field=weight pairs" in r.stderr
