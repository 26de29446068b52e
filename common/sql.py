"""Plain SQL for the reads and writes WhatsApp's checkout makes on every request.

The ORM builds each statement anew every time it runs (and `raw()` works out the columns, their
converters and the model's field order for every query): on these small statements, that cost
more CPU than PostgreSQL spent running them. Here each statement is built once per model and
database, and values still go through the fields (prepared for the database on the way in,
converted on the way out) as the ORM does. The writes send no pre_save/post_save signals:
nothing in this project listens for them.
"""

import functools
import operator

from django.db import connection, models


def model_columns(model, *, alias: str) -> str:
    """The SELECT list `models_fetch` expects: the model's columns in field order, of `alias`."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)


def models_fetch(model, sql: str, params, *, extra: tuple[str, ...] = ()) -> list:
    """Instances of `model` from the rows of `sql`, whose select list is `model_columns(model)`
    followed by one column for each name in `extra` (set on each instance as it is read)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    names, converters = _loader(model, connection.alias, connection.vendor)
    width = len(names)
    instances = []
    for row in rows:
        values = list(row[:width])
        for index, column, functions in converters:
            for function in functions:
                values[index] = function(values[index], column, connection)
        instance = model.from_db(connection.alias, names, values)
        for name, value in zip(extra, row[width:], strict=True):
            setattr(instance, name, value)
        instances.append(instance)
    return instances


def model_insert(instance) -> None:
    """INSERT the new `instance` (of a model with an automatic id) as save() would: auto_now_add
    and auto_now fields set, every value prepared by its field, its id read back."""
    model = type(instance)
    fields, sql = _insert_statement(model, connection.alias, connection.vendor)
    values = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        if connection.features.can_return_columns_from_insert:
            (pk,) = cursor.fetchone()
        else:
            pk = connection.ops.last_insert_id(cursor, model._meta.db_table, model._meta.pk.column)
    instance.pk = pk
    instance._state.adding, instance._state.db = False, connection.alias


def model_update(instance, *, fields: tuple[str, ...], where: dict | None = None) -> int:
    """UPDATE the instance's row with its current values of `fields`, as save(update_fields=)
    would (an auto_now field among them set to now), when the row still matches `where` (field
    name -> value); the number of rows changed."""
    meta = type(instance)._meta
    where = where or {}
    sql = _update_statement(
        type(instance), fields, tuple(where), connection.alias, connection.vendor
    )
    values = []
    for name in fields:
        field = meta.get_field(name)
        values.append(field.get_db_prep_save(field.pre_save(instance, False), connection))
    values.append(meta.pk.get_db_prep_value(instance.pk, connection))
    for name, value in where.items():
        values.append(meta.get_field(name).get_db_prep_save(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return cursor.rowcount


def models_update(objects: list, *, fields: tuple[str, ...]) -> None:
    """UPDATE many instances' rows (one model) with their current values of `fields`, as
    model_update does for one (an auto_now field among them set to now), where
    QuerySet.bulk_update's CASE WHEN costs milliseconds of CPU per row: on PostgreSQL one
    `UPDATE ... FROM (VALUES ...)` per UPDATE_ROWS rows, elsewhere one executemany."""
    if not objects:
        return
    model = type(objects[0])
    meta = model._meta
    prepared = [meta.get_field(name) for name in fields]
    rows = []
    for instance in objects:
        row = [
            field.get_db_prep_save(field.pre_save(instance, False), connection)
            for field in prepared
        ]
        row.append(meta.pk.get_db_prep_value(instance.pk, connection))
        rows.append(row)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            sql = _update_statement(model, fields, (), connection.alias, connection.vendor)
            cursor.executemany(sql, rows)
            return
        head, row_sql, tail = _update_from_values(model, fields, connection.alias)
        for start in range(0, len(rows), UPDATE_ROWS):
            chunk = rows[start : start + UPDATE_ROWS]
            cursor.execute(
                head + ", ".join([row_sql] * len(chunk)) + tail,
                [value for row in chunk for value in row],
            )


UPDATE_ROWS = 1000


# Built once per model (and fields) and database: `alias` and `vendor` name the connection
# they are built for, and key the cache.


@functools.cache
def _loader(model, alias: str, vendor: str) -> tuple[list[str], list]:
    """The model's field names and, per column that needs them, its database's converters
    (those the ORM applies: a phone number parsed, a JSON text decoded, SQLite's dates)."""
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if functions:
            converters.append((index, column, functions))
    return [field.attname for field in fields], converters


@functools.cache
def _insert_statement(model, alias: str, vendor: str) -> tuple[list, str]:
    quote = connection.ops.quote_name
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} "  # noqa: S608 - names are ours
        f"({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    if connection.features.can_return_columns_from_insert:
        sql += f" RETURNING {quote(meta.pk.column)}"
    return fields, sql


@functools.cache
def _update_from_values(model, fields: tuple, alias: str) -> tuple[str, str, str]:
    """PostgreSQL's many-row UPDATE: (head, one row's placeholders, tail). Each value is cast
    to its column's type (VALUES has no types of its own)."""
    quote = connection.ops.quote_name
    meta = model._meta
    columns = [meta.get_field(name) for name in fields] + [meta.pk]
    row = "(" + ", ".join(f"%s::{field.db_type(connection)}" for field in columns) + ")"
    names = ", ".join(f"c{index}" for index in range(len(columns)))
    assignments = ", ".join(
        f"{quote(field.column)} = v.c{index}" for index, field in enumerate(columns[:-1])
    )
    head = f"UPDATE {quote(meta.db_table)} AS t SET {assignments} FROM (VALUES "  # noqa: S608
    tail = f") AS v({names}) WHERE t.{quote(meta.pk.column)} = v.c{len(columns) - 1}"
    return head, row, tail


@functools.cache
def _update_statement(model, fields: tuple, where: tuple, alias: str, vendor: str) -> str:
    quote = connection.ops.quote_name
    meta = model._meta
    assignments = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in fields)
    conditions = "".join(f" AND {quote(meta.get_field(name).column)} = %s" for name in where)
    return (
        f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608 - names are ours
        f"WHERE {quote(meta.pk.column)} = %s{conditions}"
    )


