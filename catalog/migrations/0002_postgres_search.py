"""PostgreSQL only: the full-text vector's trigger and GIN index, and a trigram index on name.

Nothing happens on SQLite, where search falls back to LIKE (catalog.selectors).
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    CREATE OR REPLACE FUNCTION catalog_product_search_vector() RETURNS trigger AS $$
    BEGIN
        NEW.search_vector :=
            setweight(to_tsvector('simple', coalesce(NEW.name, '')), 'A') ||
            setweight(to_tsvector('simple', coalesce(NEW.brand, '')), 'B') ||
            setweight(to_tsvector('english', coalesce(NEW.name, '')), 'A') ||
            setweight(to_tsvector('english', coalesce(NEW.description, '')), 'C');
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER catalog_product_search_vector_update
    BEFORE INSERT OR UPDATE OF name, brand, description ON catalog_product
    FOR EACH ROW EXECUTE FUNCTION catalog_product_search_vector()
    """,
    "UPDATE catalog_product SET name = name",
    "CREATE INDEX IF NOT EXISTS product_search_vector_gin ON catalog_product USING gin (search_vector)",
    "CREATE INDEX IF NOT EXISTS product_name_trgm ON catalog_product USING gin (name gin_trgm_ops)",
    # suggestions: prefix match on lower(name) within a store
    "CREATE INDEX IF NOT EXISTS product_store_lower_name ON catalog_product (store_id, lower(name) text_pattern_ops)",
    # subtree lookups (path LIKE 'prefix%') use a btree only with pattern ops under a non-C collation
    "CREATE INDEX IF NOT EXISTS category_store_path_pattern ON catalog_category (store_id, path varchar_pattern_ops)",
]

BACKWARD = [
    "DROP INDEX IF EXISTS category_store_path_pattern",
    "DROP INDEX IF EXISTS product_store_lower_name",
    "DROP INDEX IF EXISTS product_name_trgm",
    "DROP INDEX IF EXISTS product_search_vector_gin",
    "DROP TRIGGER IF EXISTS catalog_product_search_vector_update ON catalog_product",
    "DROP FUNCTION IF EXISTS catalog_product_search_vector()",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD))]
