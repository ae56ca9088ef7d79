"""On PostgreSQL, the database itself refuses to change or delete audit entries.

The one change allowed is nulling actor_user_id when that user is deleted
(ON DELETE SET NULL); actor_label keeps who it was. SQLite relies on the model.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION auditlog_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.actor_user_id IS NOT NULL AND NEW.actor_user_id IS NULL
       AND (to_jsonb(NEW) - 'actor_user_id') = (to_jsonb(OLD) - 'actor_user_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'auditlog_auditlog is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS auditlog_append_only ON auditlog_auditlog;
CREATE TRIGGER auditlog_append_only
    BEFORE UPDATE OR DELETE ON auditlog_auditlog
    FOR EACH ROW EXECUTE FUNCTION auditlog_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS auditlog_append_only ON auditlog_auditlog;
DROP FUNCTION IF EXISTS auditlog_append_only();
"""


def _run(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("auditlog", "0001_initial")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP), elidable=False)]
