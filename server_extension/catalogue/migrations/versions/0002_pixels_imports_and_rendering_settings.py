"""pixels, imports and rendering settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Import jobs, per-user rendering settings, and what an image needs to know of its stored pyramid.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('import_jobs',
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('request', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('dataset_id', sa.BigInteger(), nullable=True),
    sa.Column('fileset_id', sa.BigInteger(), nullable=True),
    sa.Column('image_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('work_paths', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('worker_pid', sa.Integer(), nullable=True),
    sa.Column('started', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_import_jobs_status')),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_import_jobs_dataset_id_datasets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['fileset_id'], ['filesets.id'], name=op.f('fk_import_jobs_fileset_id_filesets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_import_jobs_group_id_groups')),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenters.id'], name=op.f('fk_import_jobs_owner_id_experimenters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_jobs'))
    )
    op.create_index('ix_import_jobs_group_owner', 'import_jobs', ['group_id', 'owner_id'], unique=False)
    op.create_index('ix_import_jobs_status', 'import_jobs', ['status'], unique=False)
    op.create_table('rendering_settings',
    sa.Column('image_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], name=op.f('fk_rendering_settings_image_id_images'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['experimenters.id'], name=op.f('fk_rendering_settings_user_id_experimenters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('image_id', 'user_id', name=op.f('pk_rendering_settings'))
    )
    op.add_column('channels', sa.Column('window_start', sa.Float(), nullable=True))
    op.add_column('channels', sa.Column('window_end', sa.Float(), nullable=True))
    op.add_column('images', sa.Column('pyramid', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False))
    op.add_column('images', sa.Column('is_label', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('images', sa.Column('is_rgb', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column('images', 'is_rgb')
    op.drop_column('images', 'is_label')
    op.drop_column('images', 'pyramid')
    op.drop_column('channels', 'window_end')
    op.drop_column('channels', 'window_start')
    op.drop_table('rendering_settings')
    op.drop_index('ix_import_jobs_status', table_name='import_jobs')
    op.drop_index('ix_import_jobs_group_owner', table_name='import_jobs')
    op.drop_table('import_jobs')
