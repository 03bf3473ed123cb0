"""Every notice's e-mail, to each party it can reach, links to the web page it is about at
HANDOVER_BASE_URL and names no API route; the checker the whole suite runs on sent mail finds
what it looks for."""

import pytest
from django.core import mail
from django.urls import resolve, reverse

from handover.evidence.models import Actor
from handover.lib.links import page_url
from handover.notifications import rules
from handover.notifications.models import Notification
from handover.notifications.rules import Notice, Party
from handover.notifications.services import outbox_send_due
from handover.orders.notices import TRANSITION_NOTICES, transition_notice
from handover.orders.rules import Action, State
from handover.testing.mail import link_problems, sent_mail_problems
from handover.testing.steps import deliver, open_dispute, paid_order

BASE = "https://handover.example/market"
# Every detail a notice may quote, so that every line of every e-mail is written.
PAYLOAD = {
    "from": "in_progress",
    "dispute_id": 3,
    "reason": "Wrong colours",
    "message": "Here it is",
    "rationale": "Read the evidence.",
    "outcome": "split",
    "refund": 500,
    "amount": 1500,
    "enabled": True,
    "body": "Any news?",
}


def every_notice() -> list[tuple[str, Notice, dict]]:
    found = [
        (f"{action}->{target}", transition_notice(action, target), {"action": action, "to": target})
        for action in TRANSITION_NOTICES
        for target in (State.IN_PROGRESS, State.DISPUTED)
    ]
    found += [(str(t), notice, {}) for t, notice in rules.EVENT_NOTICES.items()]
    return found


def email_to(party: Party, event_type: str, notice: Notice, payload: dict) -> str:
    """The e-mail as notifications_for_event writes it for ``party``."""
    page = rules.page_for(event_type, payload, party=party, order_id=10)
    links = {
        page: page_url(page.name, *page.args),
        rules.SETTINGS_PAGE: page_url(rules.SETTINGS_PAGE.name),
    }
    email = rules.email_for(notice, payload, order_id=10, currency="EUR", links=links)
    assert email is not None
    return email.subject + "\n" + email.body


@pytest.mark.parametrize(("name", "notice", "move"), every_notice(), ids=lambda v: str(v))
def test_each_notice_mails_links_to_web_pages_at_the_base_url(settings, name, notice, move):
    settings.HANDOVER_BASE_URL = BASE
    event_type = "order.transition" if move else name
    payload = {**PAYLOAD, **move}
    parties = set().union(*(notice.who(actor) for actor in Actor))
    assert parties, f"{name} mails nobody"
    for party in parties:
        text = email_to(party, event_type, notice, payload)
        assert "/api/" not in text
        links = [word for word in text.split() if "://" in word]
        assert len(links) == 2, text  # the page it is about, then the e-mail choices
        for link in links:
            assert link.startswith(BASE + "/"), link
            match = resolve(link.removeprefix(BASE))
            assert match.namespace == "web" and not match.route.startswith("api/"), link
        assert link_problems(text) == []


@pytest.mark.parametrize(
    ("party", "event_type", "payload", "page"),
    [
        (Party.BUYER, "order.transition", {"dispute_id": 3}, "/orders/10/"),
        (Party.SELLER, "order.transition", {}, "/orders/10/"),
        (Party.SUPPORT, "order.transition", {"dispute_id": 3}, "/support/disputes/3/"),
        (Party.SUPPORT, "report.filed", {"report_id": 4}, "/support/reports/4/"),
        (Party.SELLER, "ledger.cleared", {"amount": 100}, "/balance/"),
    ],
)
def test_each_party_is_sent_to_the_page_it_can_act_on(party, event_type, payload, page):
    found = rules.page_for(event_type, payload, party=party, order_id=10)
    assert reverse(found.name, args=found.args) == page


def test_the_kinds_about_money_and_disputes_cannot_be_switched_off():
    assert rules.SWITCHABLE.isdisjoint({"money", "cancellations", "disputes"})
    assert TRANSITION_NOTICES[Action.PAY].kind == "money"
    assert TRANSITION_NOTICES[Action.DECIDE].kind == "disputes"
    assert transition_notice(Action.EXPIRE_CANCELLATION, State.DISPUTED).kind == "disputes"
    assert rules.EVENT_NOTICES["ledger.cleared"].kind == "money"
    assert rules.EVENT_NOTICES["message.posted"].kind in rules.SWITCHABLE


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Order #10: GET /api/v1/orders/10", "/api/"),
        ("See https://elsewhere.example/orders/10/", "not under HANDOVER_BASE_URL"),
        ("See {base}/no/such/page/", "is no page"),
        ("See {base}/api/v1/orders/10", "/api/"),
        ("See {base}/admin/", "is not a web page"),
    ],
)
def test_the_suite_wide_mail_check_finds_what_it_looks_for(settings, text, problem):
    settings.HANDOVER_BASE_URL = BASE
    found = link_problems(text.format(base=BASE))
    assert any(problem in line for line in found), found
    assert link_problems(f"Order #10: {BASE}/orders/10/") == []


def test_sent_mail_links_each_party_to_its_page(
    settings, offer, buyer, seller, support, buyer_api, seller_api
):
    settings.HANDOVER_BASE_URL = BASE
    order_id = paid_order(buyer_api, offer)
    deliver(seller_api, order_id)
    outbox_send_due()  # the payment's and the delivery's
    mail.outbox.clear()
    dispute_id = open_dispute(buyer_api, order_id, reason="Wrong colours")
    outbox_send_due()

    sent = {message.to[0]: message for message in mail.outbox}
    assert set(sent) == {seller.email, support.email}
    assert f"Order #{order_id}: {BASE}/orders/{order_id}/" in sent[seller.email].body
    assert f"Dispute #{dispute_id}: {BASE}/support/disputes/{dispute_id}/" in (
        sent[support.email].body
    )
    for message in mail.outbox:
        assert f"Choose which e-mails you get: {BASE}/notifications/emails/" in message.body
        assert sent_mail_problems([message]) == []
    notes = Notification.objects.filter(event__payload__dispute_id=dispute_id)
    assert dict(notes.values_list("recipient_id", "path")) == {
        seller.pk: f"/orders/{order_id}/",
        support.pk: f"/support/disputes/{dispute_id}/",
    }
