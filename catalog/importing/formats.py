"""File formats: turn one upstream object into a record and the response it carries.

- ``alpaca``: ``instruction``, ``input``, ``output`` or ``response``.
- ``chat``: OpenAI ``messages`` (role/content) or ShareGPT ``conversations`` (from/value); a final
  assistant turn is the response.
- ``preference``: ``prompt``/``chosen``/``rejected``, or Anthropic hh-rlhf transcripts in
  ``chosen``/``rejected`` whose shared turns are the prompt.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when parsing: the CLI names the formats without loading the schemas
    from catalog.records.schemas import RecordIn


class Format(StrEnum):
    ALPACA = "alpaca"
    CHAT = "chat"
    PREFERENCE = "preference"


class FormatError(ValueError):
    """The object does not fit the format; the message says why."""


@dataclass(frozen=True)
class Parsed:
    record: "RecordIn"
    response: Any | None


# The label question kind that receives each format's responses.
RESPONSE_KIND = {Format.ALPACA: "text", Format.CHAT: "text", Format.PREFERENCE: "ranking"}
TASK_TYPE = {Format.ALPACA: "sft", Format.CHAT: "chat", Format.PREFERENCE: "preference"}
_SHAREGPT_ROLES = {
    "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant",
    "bard": "assistant", "bing": "assistant", "model": "assistant", "system": "system",
}  # fmt: skip
_HH_TURN = re.compile(r"\n\n(Human|Assistant): ")


def parse(fmt: Format, item: Any) -> Parsed:
    if not isinstance(item, dict):
        raise FormatError(f"expected a JSON object, got {type(item).__name__}")
    from catalog.records.schemas import RecordIn

    parsed = _PARSERS[fmt](item)
    metadata = {"task_type": TASK_TYPE[fmt], **_metadata(item)}
    record = RecordIn.model_validate({**parsed["record"], "metadata": metadata, "external_id": _external_id(item)})
    return Parsed(record=record, response=parsed["response"])


def _metadata(item: dict[str, Any]) -> dict[str, Any]:
    metadata = item.get("metadata")
    return dict(metadata) if isinstance(metadata, dict) else {}


def _external_id(item: dict[str, Any]) -> str | None:
    value = item.get("id")
    return str(value) if isinstance(value, str | int) and str(value) else None


def _text(item: dict[str, Any], *keys: str, required: bool = True) -> str:
    for key in keys:
        value = item.get(key)
        if isinstance(value, str):
            return value
    if required:
        raise FormatError(f"missing text field {' or '.join(repr(k) for k in keys)}")
    return ""


def _alpaca(item: dict[str, Any]) -> dict[str, Any]:
    instruction = _text(item, "instruction")
    extra = _text(item, "input", required=False)
    prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    response = _text(item, "output", "response", required=False) or None
    return {"record": {"messages": [{"role": "user", "content": prompt}]}, "response": response}


def _chat(item: dict[str, Any]) -> dict[str, Any]:
    if isinstance(item.get("messages"), list):
        turns = [_openai_turn(turn) for turn in item["messages"]]
    elif isinstance(item.get("conversations"), list):
        turns = [_sharegpt_turn(turn) for turn in item["conversations"]]
    else:
        raise FormatError("missing 'messages' (OpenAI) or 'conversations' (ShareGPT) list")
    response = None
    if len(turns) > 1 and turns[-1]["role"] == "assistant":
        response = turns.pop()["content"]
    return {"record": {"messages": turns}, "response": response}


def _openai_turn(turn: Any) -> dict[str, str]:
    if not isinstance(turn, dict) or not isinstance(turn.get("content"), str):
        raise FormatError("each message needs 'role' and text 'content'")
    return {"role": turn.get("role"), "content": turn["content"]}


def _sharegpt_turn(turn: Any) -> dict[str, str]:
    if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
        raise FormatError("each conversation turn needs 'from' and text 'value'")
    role = _SHAREGPT_ROLES.get(str(turn.get("from", "")).lower())
    if role is None:
        raise FormatError(f"unknown speaker {turn.get('from')!r} in conversation")
    return {"role": role, "content": turn["value"]}


def _preference(item: dict[str, Any]) -> dict[str, Any]:
    chosen, rejected = _text(item, "chosen"), _text(item, "rejected")
    if "prompt" in item:
        messages = _prompt_messages(item["prompt"])
        candidates = [chosen, rejected]
    else:
        messages, candidates = _split_transcripts(chosen, rejected)
    return {
        "record": {"messages": messages, "candidates": candidates},
        "response": {"ranking": [[0], [1]]},
    }


def _prompt_messages(prompt: Any) -> list[dict[str, str]]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    if isinstance(prompt, list):
        return [_openai_turn(turn) for turn in prompt]
    raise FormatError("'prompt' must be text or a list of messages")


def hh_turns(transcript: str) -> list[dict[str, str]]:
    """Split an hh-rlhf transcript (``\\n\\nHuman: ...\\n\\nAssistant: ...``) into messages."""
    parts = _HH_TURN.split(transcript)
    if parts[0].strip() or len(parts) < 3:
        raise FormatError("not an hh-rlhf transcript: it must start with '\\n\\nHuman: '")
    speakers, texts = parts[1::2], parts[2::2]
    return [
        {"role": "user" if speaker == "Human" else "assistant", "content": text}
        for speaker, text in zip(speakers, texts, strict=True)
    ]


def _split_transcripts(chosen: str, rejected: str) -> tuple[list[dict[str, str]], list[str]]:
    """The shared turns up to the last human turn are the prompt; what follows are the candidates."""
    a, b = hh_turns(chosen), hh_turns(rejected)
    shared = 0
    while shared < min(len(a), len(b)) and a[shared] == b[shared]:
        shared += 1
    while shared and a[shared - 1]["role"] != "user":
        shared -= 1
    if shared == 0:
        raise FormatError("chosen and rejected share no human turn to use as the prompt")
    return a[:shared], [_render(a[shared:]), _render(b[shared:])]


def _render(turns: list[dict[str, str]]) -> str:
    """A candidate: a single assistant reply as is, a longer continuation in transcript form."""
    if len(turns) == 1 and turns[0]["role"] == "assistant":
        return turns[0]["content"]
    return "".join(f"\n\n{'Human' if t['role'] == 'user' else 'Assistant'}: {t['content']}" for t in turns)


_PARSERS = {Format.ALPACA: _alpaca, Format.CHAT: _chat, Format.PREFERENCE: _preference}
