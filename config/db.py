"""Lean statements for the hot paths (checkout): SQL built once per model and reused, rows read into instances.

The ORM rebuilds the same statement for every call (a Query, its lookups, its compiler, each field's placeholder):
on this project's 2-core machine a one-row ``filter().first()`` costs about 0.5 ms of Python and a ``create()``
about 0.3 ms, for statements PostgreSQL runs in a fraction of that (docs/PERFORMANCE.md "Checkout"). These
keep what the ORM does with the values (each field's ``pre_save`` and ``get_db_prep_save`` on the way in, the
backend's and the field's converters on the way out) and skip the rest: no signals, no ``save()`` override, so
they are only for models with neither. Everything else uses the ORM.
"""

from django.db import connection

_SQL: dict[tuple, tuple] = {}


def statement_cursor():
    """A cursor of ``connection`` for the hot path's statements, kept for the connection's life: a new cursor per
    statement (Django's wrapper and psycopg's cursor with its adapters) cost about 20 µs of CPU each time on the
    2-core machine, and a checkout sends 20 statements (docs/PERFORMANCE.md "Checkout"). Use it without ``with``
    (that would close it). A new one once the connection is reopened, or when queries start or stop being logged
    (DEBUG, the tests' query counts). Execute wrappers apply as to any cursor, and the request's health check
    (CONN_HEALTH_CHECKS: a connection that died since the last request is replaced) runs as for any cursor."""
    connection.close_if_health_check_failed()
    kept, logged = getattr(connection, "kept_cursor", None), connection.queries_logged
    if kept is not None and kept[0] is connection.connection and kept[1] == logged:
        return kept[2]
    cursor = connection.cursor()
    connection.kept_cursor = (connection.connection, logged, cursor)
    return cursor


def _converters(field) -> list:
    column = field.cached_col
    return [*connection.ops.get_db_converters(column), *field.get_db_converters(connection)]


def _insert(objs: list, skip_conflict: bool) -> list:
    model = type(objs[0])
    meta = model._meta
    if meta.auto_field is None or any(type(obj) is not model or obj.pk is not None for obj in objs):
        raise ValueError("new rows of one model with an auto primary key only")
    key = ("insert", model, len(objs), skip_conflict, connection.vendor)
    if key not in _SQL:
        quote = connection.ops.quote_name
        fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
        returning, _ = connection.ops.return_insert_columns([meta.pk])
        row = f"({', '.join(['%s'] * len(fields))})"
        _SQL[key] = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
                     f"VALUES {', '.join([row] * len(objs))}{' ON CONFLICT DO NOTHING' if skip_conflict else ''}"
                     f" {returning}", fields)
    sql, fields = _SQL[key]
    cursor = statement_cursor()
    cursor.execute(sql, [field.get_db_prep_save(field.pre_save(obj, True), connection)
                         for obj in objs for field in fields])
    ids = [row[0] for row in cursor.fetchall()]
    for obj, pk in zip(objs, ids, strict=False):  # in the order of VALUES, as bulk_create relies on too
        obj.pk = pk
        obj._state.adding, obj._state.db = False, connection.alias
    return ids


def rows_insert(objs: list) -> list:
    """Inserts ``objs`` (new instances of one model with an auto primary key, none set yet) in one INSERT … RETURNING
    their ids and sets their pks, as ``bulk_create`` does. Answers ``objs``."""
    if objs:
        _insert(objs, False)
    return objs


def row_insert(obj, *, skip_conflict: bool = False) -> bool:
    """Inserts ``obj`` (a new instance of a model with an auto primary key, none set yet) in one INSERT … RETURNING
    its id and sets its pk, as ``obj.save(force_insert=True)`` would. With ``skip_conflict`` a row that would break a
    unique constraint is not inserted (ON CONFLICT DO NOTHING: no savepoint needed) and the answer is False."""
    return bool(_insert([obj], skip_conflict))


def rows_select(model, where: str, params: list, *, fields: tuple[str, ...] = ()) -> list:
    """Instances of ``model`` read by ``SELECT <fields> FROM <its table> WHERE <where>`` (``where``: conditions on
    columns with %s placeholders, an ORDER BY if the order matters; ``fields`` by name, every concrete field by
    default, the pk always), through the fields' converters as the ORM reads them. The rest of an instance is
    deferred, as with ``only()``."""
    key = ("select", model, where, fields, connection.vendor)
    if key not in _SQL:
        meta, quote = model._meta, connection.ops.quote_name
        chosen = ([meta.pk, *(meta.get_field(name) for name in fields if name != meta.pk.name)] if fields
                  else list(meta.concrete_fields))
        _SQL[key] = (f"SELECT {', '.join(quote(field.column) for field in chosen)} FROM {quote(meta.db_table)} "
                     f"WHERE {where}", [field.attname for field in chosen],
                     [(field.cached_col, _converters(field)) for field in chosen])
    sql, attnames, converters = _SQL[key]
    cursor = statement_cursor()
    cursor.execute(sql, params)
    rows = cursor.fetchall()
    found = []
    for row in rows:
        values = list(row)
        for index, (column, steps) in enumerate(converters):
            for step in steps:
                values[index] = step(values[index], column, connection)
        found.append(model.from_db(connection.alias, attnames, values))
    return found


def rows_values(sql: str, params: list, fields: tuple) -> list[list]:
    """The rows of ``sql`` (columns in the order of ``fields``, model fields such as
    ``Variant._meta.get_field("updated_at")``, for a read that joins tables), each value through its field's
    converters as the ORM reads it."""
    key = ("values", fields, connection.vendor)
    if key not in _SQL:
        _SQL[key] = [(field.cached_col, _converters(field)) for field in fields]
    converters = _SQL[key]
    cursor = statement_cursor()
    cursor.execute(sql, params)
    rows = [list(row) for row in cursor.fetchall()]
    for values in rows:
        for index, (column, steps) in enumerate(converters):
            for step in steps:
                values[index] = step(values[index], column, connection)
    return rows
