"""``handover verify BUNDLE`` against every kind of change to a real bundle: each one fails
with its own reason, first. The bundle is made once (a long order, rolled back afterwards);
each test rewrites entries in a copy, as someone with the zip and a text editor would."""

import base64
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.db import transaction

from handover.evidence import keys
from handover.evidence.chain import event_hash, receipt_message, tree_head_message
from handover.evidence.merkle import MerkleTree, leaf_hash
from handover.lib.canonical import canonical_json
from handover.records.tests.test_bundle import (
    fetch_bundle,
    fresh_log_tree,
    long_order,
    members,
    scratch_settings,
)
from handover.records.verify import (
    Reason,
    Report,
    bundle_message,
    key_id,
    main,
    receipt_unsigned,
    verify_bundle,
)

R = Reason
# The checks need no database, but the module's bundle is made in one (and rolled back); the
# mark makes pytest-django create the test database even when only this module runs.
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def original(django_db_setup, django_db_blocker, tmp_path_factory) -> bytes:
    """The bundle of a long order; the order itself is rolled back once it is made."""
    root = tmp_path_factory.mktemp("story")
    with (
        django_db_blocker.unblock(),
        scratch_settings(root),
        fresh_log_tree(),
        transaction.atomic(),
    ):
        order_id, apis = long_order()
        # Support's bundle: every event with its body, so any of them can be tampered with.
        data = fetch_bundle(apis["support"], order_id)
        transaction.set_rollback(True)
    return data


@pytest.fixture
def check(tmp_path) -> Callable[..., Report]:
    def _check(data: bytes, expected_key: bytes | None = None) -> Report:
        path = tmp_path / "bundle.zip"
        path.write_bytes(data)
        return verify_bundle(path, expected_key)

    return _check


def deployment_key() -> bytes:
    return keys.public_raw()


# --- rewriting a bundle ----------------------------------------------------------------------


