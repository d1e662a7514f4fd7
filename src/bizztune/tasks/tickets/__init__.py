"""The built-in ``tickets`` task: German support tickets of a mid-sized electronics company.

    bizztune eval --provider tfidf --task tickets
    bizztune generate --task tickets -n 1000            # generator.py, offline
    bizztune generate --task tickets --provider gpt-4o  # prompt.py, with an LLM

``tickets.yaml`` is the task (inputs, taxonomy with the urgency rubric, prompts). The offline
generator (``generator.py``) draws each ticket's labels from a prior (``prior.py``: realistic
or uniform) and puts the ticket together (``compose.py``) from the problems of each
subcategory (``problems.txt``), the customer's situation that sets its urgency
(``situations.txt``), a few English tickets (``english.txt``), all read by ``pools.py``; the
product catalogue (``catalog.py``) and slots (``slots.py``); the writing voice, explicit cues,
asides and mail quoting (``voice.py``); and typing noise (``noise.py``). ``bizztune.plugins``
registers the module (its hook below); nothing generic imports this folder.
"""

from __future__ import annotations

from pathlib import Path

from bizztune.core.hookspecs import Register, hookimpl

TASK_FILE = Path(__file__).with_name("tickets.yaml")


@hookimpl
def register_tasks(register: Register) -> None:
    from bizztune.tasks.yaml_task import load_task_file

    register(
        "tickets",
        lambda: load_task_file(TASK_FILE),
        description=f"built-in task ({TASK_FILE.name})",
    )
