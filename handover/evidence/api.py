import base64

from ninja import Router, Schema

from handover.evidence import keys
from handover.evidence.models import TreeHead
from handover.lib.errors import NotFound

router = Router()


class KeyOut(Schema):
    algorithm: str
    key_id: str
    public_key: str  # raw 32 bytes, base64
    pem: str


@router.get("/evidence/key", response=KeyOut, auth=None)
def evidence_key(request):
    """The deployment's public key: tree heads and delivery receipts verify against it."""
    raw = keys.public_raw()
    return {
        "algorithm": "Ed25519",
        "key_id": keys.key_id(raw),
        "public_key": base64.b64encode(raw).decode(),
        "pem": keys.public_pem(),
    }


class TreeHeadOut(Schema):
    size: int
    root: str
    signed_at: str
    key_id: str
    signature: str


@router.get("/evidence/tree-head", response=TreeHeadOut, auth=None)
def latest_tree_head(request):
    """The latest signed tree head of the deployment's Merkle log."""
    head = TreeHead.objects.order_by("-size").first()
    if head is None:
        raise NotFound("No tree head has been signed yet.", code="no_tree_head")
    return {
        "size": head.size,
        "root": head.root,
        "signed_at": head.signed_at.isoformat(),
        "key_id": head.key_id,
        "signature": head.signature,
    }
