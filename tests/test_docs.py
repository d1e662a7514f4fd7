"""The docs check: every ``bizztune ...`` command in README.md and docs/ names a subcommand and
flags that exist, every config or script it names is in the repository, long commands say how
long they take, and every relative link and #anchor resolves.

    .venv/bin/python -m pytest tests/test_docs.py -q

It reads the Markdown and introspects the click command tree (click's own parser, no command is
invoked, no model is loaded), so it takes a few seconds. Commands are taken from code blocks
(fenced or indented) and from inline code spans; anchors are GitHub's heading slugs.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from bizztune.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]

# A code block or span line whose subcommand is one of these trains or runs the whole study: it
# must carry a note of how long it takes (a duration, or that it needs a GPU / an API key).
LONG = {"run", "train", "sweep"}
TIME_NOTE = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:s|min|minutes?|h|hours?)\b|\bGPUs?\b|API_KEY|--help", re.IGNORECASE
)
# Repository paths a command may name (a config, a task file, a script): they must exist.
REPO_PATH = re.compile(r"^(?:experiments|benchmarks|scripts|plugins)/\S+\.\w+$")
PLACEHOLDER = re.compile(r"[A-Z_]{2,}|.*[|<>].*|\.\.\.")
SHELL_OPS = {"&&", "||", "|", ";", "&", ">", ">>", "<", "(", ")", "2>&1"}


@dataclass(frozen=True)
class Snippet:
    """A piece of code in a Markdown file: one line of a code block, or one inline code span."""

    path: Path
    line: int
    text: str
    block: bool
    before: str = ""  # for a code block's first line: the paragraph just above the block

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


@dataclass(frozen=True)
class Doc:
    """A Markdown file split into code (blocks and spans) and prose (for links and headings)."""

    path: Path
    snippets: tuple[Snippet, ...]
    prose: tuple[tuple[int, str], ...]  # (line number, the line with code spans blanked)


def doc_files() -> list[Path]:
    """README.md, docs/ and every other Markdown file of the repository (a plugin's README, a
    data card)."""
    found = {ROOT / "README.md", *(ROOT / "docs").rglob("*.md")}
    found |= {ROOT / f for f in repo_files() if f.endswith(".md")}
    return sorted(p for p in found if p.is_file())


def describes_past_code(path: Path) -> bool:
    """docs/research/ describes each round's code at its tag: its commands are not checked
    against today's command line (its links are)."""
    return (ROOT / "docs" / "research") in path.parents


FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)


def parse_doc(path: Path, text: str | None = None) -> Doc:
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    snippets: list[Snippet] = []
    prose: list[tuple[int, str]] = []
    paragraph: list[tuple[int, str]] = []
    fence: str | None = None
    in_indented = False
    previous_blank = True
    before = ""  # the last paragraph, for the first line of the code block after it
    first_of_block = False

    def flush() -> None:
        nonlocal before
        if not paragraph:
            return
        first = paragraph[0][0]
        joined = "\n".join(line for _, line in paragraph)
        for m in SPAN.finditer(joined):
            line = first + joined.count("\n", 0, m.start())
            snippets.append(Snippet(path, line, " ".join(m.group(2).split()), block=False))
        blanked = SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), joined).split("\n")
        prose.extend((n, b) for (n, _), b in zip(paragraph, blanked, strict=True))
        before = joined
        paragraph.clear()

    pending: tuple[int, str] | None = None  # a code line continued with a backslash
    for number, raw in enumerate(lines, start=1):
        marker = FENCE.match(raw)
        if fence is not None:
            if marker and marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence):
                fence = None
                continue
            code: str | None = raw
        elif marker:
            flush()
            fence = marker.group(1)
            first_of_block = True
            continue
        elif (
            raw.strip()
            and (raw.startswith("    ") or raw.startswith("\t"))
            and (previous_blank or in_indented)
        ):
            flush()
            first_of_block = first_of_block or not in_indented
            in_indented = True
            code = raw
        else:
            code = None
            if raw.strip():
                in_indented = False
                paragraph.append((number, raw))
            else:
                flush()
            previous_blank = not raw.strip()
        if code is None:
            continue
        previous_blank = not code.strip()
        start, text_so_far = pending if pending else (number, "")
        joined_code = f"{text_so_far} {code.strip()}".strip()
        if joined_code.endswith("\\"):
            pending = (start, joined_code[:-1])
            continue
        pending = None
        if not joined_code:
            continue
        context = before if first_of_block else ""
        snippets.append(Snippet(path, start, joined_code, block=True, before=context))
        first_of_block = False
    flush()
    return Doc(path, tuple(snippets), tuple(prose))


