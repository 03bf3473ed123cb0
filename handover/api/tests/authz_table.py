"""Who may call what: every route of the API, the web pages and the admin, for each role, in
each order state. ``test_authz_table.py`` makes every request and compares; a route of the
URLconf missing here, or an entry naming no route, fails it.

Roles
    anonymous   no token, no session
    stranger    signed in, with no part in the order
    buyer       the order's buyer
    seller      the order's seller (and the offer's)
    support     a support agent (``Role.SUPPORT``: staff, the support group's view permissions)
    operator    an operator (``Role.OPERATOR``: a superuser)
    suspended   ``is_active=False``, still holding the token and session it had: checked as
                the order's buyer, its seller and an operator, each suspended

Outcomes
    a status code, or for a page's redirect where it sends the caller: LOGIN (to sign in),
    DONE (back, with a message that it was done) or REFUSED (back, with a message saying why
    not). A plain 302 is any other redirect.

States
    A route naming an order, a file, a delivery or a dispute is asked in every ``State``, of
    an order in that state; ``when`` gives the outcomes that differ there. A file or delivery
    route is asked only in the states where the order has a delivery (from delivered on), a
    dispute route only where it has one (disputed, and cancelled: refunded by support).
    Other routes are asked once.

Bodies
    ``body`` is the smallest valid request body (JSON for the API, a form for pages, "{name}"
    filled in from the test's world), so that authorization decides, not validation. A page
    whose form is sent empty answers 422 to whoever may use it.

How the API refuses (README): 401 without a valid token, 404 for an order (file, delivery)
the caller may not see, 403 for a desk that is not theirs, 409 for a move the transition table
does not allow the caller in this state (a party asking for the other's move included).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from handover.orders.rules import CLOSED, RELEASE_ENDED
from handover.orders.rules import State as S

Outcome = int | str
LOGIN = "302 to sign in"
DONE = "302 done"
REFUSED = "302 refused"

ROLES = ("anonymous", "stranger", "buyer", "seller", "support", "operator", "suspended")
SIGNED_IN = ("stranger", "buyer", "seller", "support", "operator")
NOT_STAFF = ("anonymous", "stranger", "buyer", "seller", "suspended")
When = dict[S | Iterable[S], dict[str, Outcome]]


@dataclass(frozen=True)
class Expected:
    """One route and method: the outcome per role, and where a state changes it."""

    roles: dict[str, Outcome]
    states: dict[S, dict[str, Outcome]] = field(default_factory=dict)
    body: Any = None
    upload: bool = False  # a multipart body with one small text file besides ``body``

    def at(self, role: str, state: S | None) -> Outcome:
        if state is not None and role in self.states.get(state, {}):
            return self.states[state][role]
        return self.roles[role]


def row(roles: dict[str, Outcome], when: When | None = None, **request: Any) -> Expected:
    """A row from every role's outcome, and ``when``: {state or states: {role: outcome}}."""
    assert set(roles) == set(ROLES), f"not the roles: {sorted(set(ROLES) ^ set(roles))}"
    states: dict[S, dict[str, Outcome]] = {}
    for key, outcomes in (when or {}).items():
        assert set(outcomes) <= set(ROLES), f"not roles: {sorted(set(outcomes) - set(ROLES))}"
        for state in [key] if isinstance(key, S) else key:
            states.setdefault(state, {}).update(outcomes)
    return Expected(roles, states, **request)


def public(outcome: Outcome, when: When | None = None, /, **overrides: Any) -> Expected:
    """The same for everyone, signed in or not."""
    return _with(dict.fromkeys(ROLES, outcome), when, overrides)


def api(outcome: Outcome, when: When | None = None, /, **overrides: Any) -> Expected:
    """An API route that needs a token: 401 without a valid one."""
    roles = {**dict.fromkeys(SIGNED_IN, outcome), "anonymous": 401, "suspended": 401}
    return _with(roles, when, overrides)


def api_order(outcome: Outcome, when: When | None = None, /, **overrides: Any) -> Expected:
    """An API route about one order: 401 without a token, 404 for a stranger."""
    return api(outcome, when, stranger=404, **overrides)


