"""releases: immutable manifests (records and annotation revisions), profiles and gate results

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table("releases",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("dataset_id", sa.Uuid(), nullable=False),
    sa.Column("tag", sa.String(length=100), nullable=False),
    sa.Column("notes", sa.Text(), nullable=False),
    sa.Column("statuses", JSON, nullable=False),
    sa.Column("splits", JSON, nullable=False),
    sa.Column("root", sa.String(length=64), nullable=False),
    sa.Column("records", sa.Integer(), nullable=False),
    sa.Column("annotations", sa.Integer(), nullable=False),
    sa.Column("profile", JSON, nullable=False),
    sa.Column("contamination", JSON, nullable=False),
    sa.Column("gates", JSON, nullable=False),
    sa.Column("override", JSON, nullable=True),
    sa.Column("created_by", sa.Uuid(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["created_by"], ["principals.id"], name=op.f("fk_releases_created_by_principals")),
    sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name=op.f("fk_releases_dataset_id_datasets")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
    sa.UniqueConstraint("dataset_id", "tag", name=op.f("uq_releases_dataset_id_tag"))
    )
    op.create_table("release_records",
    sa.Column("release_id", sa.Uuid(), nullable=False),
    sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
    sa.Column("record_id", sa.Uuid(), nullable=False),
    sa.Column("record_sha256", sa.String(length=64), nullable=False),
    sa.Column("masked_sha256", sa.String(length=64), nullable=True),
    sa.Column("detector_version", sa.String(length=200), nullable=True),
    sa.Column("split", sa.String(length=20), nullable=False),
    sa.Column("leaf_sha256", sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(["record_id"], ["records.id"], name=op.f("fk_release_records_record_id_records")),
    sa.ForeignKeyConstraint(["release_id"], ["releases.id"], name=op.f("fk_release_records_release_id_releases")),
    sa.PrimaryKeyConstraint("release_id", "position", name=op.f("pk_release_records")),
    sa.UniqueConstraint("release_id", "record_id", name=op.f("uq_release_records_release_id_record_id"))
    )
    with op.batch_alter_table("release_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_release_records_record_id"), ["record_id"], unique=False)

    op.create_table("release_revisions",
    sa.Column("release_id", sa.Uuid(), nullable=False),
    sa.Column("revision_id", sa.Uuid(), nullable=False),
    sa.Column("record_id", sa.Uuid(), nullable=False),
    sa.Column("annotation_id", sa.Uuid(), nullable=False),
    sa.Column("revision_sha256", sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(["annotation_id"], ["annotations.id"], name=op.f("fk_release_revisions_annotation_id_annotations")),
    sa.ForeignKeyConstraint(["record_id"], ["records.id"], name=op.f("fk_release_revisions_record_id_records")),
    sa.ForeignKeyConstraint(["release_id"], ["releases.id"], name=op.f("fk_release_revisions_release_id_releases")),
    sa.ForeignKeyConstraint(["revision_id"], ["annotation_revisions.id"], name=op.f("fk_release_revisions_revision_id_annotation_revisions")),
    sa.PrimaryKeyConstraint("release_id", "revision_id", name=op.f("pk_release_revisions")),
    sa.UniqueConstraint("release_id", "annotation_id", name=op.f("uq_release_revisions_release_id_annotation_id"))
    )
    with op.batch_alter_table("release_revisions", schema=None) as batch_op:
        batch_op.create_index("ix_release_revisions_release_id_record_id", ["release_id", "record_id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("release_revisions", schema=None) as batch_op:
        batch_op.drop_index("ix_release_revisions_release_id_record_id")

    op.drop_table("release_revisions")
    with op.batch_alter_table("release_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_records_record_id"))

    op.drop_table("release_records")
    op.drop_table("releases")