# At most this many rows: one multi-row INSERT (see models_copy_insert).
FEW_ROWS = 50


def _row_reader(fields):
    """instance -> the list of its values of `fields` for COPY or INSERT parameters: auto_now /
    auto_now_add fields filled as save() fills them; the others read as they are, and prepared
    by their field unless PostgreSQL takes them as they are."""
    filled = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    prepared = [(i, f) for i, f in enumerate(fields) if type(f) not in _COPY_AS_IS]
    read = operator.attrgetter(*(field.attname for field in fields))
    single = len(fields) == 1

    def row_of(instance) -> list:
        for field in filled:
            field.pre_save(instance, True)
        values = read(instance)
        row = [values] if single else list(values)
        for index, field in prepared:
            row[index] = field.get_db_prep_save(row[index], connection)
        return row

    return row_of


def _models_values_insert(model, instances: list) -> None:
    """PostgreSQL: INSERT ... VALUES (...), (...) RETURNING id, the statement built once per
    model and row count (RETURNING gives the ids in the order of the VALUES rows, which
    bulk_create relies on too)."""
    row_of, sql = _values_insert_statement(model, len(instances), connection.alias)
    params = []
    for instance in instances:
        params += row_of(instance)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for instance, (pk,) in zip(instances, cursor.fetchall(), strict=True):
            instance.pk = pk
            instance._state.adding, instance._state.db = False, connection.alias


@functools.cache
def _values_insert_statement(model, rows: int, alias: str) -> tuple:
    quote = connection.ops.quote_name
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    row = f"({', '.join(['%s'] * len(fields))})"
    sql = (
        f"INSERT INTO {quote(meta.db_table)} "  # noqa: S608 - names are ours
        f"({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES {', '.join([row] * rows)} RETURNING {quote(meta.pk.column)}"
    )
    return _row_reader(fields), sql


# Fields whose Python value PostgreSQL's COPY takes as it is (no preparation by the field).
_COPY_AS_IS = (
    models.AutoField,
    models.BigAutoField,
    models.BigIntegerField,
    models.BooleanField,
    models.CharField,
    models.DateTimeField,
    models.ForeignKey,
    models.IntegerField,
    models.PositiveBigIntegerField,
    models.PositiveIntegerField,
    models.TextField,
    models.URLField,
)


def models_copy_insert(model, instances: list, *, batch_size: int = 1000) -> None:
    """INSERT many new `instances` of `model` (automatic id) at once, as bulk_create does (ids
    set, auto_now fields filled, no signals). On PostgreSQL with COPY, the ids drawn from the
    table's sequence first: tens of thousands of rows without building a statement of their
    values through the fields (the cost of bulk_create there); a value of another field type
    (phone numbers, JSON) is still prepared by its field. Up to FEW_ROWS rows (one order from
    the API) go in one INSERT ... RETURNING id instead: one round trip, not a nextval query
    and a COPY. Other databases: bulk_create."""
    if not instances:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(instances, batch_size=batch_size)
        return
    if len(instances) <= FEW_ROWS:
        _models_values_insert(model, instances)
        return
    meta = model._meta
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(instances)],
        )
        for instance, (pk,) in zip(instances, cursor.fetchall(), strict=True):
            instance.pk = pk
    fields = meta.concrete_fields
    row_of = _row_reader(fields)
    columns = ", ".join(quote(field.column) for field in fields)
    sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"  # noqa: S608 - model's names
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(sql) as copy:
            for instance in instances:
                copy.write_row(row_of(instance))
    for instance in instances:
        instance._state.adding, instance._state.db = False, connection.alias
