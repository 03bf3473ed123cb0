"""The flag rules on hand-made facts: no database."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from handover.disputes.flags import (
    Act,
    DisputeFacts,
    FlagCode,
    Kind,
    TermsVersion,
    flags_raise,
    silences,
)

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)  # the order is paid
H, D = timedelta(hours=1), timedelta(days=1)


def at(delta: timedelta) -> datetime:
    return T0 + delta


def move(when: timedelta, role: str, action: str, text: str = "") -> Act:
    return Act(at(when), role, Kind.MOVE, action=action, text=text)


def message(when: timedelta, role: str, text: str = "ok") -> Act:
    return Act(at(when), role, Kind.MESSAGE, text=text)


def download(when: timedelta, role: str = "buyer", file: str = "logo.png") -> Act:
    return Act(at(when), role, Kind.DOWNLOAD, file=file)


def facts(*acts: Act, **overrides) -> DisputeFacts:
    """A clean order: paid at T0, due three days later, delivered after a day, disputed by
    the buyer an hour after that, looked at two hours later."""
    base = DisputeFacts(
        opened_at=at(D + H),
        until=at(D + 3 * H),
        paid_at=T0,
        due_at=at(3 * D),
        first_delivery_at=at(D),
        terms_version=1,
        offer_terms=(TermsVersion(1, at(-D)),),
        acts=(
            move(timedelta(0), "provider", "pay"),
            move(D, "seller", "deliver", "Here it is"),
            move(D + H, "buyer", "open_dispute", "Not as asked"),
        ),
        silence_window=48 * H,
    )
    if acts:
        base = replace(base, acts=tuple(sorted((*base.acts, *acts), key=lambda a: a.at)))
    return replace(base, **overrides)


def codes(f: DisputeFacts) -> list[str]:
    return [flag.code for flag in flags_raise(f)]


def reason(f: DisputeFacts, code: FlagCode) -> str:
    return next(flag.reason for flag in flags_raise(f) if flag.code == code)


def test_a_clean_order_raises_no_flag():
    assert flags_raise(facts()) == []


# --- originals_then_exit ---


def test_buyer_downloading_an_original_then_opening_a_dispute_is_flagged():
    f = facts(download(D + 30 * timedelta(minutes=1)))
    assert codes(f) == [FlagCode.ORIGINALS_THEN_EXIT]
    assert reason(f, FlagCode.ORIGINALS_THEN_EXIT) == (
        "Buyer downloaded logo.png on 2 May 09:30, then opened a dispute 30 min later."
    )


def test_a_cancellation_request_after_a_download_is_flagged_too():
    f = facts(
        download(D + 0.1 * H, file="final.pdf"), move(D + 0.5 * H, "buyer", "request_cancellation")
    )
    assert reason(f, FlagCode.ORIGINALS_THEN_EXIT).startswith(
        "Buyer downloaded final.pdf on 2 May 09:06, then asked to cancel 24 min later."
    )


def test_the_seller_downloading_their_own_original_is_not_flagged():
    assert codes(facts(download(D + 0.5 * H, role="seller"))) == []


def test_a_download_after_the_dispute_is_not_flagged():
    assert codes(facts(download(D + 2 * H))) == []


def test_a_seller_asking_to_cancel_after_the_buyer_downloaded_is_not_flagged():
    f = facts(
        download(D + 0.1 * H),
        move(D + 0.5 * H, "seller", "request_cancellation"),
        opened_at=at(D + H),
    )
    f = replace(f, acts=tuple(a for a in f.acts if a.action != "open_dispute"))
    assert codes(f) == []


# --- changed_after_start ---


def test_terms_published_after_payment_are_flagged():
    f = facts(offer_terms=(TermsVersion(1, at(-D)), TermsVersion(2, at(12 * H))))
    assert codes(f) == [FlagCode.CHANGED_AFTER_START]
    assert reason(f, FlagCode.CHANGED_AFTER_START) == (
        "Seller published terms v2 on 1 May 21:00, after payment on 1 May 09:00;"
        " this order is bound by v1."
    )


def test_terms_published_before_payment_or_after_the_decision_are_not_flagged():
    before = facts(offer_terms=(TermsVersion(1, at(-D)), TermsVersion(2, at(-H))))
    after = facts(offer_terms=(TermsVersion(1, at(-D)), TermsVersion(2, at(5 * D))))
    assert codes(before) == codes(after) == []


def test_an_order_placed_under_the_newest_terms_is_not_flagged():
    f = facts(terms_version=2, offer_terms=(TermsVersion(1, at(-2 * D)), TermsVersion(2, at(-D))))
    assert codes(f) == []


def test_requirement_answers_changed_after_payment_are_flagged():
    f = facts(Act(at(2 * H), "buyer", Kind.ANSWERS_CHANGED))
    assert reason(f, FlagCode.CHANGED_AFTER_START) == (
        "Buyer changed the requirement answers on 1 May 11:00, after payment on 1 May 09:00."
    )
    assert codes(facts(Act(at(-H), "buyer", Kind.ANSWERS_CHANGED))) == []


def test_nothing_changes_after_start_of_an_order_never_paid():
    assert codes(facts(Act(at(2 * H), "buyer", Kind.ANSWERS_CHANGED), paid_at=None)) == []


# --- late_delivery ---


def test_a_first_delivery_after_the_due_date_is_flagged():
    f = facts(first_delivery_at=at(3 * D + 2 * H), opened_at=at(4 * D), until=at(4 * D))
    assert reason(f, FlagCode.LATE_DELIVERY) == (
        "First delivery on 4 May 11:00, 2 h after the due date (4 May 09:00)."
    )


def test_a_delivery_on_the_due_date_to_the_second_is_in_time():
    assert codes(facts(first_delivery_at=at(3 * D))) == []


def test_nothing_delivered_by_the_due_date_is_flagged():
    f = facts(first_delivery_at=None, opened_at=at(5 * D), until=at(5 * D))
    assert reason(f, FlagCode.LATE_DELIVERY) == (
        "Nothing was delivered by the due date (4 May 09:00); the dispute was opened 2 d later."
    )
    assert codes(facts(first_delivery_at=None)) == []  # disputed within the delivery time


# --- party_silent ---


def test_a_party_silent_past_the_window_after_a_message_is_flagged():
    f = facts(message(2 * H, "buyer", "Any news?"), until=at(D + 3 * H))
    assert codes(f) == []  # the seller answered by delivering within a day
    f = facts(
        message(2 * H, "buyer", "Any news?"),
        first_delivery_at=at(3 * D),
        opened_at=at(3 * D + H),
        until=at(3 * D + 2 * H),
    )
    f = replace(
        f,
        acts=(
            move(timedelta(0), "provider", "pay"),
            message(2 * H, "buyer", "Any news?"),
            move(3 * D, "seller", "deliver"),
            move(3 * D + H, "buyer", "open_dispute"),
        ),
    )
    assert codes(f) == [FlagCode.PARTY_SILENT]
    assert reason(f, FlagCode.PARTY_SILENT) == (
        "Seller did not write or act for 2 d 22 h after the buyer's message of 1 May 11:00."
    )


def only(*acts: Act, **overrides) -> DisputeFacts:
    """The clean order's facts with exactly these acts."""
    return replace(facts(), acts=acts, **overrides)


