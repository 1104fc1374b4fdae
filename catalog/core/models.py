"""ORM models. Provenance tables are append-only: annotations change by adding revisions."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from uuid6 import uuid7

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonValue = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    """Time-ordered ids (UUIDv7): made by the client, so bulk inserts need no RETURNING."""
    return uuid7()


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC on the way out of every engine (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# ``mask_status`` of records and annotation revisions: ``pending`` until the PII gate masks them.
PENDING = "pending"
MASKED = "masked"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JsonValue, uuid.UUID: Uuid}


class PrincipalRow(Base):
    __tablename__ = "principals"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]


class RoleBindingRow(Base):
    """A role granted to a principal, globally (no dataset) or on one dataset. Revoked, never deleted."""

    __tablename__ = "role_bindings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    principal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    dataset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("datasets.id"), index=True)
    granted_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("principals.id"))
    revoked_at: Mapped[datetime | None]


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    principal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    key_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("principals.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class DatasetRow(Base):
    __tablename__ = "datasets"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[dict[str, Any]] = mapped_column(default=dict)
    legal_basis: Mapped[str] = mapped_column(String(200), default="")
    task_types: Mapped[list[str]] = mapped_column(JsonValue, default=list)
    label_schema: Mapped[dict[str, Any]]
    text_salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GuidelineRow(Base):
    __tablename__ = "guidelines"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id"))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecordRow(Base):
    """An immutable prompt (messages, optional candidates). Retiring is its one state change."""

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("dataset_id", "external_id"),
        Index("ix_records_dataset_id_prompt_sha256", "dataset_id", "prompt_sha256"),
        Index("ix_records_dataset_id_id", "dataset_id", "id"),
        Index("ix_records_mask_status_id", "mask_status", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id"))
    external_id: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[dict[str, Any]]
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JsonValue, default=dict)
    content_sha256: Mapped[str] = mapped_column(String(64))
    prompt_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]
    retired_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("principals.id"))
    retire_reason: Mapped[str | None] = mapped_column(Text)
    # The PII gate: raw ``content`` and ``meta`` stay as they came; roles without read_raw get these.
    mask_status: Mapped[str] = mapped_column(String(20), default=PENDING)
    masked_content: Mapped[dict[str, Any] | None]
    masked_meta: Mapped[dict[str, Any] | None] = mapped_column(JsonValue)
    detector_version: Mapped[str | None] = mapped_column(String(200))
    masked_at: Mapped[datetime | None]
    # GDPR erasure: the raw texts are gone; their salted digests keep content_sha256 verifiable.
    erased_at: Mapped[datetime | None]
    erased_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("principals.id"))
    content_digests: Mapped[dict[str, Any] | None]


class PiiFindingRow(Base):
    """One piece of personal data found in a record's text, by which detector, at which raw offsets."""

    __tablename__ = "pii_findings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("records.id"), index=True)
    field: Mapped[str] = mapped_column(String(200))
    entity_type: Mapped[str] = mapped_column(String(80))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    # Where its placeholder sits in the masked text: maps offsets chosen on masked text back to raw.
    masked_start: Mapped[int] = mapped_column(Integer)
    masked_end: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    recognizer: Mapped[str] = mapped_column(String(200))
    detector_version: Mapped[str] = mapped_column(String(200))


