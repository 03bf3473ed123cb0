"""The seller ticks which requirement items a delivery answers; the buyer sees it, support
sees each requirement beside the files delivered for it."""

import importlib
import json

import pytest
from django.apps import apps

from handover.delivery.api import MAX_CHECKLIST_SIZE
from handover.delivery.models import ChecklistItem
from handover.evidence.models import Event, EventType
from handover.testing.files import png_bytes, text_bytes, upload
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import ok

pytestmark = pytest.mark.storage

whole_deliveries = importlib.import_module(
    "handover.delivery.migrations.0007_checklist_files"
).whole_deliveries


def deliver(api, order_id, checklist, *files, **kwargs):
    return api.post(
        f"/orders/{order_id}/deliveries",
        data={
            "text": "Logo and palette",
            "checklist": json.dumps(checklist) if not isinstance(checklist, str) else checklist,
            "files": list(files) or [upload(png_bytes(), "logo.png")],
        },
        **kwargs,
    )


def test_the_checklist_goes_with_the_delivery_and_onto_the_record(seller_api, buyer_api, order_id):
    delivery = ok(
        deliver(
            seller_api, order_id, [{"requirement": 1, "note": "navy and gold"}, {"requirement": 0}]
        ),
        201,
    )
    # No file named: the delivery as a whole (its one file) answers each item.
    whole = [delivery["files"][0]["id"]]
    assert delivery["checklist"] == [
        {"requirement": 0, "question": "Company name?", "note": "", "files": whole},
        {"requirement": 1, "question": "Colours?", "note": "navy and gold", "files": whole},
    ]
    [seen] = ok(buyer_api.get(f"/orders/{order_id}/deliveries"))
    assert seen["checklist"] == delivery["checklist"]
    event = Event.objects.get(type=EventType.ORDER_TRANSITION, payload__action="deliver")
    assert event.payload["checklist"] == [
        {"requirement": 0, "note": ""},
        {"requirement": 1, "note": "navy and gold"},
    ]


def test_support_sees_each_requirement_beside_the_files_delivered_for_it(
    seller_api, buyer_api, support_api, order_id
):
    first = ok(deliver(seller_api, order_id, [{"requirement": 0, "note": "the name set"}]), 201)
    ok(buyer_api.act(order_id, "request-revision", {"text": "Colours too"}))
    second = ok(
        deliver(seller_api, order_id, [{"requirement": 1}], upload(text_bytes(5), "palette.txt")),
        201,
    )
    rows = ok(support_api.get(f"/orders/{order_id}/checklist"))
    assert [r["question"] for r in rows] == ["Company name?", "Colours?"]
    assert rows[0]["answer"]  # the buyer's answer, beside what was delivered for it
    assert rows[0]["delivered"] == [
        {
            "id": first["files"][0]["id"],
            "name": "logo.png",
            "kind": "image",
            "delivery_id": first["id"],
            "note": "the name set",
        }
    ]
    assert [d["name"] for d in rows[1]["delivered"]] == ["palette.txt"]
    assert rows[1]["delivered"][0]["delivery_id"] == second["id"]


def test_each_requirement_lists_only_the_files_the_seller_ticked_for_it(
    seller_api, buyer_api, support_api, order_id
):
    files = [upload(png_bytes(), "logo.png"), upload(text_bytes(5), "palette.txt")]
    ticks = [{"requirement": 0, "files": [0]}, {"requirement": 1, "files": [1], "note": "hex"}]
    delivery = ok(deliver(seller_api, order_id, ticks, *files), 201)
    logo, palette = (f["id"] for f in delivery["files"])
    assert [t["files"] for t in delivery["checklist"]] == [[logo], [palette]]
    [seen] = ok(buyer_api.get(f"/orders/{order_id}/deliveries"))
    assert seen["checklist"] == delivery["checklist"]
    rows = ok(support_api.get(f"/orders/{order_id}/checklist"))
    assert [[d["name"] for d in r["delivered"]] for r in rows] == [["logo.png"], ["palette.txt"]]
    event = Event.objects.get(type=EventType.ORDER_TRANSITION, payload__action="deliver")
    assert event.payload["checklist"] == [
        {"requirement": 0, "note": "", "files": [logo]},
        {"requirement": 1, "note": "hex", "files": [palette]},
    ]