# --- commands -------------------------------------------------------------------------------


def strip_comment(text: str) -> tuple[str, str]:
    """(the command, its shell comment): a ``#`` that starts a word starts the comment."""
    m = re.search(r"(^|\s)#", text)
    return (text, "") if m is None else (text[: m.start()], text[m.end() :])


def segments(command: str) -> Iterator[list[str]]:
    """The simple commands of a shell line, each as its words."""
    command = re.sub(r"\[(--?[\w-][^\[\]]*)\]", r"\1", command)  # [--alpha 0.05]: optional
    command = re.sub(r"<[A-Za-z][^<>]*>", "VALUE", command)  # --model <loaded model id>
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|><()")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        words = list(lexer)
    except ValueError:  # an unbalanced quote in an excerpt: read it word by word
        words = command.split()
    current: list[str] = []
    for word in words:
        if word in SHELL_OPS or set(word) <= set(";&|><()"):
            if current:
                yield current
            current = []
        else:
            current.append(word)
    if current:
        yield current


def bizztune_args(words: list[str]) -> list[str] | None:
    """The arguments after ``bizztune`` when the words run it, else None."""
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]):
        words = words[1:]  # VAR=value bizztune ...
    if words[:2] in (["python", "-m"], [".venv/bin/python", "-m"]) and words[2:3] == ["bizztune"]:
        return words[3:]
    if words and Path(words[0]).name == "bizztune":
        rest = words[1:]
        # "bizztune serve: a provider behind HTTP" in a diagram is prose, not a command
        return rest if not rest or re.fullmatch(r"-.*|[a-z][a-z0-9-]*", rest[0]) else None
    return None


def python_script(words: list[str]) -> str | None:
    """The repository script a ``python path/to/x.py`` line runs, if any."""
    python = len(words) > 1 and Path(words[0]).name.startswith("python")
    return words[1] if python and REPO_PATH.match(words[1]) else None


def check_command(args: list[str], group: click.Group = cli) -> list[str]:
    """What is wrong with ``bizztune ARGS`` (an empty list when the subcommand and flags exist)."""
    if not args or args[0].startswith("-"):
        unknown = [a for a in args if a.startswith("-") and a not in ("--help", "-h", "--version")]
        return [f"bizztune has no option {unknown[0]}"] if unknown else []
    name, rest = args[0], [a for a in args[1:] if a != "..."]
    command = group.commands.get(name)
    if command is None:
        return [f"no subcommand {name!r} (bizztune has: {', '.join(sorted(group.commands))})"]
    ctx = click.Context(command, info_name=name)  # only parsed: nothing is converted or run
    try:
        opts, _, _ = command.make_parser(ctx).parse_args(args=rest)
    except click.UsageError as e:
        return [f"bizztune {name}: {' '.join(e.format_message().split())}"]
    problems = []
    for param in command.params:
        value = opts.get(param.name) if param.name else None
        if value is None or not isinstance(param.type, click.Choice):
            continue
        for v in value if isinstance(value, list | tuple) else [value]:
            if not PLACEHOLDER.fullmatch(str(v)) and str(v) not in param.type.choices:
                problems.append(f"bizztune {name}: {v!r} is not a choice of {param.opts[-1]}")
    return problems


def repo_paths_missing(words: list[str]) -> list[str]:
    return [f"{w} does not exist" for w in words if REPO_PATH.match(w) and not (ROOT / w).exists()]


def command_problems(doc: Doc) -> list[str]:
    if describes_past_code(doc.path):
        return []
    problems = []
    for snippet in doc.snippets:
        command, comment = strip_comment(snippet.text)
        for words in segments(command):
            script = python_script(words)
            if script is not None:
                problems += [f"{snippet.where()}: {p}" for p in repo_paths_missing(words[1:2])]
            args = bizztune_args(words)
            if args is None:
                continue
            found = check_command(args) + repo_paths_missing(args)
            if not snippet.block:  # "`bizztune eval --train-data`" in prose names the flag
                found = [p for p in found if "requires an argument" not in p]
            long_one = snippet.block and args and args[0] in LONG
            if long_one and not TIME_NOTE.search(f"{comment} {snippet.before}"):
                found.append(
                    f"bizztune {args[0]} runs for minutes: say how long on 2 cores in a "
                    "'# ...' comment on its line, or in the paragraph above the block "
                    "(or that it needs a GPU or an API key)"
                )
            problems += [f"{snippet.where()}: {p}  [{snippet.text}]" for p in found]
    return problems


