"""PostgreSQL only: the search vector also holds the category name (weight B), and renaming a
category refreshes its products' vectors.

Both are triggers, so every way a row changes (services, bulk_create, queryset.update, the
CSV import, the admin, raw SQL) keeps the vector right. Nothing happens on SQLite, where
search is a LIKE fallback (catalog.search).
"""

from django.db import migrations

VECTOR = """
CREATE OR REPLACE FUNCTION catalog_product_search_vector() RETURNS trigger AS $$
DECLARE
    category_name text := '';
BEGIN
    IF NEW.category_id IS NOT NULL THEN
        SELECT name INTO category_name FROM catalog_category WHERE id = NEW.category_id;
    END IF;
    NEW.search_vector :=
        setweight(to_tsvector('simple', coalesce(NEW.name, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(NEW.name, '')), 'A') ||
        setweight(to_tsvector('simple', coalesce(NEW.brand, '')), 'B') ||
        setweight(to_tsvector('simple', coalesce(category_name, '')), 'B') ||
        setweight(to_tsvector('english', coalesce(category_name, '')), 'B') ||
        setweight(to_tsvector('english', coalesce(NEW.description, '')), 'C');
    RETURN NEW;
END
$$ LANGUAGE plpgsql
"""

OLD_VECTOR = """
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
"""

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    VECTOR,
    "DROP TRIGGER IF EXISTS catalog_product_search_vector_update ON catalog_product",
    """
    CREATE TRIGGER catalog_product_search_vector_update
    BEFORE INSERT OR UPDATE OF name, brand, description, category_id ON catalog_product
    FOR EACH ROW EXECUTE FUNCTION catalog_product_search_vector()
    """,
    """
    CREATE OR REPLACE FUNCTION catalog_category_search_refresh() RETURNS trigger AS $$
    BEGIN
        -- naming category_id in SET fires the product trigger, which reads the new name
        UPDATE catalog_product SET category_id = category_id WHERE category_id = NEW.id;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER catalog_category_search_refresh
    AFTER UPDATE OF name ON catalog_category
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION catalog_category_search_refresh()
    """,
    "UPDATE catalog_product SET category_id = category_id",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS catalog_category_search_refresh ON catalog_category",
    "DROP FUNCTION IF EXISTS catalog_category_search_refresh()",
    "DROP TRIGGER IF EXISTS catalog_product_search_vector_update ON catalog_product",
    OLD_VECTOR,
    """
    CREATE TRIGGER catalog_product_search_vector_update
    BEFORE INSERT OR UPDATE OF name, brand, description ON catalog_product
    FOR EACH ROW EXECUTE FUNCTION catalog_product_search_vector()
    """,
    "UPDATE catalog_product SET name = name",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_list_sort_indexes")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD))]
