"""role bindings and audit log

Roles move from one column on principals to role bindings, global or per dataset. Existing
principals keep exactly the access they had: global roles stay global, and annotators and
reviewers (who may only hold roles per dataset now) get their role on every existing dataset.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:35:49.573415
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from uuid6 import uuid7

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DATASET_ONLY_ROLES = ("annotator", "reviewer")  # as catalog.access.policy had it when this migration was written


def upgrade() -> None:
    op.create_table('audit_entries',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_name', sa.String(length=200), nullable=True),
    sa.Column('roles', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('resource', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('client', sa.String(length=100), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('previous_sha256', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_entries'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entries_action_seq', ['action', 'seq'], unique=False)
        batch_op.create_index('ix_audit_entries_actor_name_seq', ['actor_name', 'seq'], unique=False)
        batch_op.create_index('ix_audit_entries_occurred_at', ['occurred_at'], unique=False)
        batch_op.create_index('ix_audit_entries_resource_seq', ['resource', 'seq'], unique=False)

    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('previous_sha256', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('audit_seals',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('entry_sha256', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('hmac_sha256', sa.String(length=64), nullable=False),
    sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_seals'))
    )
    op.create_table('role_bindings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('principal_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('dataset_id', sa.Uuid(), nullable=True),
    sa.Column('granted_by', sa.Uuid(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_by', sa.Uuid(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_role_bindings_dataset_id_datasets')),
    sa.ForeignKeyConstraint(['granted_by'], ['principals.id'], name=op.f('fk_role_bindings_granted_by_principals')),
    sa.ForeignKeyConstraint(['principal_id'], ['principals.id'], name=op.f('fk_role_bindings_principal_id_principals')),
    sa.ForeignKeyConstraint(['revoked_by'], ['principals.id'], name=op.f('fk_role_bindings_revoked_by_principals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_bindings'))
    )
    with op.batch_alter_table('role_bindings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_bindings_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_role_bindings_principal_id'), ['principal_id'], unique=False)

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_api_keys_created_by_principals'), 'principals', ['created_by'], ['id'])

    _bind_existing_roles()
    with op.batch_alter_table('principals', schema=None) as batch_op:
        batch_op.drop_column('role')
    op.execute(
        sa.text("INSERT INTO audit_head (id, seq, previous_sha256, sha256) VALUES (1, 0, :genesis, :genesis)")
        .bindparams(genesis="0" * 64)
    )



def _bind_existing_roles() -> None:
    connection = op.get_bind()
    principals = sa.table(
        "principals", sa.column("id", sa.Uuid()), sa.column("role", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    datasets = connection.execute(sa.select(sa.table("datasets", sa.column("id", sa.Uuid())).c.id)).scalars().all()
    bindings = []
    for principal_id, role, created_at in connection.execute(sa.select(principals)):
        scopes = datasets if role in DATASET_ONLY_ROLES else [None]
        for dataset_id in scopes:
            bindings.append({
                "id": uuid7(), "principal_id": principal_id, "role": role, "dataset_id": dataset_id,
                "granted_by": principal_id, "granted_at": created_at,
            })
    if bindings:
        op.bulk_insert(_bindings_table(), bindings)


def _bindings_table() -> sa.Table:
    return sa.table(
        "role_bindings",
        sa.column("id", sa.Uuid()), sa.column("principal_id", sa.Uuid()), sa.column("role", sa.String()),
        sa.column("dataset_id", sa.Uuid()), sa.column("granted_by", sa.Uuid()),
        sa.column("granted_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    """Back to one role per principal: its first global role, else its first dataset role."""
    with op.batch_alter_table('principals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.VARCHAR(length=40), nullable=True))
    op.execute(
        "UPDATE principals SET role = (SELECT b.role FROM role_bindings b WHERE b.principal_id = principals.id "
        "AND b.revoked_at IS NULL ORDER BY b.dataset_id IS NOT NULL, b.granted_at LIMIT 1)"
    )
    op.execute("UPDATE principals SET role = 'ml_engineer' WHERE role IS NULL")
    with op.batch_alter_table('principals', schema=None) as batch_op:
        batch_op.alter_column('role', existing_type=sa.VARCHAR(length=40), nullable=False)

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_keys_created_by_principals'), type_='foreignkey')
        batch_op.drop_column('created_by')

    with op.batch_alter_table('role_bindings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_bindings_principal_id'))
        batch_op.drop_index(batch_op.f('ix_role_bindings_dataset_id'))

    op.drop_table('role_bindings')
    op.drop_table('audit_seals')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_resource_seq')
        batch_op.drop_index('ix_audit_entries_occurred_at')
        batch_op.drop_index('ix_audit_entries_actor_name_seq')
        batch_op.drop_index('ix_audit_entries_action_seq')

    op.drop_table('audit_entries')
