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
from django.db import connection

from handover.evidence.chain import event_body, event_hash, tree_head_message
from handover.evidence.log import log_sequence, tree_head_sign
from handover.evidence.merkle import MerkleTree, leaf_hash
from handover.evidence.models import Event
from handover.evidence.triggers import sqlite_create
from handover.lib.canonical import canonical_json
from handover.records.management.commands.verify import Progress, _event_rows
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


def test_the_reader_hands_over_the_stored_payload_decoded(record):
    rows = list(_event_rows(Event))
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
    rows = list(_event_rows(Event))
    for row in rows:
        assert log_check._canonical_text(log_check._columns_body(row)) == row.body
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
