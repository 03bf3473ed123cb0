"""Demo data: a seller, a buyer, a support agent, three offers and an order in each state worth
showing, all made through the real services so the demo behaves exactly as the product does.

Seeding is all or nothing in one transaction and keyed on the demo seller's account, so a second
run finds the data and adds nothing (only fresh API tokens, which are never stored readable).
"""

import struct
import zlib
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from handover.accounts.models import Role, User
from handover.accounts.services import token_create, user_create
from handover.delivery.services import order_deliver
from handover.disputes.models import Dispute
from handover.disputes.services import dispute_open
from handover.offers.models import Offer
from handover.offers.services import OfferFields, offer_create
from handover.orders import cancellation
from handover.orders import services as orders
from handover.orders.models import Order
from handover.orders.rules import State

PASSWORD = "handover-demo"  # public on purpose; passes the password validators
SELLER, BUYER, SUPPORT = "demo-seller", "demo-buyer", "demo-support"

LOGO = OfferFields(
    title="Logo design",
    description="Three logo concepts, then the chosen one in SVG, PNG and PDF.",
    price=12000,
    currency="EUR",
    delivery_days=3,
    revisions=2,
    terms="Terms v1: on completion the buyer gets a perpetual licence to use the logo.",
    requirements=["Company name?", "Colours you like?"],
)
RETOUCH = OfferFields(
    title="Product photo retouching, 10 images",
    description="Background removal, colour correction and shadows for ten product photos.",
    price=4500,
    currency="EUR",
    delivery_days=2,
    revisions=1,
    terms="Terms v1: the buyer may use the retouched photos commercially.",
    requirements=["Link to the raw photos?"],
)
BRAND_BOOK = OfferFields(
    title="Brand book (seller accepts each order)",
    description="A 40-page brand book: logo use, colours, type, tone of voice.",
    price=90000,
    currency="EUR",
    delivery_days=14,
    revisions=3,
    terms="Terms v1: the seller starts once they have accepted the brief.",
    requirements=["Company name?", "Who is your audience?"],
    requires_acceptance=True,
)


@dataclass(frozen=True)
class DemoData:
    seller: User
    buyer: User
    support: User
    orders: list[Order]
    created: bool  # False when an earlier run had seeded it


def demo_seed() -> DemoData:
    """Seed the demo once; later calls return what is there."""
    with transaction.atomic():
        created = not User.objects.filter(username=SELLER).exists()
        if created:
            _seed()
        seller = User.objects.get(username=SELLER)
        return DemoData(
            seller=seller,
            buyer=User.objects.get(username=BUYER),
            support=User.objects.get(username=SUPPORT),
            orders=list(Order.objects.filter(seller=seller).select_related("offer").order_by("id")),
            created=created,
        )


def demo_tokens(data: DemoData) -> dict[str, str]:
    """A fresh API token for each demo login."""
    return {
        user.username: token_create(user=user, label="demo")
        for user in (data.seller, data.buyer, data.support)
    }


def _seed() -> None:
    # Verified, so that the demo's accounts can order and sell at once.
    seller = user_create(
        username=SELLER, password=PASSWORD, email="seller@example.com", verified=True
    )
    buyer = user_create(username=BUYER, password=PASSWORD, email="buyer@example.com", verified=True)
    user_create(
        username=SUPPORT,
        password=PASSWORD,
        email="support@example.com",
        role=Role.SUPPORT,
        verified=True,
    )
    logo, retouch, brand_book = (
        offer_create(seller=seller, fields=fields) for fields in (LOGO, RETOUCH, BRAND_BOOK)
    )
    _completed(logo, buyer, seller)
    _disputed(logo, buyer, seller)
    _cancellation_requested(retouch, buyer, seller)
    _delivered(retouch, buyer, seller)
    _in_progress(logo, buyer, seller)
    _paid(brand_book, buyer, ["Acme Tea", "Tea lovers, 25 to 40"])  # awaiting_acceptance
    _place(retouch, buyer)  # pending_payment


def _place(offer: Offer, buyer: User, answers: list[str] | None = None) -> int:
    answers = answers or [f"Demo answer {i + 1}" for i in range(len(offer.requirements))]
    return orders.order_place(buyer=buyer, offer_id=offer.pk, answers=answers).pk


def _paid(offer: Offer, buyer: User, answers: list[str] | None = None) -> int:
    order_id = _place(offer, buyer, answers)
    orders.order_pay(order_id=order_id, user=buyer)
    return order_id


def _delivered(offer: Offer, buyer: User, seller: User) -> int:
    order_id = _paid(offer, buyer)
    upload = SimpleUploadedFile(f"order-{order_id}.png", demo_png(order_id), "image/png")
    order_deliver(
        order_id=order_id, user=seller, text="Here is the work, as asked.", files=[upload]
    )
    return order_id


