"""The receiver down for a while, then back, with several deliverers on one outbox (SQLite and
PostgreSQL): every event arrives, and each run's START before its COMPLETE."""

from datetime import timedelta

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.transport.http import HttpConfig, HttpTransport
from sqlalchemy import func, select

from catalog.core.db import transaction
from catalog.core.models import OutboxRow
from catalog.core.principal import Role
from catalog.pii_gate.worker import mask_all
from lineage.delivery import Delivery, DeliveryLoop, waiting
from tests.conftest import TEST_MASKING
from tests.support.builders import TEXT_SCHEMA, chat_record
from tests.support.processes import wait_for
from tests.support.receiver import receiving

pytestmark = pytest.mark.slow

DELIVERERS = 3
RECORDS = 12


def attempts(sessions) -> int:
    with transaction(sessions) as session:
        return session.scalar(select(func.coalesce(func.sum(OutboxRow.attempts), 0)))


def test_every_event_arrives_in_order_per_run_after_the_receiver_was_down(live):
    steward = live.actors(Role.DATA_STEWARD)
    dataset = steward.dataset("outage", TEXT_SCHEMA)
    steward.records(dataset["id"], *(chat_record(f"prompt {i}") for i in range(RECORDS)), masked=False)
    mask_all(live.sessions, TEST_MASKING, batch_size=1)  # one masking run (one outbox row) per record
    steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/releases", {"tag": "v1"}), 201)
    with transaction(live.sessions) as session:
        run_ids = {str(run_id) for run_id in session.scalars(select(OutboxRow.run_id))}
    assert len(run_ids) == RECORDS + 1

    with receiving() as receiver:
        transport = HttpTransport(HttpConfig.from_dict({"url": receiver.url, "retry": {"total": 0}}))
        delivery = Delivery(OpenLineageClient(transport=transport), "labeltrail://test", timedelta(seconds=0.5))
        loops = [DeliveryLoop(live.sessions, delivery, interval=0.05) for _ in range(DELIVERERS)]
        receiver.down = True
        for loop in loops:
            loop.start()
        try:
            wait_for(lambda: attempts(live.sessions) >= 2 * DELIVERERS, "failed attempts while the receiver is down")
            assert receiver.events == []
            receiver.down = False
            wait_for(lambda: waiting(live.sessions) == 0, "every row delivered once the receiver is back")
        finally:
            for loop in loops:
                loop.stop()
            for loop in loops:
                loop.join(60)
        runs = receiver.runs()

    assert receiver.refused >= 2 * DELIVERERS
    assert set(runs) == run_ids  # no run lost
    for run_id, events in runs.items():
        kinds = [event["eventType"] for event in events]
        assert set(kinds) == {"START", "COMPLETE"} and kinds[0] == "START" and kinds[-1] == "COMPLETE", (run_id, kinds)
