"""``handover verify --log``: the whole deployment's record checked from the database, every
chain from the bodies, every leaf, every signed head and the consistency between heads."""

import base64
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from handover.evidence.chain import event_body, event_hash, tree_head_message
from handover.evidence.log import log_sequence, tree_head_sign
from handover.evidence.merkle import MerkleTree, leaf_hash
from handover.evidence.models import Event
from handover.evidence.triggers import sqlite_create
from handover.lib.canonical import canonical_json
from handover.records.management.commands.verify import (
    _SQLITE_BODY,
    Progress,
    _event_rows,
    _rows_with_columns,
)
from handover.records.tests.test_bundle import fresh_log_tree
from handover.records.verify import EventRow, HeadRow, LeafRow, Reason, key_id, verify_log
from handover.records.verify import log as log_check
from handover.testing.steps import delivered_order, ok

R = Reason


@pytest.fixture(autouse=True)
def _fresh_log_tree() -> Iterator[None]:
    with fresh_log_tree():
        yield


def run_log_check(*args: str) -> tuple[str, str, CommandError | None]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify", "--log", *args, stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), error
    return out.getvalue(), err.getvalue(), None


@pytest.fixture
def record(offer, buyer_api, seller_api) -> int:
    """Two orders, their events logged under two signed heads; returns the first order."""
    first, _file = delivered_order(buyer_api, seller_api, offer)
    log_sequence()
    assert tree_head_sign(force=True) is not None
    ok(buyer_api.post(f"/orders/{first}/messages", {"text": "Thanks!"}), 201)
    delivered_order(buyer_api, seller_api, offer)
    log_sequence()
    assert tree_head_sign(force=True) is not None
    return first


def test_a_healthy_record_verifies_with_a_progress_bar(record):
    out, err, error = run_log_check()
    assert error is None, out
    events = Event.objects.count()
    assert out.startswith(f"OK: {events} events, {events} leaves, 2 signed tree heads, key ")
    # Not a terminal: at most a line per tenth (the checks advance a chunk of rows at a time,
    # and this log is one chunk of events and one of leaves), rising to 100 %.
    lines = err.splitlines()
    assert lines[-1] == f"verified 100% ({2 * events}/{2 * events})"
    assert 2 <= len(lines) <= 10
    percents = [int(line.split()[1].rstrip("%")) for line in lines]
    assert percents == sorted(set(percents))


def test_events_not_yet_logged_are_checked_too(record, buyer_api):
    ok(buyer_api.post(f"/orders/{record}/messages", {"text": "Not logged yet"}), 201)
    out, _err, error = run_log_check()
    assert error is None, out
    assert out.startswith(f"OK: {Event.objects.count()} events, ")


@contextmanager
def events_writable() -> Iterator[None]:
    """Lift the database's refusal to change events, for the length of a test's tampering."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER evidence_event_no_update")
        else:
            # ALTER TABLE waits for no deferred foreign-key checks: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE evidence_event DISABLE TRIGGER evidence_event_append_only")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                for sql in sqlite_create("evidence_event"):
                    cursor.execute(sql)
            else:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(
                    "ALTER TABLE evidence_event ENABLE TRIGGER evidence_event_append_only"
                )
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _has_trigger(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = %s", [name])
        return cursor.fetchone() is not None


def _rewrite(event: Event, *, body: str, digest: str | None = None, payload=None) -> None:
    with events_writable(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE evidence_event SET body = %s, hash = %s, payload = %s WHERE id = %s",
            [
                body,
                digest or event.hash,
                Event._meta.get_field("payload").get_db_prep_save(
                    event.payload if payload is None else payload, connection
                ),
                event.pk,
            ],
        )


def _message_event(order_id: int) -> Event:
    return Event.objects.filter(order_id=order_id, type="message.posted").get()


def test_a_body_changed_underneath_fails_on_its_hash(record):
    event = _message_event(record)
    _rewrite(event, body=event.body.replace("Thanks!", "Refund me"))
    out, _err, error = run_log_check()
    assert error is not None and error.returncode == 1
    assert out.startswith(
        f"FAILED event_hash_mismatch: event {event.pk} of order {record}: its body does not "
        "hash to its hash."
    )
    # The database refuses changes again once the test's tampering is done.
    assert connection.vendor != "sqlite" or _has_trigger("evidence_event_no_update")


def test_a_body_changed_with_its_hash_breaks_the_chain_and_the_leaf(record):
    event = Event.objects.get(order_id=record, payload__action="deliver")
    body = event.body.replace("Here it is", "Nothing delivered")
    payload = {**event.payload, "message": "Nothing delivered"}
    _rewrite(event, body=body, digest=event_hash(body.encode()), payload=payload)
    out, _err, error = run_log_check("-v", "2")
    assert error is not None
    reasons = [line.split()[1].rstrip(":") for line in out.splitlines()]
    assert reasons[0] == "chain_broken"  # the order's next event names the old hash
    assert "leaf_hash_mismatch" in reasons
    assert "event_hash_mismatch" not in reasons


def test_a_column_changed_underneath_its_body_fails(record):
    event = _message_event(record)
    _rewrite(event, body=event.body, payload={**event.payload, "body": "Refund me"})
    out, _err, error = run_log_check()
    assert error is not None
    assert out.startswith(f"FAILED event_column_mismatch: event {event.pk} of order {record}")
    assert "payload" in out


def _stored_payloads() -> dict[int, str]:
    """Each event's payload column as the database gives it back as text."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, CAST(payload AS text) FROM evidence_event")
        return dict(cursor.fetchall())


