"""hub-managed groups

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

In hub mode a catalogue group can stand for a JupyterHub group, whose members follow the hub.
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('groups', sa.Column('hub_managed', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column('groups', 'hub_managed')
