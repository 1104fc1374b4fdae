"""The few JSON expressions profiles need, written for each engine (SQLite's JSON1, PostgreSQL's jsonb)."""

from sqlalchemy import Integer, Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class message_chars(FunctionElement):
    """Characters in the ``content`` of every message of a record's ``{"messages": [...]}``."""

    type = Integer()
    inherit_cache = True
    name = "message_chars"


class message_count(FunctionElement):
    """The number of messages (turns) of a record."""

    type = Integer()
    inherit_cache = True
    name = "message_count"


class json_scalar_text(FunctionElement):
    """A JSON string value as SQL text (NULL for anything else on PostgreSQL)."""

    type = Text()
    inherit_cache = True
    name = "json_scalar_text"


def _arg(element, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(message_chars, "sqlite")
def _message_chars_sqlite(element, compiler, **kw) -> str:
    return (
        "(SELECT coalesce(sum(length(json_extract(m.value, '$.content'))), 0) "
        f"FROM json_each({_arg(element, compiler, **kw)}, '$.messages') AS m)"
    )


@compiles(message_chars, "postgresql")
def _message_chars_postgresql(element, compiler, **kw) -> str:
    return (
        "(SELECT coalesce(sum(length(m ->> 'content')), 0) "
        f"FROM jsonb_array_elements(({_arg(element, compiler, **kw)}) -> 'messages') AS m)"
    )


@compiles(message_count, "sqlite")
def _message_count_sqlite(element, compiler, **kw) -> str:
    return f"json_array_length({_arg(element, compiler, **kw)}, '$.messages')"


@compiles(message_count, "postgresql")
def _message_count_postgresql(element, compiler, **kw) -> str:
    return f"jsonb_array_length(({_arg(element, compiler, **kw)}) -> 'messages')"


@compiles(json_scalar_text, "sqlite")
def _scalar_text_sqlite(element, compiler, **kw) -> str:
    return f"json_extract({_arg(element, compiler, **kw)}, '$')"


@compiles(json_scalar_text, "postgresql")
def _scalar_text_postgresql(element, compiler, **kw) -> str:
    return f"(({_arg(element, compiler, **kw)}) #>> '{{}}')"


class json_text(FunctionElement):
    """A JSON value as its JSON text, to group on (SQLite stores JSON as text; jsonb is cast)."""

    type = Text()
    inherit_cache = True
    name = "json_text"


@compiles(json_text, "sqlite")
def _json_text_sqlite(element, compiler, **kw) -> str:
    return f"json({_arg(element, compiler, **kw)})"


@compiles(json_text, "postgresql")
def _json_text_postgresql(element, compiler, **kw) -> str:
    return f"(({_arg(element, compiler, **kw)})::text)"