# --- links and anchors ----------------------------------------------------------------------

LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^()\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading (github-slugger): the rendered text, lower case, only
    letters, digits, '_', '-' and spaces kept, each space a '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # [text](link) -> text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "").lower()
    kept = "".join(c for c in text if c in " -" or unicodedata.category(c)[0] in "LMN" or c == "_")
    return kept.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor a Markdown text has: its headings' slugs (a repeated one gets -1, -2, ...)
    and its ``<a id="...">`` tags."""
    doc = parse_doc(ROOT / "anchors.md", text)
    lines = text.splitlines()
    seen: Counter[str] = Counter()
    found = set()
    for number, line in doc.prose:
        found.update(HTML_ANCHOR.findall(line))
        m = HEADING.match(lines[number - 1])
        if m is None:
            continue
        base = slug(m.group(2))
        found.add(base if not seen[base] else f"{base}-{seen[base]}")
        seen[base] += 1
    return found


def read_md(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def repo_files() -> set[str]:
    """Files a fresh clone has: tracked, or new and not ignored (what a commit would add)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an sdist)
        return {str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()}
    return {line for line in out.splitlines() if (ROOT / line).exists()}


def link_problems(doc: Doc, files: set[str], read: Callable[[Path], str] = read_md) -> list[str]:
    problems = []
    known: dict[Path, set[str]] = {}
    for number, line in doc.prose:
        targets = LINK.findall(line) + REFERENCE.findall(line)
        for target in targets:
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto:
                continue
            where = f"{doc.path.relative_to(ROOT)}:{number}: link {target}"
            file_part, _, anchor = target.partition("#")
            dest = doc.path if not file_part else (doc.path.parent / file_part).resolve()
            try:
                rel = dest.relative_to(ROOT).as_posix()
            except ValueError:
                problems.append(f"{where}: points outside the repository")
                continue
            is_dir = any(f.startswith(rel.rstrip("/") + "/") for f in files)
            if rel not in files and not is_dir:
                problems.append(f"{where}: {rel} is not in the repository")
                continue
            if anchor and dest.suffix == ".md" and dest not in known:
                known[dest] = anchors(read(dest))
            if anchor and dest.suffix == ".md" and anchor not in known[dest]:
                problems.append(f"{where}: {rel} has no heading with the anchor #{anchor}")
    return problems


# --- the checks -----------------------------------------------------------------------------


def report(problems: list[str]) -> str:
    return f"{len(problems)} problem(s) in the docs:\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def docs() -> list[Doc]:
    return [parse_doc(path) for path in doc_files()]


def test_every_documented_command_exists(docs: list[Doc]) -> None:
    problems = [p for doc in docs for p in command_problems(doc)]
    assert not problems, report(problems)


def test_every_relative_link_and_anchor_resolves(docs: list[Doc]) -> None:
    files = repo_files()
    problems = [p for doc in docs for p in link_problems(doc, files)]
    assert not problems, report(problems)


def test_the_check_finds_commands_in_blocks_and_spans(docs: list[Doc]) -> None:
    """The parser sees the README's commands at all (a check that parses nothing passes)."""
    readme = next(d for d in docs if d.path.name == "README.md" and d.path.parent == ROOT)
    commands = [s for s in readme.snippets if bizztune_args(next(segments(s.text), []))]
    assert sum(s.block for s in commands) >= 10
    assert any(not s.block for s in commands)


# --- the checker itself, on documents made up here ------------------------------------------


def test_check_command_names_unknown_subcommands_flags_and_choices() -> None:
    assert check_command(["eval", "--provider", "tfidf", "--limit", "20"]) == []
    assert check_command(["eval", "--provider=tfidf"]) == []
    assert check_command(["--help"]) == []
    assert "no subcommand 'evaluate'" in check_command(["evaluate"])[0]
    assert "--no-such-flag" in check_command(["eval", "--no-such-flag", "1"])[0]
    assert "requires an argument" in check_command(["eval", "--provider"])[0]
    assert "not a choice" in check_command(["export", "RUN", "--format", "onnx"])[0]
    assert check_command(["export", "RUN", "--format", "FORMAT"]) == []


