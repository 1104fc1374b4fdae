"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 05:37:39.376977
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('principals',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_principals')),
    sa.UniqueConstraint('name', name=op.f('uq_principals_name'))
    )
    op.create_table('api_keys',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('principal_id', sa.Uuid(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('key_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['principal_id'], ['principals.id'], name=op.f('fk_api_keys_principal_id_principals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_id', name=op.f('uq_api_keys_key_id'))
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_principal_id'), ['principal_id'], unique=False)

    op.create_table('datasets',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('origin', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('legal_basis', sa.String(length=200), nullable=False),
    sa.Column('task_types', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('label_schema', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('text_salt', sa.LargeBinary(length=32), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['principals.id'], name=op.f('fk_datasets_created_by_principals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datasets')),
    sa.UniqueConstraint('name', name=op.f('uq_datasets_name'))
    )
    op.create_table('guidelines',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['principals.id'], name=op.f('fk_guidelines_author_id_principals')),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_guidelines_dataset_id_datasets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guidelines')),
    sa.UniqueConstraint('dataset_id', 'version', name=op.f('uq_guidelines_dataset_id_version'))
    )
    op.create_table('records',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('content', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('prompt_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retired_by', sa.Uuid(), nullable=True),
    sa.Column('retire_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['principals.id'], name=op.f('fk_records_created_by_principals')),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_records_dataset_id_datasets')),
    sa.ForeignKeyConstraint(['retired_by'], ['principals.id'], name=op.f('fk_records_retired_by_principals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_records')),
    sa.UniqueConstraint('dataset_id', 'external_id', name=op.f('uq_records_dataset_id_external_id'))
    )
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.create_index('ix_records_dataset_id_id', ['dataset_id', 'id'], unique=False)
        batch_op.create_index('ix_records_dataset_id_prompt_sha256', ['dataset_id', 'prompt_sha256'], unique=False)

    op.create_table('annotations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('question', sa.String(length=200), nullable=False),
    sa.Column('annotator_id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['annotator_id'], ['principals.id'], name=op.f('fk_annotations_annotator_id_principals')),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_annotations_dataset_id_datasets')),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_annotations_record_id_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annotations'))
    )
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annotations_annotator_id'), ['annotator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annotations_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annotations_record_id'), ['record_id'], unique=False)

    op.create_table('annotation_revisions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('annotation_id', sa.Uuid(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('guideline_version', sa.Integer(), nullable=True),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('previous_sha256', sa.String(length=64), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['principals.id'], name=op.f('fk_annotation_revisions_actor_id_principals')),
    sa.ForeignKeyConstraint(['annotation_id'], ['annotations.id'], name=op.f('fk_annotation_revisions_annotation_id_annotations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annotation_revisions')),
    sa.UniqueConstraint('annotation_id', 'revision', name=op.f('uq_annotation_revisions_annotation_id_revision'))
    )


def downgrade() -> None:
    op.drop_table('annotation_revisions')
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_annotations_record_id'))
        batch_op.drop_index(batch_op.f('ix_annotations_dataset_id'))
        batch_op.drop_index(batch_op.f('ix_annotations_annotator_id'))

    op.drop_table('annotations')
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_index('ix_records_dataset_id_prompt_sha256')
        batch_op.drop_index('ix_records_dataset_id_id')

    op.drop_table('records')
    op.drop_table('guidelines')
    op.drop_table('datasets')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_principal_id'))

    op.drop_table('api_keys')
    op.drop_table('principals')
