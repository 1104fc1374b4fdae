"""File formats and reading: pure functions, no database."""

import gzip
import hashlib
import io
import json

import pytest
from pydantic import ValidationError

from catalog.importing.formats import Format, FormatError, parse
from catalog.importing.reading import FileRefused, Item, Unreadable, iter_items, open_file


def messages(fmt: Format, item) -> list[dict]:
    return parse(fmt, item).record.content["messages"]


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


def hh(*turns: tuple[str, str]) -> str:
    return "".join(f"\n\n{speaker}: {text}" for speaker, text in turns)


# --- alpaca -------------------------------------------------------------------------------


def test_alpaca_joins_instruction_and_input_into_one_user_turn():
    parsed = parse(Format.ALPACA, {"instruction": "Translate", "input": "chat", "output": "cat"})
    assert parsed.record.content == {"messages": [user("Translate\n\nchat")]}
    assert parsed.response == "cat"


def test_alpaca_without_input_is_the_instruction_alone():
    assert messages(Format.ALPACA, {"instruction": "Say hi", "input": "  ", "output": "hi"}) == [user("Say hi")]


def test_alpaca_takes_the_response_field_when_there_is_no_output():
    assert parse(Format.ALPACA, {"instruction": "Say hi", "response": "hello"}).response == "hello"


def test_alpaca_without_any_response_imports_the_prompt_alone():
    assert parse(Format.ALPACA, {"instruction": "Say hi"}).response is None


def test_alpaca_records_its_task_type_id_and_metadata():
    parsed = parse(Format.ALPACA, {"instruction": "Hi", "id": 7, "metadata": {"language": "en"}})
    assert parsed.record.metadata == {"task_type": "sft", "language": "en"}
    assert parsed.record.external_id == "7"


@pytest.mark.parametrize("item", [{"input": "x", "output": "y"}, {"instruction": 3, "output": "y"}])
def test_alpaca_without_text_instruction_is_a_format_error(item):
    with pytest.raises(FormatError, match="'instruction'"):
        parse(Format.ALPACA, item)


# --- chat ---------------------------------------------------------------------------------


def test_openai_messages_final_assistant_turn_becomes_the_response():
    turns = [{"role": "system", "content": "Be terse."}, user("2+2?"), assistant("4")]
    parsed = parse(Format.CHAT, {"messages": turns})
    assert parsed.record.content["messages"] == turns[:2]
    assert parsed.response == "4"
    assert parsed.record.metadata["task_type"] == "chat"


def test_chat_ending_with_a_user_turn_has_no_response():
    turns = [user("hi"), assistant("hello"), user("bye")]
    parsed = parse(Format.CHAT, {"messages": turns})
    assert parsed.record.content["messages"] == turns and parsed.response is None


def test_sharegpt_speakers_map_to_roles():
    conversation = [
        {"from": "system", "value": "Be kind."},
        {"from": "human", "value": "hi"},
        {"from": "gpt", "value": "hello"},
        {"from": "Human", "value": "bye"},
        {"from": "gpt", "value": "goodbye"},
    ]
    parsed = parse(Format.CHAT, {"conversations": conversation})
    assert parsed.record.content["messages"] == [
        {"role": "system", "content": "Be kind."}, user("hi"), assistant("hello"), user("bye")
    ]
    assert parsed.response == "goodbye"


def test_sharegpt_unknown_speaker_is_a_format_error():
    with pytest.raises(FormatError, match="unknown speaker 'narrator'"):
        parse(Format.CHAT, {"conversations": [{"from": "narrator", "value": "Once"}]})


def test_chat_without_messages_or_conversations_is_a_format_error():
    with pytest.raises(FormatError, match="'messages'"):
        parse(Format.CHAT, {"text": "hi"})


def test_openai_unknown_role_is_refused_by_validation():
    with pytest.raises(ValidationError, match="role"):
        parse(Format.CHAT, {"messages": [{"role": "tool", "content": "{}"}, user("hi")]})


# --- preference ---------------------------------------------------------------------------


def test_preference_with_text_prompt_ranks_chosen_above_rejected():
    parsed = parse(Format.PREFERENCE, {"prompt": "Say hi", "chosen": "Hi!", "rejected": "Go away."})
    assert parsed.record.content == {"messages": [user("Say hi")], "candidates": ["Hi!", "Go away."]}
    assert parsed.response == {"ranking": [[0], [1]]}
    assert parsed.record.metadata["task_type"] == "preference"


