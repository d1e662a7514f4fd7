"""``bizztune export --format merged|gguf|vllm`` on a tiny model with a LoRA adapter, each export
loaded back and checked to answer the adapter's labels on the same tickets.

    pytest tests/test_export.py

The adapter's LoRA weights are random and non-zero (``init_lora_weights=False``), so the base
model alone answers differently: an export that lost the adapter, or wrote a tensor in the
wrong layout, gives other labels.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bizztune.core.interfaces import ProviderConfig, Task
from bizztune.plugins import load_provider, load_task

from conftest import make_rows, run_cli


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task("tickets")


@pytest.fixture(scope="module")
def tiny_and_adapter(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from bizztune.testing import make_tiny_model

    d = tmp_path_factory.mktemp("export")
    tiny = make_tiny_model(d / "tiny", texts=[r["description"] for r in make_rows(1)])
    torch.manual_seed(1)
    lora = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj"],
        init_lora_weights=False,
    )
    adapter = d / "adapter"
    get_peft_model(AutoModelForCausalLM.from_pretrained(str(tiny)), lora).save_pretrained(adapter)
    return tiny, adapter


def answers(task: Task, model: str, adapter: str | None = None) -> dict[str, str | None]:
    """Constrained answers of the hf provider (what bizztune eval and serve run) on 8 tickets."""
    from bizztune.data.io import row_to_example
    from bizztune.eval.evaluate import EvalConfig, build_requests

    exs = [row_to_example(r, task, f"row {i}") for i, r in enumerate(make_rows(1)[:8])]
    reqs = build_requests(task, exs, EvalConfig())
    cfg = ProviderConfig(
        name="hf", model=model, adapter=adapter, decoding="constrained", dtype="float32"
    )
    provider = load_provider(cfg)
    return {c.request_id: c.text for c in provider.complete(reqs, task.schema)}


@pytest.fixture(scope="module")
def reference(task: Task, tiny_and_adapter: tuple[Path, Path]) -> dict[str, str | None]:
    tiny, adapter = tiny_and_adapter
    ref = answers(task, str(tiny), str(adapter))
    assert ref != answers(task, str(tiny)), "the adapter must change answers for this test"
    return ref


def export(adapter: Path, fmt: str, base: Path, out: Path, *extra: str) -> str:
    """``bizztune export`` that must succeed; its stdout."""
    r = run_cli(
        "export", str(adapter), "--format", fmt, "--model", str(base), "--out", str(out), *extra
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("quant", ["f16", "q8_0"])
def test_gguf_export_loads_back_and_answers_as_the_adapter(
    quant: str,
    task: Task,
    tiny_and_adapter: tuple[Path, Path],
    reference: dict[str, str | None],
    tmp_path: Path,
) -> None:
    import gguf

    tiny, adapter = tiny_and_adapter
    stdout = export(adapter, "gguf", tiny, tmp_path, "--quant", quant)
    path = tmp_path / f"model-{quant}.gguf"
    assert f"GGUF ({quant}): {path}" in stdout
    reader = gguf.GGUFReader(str(path))
    assert reader.get_field("general.architecture").contents() == "llama"  # type: ignore[union-attr]
    assert "im_start" in reader.get_field("tokenizer.chat_template").contents()  # type: ignore[union-attr]
    kinds = {t.name: t.tensor_type.name for t in reader.tensors}
    want = "Q8_0" if quant == "q8_0" else "F16"
    assert kinds["blk.0.attn_q.weight"] == want and kinds["output_norm.weight"] == "F32"
    # transformers reads the file back (gguf_file=), as bizztune does for any .gguf --model
    assert answers(task, str(path)) == reference


def test_merged_export_has_tokenizer_and_chat_template_and_answers_as_the_adapter(
    task: Task,
    tiny_and_adapter: tuple[Path, Path],
    reference: dict[str, str | None],
    tmp_path: Path,
) -> None:
    tiny, adapter = tiny_and_adapter
    out = tmp_path / "merged"
    export(adapter, "merged", tiny, out, "--dtype", "float32")
    from transformers import AutoTokenizer

    assert (out / "model.safetensors").is_file()
    assert "im_start" in str(AutoTokenizer.from_pretrained(str(out)).chat_template)
    assert answers(task, str(out)) == reference


def test_vllm_export_is_the_adapter_pointing_at_its_local_base(
    task: Task,
    tiny_and_adapter: tuple[Path, Path],
    reference: dict[str, str | None],
    tmp_path: Path,
) -> None:
    tiny, trained = tiny_and_adapter
    # as trained on a hub model: vLLM must be pointed at the local base instead
    adapter = tmp_path / "adapter"
    shutil.copytree(trained, adapter)
    acfg = json.loads((adapter / "adapter_config.json").read_text())
    acfg["base_model_name_or_path"] = "HuggingFaceTB/SmolLM2-135M-Instruct"
    (adapter / "adapter_config.json").write_text(json.dumps(acfg))
    out = tmp_path / "vllm"
    stdout = export(adapter, "vllm", tiny, out, "--name", "tickets-ft")
    acfg = json.loads((out / "adapter_config.json").read_text())
    assert acfg["base_model_name_or_path"] == str(tiny.resolve())
    same = (adapter / "adapter_model.safetensors").read_bytes()
    assert (out / "adapter_model.safetensors").read_bytes() == same
    command = json.loads((out / "vllm.json").read_text())["command"]
    assert command == (
        f"vllm serve {tiny.resolve()} --enable-lora --lora-modules tickets-ft={out.resolve()} "
        "--max-lora-rank 8"
    )
    assert f"serve: {command}" in stdout
    assert answers(task, str(tiny), str(out)) == reference


@pytest.mark.parametrize("fmt", ["vllm", "merged", "gguf"])
def test_a_head_trainer_folder_is_not_exported_as_a_causal_lm_and_says_why(
    tiny_and_adapter: tuple[Path, Path], tmp_path: Path, fmt: str
) -> None:
    tiny, adapter = tiny_and_adapter
    heads = tmp_path / "heads"
    shutil.copytree(adapter, heads)
    (heads / "heads.json").write_text("{}")
    r = run_cli("export", str(heads), "--format", fmt, "--model", str(tiny), "--out", "x")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "head trainer's folder" in r.stderr
    assert "bizztune serve" in r.stderr