def api_move(when: When | None = None, /, **overrides: Any) -> Expected:
    """A move of the order: 409 for whoever the table does not allow it, in this state."""
    return api_order(409, when, **overrides)


def page(outcome: Outcome, when: When | None = None, /, **overrides: Any) -> Expected:
    """A page that needs a session: to the sign-in page without a valid one."""
    roles = {**dict.fromkeys(SIGNED_IN, outcome), "anonymous": LOGIN, "suspended": LOGIN}
    return _with(roles, when, overrides)


def page_order(outcome: Outcome, when: When | None = None, /, **overrides: Any) -> Expected:
    """An order's page: to sign in without a session, 404 for a stranger."""
    return page(outcome, when, stranger=404, **overrides)


def page_move(when: When | None = None, /, **overrides: Any) -> Expected:
    """An order's action page: back to the order with the reason, unless allowed here."""
    return page_order(REFUSED, when, **overrides)


def desk(outcome: Outcome, when: When | None = None, /, **overrides: Any) -> Expected:
    """A support desk page: 403 for anyone but support, whatever it names."""
    return page(403, when, support=outcome, operator=outcome, **overrides)


def desk_move(when: When | None = None, /, **overrides: Any) -> Expected:
    """A support action on an order: its form where the table allows it (empty, it answers
    422), else back to the order with the reason (a GET) or the form's refusal (409)."""
    return desk(409, when, **overrides)


def reports_desk(outcome: Outcome) -> Expected:
    """A page of the reports desk: 403 for a member (web/views/reports.py)."""
    return page(403, support=outcome, operator=outcome)


def _with(roles: dict[str, Outcome], when: When | None, overrides: dict[str, Any]) -> Expected:
    request = {k: overrides.pop(k) for k in ("body", "upload") if k in overrides}
    return row({**roles, **overrides}, when, **request)


def both(outcome: Outcome) -> dict[str, Outcome]:
    return {"buyer": outcome, "seller": outcome}


def staff(outcome: Outcome) -> dict[str, Outcome]:
    return {"support": outcome, "operator": outcome}


PP, AA, IP = S.PENDING_PAYMENT, S.AWAITING_ACCEPTANCE, S.IN_PROGRESS
DEL, RR, CR = S.DELIVERED, S.REVISION_REQUESTED, S.CANCELLATION_REQUESTED
WORKING = (IP, DEL, RR)  # where either party may ask to cancel
OPEN_TO_DISPUTE = (IP, DEL, RR, CR)
PAID = (AA, *OPEN_TO_DISPUTE, S.DISPUTED, S.COMPLETED)  # a card payment may be charged back
HOLD = S.CHARGEBACK_HOLD

OFFER = {
    "title": "Logo",
    "price": 10000,
    "currency": "EUR",
    "delivery_days": 3,
    "terms": "Licence on completion.",
}
ORDER = "/api/v1/orders/{order_id}"
FILE = "/api/v1/files/{file_id}"
DISPUTE = "/api/v1/disputes/{dispute_id}"