def test_silence_counts_from_the_first_unanswered_message():
    f = only(
        move(timedelta(0), "provider", "pay"),
        message(2 * H, "buyer"),
        message(40 * H, "buyer"),
        message(51 * H, "seller"),
        until=at(52 * H),
    )
    longest = {s.party: (s.since.at, s.length) for s in silences(f)}
    assert longest == {"seller": (at(2 * H), 49 * H), "buyer": (at(51 * H), H)}
    assert reason(f, FlagCode.PARTY_SILENT) == (
        "Seller did not write or act for 2 d 1 h after the buyer's message of 1 May 11:00."
    )


def test_an_answer_within_the_window_is_not_silence():
    f = only(message(2 * H, "buyer"), message(49 * H, "seller"), until=at(50 * H))
    assert {s.party: s.length for s in silences(f)} == {"seller": 47 * H, "buyer": H}
    assert codes(f) == []


def test_silence_runs_until_now_while_the_dispute_is_open():
    f = facts(until=at(D + H + 48 * H))
    assert codes(f) == []  # exactly the window is not past it
    f = facts(until=at(D + H + 48 * H + timedelta(seconds=1)))
    assert reason(f, FlagCode.PARTY_SILENT) == (
        "Seller did not write or act for 2 d after the buyer's dispute of 2 May 10:00."
    )


def test_reading_is_not_answering():
    f = only(message(2 * H, "buyer"), download(40 * H, role="seller"), until=at(51 * H))
    [silence] = silences(f)
    assert silence.party == "seller" and silence.length == 49 * H


def test_the_timer_and_support_are_not_parties():
    f = only(
        move(timedelta(0), "provider", "pay"),
        move(D, "seller", "deliver"),
        move(D + H, "buyer", "request_cancellation", "Wrong colours"),
        move(D + 50 * H, "timer", "expire_cancellation"),
        message(D + 51 * H, "support", "Looking into it"),
        opened_at=at(D + 50 * H),
        until=at(D + 52 * H),
    )
    assert codes(f) == [FlagCode.PARTY_SILENT]
    assert reason(f, FlagCode.PARTY_SILENT) == (
        "Seller did not write or act for 2 d 3 h after the buyer's cancellation request"
        " of 2 May 10:00."
    )


def test_both_parties_can_be_silent():
    f = only(
        message(timedelta(0), "buyer", "Logo?"),
        message(3 * D, "seller", "Which colours?"),
        move(6 * D, "buyer", "open_dispute"),
        until=at(6 * D),
    )
    assert reason(f, FlagCode.PARTY_SILENT) == (
        "Buyer did not write or act for 3 d after the seller's message of 4 May 09:00."
        " Seller did not write or act for 3 d after the buyer's message of 1 May 09:00."
    )


# --- contact_shared ---


def test_a_party_sharing_contact_details_is_flagged_with_what_they_wrote():
    f = facts(message(2 * H, "seller", "Write me: jane@example.com or +49 170 1234567"))
    assert reason(f, FlagCode.CONTACT_SHARED) == (
        "Seller shared an e-mail address on 1 May 11:00: “jane@example.com” (1 more)."
    )


def test_contact_details_in_a_reason_count_too():
    f = facts(move(D + 0.5 * H, "buyer", "request_revision", "Call me on 0170 1234567"))
    assert reason(f, FlagCode.CONTACT_SHARED) == (
        "Buyer shared a phone number on 2 May 09:30: “0170 1234567”."
    )


def test_support_sharing_contact_details_is_not_flagged():
    assert codes(facts(message(2 * H, "support", "Write to help@example.com"))) == []


def test_flags_come_in_a_fixed_order():
    f = facts(
        message(2 * H, "seller", "telegram?"),
        download(D + 0.5 * H),
        first_delivery_at=at(3 * D + H),
        opened_at=at(3 * D + 2 * H),
        until=at(3 * D + 2 * H),
        offer_terms=(TermsVersion(1, at(-D)), TermsVersion(2, at(H))),
    )
    assert codes(f) == list(FlagCode)