def test_the_payload_column_holds_the_payload_as_the_body_does(record):
    """On SQLite the column is text, written as the body holds the payload (canonical JSON), so
    the verifier compares the two as they are; PostgreSQL's jsonb holds the same value."""
    stored = _stored_payloads()
    assert len(stored) == Event.objects.count() >= 10
    for event in Event.objects.all():
        in_body = json.loads(event.body)["payload"]
        assert event.payload == in_body
        if connection.vendor == "sqlite":
            assert stored[event.pk] == canonical_json(in_body).decode()


def _with_columns() -> list[EventRow]:
    """Every event with its columns, as the reader hands over those it reads with them."""
    return list(_rows_with_columns(Event.objects.order_by("order_id", "id")))


def test_the_reader_hands_over_the_stored_payload_decoded(record):
    rows = _with_columns()
    assert len(rows) == Event.objects.count()
    stored = _stored_payloads()
    for row in rows:
        assert row.payload == json.loads(row.body)["payload"] == json.loads(stored[row.id])
        if connection.vendor == "sqlite":  # read from the text as stored, canonical JSON
            assert stored[row.id] == canonical_json(row.payload).decode()


def test_every_event_as_written_is_the_canonical_body_of_its_columns(record, monkeypatch):
    # So none is read field by field: the body's one comparison with its columns says it all.
    seen: list[int] = []
    monkeypatch.setattr(log_check, "_parsed", lambda body: seen.append(1))
    rows = _with_columns()
    for row in rows:
        assert log_check._canonical_text(log_check._columns_body(row)) == row.body
    # SQLite finds each the same as it reads it: none is read again with its columns.
    read = list(_event_rows(Event))
    assert [row.id for row in read] == [row.id for row in rows]
    assert all(row.columns_body for row in read) == (connection.vendor == "sqlite")
    _out, _err, error = run_log_check()
    assert error is None
    assert seen == []


def test_a_payload_column_spelled_otherwise_with_the_same_value_verifies(record):
    # As written before the column held canonical JSON, or by hand: other spacing, key order
    # and escapes, the same value. The check finds it the long way and passes it.
    event = _message_event(record)
    spelled = json.dumps(dict(reversed(list(event.payload.items()))), indent=2)
    with events_writable(), connection.cursor() as cursor:
        cursor.execute("UPDATE evidence_event SET payload = %s WHERE id = %s", [spelled, event.pk])
    if connection.vendor == "sqlite":
        assert _stored_payloads()[event.pk] == spelled
    out, _err, error = run_log_check()
    assert error is None, out


def test_a_payload_column_that_is_not_json_is_found_even_in_a_body_made_to_match(record):
    # SQLite's CHECK (json_valid) refuses it, unless checks are switched off, as someone
    # rewriting the file could: the reader asks SQLite whether it is JSON before the verifier
    # takes it as JSON.
    if connection.vendor != "sqlite":
        pytest.skip("jsonb holds nothing but JSON")
    event = _message_event(record)
    broken = canonical_json(event.payload).decode()[:-1] + ",}"  # a trailing comma
    for forged_body in (False, True):
        # the column alone; then the body too, with its hash, so that the body its columns
        # make is byte for byte the body: it must still be found not to be JSON
        body = event.body.replace(canonical_json(event.payload).decode(), broken)
        with events_writable(), connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints = ON")
            try:
                cursor.execute(
                    "UPDATE evidence_event SET payload = %s, body = %s, hash = %s WHERE id = %s",
                    [
                        broken,
                        body if forged_body else event.body,
                        event_hash(body.encode()) if forged_body else event.hash,
                        event.pk,
                    ],
                )
            finally:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")
        assert _stored_payloads()[event.pk] == broken
        out, _err, error = run_log_check("--verbosity", "2")
        assert error is not None
        name = f"event {event.pk} of order {record}"
        if forged_body:
            assert f"FAILED malformed: {name}: its body is not JSON." in out
        else:
            assert f"FAILED event_column_mismatch: {name}: its payload column differs" in out