API: dict[str, Expected] = {
    # --- meta and accounts ---
    "GET /api/v1/": public(404),  # nothing at the root: the documents are below
    "POST /api/v1/": public(404),
    "GET /api/v1/health": public(200),
    # Stripe's events: no token, the signature decides; a body without one is refused.
    "POST /api/v1/payments/stripe/webhook": public(400, body={"id": "evt_1"}),
    "GET /api/v1/openapi.json": public(200),
    "POST /api/v1/openapi.json": public(200),
    "GET /api/v1/docs": public(200),
    "POST /api/v1/docs": public(200),
    "POST /api/v1/users": public(
        201, body={"username": "newcomer", "password": "correct-horse-battery-9"}
    ),
    # The buyer's own name and password: a suspended account gets no new token.
    "POST /api/v1/auth/token": public(
        200, suspended=401, body={"username": "{buyer}", "password": "{password}"}
    ),
    "GET /api/v1/me": api(200),
    "GET /api/v1/users/{user_id}/record": api(200),  # the seller's record
    "GET /api/v1/users/{user_id}/reviews": api(200),
    # Reporting the seller: anyone signed in may, about a shared order or in general.
    "POST /api/v1/users/{user_id}/reports": api(201, seller=400, body={"reason": "spam"}),
    "GET /api/v1/reports": api(403, **staff(200)),
    "POST /api/v1/reports/{report_id}/handled": api(403, **staff(200)),
    "GET /api/v1/webhooks": api(200),  # each caller's own
    "POST /api/v1/webhooks": api(201, body={"url": "https://example.com/hook"}),
    "DELETE /api/v1/webhooks/{webhook_id}": api(404, buyer=200),  # the buyer's webhook
    "GET /api/v1/notifications": api(200),
    "POST /api/v1/notifications/read": api(200),
    "GET /api/v1/evidence/key": public(200),
    "GET /api/v1/evidence/tree-head": public(404),  # none signed yet in the test
    "GET /api/v1/balance": api(200),
    "POST /api/v1/payouts": api(409, body={"amount": 100}),  # nothing available to anyone
    # --- offers ---
    "GET /api/v1/offers": public(200),
    "POST /api/v1/offers": api(201, body=OFFER),
    "GET /api/v1/offers/{offer_id}": public(200),
    "PUT /api/v1/offers/{offer_id}": api(404, seller=200, body=OFFER),
    "POST /api/v1/offers/{offer_id}/active": api(404, seller=200, body={"active": True}),
    # --- orders ---
    "GET /api/v1/orders": api(200),  # each caller's own (support: all)
    "POST /api/v1/orders": api(
        201, seller=400, body={"offer_id": "{offer_id}", "answers": ["ACME", "blue"]}
    ),
    f"GET {ORDER}": api_order(200),
    f"PUT {ORDER}/answers": api_move({PP: {"buyer": 200}}, body={"answers": ["ACME", "red"]}),
    # The same with reference files (multipart), or as JSON.
    f"POST {ORDER}/answers": api_move({PP: {"buyer": 200}}, body={"answers": ["ACME", "red"]}),
    f"POST {ORDER}/pay": api_move({PP: {"buyer": 200}}),
    f"POST {ORDER}/confirm-payment": api_move({PP: staff(200)}),
    f"POST {ORDER}/abandon": api_move({PP: {"buyer": 200}}),
    f"POST {ORDER}/accept-order": api_move({AA: {"seller": 200}}),
    f"POST {ORDER}/decline-order": api_move({AA: {"seller": 200}}),
    f"POST {ORDER}/accept": api_move({DEL: {"buyer": 200}}),
    f"POST {ORDER}/request-revision": api_move({DEL: {"buyer": 200}}, body={"text": "Bluer."}),
    f"POST {ORDER}/grant-revision": api_move({OPEN_TO_DISPUTE: {"seller": 200}}),
    f"POST {ORDER}/cancel-late": api_move(),  # no order here is past its due date
    f"POST {ORDER}/request-cancellation": api_move(
        {WORKING: both(200)}, body={"text": "We disagree.", "refund": 1000}
    ),
    # The buyer asked to cancel: the seller answers, the buyer may withdraw.
    f"POST {ORDER}/accept-cancellation": api_move({CR: {"seller": 200}}),
    f"POST {ORDER}/decline-cancellation": api_move({CR: {"seller": 200}}, body={"text": "No."}),
    f"POST {ORDER}/withdraw-cancellation": api_move({CR: {"buyer": 200}}),
    f"POST {ORDER}/open-dispute": api_move(
        {OPEN_TO_DISPUTE: both(200), S.COMPLETED: {"buyer": 200}}, body={"text": "Not as asked."}
    ),
    f"POST {ORDER}/chargeback": api_move({PAID: staff(200)}),
    f"POST {ORDER}/chargeback-won": api_move({HOLD: staff(200)}),
    f"POST {ORDER}/chargeback-lost": api_move({HOLD: staff(200)}),
    # The seller's note for the bank, while the order is on hold for a recorded chargeback.
    f"POST {ORDER}/chargeback-note": api_move({HOLD: {"seller": 200}}, body={"text": "Used."}),
    f"POST {ORDER}/auto-complete": api_move(
        {(AA, *OPEN_TO_DISPUTE): {"buyer": 200}}, body={"enabled": False}
    ),
    # Support may write in an order's chat too (as "support").
    f"POST {ORDER}/messages": api_order(201, body={"text": "Hello."}),
    f"GET {ORDER}/messages": api_order(200),
    # A reference file the buyer sent: both parties and support read it at once, in any state.
    f"GET {ORDER}/attachments/{{attachment_id}}": api_order(200),
    f"GET {ORDER}/events": api_order(200),
    f"GET {ORDER}/evidence": api_order(200),
    f"GET {ORDER}/checklist": api_order(200),
    f"GET {ORDER}/reviews": api_order(200),
    f"POST {ORDER}/review": api_move(
        {CLOSED: both(201)}, **staff(403), body={"rating": 5, "text": "Good."}
    ),
    # --- deliveries and files ---
    f"GET {ORDER}/deliveries": api_order(200),
    # Delivered too: a forgotten file, added before the buyer accepts.
    f"POST {ORDER}/deliveries": api_move(
        {(IP, RR, DEL): {"seller": 201}}, body={"text": "Here it is."}, upload=True
    ),
    f"GET {ORDER}/deliveries/{{delivery_id}}/receipt": api_order(200),
    f"POST {ORDER}/release-early": api_move(
        {RELEASE_ENDED: {"seller": 409}}, seller=200, body={"delivery_id": "{delivery_id}"}
    ),
    f"GET {FILE}": api_order(200),
    f"GET {FILE}/preview": api_order(200),
    f"HEAD {FILE}/preview": api_order(200),
    # Originals: the seller and support always, the buyer once the order completed (not
    # after a refund or a chargeback; no delivery here was released early).
    f"GET {FILE}/original": api_order(200, {S.COMPLETED: {"buyer": 200}}, buyer=403),
    f"HEAD {FILE}/original": api_order(200, {S.COMPLETED: {"buyer": 200}}, buyer=403),
    # "Download all": a delivery's originals as one ZIP, under the same rule.
    "GET /api/v1/deliveries/{delivery_id}/originals.zip": api_order(
        200, {S.COMPLETED: {"buyer": 200}}, buyer=403
    ),
    # --- the support desk ---
    "GET /api/v1/disputes": api(403, **staff(200)),
    f"GET {DISPUTE}": api(403, **staff(200)),
    f"GET {DISPUTE}/timeline": api_order(200),  # the parties' without support's notes
    f"POST {DISPUTE}/notes": api_order(403, **staff(201), body={"text": "Checked the files."}),
    f"POST {DISPUTE}/decision": api(
        403,
        {S.CANCELLED: staff(409)},  # decided already
        **staff(200),
        body={"outcome": "release", "text": "Read the evidence."},
    ),
    # Failed refunds (the world's one went through: support's retry gets 409).
    "GET /api/v1/support/refunds": api(403, **staff(200)),
    "POST /api/v1/support/refunds/{refund_id}/retry": api(
        403, **staff(409), body={"text": "The card works again."}
    ),
}

