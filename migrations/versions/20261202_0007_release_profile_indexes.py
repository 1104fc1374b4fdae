"""release profile indexes: each released record's PII finding count under a partial index (the
profile joins the findings of the records that have some, not of every record), and one covering
index for every label's value and provenance in place of the provenance-only one. Releases cut
before get their counts from the findings their records have now.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HAS_FINDINGS = sa.text("pii_findings > 0")


def upgrade() -> None:
    with op.batch_alter_table("release_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pii_findings", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE release_records SET pii_findings = "
        "(SELECT count(*) FROM pii_findings WHERE pii_findings.record_id = release_records.record_id)"
    )
    op.create_index(
        "ix_release_records_pii", "release_records", ["release_id", "pii_findings", "record_id"],
        sqlite_where=HAS_FINDINGS, postgresql_where=HAS_FINDINGS,
    )  # fmt: skip
    op.drop_index("ix_release_revisions_provenance", table_name="release_revisions")
    op.create_index(
        "ix_release_revisions_labels", "release_revisions",
        ["release_id", "question", "choice", "source_kind", "annotator_id", "guideline_version"],
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_release_revisions_labels", table_name="release_revisions")
    op.create_index(
        "ix_release_revisions_provenance", "release_revisions",
        ["release_id", "source_kind", "annotator_id", "guideline_version"],
    )  # fmt: skip
    op.drop_index("ix_release_records_pii", table_name="release_records")
    with op.batch_alter_table("release_records", schema=None) as batch_op:
        batch_op.drop_column("pii_findings")
