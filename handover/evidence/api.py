import base64

from ninja import Router, Schema

from handover.api.errors import refusals
from handover.evidence import keys
from handover.evidence.models import TreeHead
from handover.lib.bounds import Id
from handover.lib.errors import NotFound
from handover.records.bundle import bundle_served, receipt_for, tree_head_out

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


@router.get("/evidence/tree-head", response={200: TreeHeadOut, **refusals(404)}, auth=None)
def latest_tree_head(request):
    """The latest signed tree head of the deployment's Merkle log."""
    head = TreeHead.objects.order_by("-size").first()
    if head is None:
        raise NotFound("No tree head has been signed yet.", code="no_tree_head")
    return tree_head_out(head)


@router.get(
    "/orders/{order_id}/evidence",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The bundle, a zip (application/zip).",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        }
    },
)
def evidence_bundle(request, order_id: Id):
    """The order's evidence bundle (a zip; see ``records.bundle``), for its parties and
    support. ``handover verify`` checks it offline."""
    return bundle_served(order_id=order_id, user=request.auth)


class ReceiptFileOut(Schema):
    name: str
    size: int
    sha256: str
    kind: str


class ReceiptOut(Schema):
    order_id: int
    delivery_id: int
    created_at: str
    message: str
    files: list[ReceiptFileOut]
    event_hash: str
    signature: str  # Ed25519 over chain.receipt_message(the receipt without "signature")


@router.get("/orders/{order_id}/deliveries/{delivery_id}/receipt", response=ReceiptOut)
def delivery_receipt(request, order_id: Id, delivery_id: Id):
    """A delivery's receipt signed by the deployment key: what was delivered, when, and the
    hash of the delivery's event in the order's record."""
    return receipt_for(order_id=order_id, delivery_id=delivery_id, user=request.auth)