WEB_ORDER = "/orders/{order_id}"
WEB: dict[str, Expected] = {
    # --- accounts ---
    "GET /signup/": public(302, anonymous=200, suspended=200),
    "POST /signup/": public(302, anonymous=422, suspended=422),
    "GET /login/": public(302, anonymous=200, suspended=200),
    "POST /login/": public(302, anonymous=200, suspended=200),
    "GET /logout/": public(405),
    "POST /logout/": public(302),
    "GET /account/password/": page(200),
    "POST /account/password/": page(200),
    "GET /account/": page(200),
    "POST /account/": page(405),
    "GET /account/email/": page(405),
    "POST /account/email/": page(422),
    "GET /account/email/verify/": page(405),
    "POST /account/email/verify/": page(DONE),  # "already confirmed", or a new link sent
    # An e-mail's link, here without its token: refused, on the account or the sign-in page.
    "GET /account/email/verified/": page(REFUSED),
    "POST /account/email/verified/": public(405),
    "GET /account/email/confirm/": page(REFUSED),
    "POST /account/email/confirm/": public(405),
    "GET /account/time-zone/": page(405),
    "POST /account/time-zone/": page(422),
    "GET /account/data/": page(200),
    "POST /account/data/": page(405),
    # Password reset: for anyone, signed in or not; the same answer whatever the address.
    "GET /password-reset/": public(200),
    "POST /password-reset/": public(200),
    "GET /password-reset/sent/": public(200),
    "POST /password-reset/sent/": public(405),
    "GET /password-reset/confirm/": public(200),  # without a good link: the page says so
    "POST /password-reset/confirm/": public(200),
    "GET /password-reset/done/": public(200),
    "POST /password-reset/done/": public(405),
    # --- offers ---
    "GET /": public(200),
    "POST /": public(405),
    "GET /offers/{offer_id}/": public(200),
    "POST /offers/{offer_id}/": public(405),
    "GET /offers/mine/": page(200),
    "POST /offers/mine/": page(405),
    "GET /offers/new/": page(200),
    "POST /offers/new/": page(422),
    "GET /offers/{offer_id}/edit/": page(404, seller=200),
    "POST /offers/{offer_id}/edit/": page(404, seller=422),
    "GET /offers/{offer_id}/active/": page(405),
    "POST /offers/{offer_id}/active/": page(404, seller=DONE),
    "GET /offers/{offer_id}/order/": page(200),
    "POST /offers/{offer_id}/order/": page(
        DONE, seller=422, body={"answer_0": "ACME", "answer_1": "blue"}
    ),
    # --- orders ---
    "GET /orders/": page(200),
    "POST /orders/": page(405),
    "GET /sales/": page(200),
    "POST /sales/": page(405),
    f"GET {WEB_ORDER}/": page_order(200),
    f"POST {WEB_ORDER}/": page(405),
    f"GET {WEB_ORDER}/pay/": page(405),
    f"POST {WEB_ORDER}/pay/": page_move({PP: {"buyer": DONE}}),
    f"GET {WEB_ORDER}/abandon/": page_move({PP: {"buyer": 200}}),
    f"POST {WEB_ORDER}/abandon/": page_move({PP: {"buyer": DONE}}),
    f"GET {WEB_ORDER}/accept-order/": page(405),
    f"POST {WEB_ORDER}/accept-order/": page_move({AA: {"seller": DONE}}),
    f"GET {WEB_ORDER}/decline-order/": page_move({AA: {"seller": 200}}),
    f"POST {WEB_ORDER}/decline-order/": page_move({AA: {"seller": DONE}}),
    f"GET {WEB_ORDER}/deliver/": page_move({(IP, RR, DEL): {"seller": 200}}),
    f"POST {WEB_ORDER}/deliver/": page_move(
        {(IP, RR, DEL): {"seller": DONE}}, body={"text": "Here it is."}, upload=True
    ),
    f"GET {WEB_ORDER}/accept/": page_move({DEL: {"buyer": 200}}),
    f"POST {WEB_ORDER}/accept/": page_move({DEL: {"buyer": DONE}}),
    f"GET {WEB_ORDER}/request-revision/": page_move({DEL: {"buyer": 200}}),
    f"POST {WEB_ORDER}/request-revision/": page_move({DEL: {"buyer": 422}}),
    # The page offers a revision once the included ones are used (revision_requested here).
    f"GET {WEB_ORDER}/grant-revision/": page_move({RR: {"seller": 200}}),
    f"POST {WEB_ORDER}/grant-revision/": page_move({RR: {"seller": DONE}}),
    f"GET {WEB_ORDER}/auto-complete/": page(405),
    f"POST {WEB_ORDER}/auto-complete/": page_move(
        {(AA, *OPEN_TO_DISPUTE): {"buyer": DONE}}, body={"enabled": "off"}
    ),
    f"GET {WEB_ORDER}/cancel-late/": page_move(),  # no order here is past its due date
    f"POST {WEB_ORDER}/cancel-late/": page_move(),
    f"GET {WEB_ORDER}/request-cancellation/": page_move({WORKING: both(200)}),
    f"POST {WEB_ORDER}/request-cancellation/": page_move({WORKING: both(422)}),
    f"GET {WEB_ORDER}/accept-cancellation/": page_move({CR: {"seller": 200}}),
    f"POST {WEB_ORDER}/accept-cancellation/": page_move({CR: {"seller": DONE}}),
    f"GET {WEB_ORDER}/decline-cancellation/": page_move({CR: {"seller": 200}}),
    f"POST {WEB_ORDER}/decline-cancellation/": page_move({CR: {"seller": 422}}),
    f"GET {WEB_ORDER}/withdraw-cancellation/": page(405),
    f"POST {WEB_ORDER}/withdraw-cancellation/": page_move({CR: {"buyer": DONE}}),
    f"GET {WEB_ORDER}/open-dispute/": page_move(
        {OPEN_TO_DISPUTE: both(200), S.COMPLETED: {"buyer": 200}}
    ),
    f"POST {WEB_ORDER}/open-dispute/": page_move(
        {OPEN_TO_DISPUTE: both(422), S.COMPLETED: {"buyer": 422}}
    ),
    f"GET {WEB_ORDER}/messages/": page(405),
    # Back to the chat (a plain redirect); support may write there too, as in the API.
    f"POST {WEB_ORDER}/messages/": page_order(302, body={"text": "Hello."}),
    f"GET {WEB_ORDER}/answers/": page_move({PP: {"buyer": 200}}),
    f"POST {WEB_ORDER}/answers/": page_move(
        {PP: {"buyer": DONE}}, body={"answer_0": "ACME", "answer_1": "red"}
    ),
    f"GET {WEB_ORDER}/attachments/{{attachment_id}}/": page_order(200),
    f"POST {WEB_ORDER}/attachments/{{attachment_id}}/": page(405),
    f"GET {WEB_ORDER}/evidence/": page_order(200),
    f"POST {WEB_ORDER}/evidence/": page(405),
    f"GET {WEB_ORDER}/review/": page_move({CLOSED: both(200)}),
    f"POST {WEB_ORDER}/review/": page_move({CLOSED: both(422)}),
    # Only the parties report each other from an order; support may not.
    f"GET {WEB_ORDER}/report/": page_order(200, **staff(REFUSED)),
    f"POST {WEB_ORDER}/report/": page_order(422, **staff(REFUSED)),
    f"GET {WEB_ORDER}/deliveries/{{delivery_id}}/release/": page_move(
        {RELEASE_ENDED: {"seller": REFUSED}}, seller=200
    ),
    # The seller's note for the bank, while the order is on hold for a recorded chargeback.
    f"GET {WEB_ORDER}/chargeback-note/": page_move({HOLD: {"seller": 200}}),
    f"POST {WEB_ORDER}/chargeback-note/": page_move(
        {HOLD: {"seller": DONE}}, body={"text": "Used."}
    ),
    f"POST {WEB_ORDER}/deliveries/{{delivery_id}}/release/": page_move(
        {RELEASE_ENDED: {"seller": REFUSED}}, seller=DONE
    ),
    "GET /files/{file_id}/preview/": page_order(200),
    "POST /files/{file_id}/preview/": page(405),
    "GET /files/{file_id}/original/": page_order(200, {S.COMPLETED: {"buyer": 200}}, buyer=REFUSED),
    "POST /files/{file_id}/original/": page(405),
    "GET /deliveries/{delivery_id}/originals.zip": page_order(
        200, {S.COMPLETED: {"buyer": 200}}, buyer=REFUSED
    ),
    "POST /deliveries/{delivery_id}/originals.zip": page(405),
    # --- money ---
    "GET /balance/": page(200),
    "POST /balance/": page(405),
    "GET /balance/payout/": page(200),
    "POST /balance/payout/": page(422),
    # Linking a Stripe account: back to the payout page where payouts do not go through Stripe.
    "GET /balance/payout/link/": page(405),
    "POST /balance/payout/link/": page(302),
    "GET /balance/payout/return/": page(302),
    "POST /balance/payout/return/": page(405),
    "GET /balance/payout/refresh/": page(302),
    "POST /balance/payout/refresh/": page(405),
    # --- notifications ---
    "GET /notifications/": page(200),
    "POST /notifications/": page(405),
    "GET /notifications/read/": page(405),
    "POST /notifications/read/": page(DONE),
    "GET /notifications/emails/": page(200),
    "POST /notifications/emails/": page(DONE),  # nothing ticked: all that may go off does
    # --- the support desk ---
    "GET /support/disputes/": desk(200),
    "POST /support/disputes/": desk(405),
    "GET /support/disputes/{dispute_id}/": desk(200),
    "POST /support/disputes/{dispute_id}/": desk(405),
    "GET /support/disputes/{dispute_id}/notes/": desk(405),
    "POST /support/disputes/{dispute_id}/notes/": desk(422),
    "GET /support/disputes/{dispute_id}/decision/": desk(405),
    "POST /support/disputes/{dispute_id}/decision/": desk(422, {S.CANCELLED: staff(REFUSED)}),
    "GET /support/disputes/{dispute_id}/assign/": desk(405),
    "POST /support/disputes/{dispute_id}/assign/": desk(DONE, {S.CANCELLED: staff(REFUSED)}),
    # --- the support console ---
    "GET /support/": desk(200),
    "POST /support/": desk(405),
    "GET /support/orders/": desk(200),
    "POST /support/orders/": desk(405),
    "GET /support/orders/{order_id}/": desk(200),
    "POST /support/orders/{order_id}/": desk(405),
    # The world's orders are paid with the test provider: no transfer waits to be confirmed.
    "GET /support/orders/{order_id}/confirm-payment/": desk(REFUSED),
    "POST /support/orders/{order_id}/confirm-payment/": desk_move(),
    "GET /support/orders/{order_id}/chargeback/": desk(REFUSED, {PAID: staff(200)}),
    "POST /support/orders/{order_id}/chargeback/": desk_move({PAID: staff(422)}),
    "GET /support/orders/{order_id}/chargeback-won/": desk(REFUSED, {HOLD: staff(200)}),
    "POST /support/orders/{order_id}/chargeback-won/": desk_move({HOLD: staff(422)}),
    "GET /support/orders/{order_id}/chargeback-lost/": desk(REFUSED, {HOLD: staff(200)}),
    # Sends the answer to an open Stripe dispute; the world's chargebacks are support's own.
    "GET /support/orders/{order_id}/chargeback-submit/": desk(405),
    "POST /support/orders/{order_id}/chargeback-submit/": desk(REFUSED),
    "POST /support/orders/{order_id}/chargeback-lost/": desk_move({HOLD: staff(422)}),
    "GET /support/orders/{order_id}/settle-cancellation/": desk(REFUSED, {CR: staff(200)}),
    "POST /support/orders/{order_id}/settle-cancellation/": desk_move({CR: staff(422)}),
    "GET /support/orders/{order_id}/open-dispute/": desk(
        REFUSED, {(*OPEN_TO_DISPUTE, S.COMPLETED): staff(200)}
    ),
    "POST /support/orders/{order_id}/open-dispute/": desk_move(
        {(*OPEN_TO_DISPUTE, S.COMPLETED): staff(422)}
    ),
    # --- failed refunds (the world's one went through: a retry is refused; an empty form: 422)
    "GET /support/refunds/": desk(200),
    "POST /support/refunds/": desk(405),
    "GET /support/refunds/{refund_id}/retry/": desk(REFUSED),
    "POST /support/refunds/{refund_id}/retry/": desk(422),
    # --- the reports desk and a user's standing (an empty form: 422) ---
    **{
        f"{method} /support/{path}": reports_desk(outcome)
        for path, (get, post) in {
            "reports/": (200, 405),
            "reports/{report_id}/": (200, 405),
            "reports/{report_id}/handled/": (405, 422),
            "users/{user_id}/": (200, 405),
            "users/{user_id}/warn/": (405, 422),
            "users/{user_id}/suspend/": (405, 422),
            "users/{user_id}/reinstate/": (405, 422),
        }.items()
        for method, outcome in (("GET", get), ("POST", post))
    },
}


