"""release profile indexes: releases get a number, the short key the manifest rows' profile
indexes now lead with (an integer in place of a UUID in every index entry); each released record
gets its PII finding count under a partial index (the profile joins the findings of the records
that have some, not of every record); one covering index holds every label's value and
provenance in place of the provenance-only one. Releases cut before are numbered in the order
they were written, and their records get the finding counts they have now.

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

MANIFEST_TABLES = ("release_records", "release_revisions")
HAS_FINDINGS = sa.text("pii_findings > 0")
# Led by release_id before, by release_number after.
REKEYED = {
    "ix_release_records_categories": ("release_records", ["task_type", "domain", "language", "split"]),
    "ix_release_records_lengths": ("release_records", ["prompt_chars", "turns"]),
    "ix_release_revisions_answers": ("release_revisions", ["question", "choice", "response_chars"]),
}
PROVENANCE = ("ix_release_revisions_provenance", ["source_kind", "annotator_id", "guideline_version"])
LABELS = ("ix_release_revisions_labels", ["question", "choice", "source_kind", "annotator_id", "guideline_version"])


def upgrade() -> None:
    for name, (table, _) in REKEYED.items():
        op.drop_index(name, table_name=table)
    op.drop_index(PROVENANCE[0], table_name="release_revisions")
    _number_releases()
    for table in MANIFEST_TABLES:
        op.add_column(table, sa.Column("release_number", sa.Integer(), nullable=True))
        op.execute(f"UPDATE {table} SET release_number = (SELECT number FROM releases WHERE releases.id = {table}.release_id)")  # noqa: S608
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("release_number", existing_type=sa.Integer(), nullable=False)
    op.add_column("release_records", sa.Column("pii_findings", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE release_records SET pii_findings = "
        "(SELECT count(*) FROM pii_findings WHERE pii_findings.record_id = release_records.record_id)"
    )
    for name, (table, columns) in REKEYED.items():
        op.create_index(name, table, ["release_number", *columns])
    op.create_index(LABELS[0], "release_revisions", ["release_number", *LABELS[1]])
    op.create_index(
        "ix_release_records_pii", "release_records", ["release_number", "pii_findings", "record_id"],
        sqlite_where=HAS_FINDINGS, postgresql_where=HAS_FINDINGS,
    )  # fmt: skip


def _number_releases() -> None:
    """PostgreSQL numbers the existing rows as it adds the identity column; SQLite in rowid order."""
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("releases", sa.Column("number", sa.Integer(), sa.Identity(), nullable=False))
    else:
        op.add_column("releases", sa.Column("number", sa.Integer(), nullable=True))
        op.execute("UPDATE releases SET number = (SELECT count(*) FROM releases AS earlier WHERE earlier.rowid <= releases.rowid)")
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.alter_column("number", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_releases_number"), ["number"])


def downgrade() -> None:
    op.drop_index("ix_release_records_pii", table_name="release_records")
    op.drop_index(LABELS[0], table_name="release_revisions")
    for name, (table, _) in REKEYED.items():
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("release_records", schema=None) as batch_op:
        batch_op.drop_column("pii_findings")
    for table in MANIFEST_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("release_number")
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_releases_number"), type_="unique")
        batch_op.drop_column("number")
    for name, (table, columns) in REKEYED.items():
        op.create_index(name, table, ["release_id", *columns])
    op.create_index(PROVENANCE[0], "release_revisions", ["release_id", *PROVENANCE[1]])