class AnnotationRow(Base):
    """Who answered which question on which record, and how it arrived. Never updated."""

    __tablename__ = "annotations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id"), index=True)
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("records.id"), index=True)
    question: Mapped[str] = mapped_column(String(200))
    annotator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"), index=True)
    source: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RevisionRow(Base):
    """One state of an annotation. The latest revision is the current value; the chain is hashed."""

    __tablename__ = "annotation_revisions"
    __table_args__ = (
        UniqueConstraint("annotation_id", "revision"),
        Index("ix_annotation_revisions_mask_status_id", "mask_status", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    annotation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("annotations.id"))
    revision: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    source: Mapped[dict[str, Any]]
    guideline_version: Mapped[int | None] = mapped_column(Integer)
    value: Mapped[Any] = mapped_column(JsonValue)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    previous_sha256: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    # The PII gate, outside the hash: free text in the value and the reason, masked for roles
    # without read_raw. Masked when written through the API, by the worker when imported.
    mask_status: Mapped[str] = mapped_column(String(20), default=PENDING)
    masked_value: Mapped[Any] = mapped_column(JsonValue, nullable=True)
    masked_reason: Mapped[str | None] = mapped_column(Text)


class AuditEntryRow(Base):
    """One thing that happened. ``seq`` orders the chain; each entry hashes its predecessor's hash."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_actor_name_seq", "actor_name", "seq"),
        Index("ix_audit_entries_action_seq", "action", "seq"),
        Index("ix_audit_entries_resource_seq", "resource", "seq"),
        Index("ix_audit_entries_occurred_at", "occurred_at"),
    )

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime]
    actor_id: Mapped[uuid.UUID | None]
    actor_name: Mapped[str | None] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80))
    resource: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[str | None] = mapped_column(String(64))
    client: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[dict[str, Any]]
    previous_sha256: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The single row every append locks, so concurrent writers take turns and the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    previous_sha256: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))


class AuditSealRow(Base):
    """An HMAC over the chain head at ``seq``, under a key kept outside the database."""

    __tablename__ = "audit_seals"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False)
    entry_sha256: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    hmac_sha256: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime]


class ReleaseRow(Base):
    """An immutable, content-addressed version of a dataset: its manifest's Merkle root, profile and gates."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("dataset_id", "tag"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # A short key for the manifest rows' profile indexes: an integer compares and packs tighter
    # than a UUID in every one of a release's index entries. PostgreSQL's identity assigns it;
    # SQLite has no identity outside the primary key, so a cut takes the largest plus one.
    number: Mapped[int] = mapped_column(Integer, Identity(), unique=True)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id"))
    tag: Mapped[str] = mapped_column(String(100))
    notes: Mapped[str] = mapped_column(Text, default="")
    statuses: Mapped[list[str]] = mapped_column(JsonValue)
    splits: Mapped[dict[str, Any]]
    root: Mapped[str] = mapped_column(String(64))
    records: Mapped[int] = mapped_column(Integer)
    annotations: Mapped[int] = mapped_column(Integer)
    profile: Mapped[dict[str, Any]]
    contamination: Mapped[dict[str, Any]]
    gates: Mapped[list[dict[str, Any]]] = mapped_column(JsonValue)
    override: Mapped[dict[str, Any] | None]
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReleaseRecordRow(Base):
    """One leaf of a release's manifest: a record, its hashes and its split, in leaf order."""

    __tablename__ = "release_records"
    __table_args__ = (
        UniqueConstraint("release_id", "record_id"),
        # Covering indexes for the profile's GROUP BYs: each is read without touching the table.
        Index("ix_release_records_categories", "release_number", "task_type", "domain", "language", "split"),
        Index("ix_release_records_lengths", "release_number", "prompt_chars", "turns"),
        # Only the records with PII findings: the profile joins the findings of those, not of every record.
        Index(
            "ix_release_records_pii", "release_number", "pii_findings", "record_id",
            sqlite_where=text("pii_findings > 0"), postgresql_where=text("pii_findings > 0"),
        ),  # fmt: skip
    )

    release_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("releases.id"), primary_key=True)
    release_number: Mapped[int] = mapped_column(Integer)  # releases.number, the profile indexes' key
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("records.id"), index=True)
    record_sha256: Mapped[str] = mapped_column(String(64))
    masked_sha256: Mapped[str | None] = mapped_column(String(64))
    detector_version: Mapped[str | None] = mapped_column(String(200))
    split: Mapped[str] = mapped_column(String(20))
    leaf_sha256: Mapped[str] = mapped_column(String(64))
    # The record's features as released (masked), filled when the release is cut; not part of the leaf.
    task_type: Mapped[str | None] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(200))
    prompt_chars: Mapped[int | None] = mapped_column(Integer)
    turns: Mapped[int | None] = mapped_column(Integer)
    pii_findings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ReleaseRevisionRow(Base):
    """An annotation revision a release holds: the current one of each released annotation."""

    __tablename__ = "release_revisions"
    __table_args__ = (
        Index("ix_release_revisions_release_id_record_id", "release_id", "record_id"),
        UniqueConstraint("release_id", "annotation_id"),
        # Every label's value and provenance in one GROUP BY; a text answer's length in another.
        Index(
            "ix_release_revisions_labels",
            "release_number", "question", "choice", "source_kind", "annotator_id", "guideline_version",
        ),  # fmt: skip
        Index("ix_release_revisions_answers", "release_number", "question", "choice", "response_chars"),
    )

    release_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("releases.id"), primary_key=True)
    release_number: Mapped[int] = mapped_column(Integer)  # releases.number, the profile indexes' key
    revision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("annotation_revisions.id"), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("records.id"))
    annotation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("annotations.id"))
    revision_sha256: Mapped[str] = mapped_column(String(64))
    # The label's features, filled when the release is cut: who, from where, under which guideline;
    # the chosen value of a label, rating or ranking question; the length of a text answer.
    question: Mapped[str | None] = mapped_column(String(200))
    source_kind: Mapped[str | None] = mapped_column(String(20))
    annotator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("principals.id"))
    guideline_version: Mapped[int | None] = mapped_column(Integer)
    choice: Mapped[str | None] = mapped_column(String(500))
    response_chars: Mapped[int | None] = mapped_column(Integer)


