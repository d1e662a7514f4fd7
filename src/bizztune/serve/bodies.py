"""Request bodies of ``bizztune serve``, checked into ``Request`` records, and the answers.

    reqs = classify_requests(body, task, style="long", limits=limits)     # /v1/classify
    req = chat_request(body, task, served_name, limits)                   # /v1/chat/completions

Every mistake is a ``BadRequest`` with its HTTP status and one line naming the field
(``items[2].description``, ``messages[0].content``) and how to fix it; nothing here logs a
body. Plain Python, no web framework: unit-tested on its own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bizztune.core.interfaces import Completion, Example, PromptStyle, Request, Task
from bizztune.serve.prompts import ticket_in


class BadRequest(Exception):
    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param


@dataclass(frozen=True)
class Limits:
    max_items: int
    max_input_chars: int


def parse_json(raw: bytes) -> Any:
    """The body's JSON value. Whatever JSON (or not) a client sends ends in a value or a
    BadRequest (400), never in another exception: one client's body must not reach the model
    if the model cannot read it, where it would fail a micro-batch shared with others."""
    if not raw.strip():
        raise BadRequest(400, "the request body is empty: send a JSON object")
    try:
        body = json.loads(raw)
    except UnicodeDecodeError:
        raise BadRequest(400, "the request body is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise BadRequest(
            400, f"the request body is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except RecursionError:
        raise BadRequest(
            400, "the request body nests arrays or objects too deeply: send a flat JSON object"
        ) from None
    except ValueError as e:  # an integer of more than sys.get_int_max_str_digits() digits
        why = "a number with too many digits" if "digits" in str(e) else "a value JSON allows"
        raise BadRequest(
            400, f"the request body holds {why} that cannot be read; send it as text"
        ) from None
    _check_text(body)
    return body


def _check_text(body: Any) -> None:
    """BadRequest naming the first string (or key) that is not Unicode text: JSON's
    ``\\ud800`` escapes decode to a lone surrogate, which no tokenizer can encode."""
    stack: list[tuple[str, Any]] = [("", body)]
    while stack:  # a loop, not recursion: the depth is the client's to choose
        where, value = stack.pop()
        if isinstance(value, str):
            if not _encodable(value):
                raise BadRequest(400, f"{where or 'body'}: {_SURROGATE}", where or None)
        elif isinstance(value, dict):
            for k, v in value.items():
                path = f"{where}.{k}" if where else str(k)
                if not _encodable(k):
                    raise BadRequest(400, f"a key of {where or 'the body'}: {_SURROGATE}", where)
                stack.append((path, v))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value))


_SURROGATE = (
    "the text holds a lone UTF-16 surrogate (such as \\ud800), which is no character; "
    "send valid Unicode"
)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _fields(task: Task, value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return task.schema.names
    names = task.schema.names
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BadRequest(400, f"{where} must be a non-empty list of field names", where)
    unknown = [v for v in value if v not in names]
    if unknown:
        raise BadRequest(
            400, f"{where}: unknown field {unknown[0]!r}; the task has {', '.join(names)}", where
        )
    return tuple(n for n in names if n in value)


def classify_requests(body: Any, task: Task, style: PromptStyle, limits: Limits) -> list[Request]:
    """``{"items": [ticket, ...], "fields": [...]}`` or one ticket object; a ticket holds the
    task's input fields (missing ones are empty) and may carry an ``id``."""
    if not isinstance(body, dict):
        raise BadRequest(400, 'the body must be a JSON object: a ticket, or {"items": [...]}')
    single = "items" not in body
    items = [body] if single else body["items"]
    if not isinstance(items, list) or not items:
        raise BadRequest(400, "items must be a non-empty list of tickets", "items")
    if len(items) > limits.max_items:
        raise BadRequest(
            413,
            f"items: {len(items)} tickets, over the limit of {limits.max_items} per request "
            "(--max-items); send them in several requests",
            "items",
        )
    fields = _fields(task, body.get("fields"), "fields")
    known = set(task.input_fields) | {"id", "fields", "items"}
    reqs: list[Request] = []
    for i, item in enumerate(items):
        where = "body" if single else f"items[{i}]"
        if not isinstance(item, dict):
            raise BadRequest(400, f"{where} must be an object with {', '.join(task.input_fields)}")
        extra = sorted(set(item) - known - set(task.schema.names))
        if extra:
            raise BadRequest(
                400,
                f"{where}: unknown key {extra[0]!r}; a ticket has "
                f"{', '.join(task.input_fields)} (and an optional id)",
                f"{where}.{extra[0]}",
            )
        inputs: dict[str, str] = {}
        for k in task.input_fields:
            v = item.get(k, "")
            if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                raise BadRequest(400, f"{where}.{k} must be text", f"{where}.{k}")
            inputs[k] = str(v)
        if not any(v.strip() for v in inputs.values()):
            raise BadRequest(
                400, f"{where}: every input field is empty ({', '.join(task.input_fields)})", where
            )
        size = sum(len(v) for v in inputs.values())
        if size > limits.max_input_chars:
            raise BadRequest(
                413,
                f"{where}: the ticket is {size} characters, over the limit of "
                f"{limits.max_input_chars} (--max-input-chars)",
                where,
            )
        ex_id = str(item.get("id", i))
        ex = Example(ex_id, inputs)
        msgs = task.messages(ex, style=style, fields=list(fields))
        reqs.append(Request(f"{uuid.uuid4().hex}:{i}", ex_id, msgs, fields, ex))
    return reqs


