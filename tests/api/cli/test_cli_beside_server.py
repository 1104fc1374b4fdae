"""`labeltrail` commands run in processes of their own beside a live server on the same
database, while clients write and read raw text through it: nothing fails, nothing waits forever."""

import threading
from collections import Counter

import pytest

from catalog.core.principal import Role
from tests.support.builders import TEXT_SCHEMA, chat_record
from tests.support.importing import alpaca, write_lines
from tests.support.live import http_client, run_cli

pytestmark = pytest.mark.slow


def test_import_mask_release_and_verify_run_beside_a_serving_server(live, tmp_path):
    steward = live.actors(Role.DATA_STEWARD)
    dataset = steward.dataset("beside", TEXT_SCHEMA)
    record_ids = steward.records(dataset["id"], *(chat_record(f"served {i}, call 555-0100") for i in range(4)))
    source = write_lines(tmp_path / "items.jsonl", *(alpaca(f"imported {i} from bob@example.com") for i in range(300)))
    seen: list[Counter] = []
    done = threading.Event()

    def clients() -> None:
        """Raw reads (each audited) and writes through the server until the commands are done."""
        statuses: Counter = Counter()
        seen.append(statuses)
        with http_client(live.base_url, steward.key) as client:
            n = 0
            while not done.is_set():
                record = record_ids[n % len(record_ids)]
                statuses[client.get(f"/api/v1/records/{record}").status_code] += 1
                body = {"question": "response", "value": f"answer {n}"}
                statuses[client.post(f"/api/v1/records/{record}/annotations", json=body).status_code] += 1
                n += 1
                done.wait(0.02)  # a steady load, not a spin that takes the cores from the commands
        statuses["finished"] += 1

    threads = [threading.Thread(target=clients) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        steps = [
            ("import", str(source), "--dataset", "beside", "--format", "alpaca", "--batch-size", "50"),
            ("pii", "mask"),
            ("release", "beside", "--tag", "v1", "--override-reason", "a test beside a serving server"),
            ("verify",),
        ]
        results = [run_cli(live.settings, *step) for step in steps]
    finally:
        done.set()
        for thread in threads:
            thread.join(120)
    failures = [(step[0], r.returncode, r.stderr[-2000:]) for step, r in zip(steps, results, strict=True) if r.returncode]
    assert failures == []
    statuses = sum(seen, Counter())
    assert statuses["finished"] == len(threads)  # no client raised
    assert set(statuses) <= {200, 201, 409, "finished"}, statuses  # 409: a second answer to one question
    assert statuses[200] > 0 and statuses[201] > 0
