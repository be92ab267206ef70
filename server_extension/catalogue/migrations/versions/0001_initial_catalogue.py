"""initial catalogue

Revision ID: 0001
Revises: 
Create Date: 2026-11-25

Users, groups and memberships; projects, datasets, images, screens, plates, wells; filesets and
original files; annotations with their links; the audit log.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('experimenters',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('username', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('default_group_id', sa.BigInteger(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experimenters')),
    sa.UniqueConstraint('username', name=op.f('uq_experimenters_username'))
    )
    op.create_table('groups',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("level IN ('private', 'read-only', 'read-annotate', 'read-write')", name=op.f('ck_groups_level')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_groups')),
    sa.UniqueConstraint('name', name=op.f('uq_groups_name'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('time', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('acting_as_id', sa.BigInteger(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=32), nullable=False),
    sa.Column('target_id', sa.BigInteger(), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['acting_as_id'], ['experimenters.id'], name=op.f('fk_audit_log_acting_as_id_experimenters'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['actor_id'], ['experimenters.id'], name=op.f('fk_audit_log_actor_id_experimenters'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_time'), 'audit_log', ['time'], unique=False)
    op.create_table('datasets',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('search_vector', postgresql.TSVECTOR(), sa.Computed("to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(description, ''))", persisted=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_datasets_group_id_groups')),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenters.id'], name=op.f('fk_datasets_owner_id_experimenters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datasets'))
    )
    op.create_index('ix_datasets_group_owner', 'datasets', ['group_id', 'owner_id'], unique=False)
    op.create_index('ix_datasets_lower_name', 'datasets', [sa.literal_column('lower(name)')], unique=False)
    op.create_index('ix_datasets_search', 'datasets', ['search_vector'], unique=False, postgresql_using='gin')
    op.create_table('filesets',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_filesets_group_id_groups')),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenters.id'], name=op.f('fk_filesets_owner_id_experimenters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_filesets'))
    )
    op.create_index('ix_filesets_group_owner', 'filesets', ['group_id', 'owner_id'], unique=False)
    op.create_table('memberships',
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.CheckConstraint("role IN ('member', 'owner')", name=op.f('ck_memberships_role')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_memberships_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['experimenters.id'], name=op.f('fk_memberships_user_id_experimenters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'user_id', name=op.f('pk_memberships'))
    )
    op.create_index('ix_memberships_user_id', 'memberships', ['user_id'], unique=False)
    op.create_table('plates',
    sa.Column('rows', sa.Integer(), nullable=True),
    sa.Column('columns', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('search_vector', postgresql.TSVECTOR(), sa.Computed("to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(description, ''))", persisted=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_plates_group_id_groups')),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenters.id'], name=op.f('fk_plates_owner_id_experimenters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plates'))
    )
    op.create_index('ix_plates_group_owner', 'plates', ['group_id', 'owner_id'], unique=False)
    op.create_index('ix_plates_lower_name', 'plates', [sa.literal_column('lower(name)')], unique=False)
    op.create_index('ix_plates_search', 'plates', ['search_vector'], unique=False, postgresql_using='gin')
    op.create_table('projects',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('search_vector', postgresql.TSVECTOR(), sa.Computed("to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(description, ''))", persisted=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_projects_group_id_groups')),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenters.id'], name=op.f('fk_projects_owner_id_experimenters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects'))
    )
    op.create_index('ix_projects_group_owner', 'projects', ['group_id', 'owner_id'], unique=False)
    op.create_index('ix_projects_lower_name', 'projects', [sa.literal_column('lower(name)')], unique=False)
    op.create_index('ix_projects_search', 'projects', ['search_vector'], unique=False, postgresql_using='gin')
    op.create_table('screens',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('search_vector', postgresql.TSVECTOR(), sa.Computed("to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(description, ''))", persisted=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_screens_group_id_groups')),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenters.id'], name=op.f('fk_screens_owner_id_experimenters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screens'))
    )
    op.create_index('ix_screens_group_owner', 'screens', ['group_id', 'owner_id'], unique=False)
    op.create_index('ix_screens_lower_name', 'screens', [sa.literal_column('lower(name)')], unique=False)
    op.create_index('ix_screens_search', 'screens', ['search_vector'], unique=False, postgresql_using='gin')
    op.create_table('images',
    sa.Column('fileset_id', sa.BigInteger(), nullable=True),
    sa.Column('series', sa.Integer(), nullable=False),
    sa.Column('acquisition_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('size_x', sa.Integer(), nullable=True),
    sa.Column('size_y', sa.Integer(), nullable=True),
    sa.Column('size_z', sa.Integer(), nullable=True),
    sa.Column('size_c', sa.Integer(), nullable=True),
    sa.Column('size_t', sa.Integer(), nullable=True),
    sa.Column('pixel_type', sa.String(length=16), nullable=True),
    sa.Column('physical_size_x', sa.Float(), nullable=True),
    sa.Column('physical_size_y', sa.Float(), nullable=True),
    sa.Column('physical_size_z', sa.Float(), nullable=True),
    sa.Column('zarr_path', sa.Text(), nullable=True),
    sa.Column('instrument', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('search_vector', postgresql.TSVECTOR(), sa.Computed("to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(description, ''))", persisted=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['fileset_id'], ['filesets.id'], name=op.f('fk_images_fileset_id_filesets')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_images_group_id_groups')),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenters.id'], name=op.f('fk_images_owner_id_experimenters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_images'))
    )
    op.create_index(op.f('ix_images_fileset_id'), 'images', ['fileset_id'], unique=False)
    op.create_index('ix_images_group_owner', 'images', ['group_id', 'owner_id'], unique=False)
    op.create_index('ix_images_lower_name', 'images', [sa.literal_column('lower(name)')], unique=False)
    op.create_index('ix_images_search', 'images', ['search_vector'], unique=False, postgresql_using='gin')
    op.create_table('original_files',
    sa.Column('fileset_id', sa.BigInteger(), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('client_path', sa.Text(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('mimetype', sa.String(length=255), nullable=False),
    sa.Column('store_path', sa.Text(), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['fileset_id'], ['filesets.id'], name=op.f('fk_original_files_fileset_id_filesets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_original_files_group_id_groups')),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenters.id'], name=op.f('fk_original_files_owner_id_experimenters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_original_files'))
    )
    op.create_index(op.f('ix_original_files_fileset_id'), 'original_files', ['fileset_id'], unique=False)
    op.create_index('ix_original_files_group_owner', 'original_files', ['group_id', 'owner_id'], unique=False)
    op.create_table('project_dataset_links',
    sa.Column('parent_id', sa.BigInteger(), nullable=False),
    sa.Column('child_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['datasets.id'], name=op.f('fk_project_dataset_links_child_id_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_project_dataset_links_group_id_groups')),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenters.id'], name=op.f('fk_project_dataset_links_owner_id_experimenters')),
    sa.ForeignKeyConstraint(['parent_id'], ['projects.id'], name=op.f('fk_project_dataset_links_parent_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_dataset_links')),
    sa.UniqueConstraint('parent_id', 'child_id', name='uq_project_dataset_links_pair')
    )
    op.create_index('ix_project_dataset_links_child', 'project_dataset_links', ['child_id'], unique=False)
    op.create_index('ix_project_dataset_links_group_owner', 'project_dataset_links', ['group_id', 'owner_id'], unique=False)
    op.create_table('screen_plate_links',
    sa.Column('parent_id', sa.BigInteger(), nullable=False),
    sa.Column('child_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['plates.id'], name=op.f('fk_screen_plate_links_child_id_plates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_screen_plate_links_group_id_groups')),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenters.id'], name=op.f('fk_screen_plate_links_owner_id_experimenters')),
    sa.ForeignKeyConstraint(['parent_id'], ['screens.id'], name=op.f('fk_screen_plate_links_parent_id_screens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screen_plate_links')),
    sa.UniqueConstraint('parent_id', 'child_id', name='uq_screen_plate_links_pair')
    )
    op.create_index('ix_screen_plate_links_child', 'screen_plate_links', ['child_id'], unique=False)
    op.create_index('ix_screen_plate_links_group_owner', 'screen_plate_links', ['group_id', 'owner_id'], unique=False)
    op.create_table('wells',
    sa.Column('plate_id', sa.BigInteger(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('column', sa.Integer(), nullable=False),
    sa.Column('external_description', sa.Text(), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_wells_group_id_groups')),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenters.id'], name=op.f('fk_wells_owner_id_experimenters')),
    sa.ForeignKeyConstraint(['plate_id'], ['plates.id'], name=op.f('fk_wells_plate_id_plates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wells')),
    sa.UniqueConstraint('plate_id', 'row', 'column', name='uq_wells_position')
    )
    op.create_index('ix_wells_group_owner', 'wells', ['group_id', 'owner_id'], unique=False)
    op.create_table('annotations',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('namespace', sa.String(length=255), nullable=False),
    sa.Column('text_value', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('long_value', sa.BigInteger(), nullable=True),
    sa.Column('file_id', sa.BigInteger(), nullable=True),
    sa.Column('search_vector', postgresql.TSVECTOR(), sa.Computed("to_tsvector('simple', coalesce(text_value, '') || ' ' || coalesce(description, ''))", persisted=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind <> 'rating' OR long_value BETWEEN 1 AND 5", name=op.f('ck_annotations_rating')),
    sa.CheckConstraint("kind IN ('tag', 'tagset', 'map', 'comment', 'file', 'rating')", name=op.f('ck_annotations_kind')),
    sa.ForeignKeyConstraint(['file_id'], ['original_files.id'], name=op.f('fk_annotations_file_id_original_files')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_annotations_group_id_groups')),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenters.id'], name=op.f('fk_annotations_owner_id_experimenters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annotations'))
    )
    op.create_index('ix_annotations_group_owner', 'annotations', ['group_id', 'owner_id'], unique=False)
    op.create_index('ix_annotations_kind_text', 'annotations', ['kind', sa.literal_column('lower(text_value)')], unique=False)
    op.create_index('ix_annotations_search', 'annotations', ['search_vector'], unique=False, postgresql_using='gin')
    op.create_table('channels',
    sa.Column('image_id', sa.BigInteger(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('color', sa.String(length=8), nullable=False),
    sa.Column('emission_wavelength', sa.Float(), nullable=True),
    sa.Column('excitation_wavelength', sa.Float(), nullable=True),
    sa.Column('min_value', sa.Float(), nullable=True),
    sa.Column('max_value', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], name=op.f('fk_channels_image_id_images'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('image_id', 'index', name=op.f('pk_channels'))
    )
    op.create_table('dataset_image_links',
    sa.Column('parent_id', sa.BigInteger(), nullable=False),
    sa.Column('child_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['images.id'], name=op.f('fk_dataset_image_links_child_id_images'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_dataset_image_links_group_id_groups')),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenters.id'], name=op.f('fk_dataset_image_links_owner_id_experimenters')),
    sa.ForeignKeyConstraint(['parent_id'], ['datasets.id'], name=op.f('fk_dataset_image_links_parent_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_image_links')),
    sa.UniqueConstraint('parent_id', 'child_id', name='uq_dataset_image_links_pair')
    )
    op.create_index('ix_dataset_image_links_child', 'dataset_image_links', ['child_id'], unique=False)
    op.create_index('ix_dataset_image_links_group_owner', 'dataset_image_links', ['group_id', 'owner_id'], unique=False)
    op.create_table('well_samples',
    sa.Column('well_id', sa.BigInteger(), nullable=False),
    sa.Column('image_id', sa.BigInteger(), nullable=False),
    sa.Column('position_x', sa.Float(), nullable=True),
    sa.Column('position_y', sa.Float(), nullable=True),
    sa.Column('timepoint', sa.Integer(), nullable=True),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_well_samples_group_id_groups')),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], name=op.f('fk_well_samples_image_id_images'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenters.id'], name=op.f('fk_well_samples_owner_id_experimenters')),
    sa.ForeignKeyConstraint(['well_id'], ['wells.id'], name=op.f('fk_well_samples_well_id_wells'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_well_samples'))
    )
    op.create_index('ix_well_samples_group_owner', 'well_samples', ['group_id', 'owner_id'], unique=False)
    op.create_index(op.f('ix_well_samples_image_id'), 'well_samples', ['image_id'], unique=False)
    op.create_index(op.f('ix_well_samples_well_id'), 'well_samples', ['well_id'], unique=False)
    op.create_table('annotation_links',
    sa.Column('annotation_id', sa.BigInteger(), nullable=False),
    sa.Column('parent_type', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("parent_type IN ('project', 'dataset', 'image', 'screen', 'plate', 'well', 'annotation')", name=op.f('ck_annotation_links_parent_type')),
    sa.ForeignKeyConstraint(['annotation_id'], ['annotations.id'], name=op.f('fk_annotation_links_annotation_id_annotations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_annotation_links_group_id_groups')),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenters.id'], name=op.f('fk_annotation_links_owner_id_experimenters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annotation_links')),
    sa.UniqueConstraint('parent_type', 'parent_id', 'annotation_id', 'owner_id', name='uq_annotation_links_once')
    )
    op.create_index('ix_annotation_links_annotation', 'annotation_links', ['annotation_id', 'parent_type', 'parent_id'], unique=False)
    op.create_index('ix_annotation_links_group_owner', 'annotation_links', ['group_id', 'owner_id'], unique=False)
    op.create_table('map_entries',
    sa.Column('annotation_id', sa.BigInteger(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['annotation_id'], ['annotations.id'], name=op.f('fk_map_entries_annotation_id_annotations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('annotation_id', 'index', name=op.f('pk_map_entries'))
    )
    op.create_index('ix_map_entries_key_value', 'map_entries', ['key', 'value', 'annotation_id'], unique=False)
    op.create_index('ix_map_entries_search', 'map_entries', [sa.literal_column("to_tsvector('simple', key || ' ' || value)")], unique=False, postgresql_using='gin')
    # experimenters and groups refer to each other: this key can only come once both exist.
    op.create_foreign_key(op.f('fk_experimenters_default_group_id_groups'), 'experimenters', 'groups',
                          ['default_group_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    op.drop_constraint(op.f('fk_experimenters_default_group_id_groups'), 'experimenters', type_='foreignkey')
    op.drop_index('ix_map_entries_search', table_name='map_entries', postgresql_using='gin')
    op.drop_index('ix_map_entries_key_value', table_name='map_entries')
    op.drop_table('map_entries')
    op.drop_index('ix_annotation_links_group_owner', table_name='annotation_links')
    op.drop_index('ix_annotation_links_annotation', table_name='annotation_links')
    op.drop_table('annotation_links')
    op.drop_index(op.f('ix_well_samples_well_id'), table_name='well_samples')
    op.drop_index(op.f('ix_well_samples_image_id'), table_name='well_samples')
    op.drop_index('ix_well_samples_group_owner', table_name='well_samples')
    op.drop_table('well_samples')
    op.drop_index('ix_dataset_image_links_group_owner', table_name='dataset_image_links')
    op.drop_index('ix_dataset_image_links_child', table_name='dataset_image_links')
    op.drop_table('dataset_image_links')
    op.drop_table('channels')
    op.drop_index('ix_annotations_search', table_name='annotations', postgresql_using='gin')
    op.drop_index('ix_annotations_kind_text', table_name='annotations')
    op.drop_index('ix_annotations_group_owner', table_name='annotations')
    op.drop_table('annotations')
    op.drop_index('ix_wells_group_owner', table_name='wells')
    op.drop_table('wells')
    op.drop_index('ix_screen_plate_links_group_owner', table_name='screen_plate_links')
    op.drop_index('ix_screen_plate_links_child', table_name='screen_plate_links')
    op.drop_table('screen_plate_links')
    op.drop_index('ix_project_dataset_links_group_owner', table_name='project_dataset_links')
    op.drop_index('ix_project_dataset_links_child', table_name='project_dataset_links')
    op.drop_table('project_dataset_links')
    op.drop_index('ix_original_files_group_owner', table_name='original_files')
    op.drop_index(op.f('ix_original_files_fileset_id'), table_name='original_files')
    op.drop_table('original_files')
    op.drop_index('ix_images_search', table_name='images', postgresql_using='gin')
    op.drop_index('ix_images_lower_name', table_name='images')
    op.drop_index('ix_images_group_owner', table_name='images')
    op.drop_index(op.f('ix_images_fileset_id'), table_name='images')
    op.drop_table('images')
    op.drop_index('ix_screens_search', table_name='screens', postgresql_using='gin')
    op.drop_index('ix_screens_lower_name', table_name='screens')
    op.drop_index('ix_screens_group_owner', table_name='screens')
    op.drop_table('screens')
    op.drop_index('ix_projects_search', table_name='projects', postgresql_using='gin')
    op.drop_index('ix_projects_lower_name', table_name='projects')
    op.drop_index('ix_projects_group_owner', table_name='projects')
    op.drop_table('projects')
    op.drop_index('ix_plates_search', table_name='plates', postgresql_using='gin')
    op.drop_index('ix_plates_lower_name', table_name='plates')
    op.drop_index('ix_plates_group_owner', table_name='plates')
    op.drop_table('plates')
    op.drop_index('ix_memberships_user_id', table_name='memberships')
    op.drop_table('memberships')
    op.drop_index('ix_filesets_group_owner', table_name='filesets')
    op.drop_table('filesets')
    op.drop_index('ix_datasets_search', table_name='datasets', postgresql_using='gin')
    op.drop_index('ix_datasets_lower_name', table_name='datasets')
    op.drop_index('ix_datasets_group_owner', table_name='datasets')
    op.drop_table('datasets')
    op.drop_index(op.f('ix_audit_log_time'), table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_table('groups')
    op.drop_table('experimenters')
