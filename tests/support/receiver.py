"""A small OpenLineage receiver over HTTP for delivery tests: it keeps every event it accepts, in
arrival order; it can be down (every request a 503) and can hold the answer to one request (the
event arrived, its sender never hears so), as a receiver behind a crashed sender would."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.refused = 0
        self.down = False
        self.hold_next = False  # the next event is kept, and its answer waits until ``released``
        self.held = threading.Event()
        self.released = threading.Event()
        self._lock = threading.Lock()
        self.url = ""

    def accept(self, body: bytes) -> int:
        with self._lock:
            if self.down:
                self.refused += 1
                return 503
            self.events.append(json.loads(body))
            hold, self.hold_next = self.hold_next, False
        if hold:
            self.held.set()
            self.released.wait(600)
        return 200

    def runs(self) -> dict[str, list[dict[str, Any]]]:
        """The events accepted for each runId, in the order they arrived."""
        with self._lock:
            events = list(self.events)
        found: dict[str, list[dict[str, Any]]] = {}
        for event in events:
            found.setdefault(event["run"]["runId"], []).append(event)
        return found


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            status = receiver.accept(self.rfile.read(int(self.headers["content-length"])))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield receiver
    finally:
        receiver.released.set()
        server.shutdown()
        server.server_close()
