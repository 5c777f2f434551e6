"""Address index: two fewer indexes to write; a MAC's key is the MAC.

A MAC entry now carries its canonical MAC in addr_key and addr_end, so one index,
(kind, addr_key), answers every lookup: an address, a CIDR, a MAC. The indexes on
addr_key alone and on address go: each insert of a first audit updated them too (two
million rows for a million ports).

Revision ID: 0019_addresses
Revises: 0016_work_items
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_addresses"
down_revision = "0016_work_items"
branch_labels = None
depends_on = None

_index = sa.table("address_index", sa.column("kind", sa.String), sa.column("address",
                                                                         sa.String),
                  sa.column("addr_key", sa.String), sa.column("addr_end", sa.String))


def upgrade():
    op.execute(_index.update().where(_index.c.kind == "mac")
               .values(addr_key=_index.c.address, addr_end=_index.c.address))
    op.drop_index("ix_address_index_key", table_name="address_index")
    op.drop_index("ix_address_index_address", table_name="address_index")


def downgrade():
    op.create_index("ix_address_index_address", "address_index", ["address"])
    op.create_index("ix_address_index_key", "address_index", ["addr_key"])
    op.execute(_index.update().where(_index.c.kind == "mac").values(addr_key="", addr_end=""))
