"""Where the head trainer puts LoRA: on the body's linear layers, or on those of its top layers
only (``lora_layers``), so that the backward pass stops above the rest.

    body = add_lora(body, cfg)            # cfg.lora_layers None: every layer
    lower = layers_below(body, cfg)  # before add_lora: the layers left without LoRA
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bizztune.core.errors import ConfigError
from bizztune.trainers.config import HeadConfig

if TYPE_CHECKING:
    from peft import PeftModel


def add_lora(body: Any, cfg: HeadConfig) -> PeftModel:
    """LoRA on the body's linear layers (of its top ``cfg.lora_layers`` layers only, when set);
    the adapters train in fp32 over a 16-bit base."""
    from peft import LoraConfig, get_peft_model

    from bizztune.models.adapters import recorded_base
    from bizztune.models.loading import quiet_peft_wrap

    targets_: Any = cfg.target_modules
    if targets_ in (["all-linear"], ["all"]):
        targets_ = "all-linear"
    where: dict[str, Any] = {}
    if cfg.lora_layers is not None:
        first = first_lora_layer(body, cfg.lora_layers)
        if targets_ == "all-linear":  # PEFT takes a layer range with named modules only
            targets_ = linear_names(body)
        where = {
            "layers_to_transform": list(range(first, len(body.layers))),
            "layers_pattern": "layers",
        }
    lcfg = LoraConfig(
        r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=targets_, **where
    )
    try:
        with quiet_peft_wrap():
            model = get_peft_model(body, lcfg)
    except ValueError as e:
        names = sorted({n.rsplit(".", 1)[-1] for n, _ in body.named_modules() if "." in n})
        raise ConfigError(
            f"--target-modules {','.join(cfg.target_modules)}: not in this model ({e}); its "
            f"modules include {', '.join(names[:16])}"
        ) from None
    # the base by name where it is an embedded model, not the path of this machine's copy
    model.peft_config["default"].base_model_name_or_path = recorded_base(cfg.model)
    return model


def first_lora_layer(body: Any, lora_layers: float) -> int:
    """The index of the lowest layer ``lora_layers`` puts an adapter on (the top N, or the
    top fraction, of ``body.layers``)."""
    from bizztune.models.heads import layer_count

    layers, n = layer_count(body, lora_layers, "lora_layers")
    total = len(layers)
    if n > total:
        raise ConfigError(f"lora_layers {lora_layers:g}: the body has {total} layers")
    return total - n


def linear_names(body: Any) -> list[str]:
    """The names (last part) of the linear modules inside the body's layers: what
    "all-linear" targets there (bitsandbytes' 4-bit layers are nn.Linear too)."""
    import torch.nn as nn

    return sorted(
        {n.rsplit(".", 1)[-1] for n, m in body.layers.named_modules() if isinstance(m, nn.Linear)}
    )


def layers_below(body: Any, cfg: HeadConfig) -> list[Any]:
    """The layers ``lora_layers`` leaves without an adapter (none when unset): they run
    forward only in training, which the MFU count needs to know (``trainers/mfu.py``)."""
    if cfg.lora_layers is None:
        return []
    return list(body.layers[: first_lora_layer(body, cfg.lora_layers)])
