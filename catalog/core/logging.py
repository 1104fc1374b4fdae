"""Structured logging: one JSON object per line (or a readable console form), via structlog."""

import logging

import structlog


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )


def stdlib_log_config(level: str = "INFO", json: bool = True) -> dict:
    """A ``logging.config`` dictionary that renders the standard library's records (uvicorn's
    own, its tracebacks included) as this module renders structlog's: one JSON object a line.
    Handed to uvicorn as its ``log_config``."""
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    formatter = {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
        "foreign_pre_chain": [
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
    }
    handler = {"class": "logging.StreamHandler", "formatter": "structured", "stream": "ext://sys.stdout"}
    loggers = {name: {"handlers": ["default"], "level": level.upper(), "propagate": False}
               for name in ("uvicorn", "uvicorn.error", "uvicorn.access")}  # fmt: skip
    return {"version": 1, "disable_existing_loggers": False, "formatters": {"structured": formatter},
            "handlers": {"default": handler}, "loggers": loggers}  # fmt: skip


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
