"""Alembic environment: the engine comes from the app (service.db.alembic_config)."""

from alembic import context
from sqlalchemy import create_engine

from service.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    # Plain `alembic` use: the URL must be given with -x url=...
    engine = create_engine(context.get_x_argument(as_dictionary=True)["url"])

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
