"""image writes and provenance

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Images written from a notebook, chunk by chunk (``image_writes``), and how an object was made
(``provenance``): its inputs, the notebook and code, parameters and package versions.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('image_writes',
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('dataset_id', sa.BigInteger(), nullable=True),
    sa.Column('to_dataset', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('shape', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('pixel_type', sa.String(length=16), nullable=False),
    sa.Column('metadata', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('provenance', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('job_id', sa.BigInteger(), nullable=True),
    sa.Column('image_id', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('open', 'committing', 'done', 'aborted', 'failed')",
                       name=op.f('ck_image_writes_status')),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_image_writes_dataset_id_datasets'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_image_writes_group_id_groups')),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], name=op.f('fk_image_writes_image_id_images'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['job_id'], ['import_jobs.id'], name=op.f('fk_image_writes_job_id_import_jobs'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenters.id'], name=op.f('fk_image_writes_owner_id_experimenters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_image_writes'))
    )
    op.create_index('ix_image_writes_group_owner', 'image_writes', ['group_id', 'owner_id'], unique=False)
    op.create_index('ix_image_writes_status', 'image_writes', ['status'], unique=False)
    op.create_table('provenance',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('object_type', sa.String(length=16), nullable=False),
    sa.Column('object_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('inputs', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('code_sha256', sa.String(length=64), nullable=False),
    sa.Column('code', sa.Text(), nullable=True),
    sa.Column('parameters', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('packages', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('environment', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.CheckConstraint("object_type IN ('project', 'dataset', 'image', 'screen', 'plate')",
                       name=op.f('ck_provenance_object_type')),
    sa.ForeignKeyConstraint(['user_id'], ['experimenters.id'], name=op.f('fk_provenance_user_id_experimenters'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provenance')),
    sa.UniqueConstraint('object_type', 'object_id', name='uq_provenance_object')
    )


def downgrade() -> None:
    op.drop_table('provenance')
    op.drop_index('ix_image_writes_status', table_name='image_writes')
    op.drop_index('ix_image_writes_group_owner', table_name='image_writes')
    op.drop_table('image_writes')