def _forged(event: Event, **columns) -> tuple[str, str]:
    """The body (and its hash) that the event's columns would make with ``columns`` changed:
    a body made to match a changed column, as someone rewriting the file could make it."""
    fields = {
        "order_id": event.order_id,
        "type": event.type,
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "created_at": event.created_at.isoformat(),
        "payload": event.payload,
        "prev_hash": event.prev_hash,
    }
    body = event_body(**{**fields, **columns})
    return body.decode(), event_hash(body)


# SQL that changes a column of the event; which of the body's fields are made to match it
# (None: the body is left as it is). Each is reported but the "sound" ones: the same time
# spelled otherwise, and a column with a body made to match it (a body that is no longer the
# one its chain and its leaf hold, were it not the order's last event).
_SOUND = ("created_at = replace(created_at, ' ', 'T')", "actor_text", "actor_real", "role")
# ... of which SQLite finds these the same as it reads them (the rest are compared in Python)
_SAME_IN_SQLITE = ("role",)
_SQLITE_CHANGES = [
    ("created_at = substr(created_at, 1, 22)", None),  # "...:56.12": not as Django writes it
    ("created_at = substr(created_at, 1, 22)", "substr"),  # ... and the body made to match
    ("created_at = substr(created_at, 1, 19) || '.000000'", "zeros"),
    (_SOUND[0], None),
    ("payload = replace(payload, '\"message_id\":', '\"message_id\":1.0+')", None),
    ("payload = json_set(payload, '$.message_id', 1.0)", None),
    ("payload = json_set(payload, '$.message_id', json('true'))", None),
    ("payload = json_set(payload, '$.extra', json('[1,{\"b\":2,\"a\":1}]'))", None),
    ("payload = json_set(payload, '$.text', 'a \"quoted\" line')", None),
    ("type = CAST(type AS BLOB)", None),
    ("actor_role = CAST(actor_role AS BLOB)", None),
    ("actor_id = 'x'", "actor_text"),
    ("actor_id = 1.5", "actor_real"),
    # a real of more digits than SQLite writes, in a body that SQLite wrote
    ("actor_id = 0.12345678901234567", "by_sqlite"),
    ("actor_id = NULL", None),
    ("order_id = NULL", None),
    ("actor_role = 'a \"b\" ' || char(1, 10, 127, 233, 8232, 128512)", "role"),
    ("prev_hash = 'x'", None),
    ("body = '{' || body", None),
]


def test_sqlites_comparison_reports_what_the_comparison_in_python_reports(record):
    """Whatever the database finds the same as its columns' body, Python finds the same: a
    changed log reports the same failures whether SQLite or the check compares its rows."""
    if connection.vendor != "sqlite":
        pytest.skip("only SQLite compares the rows as it reads them")
    event = _message_event(record)
    for change, forged in _SQLITE_CHANGES:
        before = transaction.savepoint_create()
        with events_writable(), connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints = ON")
            cursor.execute(f"UPDATE evidence_event SET {change} WHERE id = %s", [event.pk])
            if forged is not None:
                cursor.execute(
                    "SELECT actor_id, actor_role, CAST(created_at AS text) FROM evidence_event "
                    "WHERE id = %s",
                    [event.pk],
                )
                actor, role, at = cursor.fetchone()
                if forged == "by_sqlite":
                    cursor.execute(
                        f"SELECT {_SQLITE_BODY} FROM evidence_event WHERE id = %s", [event.pk]
                    )
                    (body,) = cursor.fetchone()
                    assert '"actor":0.123456789012346,' in body  # 15 digits
                    digest = event_hash(body.encode())
                else:
                    columns = {
                        "substr": {"created_at": at.replace(" ", "T") + "+00:00"},
                        "zeros": {"created_at": at.replace(" ", "T") + "+00:00"},
                        "actor_text": {"actor_id": actor},
                        "actor_real": {"actor_id": actor},
                        "role": {"actor_role": role},
                    }[forged]
                    body, digest = _forged(event, **columns)
                cursor.execute(
                    "UPDATE evidence_event SET body = %s, hash = %s WHERE id = %s",
                    [body, digest, event.pk],
                )
            cursor.execute("PRAGMA ignore_check_constraints = OFF")
        try:
            read = list(_event_rows(Event))
            by_sqlite = verify_log(events=read, leaves=[], heads=[], public_key=RAW)
            in_python = verify_log(events=_with_columns(), leaves=[], heads=[], public_key=RAW)
            assert by_sqlite.failures == in_python.failures, change
            changed = next(row for row in read if row.id == event.pk)
            sound = change in _SOUND or forged in _SOUND
            assert bool(in_python.failures) is not sound, change
            assert changed.columns_body is (forged in _SAME_IN_SQLITE), change
        finally:
            transaction.savepoint_rollback(before)


