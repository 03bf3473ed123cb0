"""What ``handover verify BUNDLE`` and ``handover verify --log`` both ask of the record, one
function per check: an event's body against its recorded hash, its link to the event before
it, a leaf against its event's body, an inclusion proof, a tree head's signature, sealed values.
And the report both give: every failure, each a stable reason code and a sentence.

Pure Python, ``cryptography`` and the record's own ``chain`` and ``merkle``: no Django, no
database, so a party's lawyer can run it on a laptop."""

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from handover.evidence.chain import EVENT_VERSIONS, event_hash, seal_hash, tree_head_message
from handover.evidence.merkle import leaf_hash, verify_inclusion


class Reason(StrEnum):
    """Why a check failed; stable, for scripts to match on."""

    MALFORMED = "malformed"  # not a zip, a member missing, JSON that does not parse
    PUBLIC_KEY_MISMATCH = "public_key_mismatch"  # not the key expected (--key)
    TREE_HEAD_SIGNATURE_INVALID = "tree_head_signature_invalid"
    EVENT_HASH_MISMATCH = "event_hash_mismatch"  # a body does not hash to its recorded hash
    ORDER_MISMATCH = "order_mismatch"  # an event of another order
    CHAIN_START = "chain_start"  # the first event has a previous event
    CHAIN_BROKEN = "chain_broken"  # removed, reordered or inserted events
    INCLUSION_FAILED = "inclusion_failed"  # an event not in the signed tree
    TERMS_MISMATCH = "terms_mismatch"
    REQUIREMENTS_MISMATCH = "requirements_mismatch"
    MESSAGE_MISMATCH = "message_mismatch"
    ATTACHMENT_MISMATCH = "attachment_mismatch"  # a reference file not as its event records it
    RECEIPT_SIGNATURE_INVALID = "receipt_signature_invalid"
    RECEIPT_MISMATCH = "receipt_mismatch"  # a receipt that does not match its delivery event
    PREVIEW_MISMATCH = "preview_mismatch"
    DOWNLOADS_MISMATCH = "downloads_mismatch"
    SEALED_MISMATCH = "sealed_mismatch"  # sealed values that are not what the event sealed
    MANIFEST_MISMATCH = "manifest_mismatch"  # a member changed, missing or added
    MANIFEST_SIGNATURE_INVALID = "manifest_signature_invalid"
    # The whole log (--log) only:
    EVENT_COLUMN_MISMATCH = "event_column_mismatch"  # a queryable column differs from the body
    LEAF_HASH_MISMATCH = "leaf_hash_mismatch"
    LOG_GAP = "log_gap"  # leaf indices not 0, 1, 2, ...
    TREE_ROOT_MISMATCH = "tree_root_mismatch"  # a signed head's root is not the leaves' root
    CONSISTENCY_FAILED = "consistency_failed"  # a later head does not extend an earlier one


@dataclass(frozen=True)
class Failure:
    reason: Reason
    detail: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


@dataclass
class Report:
    failures: list[Failure] = field(default_factory=list)
    order_id: int | None = None
    events: int = 0
    withheld: int = 0  # events whose body this reader does not get (their hashes are checked)
    tree_size: int = 0
    key_id: str = ""
    heads: int = 0  # signed tree heads checked (the whole log only)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def reasons(self) -> list[Reason]:
        return [f.reason for f in self.failures]

    def fail(self, reason: Reason, detail: str) -> None:
        self.failures.append(Failure(reason, detail))


def key_id(raw_public: bytes) -> str:
    """A short name for a public key, as ``evidence.keys.key_id`` gives it."""
    return hashlib.sha256(raw_public).hexdigest()[:16]


def signature_valid(raw_public: bytes, message: bytes, signature_b64: object) -> bool:
    if not isinstance(signature_b64, str):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(raw_public).verify(
            base64.b64decode(signature_b64, validate=True), message
        )
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


# --- the checks --------------------------------------------------------------------------------


def body_hash_matches(body: bytes, version: object, recorded: str) -> bool:
    """Whether the body hashes, as its version says events are hashed, to the recorded hash."""
    if type(version) is not int or version not in EVENT_VERSIONS:
        return False
    return event_hash(body, version) == recorded


def link_failure(prev: object, previous: str, *, first: bool) -> Reason | None:
    """The body's previous hash against the recorded hash of the event before it in its order
    (for the first, "": it follows nothing)."""
    if first:
        return None if prev == "" else Reason.CHAIN_START
    return None if prev == previous else Reason.CHAIN_BROKEN


def leaf_matches(stored: bytes, body: bytes) -> bool:
    """Whether a stored leaf is the RFC 9162 leaf hash of its event's body."""
    return stored == leaf_hash(body)


def inclusion_holds(leaf: bytes, index: int, proof: list[bytes], size: int, root: bytes) -> bool:
    """Whether the proof puts the leaf at index in the tree of the signed head's size and root:
    a proof alone does not pin the tree."""
    return verify_inclusion(leaf, index, size, proof, root)


def tree_head_signed(
    public_key: bytes, *, size: int, root: str, signed_at: str, key_id: str, signature: object
) -> bool:
    """Whether the deployment key signed this tree head."""
    message = tree_head_message(size=size, root=root, signed_at=signed_at, key_id=key_id)
    return signature_valid(public_key, message, signature)


def seal_matches(salt: object, values: object, sealed: object) -> bool:
    """Whether values kept from an event's readers hash, with their salt, to what it sealed."""
    if not isinstance(salt, str) or not isinstance(values, dict):
        return False
    return seal_hash(salt, values) == sealed