# --- the admin -------------------------------------------------------------------------------
#
# Staff only: everyone else is sent to sign in. What support may do there is the support
# group's view permissions (accounts.services.SUPPORT_VIEWS); the operator is a superuser,
# limited only by the ModelAdmins that keep the record read-only.

Access = dict[str, Outcome]  # "METHOD page" -> outcome, for each page of a model


def _access(*, view: Outcome, add: Outcome, change: Outcome, delete: Outcome) -> Access:
    """A model's pages, asked with GET and POST: the list and the history (``view``), the
    add page, the change page (shown with ``view``, sent with ``change``) and the delete
    page; "{object_id}/" only redirects to the change page."""
    pages = {"": view, "{object_id}/history/": view, "add/": add, "{object_id}/delete/": delete}
    access = {f"{method} {page}": o for page, o in pages.items() for method in ("GET", "POST")}
    access |= {"GET {object_id}/change/": view, "POST {object_id}/change/": change}
    return access | {"GET {object_id}/": 302, "POST {object_id}/": 302}


NONE = _access(view=403, add=403, change=403, delete=403)
VIEW = _access(view=200, add=403, change=403, delete=403)
FULL = _access(view=200, add=200, change=200, delete=200)
# django-axes' records: the operator unlocks (changes or deletes) but never adds.
UNLOCK = _access(view=200, add=403, change=DONE, delete=200)

