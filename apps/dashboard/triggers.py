"""Database triggers that mark the hours touched by any write to messages or conversions as dirty.

Triggers instead of hooks in the writing services: every writer (ingest API, delivery sync, admin,
bulk_create of the demo, raw SQL) is covered, and the mark commits or rolls back with the write.
PostgreSQL uses statement-level triggers with transition tables (one mark per statement and hour);
SQLite row-level triggers. Updates that change no counted column (report state...) mark nothing.

They are (re)created after every `migrate` (post_migrate, see apps.py) rather than in a migration:
SQLite rebuilds a table for many schema changes, which silently drops its triggers, and other apps'
migrations of messages and conversions may run after ours. When any trigger was missing, every hour
is marked dirty, because writes may have gone unnoticed.
"""

from __future__ import annotations

PG_HOUR = "date_trunc('hour', {col} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
MSG_COLS = "(n.sent_at, n.account_id, n.template_code, n.country, n.delivery_status)"
MSG_OLD = "(o.sent_at, o.account_id, o.template_code, o.country, o.delivery_status)"

# jit = off: PL/pgSQL plans a trigger's query once per connection, with the transition-table size of
# that first statement. After a large UPDATE the plan looked costly enough for JIT, and each later
# one-row write on the connection spent up to 300 ms compiling it (found in the issue 4 benchmark).
PG_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION dashboard_dirty_from_messages() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO dashboard_dirtyhour(hour) SELECT DISTINCT {PG_HOUR.format(col="n.sent_at")} FROM new_rows n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO dashboard_dirtyhour(hour) SELECT DISTINCT {PG_HOUR.format(col="o.sent_at")} FROM old_rows o;
  ELSE
    INSERT INTO dashboard_dirtyhour(hour)
    SELECT DISTINCT {PG_HOUR.format(col="t.sent_at")} FROM (
      SELECT n.sent_at FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {MSG_COLS} IS DISTINCT FROM {MSG_OLD}
      UNION ALL
      SELECT o.sent_at FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {MSG_COLS} IS DISTINCT FROM {MSG_OLD}
    ) t;
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION dashboard_dirty_from_conversions() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO dashboard_dirtyhour(hour) SELECT DISTINCT {PG_HOUR.format(col="m.sent_at")}
      FROM new_rows n JOIN messaging_sentmessage m ON m.id = n.message_id;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO dashboard_dirtyhour(hour) SELECT DISTINCT {PG_HOUR.format(col="m.sent_at")}
      FROM old_rows o JOIN messaging_sentmessage m ON m.id = o.message_id;
  ELSE
    INSERT INTO dashboard_dirtyhour(hour) SELECT DISTINCT {PG_HOUR.format(col="m.sent_at")}
      FROM new_rows n JOIN old_rows o ON o.id = n.id
      JOIN messaging_sentmessage m ON m.id IN (n.message_id, o.message_id)
      WHERE (n.status, n.message_id) IS DISTINCT FROM (o.status, o.message_id);
  END IF;
  RETURN NULL;
END $$;
"""
FUNCTION_NAMES = ["dashboard_dirty_from_messages", "dashboard_dirty_from_conversions"]

PG_FORWARD = f"""
CREATE TRIGGER dashboard_messages_ins AFTER INSERT ON messaging_sentmessage
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dashboard_dirty_from_messages();
CREATE TRIGGER dashboard_messages_upd AFTER UPDATE ON messaging_sentmessage
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION dashboard_dirty_from_messages();
CREATE TRIGGER dashboard_messages_del AFTER DELETE ON messaging_sentmessage
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dashboard_dirty_from_messages();
CREATE TRIGGER dashboard_conversions_ins AFTER INSERT ON messaging_conversion
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dashboard_dirty_from_conversions();
CREATE TRIGGER dashboard_conversions_upd AFTER UPDATE ON messaging_conversion
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION dashboard_dirty_from_conversions();
CREATE TRIGGER dashboard_conversions_del AFTER DELETE ON messaging_conversion
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dashboard_dirty_from_conversions();

