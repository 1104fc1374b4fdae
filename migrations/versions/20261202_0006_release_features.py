"""release features: each released record's and label's features beside its manifest row, and the
covering indexes the profile's GROUP BYs read. Releases cut before keep the profiles stored with
them; their manifest rows have no features.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("release_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("task_type", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("domain", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("prompt_chars", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("turns", sa.Integer(), nullable=True))
        batch_op.create_index("ix_release_records_categories", ["release_id", "task_type", "domain", "language", "split"], unique=False)
        batch_op.create_index("ix_release_records_lengths", ["release_id", "prompt_chars", "turns"], unique=False)

    with op.batch_alter_table("release_revisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("question", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("source_kind", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("annotator_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("guideline_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("choice", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("response_chars", sa.Integer(), nullable=True))
        batch_op.create_index("ix_release_revisions_answers", ["release_id", "question", "choice", "response_chars"], unique=False)
        batch_op.create_index("ix_release_revisions_provenance", ["release_id", "source_kind", "annotator_id", "guideline_version"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_release_revisions_annotator_id_principals"), "principals", ["annotator_id"], ["id"])



def downgrade() -> None:
    with op.batch_alter_table("release_revisions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_release_revisions_annotator_id_principals"), type_="foreignkey")
        batch_op.drop_index("ix_release_revisions_provenance")
        batch_op.drop_index("ix_release_revisions_answers")
        batch_op.drop_column("response_chars")
        batch_op.drop_column("choice")
        batch_op.drop_column("guideline_version")
        batch_op.drop_column("annotator_id")
        batch_op.drop_column("source_kind")
        batch_op.drop_column("question")

    with op.batch_alter_table("release_records", schema=None) as batch_op:
        batch_op.drop_index("ix_release_records_lengths")
        batch_op.drop_index("ix_release_records_categories")
        batch_op.drop_column("turns")
        batch_op.drop_column("prompt_chars")
        batch_op.drop_column("language")
        batch_op.drop_column("domain")
        batch_op.drop_column("task_type")

