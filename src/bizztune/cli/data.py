"""``bizztune generate`` and ``bizztune split``: make a labelled data set and its splits.

bizztune generate --task tickets -n 1000 --out data/tickets.jsonl            # offline, no key
bizztune generate -n 1000 --generator-option prior=uniform                   # a generator option
bizztune generate -n 330 --provider gpt-4o --concurrency 8 --out data/gpt4o.jsonl
bizztune split data/tickets.jsonl --out data/split --seed 0 --ratios 0.8,0.1,0.1

Parses flags and shows progress; the work is in ``bizztune.data.generate`` (the one generate
step, shared with ``bizztune run``) and ``bizztune.data.split``.
Rerun an interrupted ``generate`` with the same flags to resume it.
"""

from __future__ import annotations

from pathlib import Path

import click

from bizztune.cli.common import LazyBar, console, output_file
from bizztune.core.paths import responses_dir
from bizztune.data.sources import DEFAULT_N, DEFAULT_SEED, slug


@click.command()
@click.option("--task", "-t", default="tickets", show_default=True, help="Task name or YAML file.")
@click.option("-n", "n", type=int, default=DEFAULT_N, show_default=True, help="Items to generate.")
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="JSONL file, appended to and resumed (default: data/<task>-<source>[-<model>]"
    "[-<option>-<value>...]-n<N>-seed<S>.jsonl).",
)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
@click.option("--provider", "-p", help="Generate with this LLM provider (default: offline).")
@click.option("--model", "-m", help="Model id (provider default if unset).")
@click.option("--base-url", help="OpenAI-compatible server URL (vLLM, Ollama, llama.cpp).")
@click.option("--concurrency", type=int, default=4, show_default=True, help="Concurrent requests.")
@click.option("--timeout", "timeout_s", type=float, default=60.0, show_default=True)
@click.option("--max-retries", type=int, default=5, show_default=True, help="HTTP retries.")
@click.option(
    "--max-attempts",
    type=int,
    default=3,
    show_default=True,
    help="Attempts per item before an invalid answer is dropped.",
)
@click.option("--no-cache", is_flag=True, help="Do not use the API response cache.")
@click.option(
    "--generator-option",
    "generator_option",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option of the task's offline generator, over the task's generator_options "
    "(repeatable). tickets: prior=realistic|uniform (docs/data.md).",
)
def generate(
    task: str,
    n: int,
    out: Path | None,
    seed: int,
    provider: str | None,
    model: str | None,
    base_url: str | None,
    concurrency: int,
    timeout_s: float,
    max_retries: int,
    max_attempts: int,
    no_cache: bool,
    generator_option: tuple[str, ...],
) -> None:
    """Generate a labelled data set, offline (built-in generator) or with an LLM provider."""
    from bizztune.core.errors import ConfigError
    from bizztune.core.interfaces import ProviderConfig
    from bizztune.data.datacard import summary_lines
    from bizztune.data.generate import generate_dataset, parse_options
    from bizztune.plugins import load_task, registry

    t = load_task(task)
    options = parse_options(generator_option)
    if n < 1:
        raise ConfigError(f"-n must be at least 1, not {n}")
    source = provider or "offline"
    if out is None:  # named after all that decides the rows, so two commands never share it
        what = [source, *([model] if provider and model else [])]
        what += [f"{k}-{v}" for k, v in sorted(options.items())]
        out = Path("data") / f"{t.name}-{'-'.join(map(slug, what))}-n{n}-seed{seed}.jsonl"
    if out.suffix.lower() not in (".jsonl", ".ndjson"):
        raise ConfigError(f"--out must be a .jsonl file, not {out}")
    pcfg: ProviderConfig | None = None
    writer = registry().provider(provider) if provider is not None else None
    if provider is not None:
        pcfg = ProviderConfig(
            name=provider,
            model=model,
            base_url=base_url,
            concurrency=concurrency,
            timeout_s=timeout_s,
            max_retries=max_retries,
            seed=seed,
            cache_dir=None if no_cache else responses_dir(),
        )
    with LazyBar(f"generate {t.name} ({source})") as bar:
        result = generate_dataset(
            t, n, seed, out, pcfg, max_attempts, bar.update, options, writer=writer
        )
        summary = result.summary
        bar.update(summary.total, n)

    click.echo(
        f"{out}: {summary.total} rows ({summary.written} new, {summary.resumed} resumed) "
        f"in {summary.seconds:.1f}s"
    )
    if provider is not None:
        click.echo(
            f"requests {summary.requests}, invalid answers {summary.invalid_answers}, failed "
            f"requests {summary.failed_requests}, dropped {summary.dropped}; tokens "
            f"{summary.prompt_tokens} in / {summary.completion_tokens} out, "
            f"cost ${summary.cost_usd:.4f}"
        )
        for why, count in summary.reasons.items():
            click.echo(f"  rejected {count}x: {why}")
    for line in summary_lines(result.card):
        click.echo(line)
    click.echo(f"data card: {result.card_path}")