# --- lineage: raw OpenLineage events in, the graph derived from them, and the outbox out ---


class LineageEventRow(Base):
    """An OpenLineage event as received: append-only, keyed by the hash of its canonical JSON."""

    __tablename__ = "lineage_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # run, dataset, job
    event_type: Mapped[str | None] = mapped_column(String(20))
    event_time: Mapped[datetime]
    run_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    job_namespace: Mapped[str | None] = mapped_column(String(500))
    job_name: Mapped[str | None] = mapped_column(String(500))
    payload: Mapped[dict[str, Any]]
    received_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class LineageJobRow(Base):
    __tablename__ = "lineage_jobs"
    __table_args__ = (UniqueConstraint("namespace", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    namespace: Mapped[str] = mapped_column(String(500))
    name: Mapped[str] = mapped_column(String(500))
    job_type: Mapped[str | None] = mapped_column(String(100))
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lineage_events.id"))


class LineageDatasetRow(Base):
    """A dataset any event named; a model when an event marked it so; a release when it names one."""

    __tablename__ = "lineage_datasets"
    __table_args__ = (UniqueConstraint("namespace", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    namespace: Mapped[str] = mapped_column(String(500))
    name: Mapped[str] = mapped_column(String(500))
    is_model: Mapped[bool] = mapped_column(default=False)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lineage_events.id"))


class LineageRunRow(Base):
    __tablename__ = "lineage_runs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the OpenLineage runId
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lineage_jobs.id"), index=True)
    state: Mapped[str | None] = mapped_column(String(20))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lineage_events.id"))


class LineageIoRow(Base):
    """An edge of the graph: a run read (input) or wrote (output) a dataset, at a version, maybe a release."""

    __tablename__ = "lineage_io"
    __table_args__ = (
        UniqueConstraint("run_id", "direction", "dataset_id", "version"),
        Index("ix_lineage_io_dataset_id_direction", "dataset_id", "direction"),
        Index("ix_lineage_io_release_id", "release_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lineage_runs.id"))
    direction: Mapped[str] = mapped_column(String(10))  # input, output
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lineage_datasets.id"))
    version: Mapped[str] = mapped_column(String(200), default="")
    release_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("releases.id"))
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lineage_events.id"))


class ModelVersionRow(Base):
    """A model a run produced: an output dataset marked as a model, at a version."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version", "run_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lineage_datasets.id"), index=True)
    name: Mapped[str] = mapped_column(String(500), index=True)
    version: Mapped[str] = mapped_column(String(200), default="")
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lineage_runs.id"))
    created_at: Mapped[datetime]


class OutboxRow(Base):
    """Something the catalog did, written with the change, waiting to go out as OpenLineage events."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_delivered_at_next_attempt_at", "delivered_at", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(40))  # import, masking, release, erasure
    run_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    facts: Mapped[dict[str, Any]]
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(20))  # COMPLETE or FAIL
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