# Each registered model: what support, then the operator, may do.
ADMIN_MODELS: dict[str, tuple[Access, Access]] = {
    "accounts/user": (VIEW, FULL),
    "accounts/apitoken": (NONE, FULL),
    "auth/group": (NONE, FULL),
    "offers/offer": (VIEW, FULL),
    "orders/order": (VIEW, VIEW),
    "orders/message": (VIEW, VIEW),
    "delivery/delivery": (VIEW, VIEW),
    "disputes/dispute": (VIEW, VIEW),
    "disputes/supportnote": (NONE, VIEW),
    "evidence/event": (VIEW, VIEW),
    "ledger/account": (VIEW, VIEW),
    "ledger/ledgertransaction": (VIEW, VIEW),
    "django_tasks_database/dbtaskresult": (NONE, VIEW),
    "axes/accessattempt": (NONE, UNLOCK),
    "axes/accesslog": (NONE, UNLOCK),
    "axes/accessfailurelog": (NONE, UNLOCK),
}


def admin(support: Outcome, operator: Outcome | None = None, **others: Outcome) -> Expected:
    roles = {**dict.fromkeys(NOT_STAFF, LOGIN), **others}
    return row({**roles, "support": support, "operator": support if operator is None else operator})


def _admin_models() -> dict[str, Expected]:
    rows = {}
    for model, (support, operator) in ADMIN_MODELS.items():
        for key, outcome in support.items():
            method, page = key.split(" ")
            rows[f"{method} /admin/{model}/{page}"] = admin(outcome, operator[key])
    return rows


