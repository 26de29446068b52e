"""Migration operations that add indexes to big tables without blocking writes.

`CREATE INDEX` takes a SHARE lock on its table for the whole build: on 10 million sent messages
that is minutes during which no message can be queued and no callback stored. On PostgreSQL
these operations build with `CREATE INDEX CONCURRENTLY` instead (writes go on; the build reads
the table twice and waits for transactions already open), which cannot run inside a
transaction: a migration using them says `atomic = False`. A concurrent build that fails
leaves an INVALID index behind; running the migration again drops it and builds it anew.

- `AddIndexConcurrently`: an ordinary index of the model (it is in the model's Meta, so Django
  knows it); a plain CREATE INDEX on other databases (SQLite in development and tests).
- `AddTrigramIndex`: a pg_trgm GIN index for `ILIKE '%term%'` (common.changelists). It creates
  the pg_trgm extension first (a trusted extension: the database's owner may create it). It is
  a database-only operation, PostgreSQL only: it is not part of the model's state (so SQLite
  never has to rebuild a GIN index when it remakes a table), and it is skipped elsewhere.
"""

from django.db import migrations


def _in_transaction(schema_editor) -> bool:
    return schema_editor.connection.in_atomic_block


def _refuse_in_transaction(schema_editor, name):
    if _in_transaction(schema_editor):
        raise RuntimeError(
            f"{name}: CREATE INDEX CONCURRENTLY cannot run in a transaction; "
            "set atomic = False on the migration."
        )


def _drop_invalid(schema_editor, name):
    """Drop `name` if a failed concurrent build left it INVALID (so that it is built again)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s AND NOT i.indisvalid",
            [name],
        )
        if cursor.fetchone():
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


class AddIndexConcurrently(migrations.AddIndex):
    """AddIndex, built with CREATE INDEX CONCURRENTLY on PostgreSQL (plain elsewhere)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor != "postgresql":
            schema_editor.add_index(model, self.index)
            return
        _refuse_in_transaction(schema_editor, self.index.name)
        _drop_invalid(schema_editor, self.index.name)
        schema_editor.add_index(model, self.index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor != "postgresql":
            schema_editor.remove_index(model, self.index)
            return
        _refuse_in_transaction(schema_editor, self.index.name)
        schema_editor.remove_index(model, self.index, concurrently=True)

    def describe(self):
        return f"Create index {self.index.name} concurrently on {self.model_name} (PostgreSQL)"


class AddTrigramIndex(migrations.operations.base.Operation):
    """A pg_trgm GIN index on `model_name`'s `field` (its column), named `name`, built
    concurrently on PostgreSQL; nothing on other databases. Not in the model state."""

    reversible = True
    reduces_to_sql = False

    def __init__(self, model_name, field, name):
        self.model_name, self.field, self.name = model_name, field, name

    def deconstruct(self):
        return (
            self.__class__.__qualname__,
            [],
            {"model_name": self.model_name, "field": self.field, "name": self.name},
        )

    def state_forwards(self, app_label, state):
        pass  # a database-only index: the models do not know it

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        connection = schema_editor.connection
        if connection.vendor != "postgresql" or not self.allow_migrate_model(
            connection.alias, model
        ):
            return
        _refuse_in_transaction(schema_editor, self.name)
        quote = schema_editor.quote_name
        column = model._meta.get_field(self.field).column
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        _drop_invalid(schema_editor, self.name)
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {quote(self.name)} "
            f"ON {quote(model._meta.db_table)} USING gin ({quote(column)} gin_trgm_ops)"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        _refuse_in_transaction(schema_editor, self.name)
        schema_editor.execute(
            f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(self.name)}"
        )

    def describe(self):
        return (
            f"Create trigram index {self.name} concurrently on {self.model_name}.{self.field} "
            "(PostgreSQL only)"
        )

    @property
    def migration_name_fragment(self):
        return self.name.lower()
