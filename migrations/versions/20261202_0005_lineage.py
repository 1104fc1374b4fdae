"""lineage: raw OpenLineage events, the jobs, runs, datasets and edges derived from them, model
versions, and the outbox of events the catalog emits

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table("outbox",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("kind", sa.String(length=40), nullable=False),
    sa.Column("run_id", sa.Uuid(), nullable=False),
    sa.Column("facts", JSON, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("outcome", sa.String(length=20), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    sa.UniqueConstraint("run_id", name=op.f("uq_outbox_run_id"))
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_delivered_at_next_attempt_at", ["delivered_at", "next_attempt_at"], unique=False)

    op.create_table("lineage_events",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("sha256", sa.String(length=64), nullable=False),
    sa.Column("kind", sa.String(length=10), nullable=False),
    sa.Column("event_type", sa.String(length=20), nullable=True),
    sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("run_id", sa.Uuid(), nullable=True),
    sa.Column("job_namespace", sa.String(length=500), nullable=True),
    sa.Column("job_name", sa.String(length=500), nullable=True),
    sa.Column("payload", JSON, nullable=False),
    sa.Column("received_by", sa.Uuid(), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["received_by"], ["principals.id"], name=op.f("fk_lineage_events_received_by_principals")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_events")),
    sa.UniqueConstraint("sha256", name=op.f("uq_lineage_events_sha256"))
    )
    with op.batch_alter_table("lineage_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lineage_events_run_id"), ["run_id"], unique=False)

    op.create_table("lineage_datasets",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("namespace", sa.String(length=500), nullable=False),
    sa.Column("name", sa.String(length=500), nullable=False),
    sa.Column("is_model", sa.Boolean(), nullable=False),
    sa.Column("event_id", sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(["event_id"], ["lineage_events.id"], name=op.f("fk_lineage_datasets_event_id_lineage_events")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_datasets")),
    sa.UniqueConstraint("namespace", "name", name=op.f("uq_lineage_datasets_namespace_name"))
    )
    op.create_table("lineage_jobs",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("namespace", sa.String(length=500), nullable=False),
    sa.Column("name", sa.String(length=500), nullable=False),
    sa.Column("job_type", sa.String(length=100), nullable=True),
    sa.Column("event_id", sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(["event_id"], ["lineage_events.id"], name=op.f("fk_lineage_jobs_event_id_lineage_events")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_jobs")),
    sa.UniqueConstraint("namespace", "name", name=op.f("uq_lineage_jobs_namespace_name"))
    )
    op.create_table("lineage_runs",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("job_id", sa.Uuid(), nullable=False),
    sa.Column("state", sa.String(length=20), nullable=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("event_id", sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(["event_id"], ["lineage_events.id"], name=op.f("fk_lineage_runs_event_id_lineage_events")),
    sa.ForeignKeyConstraint(["job_id"], ["lineage_jobs.id"], name=op.f("fk_lineage_runs_job_id_lineage_jobs")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_runs"))
    )
    with op.batch_alter_table("lineage_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lineage_runs_job_id"), ["job_id"], unique=False)

    op.create_table("lineage_io",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("run_id", sa.Uuid(), nullable=False),
    sa.Column("direction", sa.String(length=10), nullable=False),
    sa.Column("dataset_id", sa.Uuid(), nullable=False),
    sa.Column("version", sa.String(length=200), nullable=False),
    sa.Column("release_id", sa.Uuid(), nullable=True),
    sa.Column("event_id", sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(["dataset_id"], ["lineage_datasets.id"], name=op.f("fk_lineage_io_dataset_id_lineage_datasets")),
    sa.ForeignKeyConstraint(["event_id"], ["lineage_events.id"], name=op.f("fk_lineage_io_event_id_lineage_events")),
    sa.ForeignKeyConstraint(["release_id"], ["releases.id"], name=op.f("fk_lineage_io_release_id_releases")),
    sa.ForeignKeyConstraint(["run_id"], ["lineage_runs.id"], name=op.f("fk_lineage_io_run_id_lineage_runs")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_io")),
    sa.UniqueConstraint("run_id", "direction", "dataset_id", "version", name=op.f("uq_lineage_io_run_id_direction_dataset_id_version"))
    )
    with op.batch_alter_table("lineage_io", schema=None) as batch_op:
        batch_op.create_index("ix_lineage_io_dataset_id_direction", ["dataset_id", "direction"], unique=False)
        batch_op.create_index("ix_lineage_io_release_id", ["release_id"], unique=False)

    op.create_table("model_versions",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("dataset_id", sa.Uuid(), nullable=False),
    sa.Column("name", sa.String(length=500), nullable=False),
    sa.Column("version", sa.String(length=200), nullable=False),
    sa.Column("run_id", sa.Uuid(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["dataset_id"], ["lineage_datasets.id"], name=op.f("fk_model_versions_dataset_id_lineage_datasets")),
    sa.ForeignKeyConstraint(["run_id"], ["lineage_runs.id"], name=op.f("fk_model_versions_run_id_lineage_runs")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
    sa.UniqueConstraint("dataset_id", "version", "run_id", name=op.f("uq_model_versions_dataset_id_version_run_id"))
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_versions_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_model_versions_name"), ["name"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_versions_name"))
        batch_op.drop_index(batch_op.f("ix_model_versions_dataset_id"))

    op.drop_table("model_versions")
    with op.batch_alter_table("lineage_io", schema=None) as batch_op:
        batch_op.drop_index("ix_lineage_io_release_id")
        batch_op.drop_index("ix_lineage_io_dataset_id_direction")

    op.drop_table("lineage_io")
    with op.batch_alter_table("lineage_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lineage_runs_job_id"))

    op.drop_table("lineage_runs")
    op.drop_table("lineage_jobs")
    op.drop_table("lineage_datasets")
    with op.batch_alter_table("lineage_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lineage_events_run_id"))

    op.drop_table("lineage_events")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_delivered_at_next_attempt_at")

    op.drop_table("outbox")
