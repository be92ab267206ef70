"""rois and shapes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

ROIs on images and their shapes, with a GiST index on (image, bounding box) for plane and viewport
queries (docs/developer/rois.md).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rois',
    sa.Column('image_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], name=op.f('fk_rois_image_id_images'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rois'))
    )
    op.create_index('ix_rois_group_owner', 'rois', ['group_id', 'owner_id'], unique=False)
    op.create_index('ix_rois_image', 'rois', ['image_id', 'id'], unique=False)
    op.create_table('shapes',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('roi_id', sa.BigInteger(), nullable=False),
    sa.Column('image_id', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('z', sa.Integer(), nullable=True),
    sa.Column('t', sa.Integer(), nullable=True),
    sa.Column('c', sa.Integer(), nullable=True),
    sa.Column('coords', postgresql.ARRAY(sa.Float()), nullable=False),
    sa.Column('bits', sa.LargeBinary(), nullable=True),
    sa.Column('stroke_color', sa.String(length=8), nullable=False),
    sa.Column('fill_color', sa.String(length=8), nullable=False),
    sa.Column('stroke_width', sa.Float(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('font_size', sa.Float(), nullable=True),
    sa.Column('x_min', sa.Float(), nullable=False),
    sa.Column('y_min', sa.Float(), nullable=False),
    sa.Column('x_max', sa.Float(), nullable=False),
    sa.Column('y_max', sa.Float(), nullable=False),
    sa.CheckConstraint("type IN ('rectangle', 'ellipse', 'point', 'line', 'polyline', 'polygon', 'mask', 'label')", name=op.f('ck_shapes_type')),
    sa.ForeignKeyConstraint(['roi_id'], ['rois.id'], name=op.f('fk_shapes_roi_id_rois'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shapes'))
    )
    op.create_index('ix_shapes_image_bbox', 'shapes', [sa.literal_column("int8range(image_id, image_id, '[]')"), sa.literal_column('box(point(x_min, y_min), point(x_max, y_max))')], unique=False, postgresql_using='gist')
    op.create_index('ix_shapes_roi_id', 'shapes', ['roi_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_shapes_roi_id', table_name='shapes')
    op.drop_index('ix_shapes_image_bbox', table_name='shapes', postgresql_using='gist')
    op.drop_table('shapes')
    op.drop_index('ix_rois_image', table_name='rois')
    op.drop_index('ix_rois_group_owner', table_name='rois')
    op.drop_table('rois')
