"""The bytes that are hashed and signed, in one place, for the writer and the verifier alike.
Nothing here needs Django or a database: ``handover verify`` uses it offline."""

import hashlib
from typing import Any

from handover.lib.canonical import canonical_json

# Version 1 recorded an event under SHA-256(body). Version 2 records it under its RFC 9162 leaf
# hash, SHA-256(0x00 || body): one hash is both the link the order's next event carries and the
# event's leaf in the Merkle log, so checking the whole log hashes each body once, not twice.
# A body says its version ("v"); the verifiers take both.
EVENT_VERSION = 2
EVENT_VERSIONS = (1, 2)
TREE_HEAD_CONTEXT = "handover/tree-head/1"
RECEIPT_CONTEXT = "handover/delivery-receipt/1"


def event_body(
    *,
    order_id: int | None,
    type: str,
    actor_id: int | None,
    actor_role: str,
    created_at: str,
    payload: dict[str, Any],
    prev_hash: str,
    version: int = EVENT_VERSION,
) -> bytes:
    """An event as canonical JSON: what its hash covers and what the Merkle leaf holds."""
    return canonical_json(
        {
            "v": version,
            "order": order_id,
            "type": type,
            "actor": actor_id,
            "role": actor_role,
            "at": created_at,
            "payload": payload,
            "prev": prev_hash,
        }
    )


def event_hash(body: bytes, version: int = EVENT_VERSION) -> str:
    """The hash an event of that version is recorded under, in hex."""
    if version == 1:
        return hashlib.sha256(body).hexdigest()
    if version == 2:
        return hashlib.sha256(b"\x00" + body).hexdigest()
    raise ValueError(f"no event version {version}")


def tree_head_message(*, size: int, root: str, signed_at: str, key_id: str) -> bytes:
    """What the deployment key signs for a tree head."""
    return canonical_json(
        {
            "context": TREE_HEAD_CONTEXT,
            "size": size,
            "root": root,
            "signed_at": signed_at,
            "key_id": key_id,
        }
    )


def receipt_message(receipt: dict[str, Any]) -> bytes:
    """What the deployment key signs for a delivery receipt (the receipt has its context)."""
    return canonical_json({**receipt, "context": RECEIPT_CONTEXT})


def seal_hash(salt: str, values: dict[str, Any]) -> str:
    """The hash an event's payload holds for values kept from its readers (``SealedValues``):
    salted, so that an address cannot be found by trying every one."""
    return hashlib.sha256(canonical_json({"salt": salt, "values": values})).hexdigest()