def test_commands_are_found_in_blocks_spans_and_shell_lines(tmp_path: Path) -> None:
    text = (
        "# T\n\nRun `bizztune eval --nope 1` here.\n\n"
        "    scripts/setup.sh && .venv/bin/bizztune run --config experiments/none.yaml\n"
        "    bizztune plan A B [--alpha 0.05] --field joint|all|FIELD   # cheap\n"
        "    bizztune train \\\n      --trainer head   # 8 min on 2 cores\n\n"
        "```\nBIZZTUNE_HOME=/x bizztune report --bogus\n```\n"
    )
    doc = parse_doc(ROOT / "docs" / "made-up.md", text)
    problems = command_problems(doc)
    assert any(":3:" in p and "--nope" in p for p in problems)
    assert any(":5:" in p and "experiments/none.yaml does not exist" in p for p in problems)
    assert any(":5:" in p and "say how long" in p for p in problems)
    assert not any(":6:" in p or ":7:" in p for p in problems)
    assert any(":11:" in p and "--bogus" in p for p in problems)
    assert len(problems) == 4


def test_links_and_github_anchors() -> None:
    assert slug("Your own tickets in `bizztune run` (`--data FILE`, `data.file`)") == (
        "your-own-tickets-in-bizztune-run---data-file-datafile"
    )
    assert slug("Memory of the default run (issue 14)") == "memory-of-the-default-run-issue-14"
    assert slug("Größe: Ü & ä_b") == "größe-ü--ä_b"
    text = (
        "# A title\n\n## Twice\n\n## Twice\n\n    # a comment in code, not a heading\n\n"
        '<a id="here"></a>\n'
        "[ok](#a-title) [ok](#twice-1) [bad](#twice-2) [file](../README.md#bizztune) "
        "[gone](missing.md) [web](https://example.com/x#y) `[not a link](nowhere.md)` "
        "[code](#a-comment-in-code-not-a-heading) [ok](#here)\n"
    )
    assert anchors(text) == {"a-title", "twice", "twice-1", "here"}
    path = ROOT / "docs" / "made-up.md"
    problems = link_problems(
        parse_doc(path, text),
        files={"README.md", "docs/made-up.md"},
        read=lambda p: text if p == path else read_md(p),
    )
    assert len(problems) == 3, problems
    assert "#twice-2" in problems[0] and "missing.md is not in the repository" in problems[1]
    assert "#a-comment-in-code-not-a-heading" in problems[2]


# --- docs/plugins.md's example is a plugin that builds --------------------------------------


def test_the_plugin_example_builds_and_registers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/plugins.md's two files, written out as its comments name them, build a wheel with
    the bizztune entry point (hatchling's own builder: no pip, no network), and the module
    registers its provider."""
    from hatchling.builders.wheel import WheelBuilder

    text = read_md(ROOT / "docs" / "plugins.md")
    written = []
    for body in re.findall(r"```(?:python|toml)\n(.*?)```", text, re.DOTALL):
        name = body.splitlines()[0].lstrip("# ").strip()
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body, encoding="utf-8")
        written.append(name)
    assert sorted(written) == ["my-plugin/my_plugin/__init__.py", "my-plugin/pyproject.toml"]

    wheel = Path(
        next(
            iter(
                WheelBuilder(str(tmp_path / "my-plugin")).build(
                    directory=str(tmp_path / "dist"), versions=["standard"]
                )
            )
        )
    )
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "[bizztune]" in zf.read(entry_points).decode()
    assert "my_plugin/__init__.py" in names

    monkeypatch.syspath_prepend(str(tmp_path / "my-plugin"))
    import my_plugin  # type: ignore[import-not-found]

    registered: dict[str, object] = {}
    my_plugin.register_providers(register=lambda name, factory, **kw: registered.update({name: kw}))
    assert list(registered) == ["echo"]


def test_generate_help_names_every_option_of_the_tickets_generator() -> None:
    """`bizztune generate --help` is where a user looks for --generator-option's keys."""
    from bizztune.tasks.tickets.prior import OPTIONS

    option = next(p for p in cli.commands["generate"].params if p.name == "generator_option")
    help_text = getattr(option, "help", "") or ""
    assert OPTIONS and all(f"{key}=" in help_text for key in OPTIONS), help_text
