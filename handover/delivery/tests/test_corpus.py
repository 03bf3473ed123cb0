"""Every hostile or broken file of the corpus against the API: the expected answer, and
nothing left behind by a refusal: no row, no stored object, no scratch file."""

import pytest

from handover.delivery.models import DeliveryFile
from handover.delivery.tests.corpus import CASES, Case
from handover.testing.files import deliver_raw, scratch_files, stored_objects
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import previews_run

# Runs again with files on S3 (SeaweedFS) in `./run test`.
pytestmark = pytest.mark.storage


@pytest.fixture
def corpus_limits(settings):
    settings.HANDOVER_MAX_FILE_SIZE = 1024 * 1024
    settings.HANDOVER_MAX_DELIVERY_SIZE = 3 * 1024 * 1024


@pytest.mark.usefixtures("corpus_limits")
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_file(case: Case, seller_api, buyer_api, order_id):
    before_rows, before_objects = db_snapshot(), stored_objects()
    response = deliver_raw(seller_api, order_id, [(case.filename, case.data)])
    assert response.status_code == case.status, (case.note, response.content)
    if case.status >= 400:
        assert response.json()["error"] == case.error, case.note
        assert response.json()["detail"]
        assert db_snapshot() == before_rows
        assert stored_objects() == before_objects
        assert scratch_files() == set()
        return
    [file] = response.json()["files"]
    assert file["kind"] == case.kind, case.note
    previews_run()
    row = DeliveryFile.objects.get(pk=file["id"])
    if case.preview is not None:
        assert row.preview_state == case.preview, (case.note, row.preview_reason)
    if row.preview_state == "failed":
        assert row.preview_reason  # a reason a person can read
    assert scratch_files() == set()
    # The API still answers afterwards: the worker and the server stayed healthy.
    assert buyer_api.get(f"/files/{file['id']}").status_code == 200