def chat_request(
    body: Any, task: Task, served: Sequence[str], limits: Limits, style: PromptStyle | None = None
) -> Request:
    """An OpenAI chat-completions body as one Request. The answer's fields come from a JSON
    schema ``response_format`` naming task fields (what ``bizztune eval --decoding
    constrained`` sends), else every field of the task. With ``style`` (the prompt the served
    adapter was trained on), a chat that is the task's prompt in another style is asked in
    ``style`` (``prompts.ticket_in``): the answer does not depend on the client's style."""
    if not isinstance(body, dict):
        raise BadRequest(400, "the body must be a JSON object with model and messages")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest(400, "model is required: the id of GET /v1/models", "model")
    if model not in served:
        raise BadRequest(
            404, f"model {model!r} is not served here; this server serves {served[0]!r}", "model"
        )
    if body.get("stream"):
        raise BadRequest(400, "stream: streaming is not supported; send stream=false", "stream")
    n = body.get("n", 1)
    if n not in (1, None):
        raise BadRequest(400, "n: only one choice per request is supported", "n")
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise BadRequest(400, "messages must be a non-empty list", "messages")
    messages: list[dict[str, str]] = []
    size = 0
    for i, m in enumerate(msgs):
        where = f"messages[{i}]"
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise BadRequest(
                400, f"{where} must be an object with role system, user or assistant", where
            )
        content = m.get("content")
        if isinstance(content, list):  # typed parts: text only
            parts = [p.get("text") for p in content if isinstance(p, dict)]
            if len(parts) != len(content) or not all(isinstance(p, str) for p in parts):
                raise BadRequest(400, f"{where}.content: only text parts are supported", where)
            content = "".join(str(p) for p in parts)
        if not isinstance(content, str):
            raise BadRequest(400, f"{where}.content must be text", f"{where}.content")
        size += len(content)
        messages.append({"role": str(m["role"]), "content": content})
    if size > limits.max_input_chars:
        raise BadRequest(
            413,
            f"messages: {size} characters, over the limit of {limits.max_input_chars} "
            "(--max-input-chars)",
            "messages",
        )
    params: dict[str, Any] = {}
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None:
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            raise BadRequest(400, "max_tokens must be a whole number >= 1", "max_tokens")
        params["max_tokens"] = max_tokens
    fields = _schema_fields(task, body.get("response_format"))
    example = None
    if style is not None:
        found = ticket_in(task, messages, fields)
        if found is not None:
            example = found[0]
            if found[1] != style:
                messages = task.messages(example, style=style, fields=list(fields))
    return Request(f"chatcmpl-{uuid.uuid4().hex}", "chat", messages, fields, example, params)


def _schema_fields(task: Task, fmt: Any) -> tuple[str, ...]:
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return task.schema.names
    props: Any = fmt
    path = "response_format"
    for key in ("json_schema", "schema", "properties"):
        props, path = props.get(key), f"{path}.{key}"
        if props is None:
            return task.schema.names
        if not isinstance(props, dict):
            raise BadRequest(400, f"{path} must be a JSON object", path)
    if not props:
        return task.schema.names
    unknown = [p for p in props if p not in task.schema.names]
    if unknown:
        raise BadRequest(
            400,
            f"response_format: property {unknown[0]!r} is no field of task {task.name!r} "
            f"({', '.join(task.schema.names)})",
            "response_format",
        )
    return tuple(n for n in task.schema.names if n in props)


def labels_of(task: Task, req: Request, c: Completion) -> dict[str, str | None]:
    return dict(task.parse(c.text or "", req.fields).labels)


def classify_result(task: Task, req: Request, c: Completion) -> dict[str, Any]:
    """One ticket's answer: labels, every label's probability, the answer's probability."""
    labels = labels_of(task, req, c)
    probs: Mapping[str, Mapping[str, float]] = c.probs or {
        f: {lab: 1.0} for f, lab in labels.items() if lab is not None
    }
    return {
        "id": req.example_id,
        "labels": labels,
        "probs": {f: dict(sorted(p.items(), key=lambda kv: -kv[1])) for f, p in probs.items()},
        "confidence": c.confidence,
        "error": c.error,
    }