ADMIN: dict[str, Expected] = {
    "GET /admin/": admin(200),
    "POST /admin/": admin(200),
    "GET /admin/{app_label}/": admin(200),  # the orders app
    "POST /admin/{app_label}/": admin(200),
    "GET /admin/login/": admin(302, **dict.fromkeys(NOT_STAFF, 200)),
    "POST /admin/login/": admin(200, **dict.fromkeys(NOT_STAFF, 200)),
    # Not staff: back to the admin's index (and from there to sign in).
    "GET /admin/logout/": admin(405, **dict.fromkeys(NOT_STAFF, 302)),
    "POST /admin/logout/": admin(302, **dict.fromkeys(NOT_STAFF, 302)),
    "GET /admin/password_change/": admin(200),
    "POST /admin/password_change/": admin(200),
    "GET /admin/password_change/done/": admin(200),
    "POST /admin/password_change/done/": admin(405),
    "GET /admin/jsi18n/": admin(200),
    "POST /admin/jsi18n/": admin(405),
    "GET /admin/autocomplete/": admin(403),  # asked without a field to complete
    "POST /admin/autocomplete/": admin(405),
    "GET /admin/r/{content_type_id}/{object_id}/": admin(404),  # an order has no page URL
    "POST /admin/r/{content_type_id}/{object_id}/": admin(404),
    "GET /admin/{url}": admin(404),
    "POST /admin/{url}": admin(404),
    "GET /admin/accounts/user/{id}/password/": admin(403, 200),
    "POST /admin/accounts/user/{id}/password/": admin(403, 200),
    **_admin_models(),
}
