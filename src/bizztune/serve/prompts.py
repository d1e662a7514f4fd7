"""Which of the task's prompts a chat's messages are, and the ticket written into it.

    found = ticket_in(task, messages, fields=("category", "subcategory", "urgency"))
    if found:
        example, style = found        # the ticket's input fields, and the style it was sent in

A client that builds the task's prompt itself (``bizztune eval --provider openai``, the
documented way to evaluate a served model) sends it in the style it was told, ``long`` by
default; an adapter trained on the ``compact`` prompt reads the long one badly (12 of 40
labels matched in-process on the documented recipe). The server finds the ticket in the
prompt and asks the model in the style it was trained on, so the served model answers the same
whatever style the client used. A chat that is none of the task's prompts goes to the model as
it was sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bizztune.core.errors import BizztuneError
from bizztune.core.interfaces import Example, Message, Task
from bizztune.models.adapters import STYLES

_MARK = re.compile("\x00(\\w+)\x00")


def _fields_in(template: str, text: str) -> dict[str, str] | None:
    """The input fields' text in ``text``, read against ``template`` (the prompt rendered with
    a marker for every input field): each field runs to the first place its following literal
    text appears, the last one to the literal text that ends the prompt. Linear in the text,
    no backtracking (a client's text must not make it slow); a wrong split, a field that
    holds the next label's text, is caught by rendering the prompt again (``ticket_in``)."""
    pieces = _MARK.split(template)  # literal, field name, literal, field name, ..., literal
    literals, names = pieces[0::2], pieces[1::2]
    if not text.startswith(literals[0]):
        return None
    if not names:
        return {} if text == literals[0] else None
    values: dict[str, str] = {}
    pos = len(literals[0])
    for i, name in enumerate(names):
        lit = literals[i + 1]
        if i == len(names) - 1:
            end = len(text) - len(lit)
            if end < pos or not text.endswith(lit):
                return None
        else:
            end = text.find(lit, pos)
            if end < 0:
                return None
        value = text[pos:end]
        if values.setdefault(name, value) != value:
            return None
        pos = end + len(lit)
    return values


def _render(task: Task, ex: Example, style: str, fields: Sequence[str]) -> list[Message] | None:
    try:
        return task.messages(ex, style=style, fields=list(fields))  # type: ignore[arg-type]
    except BizztuneError:  # a task without this style
        return None


def ticket_in(
    task: Task, messages: Sequence[Message], fields: Sequence[str]
) -> tuple[Example, str] | None:
    """The ticket ``messages`` were built from with one of the task's prompt styles for
    ``fields``, and that style; None when they are no prompt of the task's."""
    probe = Example("probe", {k: f"\x00{k}\x00" for k in task.input_fields})
    for style in STYLES:
        templates = _render(task, probe, style, fields)
        if templates is None or len(templates) != len(messages):
            continue
        inputs: dict[str, str] = {}
        for tmpl, msg in zip(templates, messages, strict=True):
            found = _fields_in(tmpl["content"], msg.get("content", ""))
            if tmpl["role"] != msg.get("role") or found is None:
                break
            inputs.update(found)
        else:
            ex = Example("chat", {k: inputs.get(k, "") for k in task.input_fields})
            if _render(task, ex, style, fields) == list(messages):
                return ex, style
    return None
