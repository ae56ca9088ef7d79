"""The exact number of a store's products by status (catalog.models.ProductCount), kept by database triggers.

Every insert, delete and status (or store) change of a product row adds to or takes from its store's counter row
in the same transaction, whatever made it: the services, the CSV import, COPY in catalog.demo.seed_bulk, the
admin, a store's deletion, a test's ``objects.create``. Concurrent writers serialize on the counter row (an
``UPDATE … SET n = n + 1`` or ``INSERT … ON CONFLICT DO UPDATE``), so it stays exact under concurrency
(catalog/tests/test_counts.py races it with real threads on PostgreSQL).

PostgreSQL: inserts and deletes by statement-level triggers over the statement's transition table (one counter
update per statement, so a COPY or bulk_create of 10,000 rows updates the row once, not 10,000 times); status
changes by a row trigger that fires only when the status or the store changed. SQLite: row triggers (it has no
transition tables); a table rebuild by a later migration drops them, so ``install`` runs after every migrate
(catalog.apps) and recounts when it had to recreate them.
"""

from django.db import connection as default_connection

STATUSES = ("draft", "published", "archived")


def _each(template: str, separator: str = ", ") -> str:
    """``template`` with {s} for each status, joined: "draft = c.draft + EXCLUDED.draft, published = …"."""
    return separator.join(template.format(s=status) for status in STATUSES)


COLUMNS = _each("{s}")
_COUNT_EACH = _each("count(*) FILTER (WHERE status = '{s}')")
_ADD_EXCLUDED = _each("{s} = c.{s} + EXCLUDED.{s}")
_TAKE_DELETED = _each("{s} = c.{s} - d.{s}")
_COUNT_EACH_AS = _each("count(*) FILTER (WHERE status = '{s}') AS {s}")
_TAKE_OLD = _each("{s} = {s} - (OLD.status = '{s}')::int")
_NEW_ONES = _each("(NEW.status = '{s}')::int")
_SQLITE_NEW_ONES = _each("NEW.status = '{s}'")
_SQLITE_ADD_EXCLUDED = _each("{s} = {s} + excluded.{s}")
_SQLITE_TAKE_OLD = _each("{s} = {s} - (OLD.status = '{s}')")
_SUM_EACH = _each("SUM(CASE WHEN status = '{s}' THEN 1 ELSE 0 END)")

POSTGRES = [
    f"""
    CREATE OR REPLACE FUNCTION catalog_product_count_insert() RETURNS trigger AS $$
    BEGIN
        INSERT INTO catalog_productcount AS c (store_id, {COLUMNS})
        SELECT store_id, {_COUNT_EACH}
        FROM new_rows GROUP BY store_id ORDER BY store_id
        ON CONFLICT (store_id) DO UPDATE SET {_ADD_EXCLUDED};
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE OR REPLACE FUNCTION catalog_product_count_delete() RETURNS trigger AS $$
    BEGIN
        UPDATE catalog_productcount AS c SET {_TAKE_DELETED}
        FROM (SELECT store_id, {_COUNT_EACH_AS}
              FROM old_rows GROUP BY store_id) AS d
        WHERE c.store_id = d.store_id;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE OR REPLACE FUNCTION catalog_product_count_update() RETURNS trigger AS $$
    BEGIN
        UPDATE catalog_productcount SET {_TAKE_OLD}
        WHERE store_id = OLD.store_id;
        INSERT INTO catalog_productcount AS c (store_id, {COLUMNS})
        VALUES (NEW.store_id, {_NEW_ONES})
        ON CONFLICT (store_id) DO UPDATE SET {_ADD_EXCLUDED};
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS catalog_product_count_insert ON catalog_product",
    "CREATE TRIGGER catalog_product_count_insert AFTER INSERT ON catalog_product REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION catalog_product_count_insert()",
    "DROP TRIGGER IF EXISTS catalog_product_count_delete ON catalog_product",
    "CREATE TRIGGER catalog_product_count_delete AFTER DELETE ON catalog_product REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION catalog_product_count_delete()",
    "DROP TRIGGER IF EXISTS catalog_product_count_update ON catalog_product",
    "CREATE TRIGGER catalog_product_count_update AFTER UPDATE OF status, store_id ON catalog_product FOR EACH ROW "
    "WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.store_id IS DISTINCT FROM NEW.store_id) "
    "EXECUTE FUNCTION catalog_product_count_update()",
]

POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS catalog_product_count_insert ON catalog_product",
    "DROP TRIGGER IF EXISTS catalog_product_count_delete ON catalog_product",
    "DROP TRIGGER IF EXISTS catalog_product_count_update ON catalog_product",
    "DROP FUNCTION IF EXISTS catalog_product_count_insert()",
    "DROP FUNCTION IF EXISTS catalog_product_count_delete()",
    "DROP FUNCTION IF EXISTS catalog_product_count_update()",
]

_SQLITE_ADD = (f"INSERT INTO catalog_productcount (store_id, {COLUMNS}) "
               f"VALUES (NEW.store_id, {_SQLITE_NEW_ONES}) "
               f"ON CONFLICT (store_id) DO UPDATE SET {_SQLITE_ADD_EXCLUDED};")
_SQLITE_TAKE = (f"UPDATE catalog_productcount SET {_SQLITE_TAKE_OLD} "
                "WHERE store_id = OLD.store_id;")
SQLITE = {
    "catalog_product_count_insert": f"AFTER INSERT ON catalog_product BEGIN {_SQLITE_ADD} END",
    "catalog_product_count_delete": f"AFTER DELETE ON catalog_product BEGIN {_SQLITE_TAKE} END",
    "catalog_product_count_update": "AFTER UPDATE OF status, store_id ON catalog_product "
                                    "WHEN OLD.status IS NOT NEW.status OR OLD.store_id IS NOT NEW.store_id "
                                    f"BEGIN {_SQLITE_TAKE} {_SQLITE_ADD} END",
}

RECOUNT = [
    "DELETE FROM catalog_productcount",
    f"INSERT INTO catalog_productcount (store_id, {COLUMNS}) "
    f"SELECT store_id, {_SUM_EACH} "
    "FROM catalog_product GROUP BY store_id",
]


def install(connection=default_connection) -> bool:
    """Creates the triggers where missing (PostgreSQL: replaces them); after creating any on SQLite, recounts
    every store (writes made while they were missing were not counted). Returns whether it recounted."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for statement in POSTGRES:
                cursor.execute(statement)
            return False
        if connection.vendor != "sqlite":
            raise NotImplementedError(f"catalog counts: no triggers for {connection.vendor}")
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'catalog_product'")
        present = {row[0] for row in cursor.fetchall()}
        missing = [name for name in SQLITE if name not in present]
        for name in missing:
            cursor.execute(f"CREATE TRIGGER {name} {SQLITE[name]}")
        if missing:
            recount(connection)
        return bool(missing)


def uninstall(connection=default_connection) -> None:
    with connection.cursor() as cursor:
        statements = POSTGRES_DROP if connection.vendor == "postgresql" else [
            f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE]
        for statement in statements:
            cursor.execute(statement)


def recount(connection=default_connection) -> None:
    """Every store's counter row from the products themselves (installation; never needed otherwise)."""
    with connection.cursor() as cursor:
        for statement in RECOUNT:
            cursor.execute(statement)