@click.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--task", "-t", default="tickets", show_default=True, help="Task name or YAML file.")
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path, file_okay=False),
    help="Split directory (default: next to SRC, named <SRC stem>-split).",
)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
@click.option("--ratios", default="0.8,0.1,0.1", show_default=True, help="train,val,test shares.")
@click.option(
    "--style",
    type=click.Choice(["long", "compact"]),
    default="long",
    show_default=True,
    help="Prompt format of the instruction data.",
)
def split(src: Path, task: str, out: Path | None, seed: int, ratios: str, style: str) -> None:
    """Seeded, stratified train/val/test split that keeps near-duplicates together."""
    from bizztune.core.errors import DataError
    from bizztune.data.datacard import summary_lines
    from bizztune.data.split import parse_ratios, split_dataset
    from bizztune.plugins import load_task

    t = load_task(task)
    r3 = parse_ratios(ratios)
    if not src.exists():
        raise DataError(f"SRC not found: {src}")
    out = out or src.with_name(src.stem + "-split")
    with console().status(f"splitting {src}"):
        s = split_dataset(t, src, out, seed=seed, ratios=r3, style=style)
    click.echo(
        f"{out}: "
        + ", ".join(f"{k} {v}" for k, v in s.counts.items())
        + f"; {s.clusters} near-duplicate clusters kept whole, {s.crossing_pairs} pairs cross"
    )
    if s.card is not None:
        for line in summary_lines(s.card):
            click.echo(line)
    click.echo(f"data card: {out / 'datacard.md'}")


@click.command("compare-data")
@click.argument("train")
@click.argument("tests", nargs=-1, required=True)
@click.option("--task", "-t", default="tickets", show_default=True, help="Task name or YAML file.")
@click.option("--out", "-o", type=click.Path(path_type=Path), help="Write the Markdown here too.")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
def compare_data(
    train: str, tests: tuple[str, ...], task: str, out: Path | None, seed: int
) -> None:
    """How far each test set is from the training data: label shift, length, vocabulary,
    near-duplicates and a domain classifier's AUC.

    TRAIN and TESTS are split folders (their train / test split), labelled files, or sets the
    task ships (tickets:foreign); 'default' is the embedded default set, and a TEST 'test' or
    'val' is that split of TRAIN:

        bizztune compare-data default test tickets:foreign
    """
    from bizztune.data.io import load_examples
    from bizztune.data.shift import compare_sets, render_shift, shift_table
    from bizztune.data.sources import resolve_data
    from bizztune.plugins import load_task

    t = load_task(task)

    def rows(spec: str, split: str) -> list[dict[str, object]]:
        path = resolve_data(t, spec)
        return [e.to_record() for e in load_examples(path, t, split if path.is_dir() else None)]

    with output_file(out, [("TRAIN", train), *(("TESTS", s) for s in tests)]) as write:
        base = rows(train, "train")
        results = []
        with console().status(f"comparing {len(tests)} set(s) with {train}"):
            for spec in tests:
                own = spec in ("val", "test") and not Path(spec).exists()  # a split of TRAIN
                test = rows(train, spec) if own else rows(spec, "test")
                results.append((spec, compare_sets(base, test, t.schema, seed=seed)))
        parts = [shift_table(results, t.schema.names)] if len(results) > 1 else []
        parts += [render_shift(r, train, spec) for spec, r in results]
        md = "\n\n".join(parts)
        write(md + "\n")
    click.echo(md)