def replace_members(data: bytes, wanted: dict[str, bytes | None]) -> bytes:
    """The zip with some members replaced, removed (None) or added."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename not in wanted:
                target.writestr(info.filename, source.read(info.filename))
        for name, content in wanted.items():
            if content is not None:
                target.writestr(name, content)
    return out.getvalue()


def read_json(data: bytes, name: str) -> Any:
    return json.loads(members(data)[name])


def dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode()


def event_lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in members(data)["events.jsonl"].splitlines()]


def with_events(data: bytes, lines: list[dict[str, Any]]) -> bytes:
    text = b"".join(json.dumps(line, ensure_ascii=False).encode() + b"\n" for line in lines)
    return replace_members(data, {"events.jsonl": text})


def edited(line: dict[str, Any], change: Callable[[dict], None], *, rehash: bool) -> dict:
    body = json.loads(line["body"])
    change(body)
    new = {**line, "body": canonical_json(body).decode()}
    if rehash:
        new["hash"] = event_hash(new["body"].encode())
    return new


def rechain(lines: list[dict[str, Any]], start: int) -> list[dict[str, Any]]:
    """What a forger does after changing event ``start - 1``: every later event points at
    the new hash before it and gets its own new hash."""
    lines = list(lines)
    for n in range(start, len(lines)):
        previous = lines[n - 1]["hash"]

        def link(body: dict, previous: str = previous) -> None:
            body["prev"] = previous

        lines[n] = edited(lines[n], link, rehash=True)
    return lines


def index_of(lines: list[dict[str, Any]], type: str, **payload: Any) -> int:
    for n, line in enumerate(lines):
        body = json.loads(line["body"])
        if body["type"] == type and all(body["payload"].get(k) == v for k, v in payload.items()):
            return n
    raise LookupError(type)


def first_reason(report: Report) -> Reason:
    assert not report.ok
    return report.failures[0].reason


# --- an untouched bundle ---------------------------------------------------------------------


def test_an_untouched_bundle_verifies(original, check):
    report = check(original, deployment_key())
    assert report.ok, report.failures
    assert report.events == len(event_lines(original)) > 15
    assert report.tree_size >= report.events


def test_verify_needs_no_django():
    code = "import sys, handover.records.verify; sys.exit(any('django' in m for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- the events ------------------------------------------------------------------------------


def _change_message(body: dict) -> None:
    body["payload"]["body"] = "I never asked for a logo."


def test_an_event_edited_without_its_hash_fails_on_the_hash(original, check):
    lines = event_lines(original)
    n = index_of(lines, "message.posted")
    lines[n] = edited(lines[n], _change_message, rehash=False)
    report = check(with_events(original, lines))
    assert first_reason(report) == R.EVENT_HASH_MISMATCH
    assert f"event {n + 1} (id {lines[n]['id']}, seq {lines[n]['seq']})" in str(report.failures[0])
    assert R.CHAIN_BROKEN not in report.reasons  # the next event still links to the recorded hash


def test_an_event_edited_with_a_new_hash_is_not_in_the_signed_tree(original, check):
    lines = event_lines(original)
    n = index_of(lines, "message.posted")
    lines[n] = edited(lines[n], _change_message, rehash=True)
    report = check(with_events(original, lines))
    assert first_reason(report) == R.INCLUSION_FAILED
    assert R.EVENT_HASH_MISMATCH not in report.reasons
    assert R.CHAIN_BROKEN in report.reasons  # the event after it still names the old hash
    assert R.MESSAGE_MISMATCH in report.reasons


def test_an_event_edited_and_the_chain_rebuilt_after_it_is_not_in_the_signed_tree(original, check):
    lines = event_lines(original)
    n = index_of(lines, "message.posted")
    lines[n] = edited(lines[n], _change_message, rehash=True)
    report = check(with_events(original, rechain(lines, n + 1)))
    assert first_reason(report) == R.INCLUSION_FAILED
    assert not {R.CHAIN_BROKEN, R.EVENT_HASH_MISMATCH} & set(report.reasons)
    failed = [f for f in report.failures if f.reason == R.INCLUSION_FAILED]
    assert len(failed) == len(lines) - n  # the edited event and every one after it


def test_a_removed_event_breaks_the_chain(original, check):
    lines = event_lines(original)
    n = index_of(lines, "order.transition", action="request_cancellation")
    report = check(with_events(original, lines[:n] + lines[n + 1 :]))
    assert first_reason(report) == R.CHAIN_BROKEN


def test_a_removed_first_event_leaves_a_chain_that_starts_too_late(original, check):
    report = check(with_events(original, event_lines(original)[1:]))
    assert first_reason(report) == R.CHAIN_START


def test_a_removed_last_event_is_caught_by_the_signed_manifest(original, check):
    report = check(with_events(original, event_lines(original)[:-1]))
    assert first_reason(report) == R.MANIFEST_MISMATCH
    assert "events.jsonl" in str(report.failures[0])


def test_two_swapped_events_break_the_chain(original, check):
    lines = event_lines(original)
    n = index_of(lines, "order.transition", action="request_cancellation")
    lines[n], lines[n + 1] = lines[n + 1], lines[n]
    report = check(with_events(original, lines))
    assert first_reason(report) == R.CHAIN_BROKEN


def test_an_inserted_event_with_a_rebuilt_chain_is_not_in_the_signed_tree(original, check):
    lines = event_lines(original)
    n = index_of(lines, "order.transition", action="decline_cancellation")
    model = json.loads(lines[n]["body"])
    forged_body = {
        **model,
        "type": "message.posted",
        "payload": {"message_id": 999, "body": "OK, cancel it with a full refund."},
        "prev": lines[n - 1]["hash"],
    }
    body = canonical_json(forged_body).decode()
    # A leaf index and proof borrowed from a real event: the best a forger can do.
    forged = {"id": 10**6, "seq": lines[n]["seq"], "body": body, "hash": event_hash(body.encode())}
    lines.insert(n, forged)
    report = check(with_events(original, rechain(lines, n + 1)))
    assert first_reason(report) == R.INCLUSION_FAILED
    assert "id 1000000" in str(report.failures[0])
    assert not {R.CHAIN_BROKEN, R.EVENT_HASH_MISMATCH} & set(report.reasons)


def test_an_event_of_another_order_is_refused(original, check):
    lines = event_lines(original)
    lines[3] = edited(lines[3], lambda b: b.update(order=b["order"] + 1), rehash=True)
    assert first_reason(check(with_events(original, lines))) == R.ORDER_MISMATCH


def test_a_missing_proof_fails_inclusion(original, check):
    proofs = read_json(original, "proofs.json")[1:]
    report = check(replace_members(original, {"proofs.json": dump(proofs)}))
    assert first_reason(report) == R.INCLUSION_FAILED
    assert "no proof" in str(report.failures[0])


# --- what the events vouch for ---------------------------------------------------------------


def test_an_edited_message_fails(original, check):
    messages = read_json(original, "messages.json")
    messages[0]["body"] = "Please cancel."
    report = check(replace_members(original, {"messages.json": dump(messages)}))
    assert first_reason(report) == R.MESSAGE_MISMATCH
    assert f"Message {messages[0]['id']}" in str(report.failures[0])


def test_a_reference_file_with_another_hash_fails(original, check):
    attachments = read_json(original, "attachments.json")
    attachments[0]["sha256"] = hashlib.sha256(b"another photo").hexdigest()
    report = check(replace_members(original, {"attachments.json": dump(attachments)}))
    assert first_reason(report) == R.ATTACHMENT_MISMATCH
    assert "from entry 1 on" in str(report.failures[0])
    assert R.MANIFEST_MISMATCH in report.reasons


def test_a_removed_reference_file_list_fails(original, check):
    report = check(replace_members(original, {"attachments.json": None}))
    assert first_reason(report) == R.ATTACHMENT_MISMATCH
    assert "attachments.json is missing" in str(report.failures[0])


def test_a_reference_file_swapped_in_its_event_fails(original, check):
    lines = event_lines(original)
    n = index_of(lines, "message.posted")

    def swap(body: dict) -> None:
        body["payload"]["files"][0]["sha256"] = "0" * 64

    lines[n] = edited(lines[n], swap, rehash=True)
    report = check(with_events(original, lines))
    assert first_reason(report) == R.INCLUSION_FAILED
    assert R.ATTACHMENT_MISMATCH in report.reasons


def test_a_removed_message_fails(original, check):
    messages = read_json(original, "messages.json")[1:]
    report = check(replace_members(original, {"messages.json": dump(messages)}))
    assert first_reason(report) == R.MESSAGE_MISMATCH


def receipt_names(data: bytes) -> list[str]:
    return sorted(name for name in members(data) if name.startswith("receipts/"))


def test_a_file_hash_changed_in_a_receipt_fails_its_signature(original, check):
    name = receipt_names(original)[0]
    receipt = read_json(original, name)
    receipt["files"][0]["sha256"] = "0" * 64
    report = check(replace_members(original, {name: dump(receipt)}))
    assert first_reason(report) == R.RECEIPT_SIGNATURE_INVALID
    assert R.RECEIPT_MISMATCH in report.reasons


def test_receipts_swapped_between_deliveries_do_not_match_their_events(original, check):
    files = members(original)
    first, second = receipt_names(original)
    swapped: dict[str, bytes | None] = {first: files[second], second: files[first]}
    report = check(replace_members(original, swapped))
    assert first_reason(report) == R.RECEIPT_MISMATCH
    assert R.RECEIPT_SIGNATURE_INVALID not in report.reasons


def test_a_file_hash_changed_in_the_delivery_event_fails(original, check):
    lines = event_lines(original)
    n = index_of(lines, "order.transition", action="deliver")

    def change(body: dict) -> None:
        body["payload"]["files"][0]["sha256"] = "0" * 64

    plain = list(lines)
    plain[n] = edited(lines[n], change, rehash=False)
    assert first_reason(check(with_events(original, plain))) == R.EVENT_HASH_MISMATCH
    lines[n] = edited(lines[n], change, rehash=True)
    report = check(with_events(original, rechain(lines, n + 1)))
    assert first_reason(report) == R.INCLUSION_FAILED
    assert R.RECEIPT_MISMATCH in report.reasons


def test_a_changed_preview_image_fails(original, check):
    name = sorted(n for n in members(original) if n.startswith("previews/"))[0]
    picture = bytearray(members(original)[name])
    picture[len(picture) // 2] ^= 0xFF
    report = check(replace_members(original, {name: bytes(picture)}))
    assert first_reason(report) == R.PREVIEW_MISMATCH
    assert name in str(report.failures[0])
    assert R.MANIFEST_MISMATCH in report.reasons


def test_a_removed_preview_fails(original, check):
    name = sorted(n for n in members(original) if n.startswith("previews/"))[-1]
    assert first_reason(check(replace_members(original, {name: None}))) == R.PREVIEW_MISMATCH


def test_changed_terms_and_answers_fail(original, check):
    terms = read_json(original, "terms.json")
    terms["text"] += " The seller keeps all rights."
    report = check(replace_members(original, {"terms.json": dump(terms)}))
    assert first_reason(report) == R.TERMS_MISMATCH
    requirements = read_json(original, "requirements.json")
    requirements["requirements"][1]["answer"] = "red"
    report = check(replace_members(original, {"requirements.json": dump(requirements)}))
    assert first_reason(report) == R.REQUIREMENTS_MISMATCH


def test_an_edited_download_log_fails(original, check):
    downloads = read_json(original, "downloads.json")
    assert downloads
    downloads[-1]["payload"]["bytes"] = 0
    report = check(replace_members(original, {"downloads.json": dump(downloads)}))
    assert first_reason(report) == R.DOWNLOADS_MISMATCH


# --- keys and signatures ---------------------------------------------------------------------


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message)).decode()


def _resigned_head(head: dict[str, Any], key: Ed25519PrivateKey, key_name: str) -> dict:
    head = {**head, "key_id": key_name}
    message = tree_head_message(
        size=head["size"], root=head["root"], signed_at=head["signed_at"], key_id=key_name
    )
    return {**head, "signature": _sign(key, message)}


def _public_key_file(raw: bytes) -> bytes:
    document = {"algorithm": "Ed25519", "key_id": key_id(raw), "public_key": ""}
    document["public_key"] = base64.b64encode(raw).decode()
    return dump(document)


def test_a_tree_head_signed_by_another_key_fails(original, check):
    other = Ed25519PrivateKey.generate()
    head = read_json(original, "tree_head.json")
    forged = _resigned_head(head, other, head["key_id"])  # the key file is unchanged
    report = check(replace_members(original, {"tree_head.json": dump(forged)}))
    assert first_reason(report) == R.TREE_HEAD_SIGNATURE_INVALID
    forged = _resigned_head(head, other, key_id(_raw(other)))
    report = check(replace_members(original, {"tree_head.json": dump(forged)}))
    assert first_reason(report) == R.TREE_HEAD_SIGNATURE_INVALID


def test_another_key_put_in_the_bundle_is_caught_by_the_expected_key(original, check):
    other = Ed25519PrivateKey.generate()
    raw = _raw(other)
    head = _resigned_head(read_json(original, "tree_head.json"), other, key_id(raw))
    forged = replace_members(
        original, {"tree_head.json": dump(head), "public_key.json": _public_key_file(raw)}
    )
    report = check(forged, deployment_key())
    assert first_reason(report) == R.PUBLIC_KEY_MISMATCH
    # Without the expected key, the receipts and the manifest still carry the real signatures.
    assert {R.RECEIPT_SIGNATURE_INVALID, R.MANIFEST_SIGNATURE_INVALID} <= set(check(forged).reasons)


def test_a_bundle_forged_whole_with_another_key_passes_only_without_the_expected_key(
    original, check
):
    """Why ``--key`` matters: whoever holds a key can sign any story. The real key is what a
    forger does not have."""
    other = Ed25519PrivateKey.generate()
    raw = _raw(other)
    lines = event_lines(original)
    n = index_of(lines, "message.posted")
    lines[n] = edited(lines[n], _change_message, rehash=True)
    lines = rechain(lines, n + 1)
    tree = MerkleTree(leaf_hash(line["body"].encode()) for line in lines)
    for seq, line in enumerate(lines):
        line["seq"] = seq
    head: dict[str, Any] = {
        "size": tree.size,
        "root": tree.root().hex(),
        "signed_at": "2030-01-01T00:00:00+00:00",
        "key_id": key_id(raw),
    }
    head["signature"] = _sign(other, tree_head_message(**head))
    proofs = [
        {"seq": s, "proof": [p.hex() for p in tree.inclusion_proof(s)]} for s in range(tree.size)
    ]
    messages = read_json(original, "messages.json")
    body = json.loads(lines[n]["body"])
    for message in messages:
        if message["id"] == body["payload"]["message_id"]:
            message["body"] = body["payload"]["body"]
    downloads = read_json(original, "downloads.json")
    seqs = {line["id"]: line["seq"] for line in lines}
    for entry in downloads:
        entry["seq"] = seqs[entry["event_id"]]
    wanted: dict[str, bytes | None] = {
        "events.jsonl": b"".join(json.dumps(line).encode() + b"\n" for line in lines),
        "downloads.json": dump(downloads),
        "proofs.json": dump(proofs),
        "tree_head.json": dump(head),
        "public_key.json": _public_key_file(raw),
        "messages.json": dump(messages),
    }
    deliveries = {line["seq"]: line for line in lines}
    for name in [m for m in members(original) if m.startswith("receipts/")]:
        receipt = receipt_unsigned(read_json(original, name))
        receipt["event_hash"] = next(
            line["hash"]
            for line in deliveries.values()
            if json.loads(line["body"])["payload"].get("delivery_id") == receipt["delivery_id"]
            and json.loads(line["body"])["payload"].get("action") == "deliver"
        )
        wanted[name] = dump({**receipt, "signature": _sign(other, receipt_message(receipt))})
    forged = replace_members(original, wanted)
    manifest = read_json(forged, "manifest.json")
    files = members(forged)
    manifest["files"] = [
        {"name": name, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}
        for name, content in sorted(files.items())
        if name != "manifest.json"
    ]
    manifest.update(key_id=key_id(raw), tree_size=tree.size)
    manifest["signature"] = _sign(other, bundle_message(manifest))
    forged = replace_members(forged, {"manifest.json": dump(manifest)})

    assert check(forged).ok, check(forged).failures
    report = check(forged, deployment_key())
    assert report.reasons == [R.PUBLIC_KEY_MISMATCH]


# --- the zip itself --------------------------------------------------------------------------


def test_an_edited_manifest_fails(original, check):
    manifest = read_json(original, "manifest.json")
    manifest["files"][0]["sha256"] = "0" * 64
    report = check(replace_members(original, {"manifest.json": dump(manifest)}))
    assert first_reason(report) == R.MANIFEST_MISMATCH
    assert R.MANIFEST_SIGNATURE_INVALID in report.reasons


def test_a_junk_file_added_fails(original, check):
    report = check(replace_members(original, {"notes/extra.txt": b"trust me"}))
    assert report.reasons == [R.MANIFEST_MISMATCH]
    assert "notes/extra.txt is in the zip but not in the manifest" in str(report.failures[0])


def test_an_edited_timeline_fails(original, check):
    page = members(original)["timeline.html"].replace(b"Bigger letters", b"Smaller letters")
    report = check(replace_members(original, {"timeline.html": page}))
    assert report.reasons == [R.MANIFEST_MISMATCH]


def test_a_truncated_or_incomplete_bundle_is_malformed(original, check, tmp_path):
    assert first_reason(check(original[: len(original) // 2])) == R.MALFORMED
    assert first_reason(check(b"not a zip")) == R.MALFORMED
    assert first_reason(check(replace_members(original, {"tree_head.json": None}))) == R.MALFORMED
    broken = replace_members(original, {"proofs.json": b"{not json"})
    assert first_reason(check(broken)) == R.MALFORMED
    assert first_reason(verify_bundle(tmp_path / "missing.zip")) == R.MALFORMED


# --- the command -----------------------------------------------------------------------------


def _run(*args: str) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("verify", *args, stdout=out, stderr=io.StringIO())
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def test_the_command_says_ok_with_a_summary(original, tmp_path):
    path = tmp_path / "ok.zip"
    path.write_bytes(original)
    raw = deployment_key()
    for key in (None, key_id(raw), base64.b64encode(raw).decode()):
        output, error = _run(str(path), *(["--key", key] if key else []))
        assert error is None
        events = len(event_lines(original))
        assert output.startswith(
            f"OK: order {read_json(original, 'manifest.json')['order_id']}, {events} events"
        )
        assert key_id(raw) in output


def test_the_command_fails_with_the_first_reason_or_all_of_them(original, tmp_path):
    lines = event_lines(original)
    n = index_of(lines, "message.posted")
    lines[n] = edited(lines[n], _change_message, rehash=True)
    path = tmp_path / "bad.zip"
    path.write_bytes(with_events(original, lines))
    output, error = _run(str(path))
    assert error is not None and error.returncode == 1
    assert output.splitlines()[0].startswith("FAILED inclusion_failed: event ")
    assert "more; -v 2 lists them all" in output
    output, error = _run(str(path), "-v", "2")
    assert error is not None
    shown = [line.split()[1].rstrip(":") for line in output.splitlines()]
    assert {"inclusion_failed", "chain_broken", "message_mismatch"} <= set(shown)
    output, error = _run(str(path), "--key", "0123456789abcdef")
    assert error is not None and "public_key_mismatch" in output


def test_the_command_refuses_a_bad_key_and_needs_a_bundle_or_log(original, tmp_path):
    with pytest.raises(CommandError, match="key id"):
        call_command("verify", str(tmp_path / "x.zip"), "--key", "not-a-key")
    with pytest.raises(CommandError, match="bundle to check, or --log"):
        call_command("verify")


def test_verify_runs_without_django_too(original, tmp_path, capsys):
    path = tmp_path / "ok.zip"
    path.write_bytes(original)
    assert main([str(path), "--key", key_id(deployment_key())]) == 0
    assert capsys.readouterr().out.startswith("OK: order ")
    Path(path).write_bytes(original[:100])
    assert main([str(path)]) == 1
    assert capsys.readouterr().out.startswith("FAILED malformed:")
