"""The command line. Parses flags and maps project errors to one clear line; no domain logic.

bizztune plugins
bizztune generate --task tickets -n 1000 --out data/tickets.jsonl
bizztune eval --provider tfidf --task tickets
bizztune report runs/eval/A runs/eval/B
bizztune plan runs/eval/gpt-4 runs/eval/ft --delta 3 --power 0.8
bizztune run --config experiments/default.yaml
bizztune serve --model smollm2-135m --adapter runs/train/lora

Each command group is a module of this folder (plugins, data, eval, train, run, serve) that defines
its commands with click and imports its domain code inside them, so ``bizztune --help`` stays
fast; they are added to the group here, by name.
"""

from __future__ import annotations

import sys

import click

from bizztune import __version__
from bizztune.cli.common import load_dotenv
from bizztune.cli.data import compare_data, generate, split
from bizztune.cli.eval import combine_cmd, eval_cmd, plan_cmd, report
from bizztune.cli.plugins import plugins
from bizztune.cli.run import run_cmd
from bizztune.cli.serve import serve_cmd
from bizztune.cli.train import export_cmd, sweep, train
from bizztune.core.errors import BizztuneError
from bizztune.core.memory import bound_kernel_cache
from bizztune.models.loading import quiet_bitsandbytes


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="bizztune")
def cli() -> None:
    """Benchmark open and closed LLMs on a business classification task, and fine-tune them."""


for command in (
    plugins,
    generate,
    split,
    compare_data,
    eval_cmd,
    report,
    combine_cmd,
    plan_cmd,
    train,
    sweep,
    export_cmd,
    run_cmd,
    serve_cmd,
):
    cli.add_command(command)


def one_line(message: str) -> str:
    return " ".join(part.strip() for part in message.splitlines() if part.strip())


def main(argv: list[str] | None = None) -> None:
    try:
        load_dotenv()
        bound_kernel_cache()
        # bitsandbytes' notice about an optional kernel, on every command that imports peft
        # on an AVX512-BF16 CPU: off the screen before anything imports it (real errors stay).
        quiet_bitsandbytes()
        cli.main(args=argv, prog_name="bizztune", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("interrupted: rerun the same command to resume where it stopped", err=True)
        sys.exit(130)
    except click.UsageError as e:  # one line, like every other error
        where = e.ctx.command_path if e.ctx else "bizztune"
        click.echo(f"error: {one_line(e.format_message())} (see '{where} --help')", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        click.echo(f"error: {one_line(e.format_message())}", err=True)
        sys.exit(e.exit_code)
    except BizztuneError as e:
        click.echo(f"error: {one_line(str(e))}", err=True)
        sys.exit(2)
    except OSError as e:  # a path that cannot be written or read: permissions, a full disk
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
