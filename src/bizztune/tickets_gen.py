"""The tickets task's generator, under the name task files give it.

``tickets.yaml``, and every task file copied from it, says
``generator: bizztune.tickets_gen:generate``; the generator and its LLM prompt live in
``bizztune.tasks.tickets``, with ``label_prior`` (the label shares the generator promises, for
the data card). The name stays because the task file stays as it is: its content is
part of the fingerprint of every ``bizztune run`` folder made with it.
"""

from bizztune.tasks.tickets.generator import generate, label_prior
from bizztune.tasks.tickets.prompt import generation_messages

__all__ = ["generate", "generation_messages", "label_prior"]