def test_a_wrong_expected_key_fails(record):
    out, _err, error = run_log_check("--key", "0123456789abcdef")
    assert error is not None and out.startswith("FAILED public_key_mismatch")


# --- the pure check, on rows made here -------------------------------------------------------

KEY = Ed25519PrivateKey.generate()
RAW = KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _rows(count: int) -> list[EventRow]:
    rows, prev = [], ""
    for n in range(count):
        at = f"2030-01-01T00:00:{n:02d}+00:00"
        payload = {"n": n}
        body = event_body(
            order_id=1,
            type="order.transition",
            actor_id=None,
            actor_role="timer",
            created_at=at,
            payload=payload,
            prev_hash=prev,
        )
        digest = event_hash(body)
        rows.append(
            EventRow(
                n + 1,
                1,
                "order.transition",
                None,
                "timer",
                at,
                payload,
                body.decode(),
                prev,
                digest,
            )
        )
        prev = digest
    return rows


def _leaves(rows: list[EventRow]) -> list[LeafRow]:
    return [LeafRow(n, r.id, leaf_hash(r.body.encode()), r.body) for n, r in enumerate(rows)]


def _head(tree: MerkleTree, size: int, root: str | None = None) -> HeadRow:
    root = root or tree.root(size).hex()
    message = tree_head_message(size=size, root=root, signed_at="t", key_id=_key_id())
    return HeadRow(size, root, "t", _key_id(), base64.b64encode(KEY.sign(message)).decode())


def _key_id() -> str:
    return key_id(RAW)


def _check(rows, leaves, heads):
    return verify_log(events=rows, leaves=leaves, heads=heads, public_key=RAW)


def test_the_pure_log_check_passes_a_sound_log():
    rows = _rows(9)
    tree = MerkleTree(leaf.leaf_hash for leaf in _leaves(rows))
    report = _check(rows, _leaves(rows), [_head(tree, 3), _head(tree, 8), _head(tree, 9)])
    assert report.ok, report.failures
    assert (report.events, report.tree_size) == (9, 9)


def test_the_pure_log_check_finds_gaps_wrong_roots_and_forked_heads():
    rows = _rows(9)
    leaves = _leaves(rows)
    tree = MerkleTree(leaf.leaf_hash for leaf in leaves)
    gap = _check(rows, leaves[:4] + leaves[5:], [])
    assert gap.reasons == [R.LOG_GAP]
    wrong_root = _check(rows, leaves, [_head(tree, 5, root="ab" * 32)])
    assert wrong_root.reasons == [R.TREE_ROOT_MISMATCH]
    # A later head over a different history: signed, but not an extension of the first.
    other = MerkleTree([b"\x01" * 32, *(leaf.leaf_hash for leaf in leaves[1:])])
    forked = _check(rows, leaves, [_head(tree, 4), _head(other, 9)])
    assert R.CONSISTENCY_FAILED in forked.reasons and R.TREE_ROOT_MISMATCH in forked.reasons
    unsigned = _head(tree, 9)
    bad = HeadRow(9, unsigned.root, "later", unsigned.key_id, unsigned.signature)
    assert _check(rows, leaves, [bad]).reasons == [R.TREE_HEAD_SIGNATURE_INVALID]
    too_big = _check(rows, leaves, [_head(tree, 9), HeadRow(20, "00" * 32, "t", _key_id(), "")])
    assert too_big.reasons == [R.TREE_ROOT_MISMATCH]


def test_the_pure_log_check_finds_removed_and_reordered_events():
    rows = _rows(5)
    assert _check(rows[:2] + rows[3:], [], []).reasons == [R.CHAIN_BROKEN]
    assert _check(rows[1:], [], []).reasons == [R.CHAIN_START]
    swapped = [rows[0], rows[2], rows[1], rows[3], rows[4]]
    assert R.CHAIN_BROKEN in _check(swapped, [], []).reasons


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_redraws_in_place_on_a_terminal():
    terminal = _Terminal()
    bar = Progress(terminal, 4)
    for _ in range(4):
        bar.tick()
    bar.finish()
    text = terminal.getvalue()
    assert text.startswith("\r[") and text.endswith("] 100% 4/4\n")
    assert "\n" not in text[:-1]
