"""the PII gate: masked forms of record texts, the findings behind them, and erasure

Existing records and annotation revisions arrive pending: roles without read_raw see them once
the masking worker has masked them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mask_status", sa.String(length=20), nullable=False, server_default="pending"))
        batch_op.add_column(sa.Column("masked_content", JSON, nullable=True))
        batch_op.add_column(sa.Column("masked_meta", JSON, nullable=True))
        batch_op.add_column(sa.Column("detector_version", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("masked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("erased_by", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("content_digests", JSON, nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_records_erased_by_principals"), "principals", ["erased_by"], ["id"])
        batch_op.create_index("ix_records_mask_status_id", ["mask_status", "id"], unique=False)
    with op.batch_alter_table("annotation_revisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mask_status", sa.String(length=20), nullable=False, server_default="pending"))
        batch_op.add_column(sa.Column("masked_value", JSON, nullable=True))
        batch_op.add_column(sa.Column("masked_reason", sa.Text(), nullable=True))
        batch_op.create_index("ix_annotation_revisions_mask_status_id", ["mask_status", "id"], unique=False)
    op.create_table(
        "pii_findings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("entity_type", sa.String(length=80), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("masked_start", sa.Integer(), nullable=False),
        sa.Column("masked_end", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("recognizer", sa.String(length=200), nullable=False),
        sa.Column("detector_version", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name=op.f("fk_pii_findings_record_id_records")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pii_findings")),
    )
    with op.batch_alter_table("pii_findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pii_findings_record_id"), ["record_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pii_findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pii_findings_record_id"))
    op.drop_table("pii_findings")
    with op.batch_alter_table("annotation_revisions", schema=None) as batch_op:
        batch_op.drop_index("ix_annotation_revisions_mask_status_id")
        for column in ("masked_reason", "masked_value", "mask_status"):
            batch_op.drop_column(column)
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_mask_status_id")
        batch_op.drop_constraint(batch_op.f("fk_records_erased_by_principals"), type_="foreignkey")
        for column in ("content_digests", "erased_by", "erased_at", "masked_at", "detector_version", "masked_meta", "masked_content", "mask_status"):
            batch_op.drop_column(column)
