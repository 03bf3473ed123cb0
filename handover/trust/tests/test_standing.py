"""Who may change whose standing (``rules.standing_refusal``), and the services' guards that
the web's forms rely on: a rationale, one open suspension, a report about the user."""

import pytest

from handover.accounts.models import Role
from handover.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from handover.testing.actors import make_user
from handover.trust.models import Suspension
from handover.trust.rules import standing_refusal
from handover.trust.services import report_create, user_reinstate, user_suspend, user_warn

M, S, OP = Role.MEMBER, Role.SUPPORT, Role.OPERATOR


@pytest.mark.parametrize(
    ("agent_role", "subject_role", "allowed"),
    [
        (M, M, False),
        (S, M, True),
        (OP, M, True),
        (S, S, False),
        (OP, S, True),
        (S, OP, False),
        (OP, OP, False),
    ],
)
def test_support_acts_on_members_and_only_an_operator_on_an_agent(
    agent_role, subject_role, allowed
):
    refusal = standing_refusal(
        agent_id=1, agent_role=agent_role, subject_id=2, subject_role=subject_role
    )
    assert (refusal is None) == allowed


@pytest.mark.parametrize("role", [S, OP])
def test_nobody_acts_on_their_own_account(role):
    assert standing_refusal(agent_id=7, agent_role=role, subject_id=7, subject_role=role)


def test_the_services_check_text_then_the_user_then_the_state(support, seller, buyer):
    with pytest.raises(InvalidInput) as missing:
        user_suspend(user_id=seller.pk, agent=support, rationale=" ")
    assert missing.value.code == "bad_rationale"
    with pytest.raises(InvalidInput) as hostile:
        user_warn(user_id=seller.pk, agent=support, text="a\u202eb", rationale="why")
    assert hostile.value.code == "bad_warning"
    with pytest.raises(NotFound):
        user_suspend(user_id=999_999, agent=support, rationale="why")
    with pytest.raises(PermissionDenied):
        user_suspend(user_id=support.pk, agent=support, rationale="why")
    with pytest.raises(PermissionDenied):
        user_suspend(user_id=seller.pk, agent=buyer, rationale="why")
    about_buyer = report_create(reporter=seller, subject_id=buyer.pk, reason="spam", text="")
    with pytest.raises(InvalidInput):
        user_suspend(user_id=seller.pk, agent=support, rationale="why", report_id=about_buyer.pk)
    with pytest.raises(Conflict) as not_suspended:
        user_reinstate(user_id=seller.pk, agent=support, rationale="why")
    assert not_suspended.value.code == "not_suspended"
    assert not Suspension.objects.exists()


def test_a_user_has_one_open_suspension_and_may_be_suspended_again_once_reinstated(support, seller):
    user_suspend(user_id=seller.pk, agent=support, rationale="one")
    with pytest.raises(Conflict) as twice:
        user_suspend(user_id=seller.pk, agent=support, rationale="two")
    assert twice.value.code == "already_suspended"
    user_reinstate(user_id=seller.pk, agent=support, rationale="back")
    user_suspend(user_id=seller.pk, agent=support, rationale="three")
    rows = Suspension.objects.filter(user=seller).order_by("id")
    assert [(s.rationale, s.ended_at is None) for s in rows] == [("one", False), ("three", True)]


def test_an_operator_can_be_made_only_outside_the_desk(db):
    operator = make_user("operator", Role.OPERATOR)
    agent = make_user("agent", Role.SUPPORT)
    with pytest.raises(PermissionDenied):
        user_warn(user_id=operator.pk, agent=agent, text="Stop.", rationale="why")