@pytest.mark.parametrize(
    "checklist",
    [
        [{"requirement": 0, "files": [1]}],  # the delivery has one file, number 0
        [{"requirement": 0, "files": [-1]}],
        [{"requirement": 0, "files": [0, 0]}],
        [{"requirement": 0, "files": ["0"]}],
        [{"requirement": 0, "files": [True]}],
        [{"requirement": 0, "files": 0}],
    ],
    ids=str,
)
def test_a_tick_naming_files_the_delivery_lacks_is_refused(
    seller_api, order_id, checklist, nothing_left_behind
):
    before = db_snapshot()
    response = deliver(seller_api, order_id, checklist)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "bad_checklist"
    assert db_snapshot() == before
    nothing_left_behind()


@pytest.mark.parametrize(
    "checklist",
    [
        [{"requirement": 2}],
        [{"requirement": -1}],
        [{"requirement": 0}, {"requirement": 0}],
        [{"requirement": True}],
        [{"requirement": "0"}],
        [{"requirement": 0, "note": 5}],
        [{"requirement": 0, "extra": 1}],
        [{"note": "no item"}],
        {"requirement": 0},
        "not json",
        [{"requirement": 0, "note": "x" * 2001}],
    ],
    ids=str,
)
def test_a_bad_checklist_is_refused_and_leaves_nothing_behind(
    seller_api, order_id, checklist, nothing_left_behind
):
    before = db_snapshot()
    response = deliver(seller_api, order_id, checklist)
    assert response.status_code == 400, response.content
    assert response.json()["error"] in ("bad_checklist", "invalid")
    assert db_snapshot() == before
    nothing_left_behind()


@pytest.mark.parametrize(
    "checklist",
    [
        "[" * 100_000 + "]" * 100_000,  # past Python's recursion limit
        "[" * 100_000,
        '[{"requirement": 0}, ' + "[" * 20 + "]" * 20 + "]",  # one level past the limit
    ],
    ids=["100000-closed", "100000-open", "21-levels"],
)
def test_a_checklist_nested_too_deep_is_400_and_leaves_nothing_behind(
    seller_api, order_id, checklist, nothing_left_behind
):
    before = db_snapshot()

    response = deliver(seller_api, order_id, checklist)

    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"] == "too_deep"
    assert "20 levels" in response.json()["detail"]
    assert db_snapshot() == before
    nothing_left_behind()


def test_a_checklist_larger_than_any_real_one_is_400(seller_api, order_id, nothing_left_behind):
    before = db_snapshot()
    padding = " " * (MAX_CHECKLIST_SIZE + 1)

    response = deliver(seller_api, order_id, f'[{{"requirement": 0}}{padding}]')

    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"] == "too_long"
    assert db_snapshot() == before
    nothing_left_behind()


def test_the_migration_gives_items_ticked_before_it_their_whole_delivery(seller_api, order_id):
    files = [upload(png_bytes(), "logo.png"), upload(text_bytes(5), "palette.txt")]
    ok(
        deliver(
            seller_api, order_id, [{"requirement": 0, "files": [1]}, {"requirement": 1}], *files
        ),
        201,
    )
    item_files = ChecklistItem.files.through.objects
    item_files.all().delete()  # as every item was before items named their files

    whole_deliveries(apps, None)

    names = {
        item.requirement: sorted(f.name for f in item.files.all())
        for item in ChecklistItem.objects.all()
    }
    assert names == {0: ["logo.png", "palette.txt"], 1: ["logo.png", "palette.txt"]}
