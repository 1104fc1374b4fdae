"""Scanners built once per session, with the network blocked while they are built and first used."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from pii import Masked, Scanner, ScannerConfig


@contextmanager
def no_network() -> Iterator[list[tuple]]:
    """Every attempt to connect or to resolve a name fails, and is recorded."""
    attempts: list[tuple] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("the network is blocked in this test")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket.socket, "connect_ex", refuse)
        patch.setattr(socket, "getaddrinfo", refuse)
        yield attempts


@dataclass(frozen=True)
class OfflineBuild:
    scanner: Scanner
    first_scan: Masked
    attempts: list[tuple]


def _offline_build(config: ScannerConfig) -> OfflineBuild:
    with no_network() as attempts:
        scanner = Scanner.from_config(config)
        # The first email validated loads tldextract's public suffix list.
        first_scan = scanner.scan("Mail jane.doe@example.com or visit https://example.org")
    return OfflineBuild(scanner, first_scan, attempts)


@pytest.fixture(scope="session")
def offline_ner() -> OfflineBuild:
    return _offline_build(ScannerConfig(mode="ner"))


@pytest.fixture(scope="session")
def offline_pattern() -> OfflineBuild:
    return _offline_build(ScannerConfig(mode="pattern"))


@pytest.fixture(scope="session")
def ner(offline_ner) -> Scanner:
    return offline_ner.scanner


@pytest.fixture(scope="session")
def pattern(offline_pattern) -> Scanner:
    return offline_pattern.scanner


@pytest.fixture(params=["ner", "pattern"])
def scanner(request) -> Scanner:
    """Each of the two session scanners in turn."""
    return request.getfixturevalue(request.param)