def test_preference_prompt_may_be_a_message_list():
    prompt = [{"role": "system", "content": "Be kind."}, user("Say hi")]
    assert messages(Format.PREFERENCE, {"prompt": prompt, "chosen": "Hi!", "rejected": "No."}) == prompt


def test_preference_without_rejected_is_a_format_error():
    with pytest.raises(FormatError, match="'rejected'"):
        parse(Format.PREFERENCE, {"prompt": "Say hi", "chosen": "Hi!"})


def test_hh_rlhf_shared_turns_are_the_prompt_and_final_replies_the_candidates():
    shared = [("Human", "Hi"), ("Assistant", "Hello."), ("Human", "Tell a joke")]
    item = {"chosen": hh(*shared, ("Assistant", "Knock knock.")), "rejected": hh(*shared, ("Assistant", "No."))}
    parsed = parse(Format.PREFERENCE, item)
    assert parsed.record.content == {
        "messages": [user("Hi"), assistant("Hello."), user("Tell a joke")],
        "candidates": ["Knock knock.", "No."],
    }
    assert parsed.response == {"ranking": [[0], [1]]}


def test_hh_rlhf_diverging_earlier_keeps_the_prompt_up_to_the_last_shared_human_turn():
    chosen = hh(("Human", "Hi"), ("Assistant", "Hello."), ("Human", "Bye"), ("Assistant", "Bye!"))
    rejected = hh(("Human", "Hi"), ("Assistant", "What?"))
    parsed = parse(Format.PREFERENCE, {"chosen": chosen, "rejected": rejected})
    assert parsed.record.content["messages"] == [user("Hi")]
    assert parsed.record.candidates == [hh(("Assistant", "Hello."), ("Human", "Bye"), ("Assistant", "Bye!")), "What?"]


def test_hh_rlhf_transcripts_with_no_shared_human_turn_are_a_format_error():
    with pytest.raises(FormatError, match="share no human turn"):
        chosen, rejected = hh(("Human", "A"), ("Assistant", "x")), hh(("Human", "B"), ("Assistant", "y"))
        parse(Format.PREFERENCE, {"chosen": chosen, "rejected": rejected})


def test_a_transcript_not_in_hh_rlhf_form_is_a_format_error():
    with pytest.raises(FormatError, match="hh-rlhf"):
        parse(Format.PREFERENCE, {"chosen": "Hi there", "rejected": "Go away"})


# --- any format ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(Format))
@pytest.mark.parametrize(("item", "kind"), [([1, 2], "list"), ("text", "str"), (None, "NoneType")])
def test_an_item_that_is_not_an_object_is_a_format_error(fmt, item, kind):
    with pytest.raises(FormatError, match=f"expected a JSON object, got {kind}"):
        parse(fmt, item)


# --- reading ------------------------------------------------------------------------------


def read(data: bytes, **limits) -> list[Item | Unreadable]:
    return list(iter_items(io.BufferedReader(io.BytesIO(data)), **limits))


def test_a_json_array_yields_its_objects_numbered_as_items():
    assert read(b' \n[{"a": 1}, {"b": 2.5}]') == [Item("item 1", {"a": 1}), Item("item 2", {"b": 2.5})]


def test_json_lines_skip_blank_lines_and_report_a_bad_line_by_number():
    found = read(b'{"a": 1}\n\n{"b": \n{"c": 3}\n')
    assert found[0] == Item("line 1", {"a": 1})
    assert isinstance(found[1], Unreadable) and found[1].location == "line 3"
    assert found[1].reason.startswith("not valid JSON:")
    assert found[2] == Item("line 4", {"c": 3})


def test_a_line_that_is_not_utf8_refuses_the_file():
    with pytest.raises(FileRefused, match=r"line 2 is not valid UTF-8: byte 7"):
        read(b'{"a": 1}\n{"a": "\xff"}\n')


def test_an_array_item_that_is_not_utf8_refuses_the_file():
    with pytest.raises(FileRefused, match=r"item 2 is not valid UTF-8"):
        read(b'[{"a": 1}, {"a": "\xff"}]')


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b'{"a": 1}\n{"a": "' + b"x" * 5000 + b'"}\n', "line 2 is longer than the 4,096 bytes"),
        (b'{"a": 1}\n{"a": "' + b"x" * 5000, "line 2 is longer than the 4,096 bytes"),
        (b'[{"a": 1}, {"a": "' + b"x" * 200_000 + b'"}]', "item 2 is larger than the 4,096 bytes"),
        (b'[{"a": [' + b"0," * 200_000 + b"0]}]", "item 1 is larger than the 4,096 bytes"),
    ],
)
def test_a_line_or_item_past_the_limit_refuses_the_file(data, where):
    with pytest.raises(FileRefused, match=where):
        read(data, max_line_bytes=4096)


