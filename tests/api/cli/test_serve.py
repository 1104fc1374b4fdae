"""`labeltrail serve --workers N`: N uvicorn worker processes, the background threads once, in the supervisor."""

import sys
import types

import pytest

import api.cli.server
import lineage.delivery
from api.cli import support as cli_support


class Thread:
    def __init__(self, calls: list) -> None:
        self.calls = calls

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        self.calls.append("stop")


@pytest.fixture
def uvicorn_run(monkeypatch, settings):
    """uvicorn.run replaced by a recorder; the command's settings are the test's."""
    calls: list = []
    fake = types.ModuleType("uvicorn")
    fake.run = lambda app, **options: calls.append((app, options))
    monkeypatch.setitem(sys.modules, "uvicorn", fake)
    monkeypatch.setattr(cli_support, "current_settings", lambda: settings)
    return calls


def test_one_worker_serves_the_app_object_in_this_process(uvicorn_run):
    threads: list = []
    api.cli.server.run_server("127.0.0.1", 8123, [Thread(threads)])
    [(app, options)] = uvicorn_run
    assert not isinstance(app, str) and "workers" not in options
    assert (options["host"], options["port"]) == ("127.0.0.1", 8123)
    assert threads == ["start", "stop"]


def test_several_workers_import_the_factory_and_the_threads_run_once_beside_them(uvicorn_run):
    threads: list = []
    api.cli.server.run_server(None, None, [Thread(threads), Thread(threads)], workers=2)
    [(app, options)] = uvicorn_run
    assert app == api.cli.server.WORKER_APP == "api.cli.server:worker_app"
    assert (options["factory"], options["workers"]) == (True, 2)
    assert threads == ["start", "start", "stop", "stop"]  # in the supervisor, not once per worker


def test_the_factory_builds_the_app_from_the_settings_the_command_reads(uvicorn_run, settings):
    module, name = api.cli.server.WORKER_APP.split(":")
    app = getattr(sys.modules[module], name)()
    assert app.state.settings is settings


def test_serve_passes_the_workers_on(cli, monkeypatch):
    seen = []
    monkeypatch.setattr(lineage.delivery, "configured_delivery", lambda settings: None)  # serve imports it when it runs
    monkeypatch.setattr(api.cli.server, "run_server", lambda host, port, background, workers: seen.append(workers))
    assert cli("serve", "--workers", "2").exit_code == 0
    assert cli("serve", "--workers", "0").exit_code == 2
    assert seen == [2]


def test_the_served_app_leaves_the_heap_it_was_built_on_to_the_collector_no_more(uvicorn_run):
    import gc

    try:
        api.cli.server.run_server(None, None, [])
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
