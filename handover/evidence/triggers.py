"""The database itself refuses to change the record: UPDATE and DELETE on these tables fail
on SQLite and PostgreSQL alike, whatever code (or person with a SQL prompt) tries."""

APPEND_ONLY = (
    "evidence_event",
    "evidence_logentry",
    "evidence_treehead",
    "ledger_entry",
    "ledger_ledgertransaction",
    "orders_message",
    "disputes_supportnote",
)
MESSAGE = "append-only: rows of {table} are never updated or deleted"


def sqlite_create(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE.format(table=table)}'); END"
        for verb in ("UPDATE", "DELETE")
    ]


def sqlite_drop(table: str) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {table}_no_{verb}" for verb in ("update", "delete")]


POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION handover_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'append-only: rows of % are never updated or deleted', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql
"""


def postgres_create(table: str) -> list[str]:
    # Row triggers: TRUNCATE (which only tests' flush uses) is not a row operation.
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION handover_append_only()",
    ]


def postgres_drop(table: str) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"]


def create_all(schema_editor, tables=APPEND_ONLY) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)  # its % is plpgsql's, not ours
    for table in tables:
        for sql in sqlite_create(table) if vendor == "sqlite" else postgres_create(table):
            schema_editor.execute(sql)


def drop_all(schema_editor, tables=APPEND_ONLY) -> None:
    vendor = schema_editor.connection.vendor
    for table in tables:
        for sql in sqlite_drop(table) if vendor == "sqlite" else postgres_drop(table):
            schema_editor.execute(sql)
