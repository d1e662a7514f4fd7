"""``--lora-layers``: LoRA on the top layers only, no backward pass below them, the MFU count,
the flag's checks and a trained adapter that serves.

    pytest tests/test_lora_layers.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bizztune.core.errors import ConfigError
from bizztune.trainers.config import HeadConfig

from conftest import run_cli


def _classifier(tiny_model: Path, lora_layers: float | None) -> tuple[object, list[object]]:
    from bizztune.models.heads import HeadClassifier, HeadSpec, load_body
    from bizztune.plugins import load_task
    from bizztune.trainers.head.adapters import add_lora, layers_below

    cfg = HeadConfig(model=str(tiny_model), r=4, alpha=8, dropout=0.0,
                      target_modules=["all-linear"], lora_layers=lora_layers)  # fmt: skip
    torch.manual_seed(0)
    body = load_body(tiny_model, torch.float32)
    lower = layers_below(body, cfg)
    body = add_lora(body, cfg)
    spec = HeadSpec.for_schema(load_task("tickets").schema, body.config.hidden_size, pooling="mean")
    return HeadClassifier(body, spec), lower


# The hooks fire on the layer's output gradients (no layer input needs one): that is the
# point, a layer the backward pass goes through; PyTorch warns that it does so.
@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
@pytest.mark.parametrize("lora_layers", [None, 1])
def test_lora_on_the_top_layer_only_and_no_backward_below_it(
    tiny_model: Path, lora_layers: float | None
) -> None:
    clf, lower = _classifier(tiny_model, lora_layers)
    layers = clf.body.get_base_model().layers  # type: ignore[attr-defined]
    assert len(layers) == 2
    with_lora = [any("lora_A" in n for n, _ in layer.named_modules()) for layer in layers]
    assert with_lora == ([True, True] if lora_layers is None else [False, True])
    assert lower == ([] if lora_layers is None else [layers[0]])
    # every linear module of the top layer gets an adapter, as "all-linear" does
    adapted = {n.split(".")[-1] for n, m in layers[1].named_modules() if hasattr(m, "lora_A")}
    assert adapted == {f"{x}_proj" for x in ("q", "k", "v", "o", "gate", "up", "down")}

    reached: list[str] = []  # which layers the backward pass went through
    for i, layer in enumerate(layers):
        layer.register_full_backward_hook(lambda *_, i=i: reached.append(str(i)))
    ids = torch.tensor([[5, 9, 14, 3, 7, 2]])
    logits = clf(ids, torch.ones_like(ids))  # type: ignore[operator]
    sum(x.sum() for x in logits.values()).backward()
    assert sorted(set(reached)) == (["0", "1"] if lora_layers is None else ["1"])
    grads = [p.grad is not None for n, p in clf.named_parameters() if "lora_" in n]  # type: ignore[attr-defined]
    assert grads and all(grads)


def test_the_layer_count_is_resolved_and_checked(tiny_model: Path) -> None:
    from bizztune.models.heads import load_body
    from bizztune.trainers.head.adapters import first_lora_layer

    body = load_body(tiny_model, torch.float32)
    assert first_lora_layer(body, 0.5) == 1  # half of 2 layers: the top one
    assert first_lora_layer(body, 2) == 0
    with pytest.raises(ConfigError, match="lora_layers 3: the body has 2 layers"):
        first_lora_layer(body, 3)
    for bad in (0, -1, 1.5):
        with pytest.raises(ConfigError, match="lora_layers must be a number of layers"):
            HeadConfig(lora_layers=bad)


def test_mfu_counts_the_layers_below_as_forward_only(tiny_model: Path) -> None:
    from bizztune.trainers.mfu import train_flops_per_token

    full, _ = _classifier(tiny_model, None)
    top, lower = _classifier(tiny_model, 1)
    frozen_below = sum(
        m.weight.numel() for m in lower[0].modules() if isinstance(m, torch.nn.Linear)
    )
    lora_below = sum(p.numel() for n, p in full.named_parameters()  # type: ignore[attr-defined]
                     if "lora_" in n and ".layers.0." in n)  # fmt: skip
    assert frozen_below > 0 and lora_below > 0
    # the bottom layer: 4N (frozen, its input gradient) + 6N per LoRA weight, against 2N
    expected = 2 * frozen_below + 6 * lora_below
    got = train_flops_per_token(full) - train_flops_per_token(top, forward_only=lower)
    assert got == pytest.approx(expected)
    assert train_flops_per_token(top) - train_flops_per_token(top, forward_only=lower) == (
        pytest.approx(2 * frozen_below)
    )


def test_cli_trains_the_top_layer_and_serves_it(
    tiny_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    from bizztune.models.heads import load_head_classifier

    out = tmp_path / "top"
    r = run_cli("train", "--recipe", "none", "--trainer", "head", "--model", str(tiny_model), "--data",
                str(split_dir), "--out", str(out), "--batch-size", "4", "--max-steps", "6", "--lr", "3e-3",
                "--eval-steps", "0", "--set", "lora_layers=0.5")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    adapter = json.loads((out / "adapter_config.json").read_text())
    assert adapter["layers_to_transform"] == [1]
    assert json.loads((out / "train_config.json").read_text())["train"]["lora_layers"] == 0.5
    # served merged: the bottom layer is the base model's, the top one moved
    from bizztune.models.heads import load_body

    base = load_body(tiny_model, torch.float32).layers
    clf, _ = load_head_classifier(str(tiny_model), out, device="cpu", dtype="float32")
    served = clf.body.layers
    w = [(served[i].mlp.gate_proj.weight, base[i].mlp.gate_proj.weight) for i in (0, 1)]
    assert torch.equal(*w[0]) and not torch.allclose(*w[1])
    ev = tmp_path / "ev"
    r = run_cli("eval", "--provider", "hf", "--model", str(tiny_model), "--adapter", str(out),
                "--data", str(split_dir), "--out", str(ev), "--limit", "6")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((ev / "metrics.json").read_text())["invalid_rate"] == 0.0

    r = run_cli("train", "--recipe", "none", "--trainer", "lora", "--model", str(tiny_model), "--data",
                str(split_dir), "--out", str(tmp_path / "x"), "--set", "lora_layers=1")  # fmt: skip
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "'lora_layers' is not a parameter of the lora trainer" in r.stderr
    r = run_cli("train", "--recipe", "none", "--trainer", "head", "--model", str(tiny_model), "--data",
                str(split_dir), "--out", str(tmp_path / "y"), "--set", "lora_layers=5")  # fmt: skip
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert r.stderr.strip().endswith("lora_layers 5: the body has 2 layers")
