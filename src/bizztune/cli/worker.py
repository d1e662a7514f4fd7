"""The entry point of every ``qlora-fsdp`` worker process, started by torchrun:

    python -m bizztune.cli.worker OUT/fsdp_launch.json

``trainers/lora/fsdp.launch`` writes the launch file and starts the processes. Each one, like
a command, resolves the task the file names (a registered name or a task file) and hands it
down to ``trainers/lora/fsdp.worker``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(spec_file: Path) -> None:
    from bizztune.plugins import load_task
    from bizztune.trainers.lora.fsdp import worker

    task = load_task(json.loads(spec_file.read_text())["task"])
    worker(task, spec_file)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
