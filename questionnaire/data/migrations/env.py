import logging
from collections.abc import Iterable
from logging.config import fileConfig
from typing import cast

from alembic import context
from alembic.operations.ops import MigrationScript, UpgradeOps
from alembic.runtime.migration import MigrationContext
from flask import current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Connection, Engine, MetaData, text

from questionnaire.data.models import app_role_grants

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
# (Flask-Migrate always runs Alembic with migrations/alembic.ini, so the name is set.)
# Not disable_existing_loggers: a migration run inside the app (tests, `flask db upgrade`) must not
# silence the app's own logger.
fileConfig(cast(str, config.config_file_name), disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def get_engine() -> Engine:
    try:
        # this works with Flask-SQLAlchemy<3 and Alchemical
        return cast(Engine, current_app.extensions["migrate"].db.engine)
    except (TypeError, AttributeError):
        # this works with Flask-SQLAlchemy>=3
        return cast(Engine, current_app.extensions["migrate"].db.engine)


def get_engine_url() -> str:
    try:
        return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")
    except AttributeError:
        return str(get_engine().url).replace("%", "%%")


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option("sqlalchemy.url", get_engine_url())
target_db: SQLAlchemy = current_app.extensions["migrate"].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata() -> MetaData:
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline() -> None:
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=get_metadata(), literal_binds=True)

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(
        context: MigrationContext,
        revision: str | Iterable[str | None] | Iterable[str],
        directives: list[MigrationScript],
    ) -> None:
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            # (autogenerate always fills in upgrade_ops)
            if cast(UpgradeOps, script.upgrade_ops).is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)

        with context.begin_transaction():
            context.run_migrations()
            grant_to_app_role(connection)


def grant_to_app_role(connection: Connection) -> None:
    """After every upgrade, in its transaction: the application role's privileges (DATABASE_APP_ROLE),
    table by table; see models.app_role_grants. PostgreSQL only (SQLite has no roles)."""
    role = current_app.config.get("DATABASE_APP_ROLE")
    if not role or connection.dialect.name != "postgresql":
        return
    runner = connection.execute(text("SELECT current_user")).scalar()
    if runner == role:
        raise RuntimeError(
            f"DATABASE_APP_ROLE {role!r} is the role running the migrations: run "
            "`flask db upgrade` as the owner role, and the instances as the application role"
        )
    tables = [t.name for t in get_metadata().sorted_tables]
    for statement in app_role_grants(str(role), tables):
        connection.execute(text(statement))
    logger.info("Granted the application role %s its privileges.", role)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