INSERT INTO dashboard_dirtyhour(hour) SELECT DISTINCT {PG_HOUR.format(col="sent_at")} FROM messaging_sentmessage;
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS dashboard_messages_ins ON messaging_sentmessage;
DROP TRIGGER IF EXISTS dashboard_messages_upd ON messaging_sentmessage;
DROP TRIGGER IF EXISTS dashboard_messages_del ON messaging_sentmessage;
DROP TRIGGER IF EXISTS dashboard_conversions_ins ON messaging_conversion;
DROP TRIGGER IF EXISTS dashboard_conversions_upd ON messaging_conversion;
DROP TRIGGER IF EXISTS dashboard_conversions_del ON messaging_conversion;
DROP FUNCTION IF EXISTS dashboard_dirty_from_messages();
DROP FUNCTION IF EXISTS dashboard_dirty_from_conversions();
"""

LITE_HOUR = "strftime('%Y-%m-%d %H:00:00', {col})"
LITE_MSG_CHANGED = " OR ".join(
    f"NEW.{c} IS NOT OLD.{c}" for c in ("sent_at", "account_id", "template_code", "country", "delivery_status")
)
LITE_FORWARD = [
    f"""CREATE TRIGGER dashboard_messages_ins AFTER INSERT ON messaging_sentmessage BEGIN
      INSERT INTO dashboard_dirtyhour(hour) VALUES ({LITE_HOUR.format(col="NEW.sent_at")}); END""",
    f"""CREATE TRIGGER dashboard_messages_upd AFTER UPDATE ON messaging_sentmessage WHEN {LITE_MSG_CHANGED} BEGIN
      INSERT INTO dashboard_dirtyhour(hour) VALUES ({LITE_HOUR.format(col="OLD.sent_at")});
      INSERT INTO dashboard_dirtyhour(hour) VALUES ({LITE_HOUR.format(col="NEW.sent_at")}); END""",
    f"""CREATE TRIGGER dashboard_messages_del AFTER DELETE ON messaging_sentmessage BEGIN
      INSERT INTO dashboard_dirtyhour(hour) VALUES ({LITE_HOUR.format(col="OLD.sent_at")}); END""",
    f"""CREATE TRIGGER dashboard_conversions_ins AFTER INSERT ON messaging_conversion BEGIN
      INSERT INTO dashboard_dirtyhour(hour)
      SELECT {LITE_HOUR.format(col="sent_at")} FROM messaging_sentmessage WHERE id = NEW.message_id; END""",
    f"""CREATE TRIGGER dashboard_conversions_upd AFTER UPDATE ON messaging_conversion
      WHEN NEW.status IS NOT OLD.status OR NEW.message_id IS NOT OLD.message_id BEGIN
      INSERT INTO dashboard_dirtyhour(hour) SELECT {LITE_HOUR.format(col="sent_at")} FROM messaging_sentmessage
      WHERE id IN (NEW.message_id, OLD.message_id); END""",
    f"""CREATE TRIGGER dashboard_conversions_del AFTER DELETE ON messaging_conversion BEGIN
      INSERT INTO dashboard_dirtyhour(hour)
      SELECT {LITE_HOUR.format(col="sent_at")} FROM messaging_sentmessage WHERE id = OLD.message_id; END""",
    f"""INSERT INTO dashboard_dirtyhour(hour)
      SELECT DISTINCT {LITE_HOUR.format(col="sent_at")} FROM messaging_sentmessage""",
]
LITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS dashboard_{table}_{op}"
    for table in ("messages", "conversions")
    for op in ("ins", "upd", "del")
]


TRIGGER_NAMES = [f"dashboard_{table}_{op}" for table in ("messages", "conversions") for op in ("ins", "upd", "del")]


def ensure_triggers(connection) -> bool:
    """Create the triggers if any is missing; returns True when it had to."""
    vendor = connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise RuntimeError(f"Rollup triggers are written for PostgreSQL and SQLite, not {vendor}.")
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            # Functions made before they turned JIT off are replaced; no hour needs marking for that.
            cursor.execute(
                "SELECT count(*) FROM pg_proc WHERE proname = ANY(%s) AND proconfig @> ARRAY['jit=off']",
                [FUNCTION_NAMES],
            )
            if cursor.fetchone()[0] < len(FUNCTION_NAMES):
                cursor.execute(PG_FUNCTIONS)
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = ANY(%s)", [TRIGGER_NAMES])
        else:
            marks = ",".join(["%s"] * len(TRIGGER_NAMES))
            cursor.execute(
                f"SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})", TRIGGER_NAMES
            )
        if cursor.fetchone()[0] == len(TRIGGER_NAMES):
            return False
        statements = [PG_BACKWARD, PG_FUNCTIONS, PG_FORWARD] if vendor == "postgresql" else LITE_BACKWARD + LITE_FORWARD
        for sql in statements:
            cursor.execute(sql)
    return True


def drop_triggers(connection) -> None:
    """For bulk loads (bench/): drop, load, then rollups_rebuild_all() and ensure_triggers()."""
    with connection.cursor() as cursor:
        for sql in [PG_BACKWARD] if connection.vendor == "postgresql" else LITE_BACKWARD:
            cursor.execute(sql)
