"""The masking worker on SQLite scans without holding the database's write lock, so a writer
beside it (an import, a request) waits for a write, never for a scan."""

from sqlalchemy import func, select, text

from catalog.access.service import system_principal
from catalog.core import migrate
from catalog.core.db import make_engine, make_sessionmaker, transaction
from catalog.core.models import MASKED, RecordRow
from catalog.datasets import service as datasets
from catalog.datasets.schemas import DatasetCreate
from catalog.pii_gate import worker
from catalog.records import service as records
from catalog.records.schemas import RecordIn
from pii import get_scanner
from tests.conftest import TEST_MASKING
from tests.support.builders import TEXT_SCHEMA, chat_record


def test_sqlite_masking_scans_while_another_writer_can_take_the_lock(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'gate.db'}"
    migrate.upgrade(url)
    engine, other = make_engine(url), make_engine(url)
    sessions = make_sessionmaker(engine)
    with transaction(sessions, write=True) as session:
        steward = system_principal(session)
        dataset = datasets.create_dataset(session, principal=steward, data=DatasetCreate(name="d", label_schema=TEXT_SCHEMA))
        items = [RecordIn.model_validate(chat_record(f"mail {n}@example.com")) for n in range(7)]
        records.add_records(session, principal=steward, dataset_id=dataset.id, records=items)
    lock_free_during_scans: list[bool] = []

    def scan(texts):
        connection = other.raw_connection()  # another writer, which must not have to wait
        try:
            connection.execute("PRAGMA busy_timeout=0")
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
            lock_free_during_scans.append(True)
        except other.dialect.dbapi.OperationalError:  # "database is locked": the worker holds the lock
            lock_free_during_scans.append(False)
        finally:
            connection.close()
        return get_scanner(TEST_MASKING).scan_many(texts)

    monkeypatch.setattr(worker, "_scanning", lambda config, workers, stack: scan)
    done = worker.mask_all(sessions, TEST_MASKING, batch_size=3)
    assert done.records == 7
    assert lock_free_during_scans and all(lock_free_during_scans)
    with engine.connect() as connection:
        masked = connection.scalar(select(func.count()).select_from(RecordRow).where(RecordRow.mask_status == MASKED))
        assert masked == 7
        assert "@example.com" not in connection.scalar(text("SELECT group_concat(masked_content) FROM records"))
    engine.dispose()
    other.dispose()