def test_a_line_of_exactly_the_limit_is_read():
    line = b'{"a": "' + b"x" * (4096 - 9) + b'"}'
    assert len(line) == 4096
    assert read(line + b"\r\n", max_line_bytes=4096) == [Item("line 1", {"a": "x" * 4087})]


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b'{"a": 1}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n", "line 2 is nested deeper than 8 levels"),
        (b'{"a": 1}\n' + b"[" * 9 + b"]" * 9 + b"\n", "line 2 is nested deeper than 8 levels"),
        (b"[" + b"[" * 100_000, "item 1 is nested deeper than 8 levels"),
        (b'[{"a": 1}, ' + b'{"a":' * 9 + b"1" + b"}" * 9 + b"]", "item 2 is nested deeper than 8 levels"),
    ],
)
def test_nesting_past_the_limit_refuses_the_file(data, where):
    with pytest.raises(FileRefused, match=where):
        read(data, max_depth=8)


def test_nesting_at_the_limit_is_read():
    nested = b'{"a": ' + b"[" * 7 + b"]" * 7 + b"}"
    assert read(nested + b"\n", max_depth=8) == [Item("line 1", json.loads(nested))]
    assert read(b"[" + b"[" * 7 + b"]" * 7 + b"]", max_depth=8) == [Item("item 1", json.loads(b"[" * 7 + b"]" * 7))]


def test_a_truncated_json_array_keeps_the_items_before_and_reports_where_it_broke():
    found = read(b'[{"a": 1}, {"b": 2}, {"c":')
    assert found[:2] == [Item("item 1", {"a": 1}), Item("item 2", {"b": 2})]
    assert isinstance(found[2], Unreadable) and found[2].location == "item 3"
    assert "not valid JSON" in found[2].reason


def test_a_json_array_with_a_byte_order_mark_is_read():
    assert read(b'\xef\xbb\xbf[{"a": 1}]') == [Item("item 1", {"a": 1})]


def test_a_stream_without_peek_still_tells_an_array_from_json_lines():
    found = list(iter_items(io.BytesIO(b'[{"a": 1},\n {"b": 2}]')))
    assert found == [Item("item 1", {"a": 1}), Item("item 2", {"b": 2})]


def test_open_file_decompresses_gzip_by_its_magic_bytes_whatever_the_name(tmp_path):
    path = tmp_path / "data.json"
    path.write_bytes(gzip.compress(b'{"a": 1}\n{"b": 2}\n'))
    with open_file(path) as stream:
        assert [item.value for item in iter_items(stream)] == [{"a": 1}, {"b": 2}]


def numbered_lines(count: int) -> bytes:
    """Lines that do not compress away, so half the gzip holds some but not all of them."""
    digests = (hashlib.sha256(b"%d" % n).hexdigest().encode() for n in range(count))
    return b"".join(b'{"n": %d, "text": "%s"}\n' % (n, digest) for n, digest in enumerate(digests))


def test_a_truncated_gzip_file_is_refused_naming_the_last_line_read(tmp_path):
    whole = gzip.compress(numbered_lines(500))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    read_ = []
    with open_file(path) as stream, pytest.raises(FileRefused, match="the file cannot be read past line") as refused:
        read_.extend(iter_items(stream))
    assert 0 < len(read_) < 500
    assert f"past line {len(read_)}:" in refused.value.message


@pytest.mark.parametrize("lines", [b'[{"a": 1}]', b'{"a": 1}\n'])
def test_a_truncated_gzip_array_or_lines_is_refused(lines):
    whole = gzip.compress(lines * 2000)
    with pytest.raises(FileRefused, match="cannot be read past"):
        list(iter_items(gzip.GzipFile(fileobj=io.BytesIO(whole[: len(whole) // 2]))))


def test_a_file_with_gzip_magic_that_is_not_gzip_is_refused(tmp_path):
    path = tmp_path / "fake.gz"
    path.write_bytes(b"\x1f\x8b this is not gzip")
    with open_file(path) as stream, pytest.raises(FileRefused, match="cannot be read past the start of the file"):
        list(iter_items(stream))


def test_open_file_reads_plain_files_as_they_are(tmp_path):
    path = tmp_path / "data.json.gz"
    path.write_bytes(b'[{"a": 1}]')
    with open_file(path) as stream:
        assert [item.value for item in iter_items(stream)] == [{"a": 1}]
