"""storage use: pyramid sizes, and owner indexes to sum them

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

``images.pyramid_bytes`` holds the bytes of an image's stored OME-Zarr pyramid, recorded at import.
It starts NULL for images imported before this revision: the server measures those once from the
store when it starts (``imports.pyramid_sizes``), as does ``scopehub db upgrade``. The two covering
indexes let the admin pages sum storage use (per owner, and in total) from the indexes alone, without
reading the tables' wide rows.
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('images', sa.Column('pyramid_bytes', sa.BigInteger(), nullable=True))
    op.create_index('ix_images_owner_pyramid', 'images', ['owner_id'], unique=False,
                    postgresql_include=['pyramid_bytes'], postgresql_where=sa.text('zarr_path IS NOT NULL'))
    op.create_index('ix_original_files_owner', 'original_files', ['owner_id'], unique=False,
                    postgresql_include=['size', 'fileset_id'])


def downgrade() -> None:
    op.drop_index('ix_original_files_owner', table_name='original_files')
    op.drop_index('ix_images_owner_pyramid', table_name='images')
    op.drop_column('images', 'pyramid_bytes')