def _completed(offer: Offer, buyer: User, seller: User) -> None:
    order_id = _delivered(offer, buyer, seller)
    orders.order_accept(order_id=order_id, user=buyer)


def _disputed(offer: Offer, buyer: User, seller: User) -> None:
    # The fraud Handover exists for: the buyer saw the work, then wants their money back.
    order_id = _delivered(offer, buyer, seller)
    cancellation.order_request_cancellation(
        order_id=order_id, user=buyer, text="I changed my mind.", refund=_total(order_id)
    )
    cancellation.order_decline_cancellation(
        order_id=order_id, user=seller, text="The work is done as the brief asked."
    )
    dispute_open(order_id=order_id, user=buyer, text="I do not like the colours.")


def _cancellation_requested(offer: Offer, buyer: User, seller: User) -> None:
    order_id = _delivered(offer, buyer, seller)
    cancellation.order_request_cancellation(
        order_id=order_id,
        user=buyer,
        text="We only need five of the ten photos now.",
        refund=_total(order_id) // 2,
    )


def _in_progress(offer: Offer, buyer: User, seller: User) -> None:
    order_id = _paid(offer, buyer, ["Acme Tea", "Green and gold"])
    orders.message_post(order_id=order_id, user=seller, text="Thanks! First concepts tomorrow.")


def _total(order_id: int) -> int:
    return Order.objects.values_list("total", flat=True).get(pk=order_id)


def demo_png(seed: int, size: int = 64) -> bytes:
    """A small gradient PNG, different for each seed, made without an imaging library."""
    rows = b"".join(
        b"\x00"
        + b"".join(
            bytes(((x * 4 + seed * 40) % 256, (y * 4) % 256, (seed * 90) % 256))
            for x in range(size)
        )
        for y in range(size)
    )

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def demo_summary(data: DemoData, tokens: dict[str, str], base_url: str) -> str:
    """What the operator reads after seeding: where to go, who to be, what to try."""
    api = f"{base_url}/api/v1"
    lines = [
        "Handover demo "
        + ("seeded." if data.created else "data found (seeded by an earlier run)."),
        "",
        f"  Web app    {base_url}/   (log in with any login below)",
        f"  API docs   {api}/docs",
        f"  OpenAPI    {api}/openapi.json",
        f"  Admin      {base_url}/admin/   (log in as {SUPPORT})",
        "",
        f"  {'role':<9}{'login':<15}{'password':<16}API token (a new one each run)",
    ]
    for role, user in (("seller", data.seller), ("buyer", data.buyer), ("support", data.support)):
        lines.append(f"  {role:<9}{user.username:<15}{PASSWORD:<16}{tokens[user.username]}")
    lines += ["", f"  Orders ({BUYER} buys from {SELLER}):"]
    lines += [f"    #{o.pk:<4} {o.state:<24} {o.offer.title}" for o in data.orders]
    lines += ["", "Try it (copy and paste into a shell):", ""]
    lines += _examples(data, tokens, api)
    lines += [
        "Timers run in the worker beside the server: an unpaid order is abandoned after",
        "HANDOVER_PAYMENT_WINDOW (1h), a delivered one completes after",
        "HANDOVER_AUTO_COMPLETE_AFTER (3d).",
    ]
    return "\n".join(lines) + "\n"


def _examples(data: DemoData, tokens: dict[str, str], api: str) -> list[str]:
    lines = [
        f"  SELLER={tokens[SELLER]}",
        f"  BUYER={tokens[BUYER]}",
        f"  SUPPORT={tokens[SUPPORT]}",
        "",
        "  # the buyer's orders",
        f'  curl -s -H "Authorization: Bearer $BUYER" {api}/orders',
        "",
    ]
    delivered = next((o for o in data.orders if o.state == State.DELIVERED), None)
    if delivered:
        lines += [
            f"  # the buyer accepts order {delivered.pk}: the seller is paid, originals released",
            '  curl -s -X POST -H "Authorization: Bearer $BUYER" \\',
            f'    -H "Idempotency-Key: accept-{delivered.pk}" {api}/orders/{delivered.pk}/accept',
            "",
        ]
    dispute = Dispute.objects.filter(order__seller=data.seller, decided_at__isnull=True).first()
    if dispute:
        lines += [
            f"  # support decides dispute {dispute.pk}: release the money to the seller",
            '  curl -s -X POST -H "Authorization: Bearer $SUPPORT" \\',
            f'    -H "Idempotency-Key: decide-{dispute.pk}" -H "Content-Type: application/json" \\',
            '    -d \'{"outcome": "release", "text": "Delivered as asked."}\' \\',
            f"    {api}/disputes/{dispute.pk}/decision",
            "",
        ]
    lines += [
        "  # the seller's balance",
        f'  curl -s -H "Authorization: Bearer $SELLER" {api}/balance',
        "",
    ]
    return lines
