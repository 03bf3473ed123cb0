"""Shared pieces for the delivery tests: orders ready for a delivery, delivered files with
their previews made, and a check that nothing is left in storage or scratch space. The
sample files and the views of storage are in handover.testing.files."""

from collections.abc import Callable, Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from handover.testing.files import deliver_files, scratch_files, stored_objects
from handover.testing.steps import ok, paid_order, previews_run


@pytest.fixture
def order_id(buyer_api, offer) -> int:
    """A paid order, waiting for the seller's delivery."""
    return paid_order(buyer_api, offer)


@pytest.fixture
def delivered(seller_api, order_id) -> Callable[..., dict]:
    """Deliver files on the paid order and make their previews; returns the delivery."""

    def _deliver(*files: SimpleUploadedFile) -> dict:
        delivery = ok(deliver_files(seller_api, order_id, *files), 201)
        previews_run()
        return delivery

    return _deliver


@pytest.fixture
def nothing_left_behind() -> Iterator[Callable[[], None]]:
    """Call it at the end of a test: no stored object and no scratch file was added."""
    objects, scratch = stored_objects(), scratch_files()

    def _check() -> None:
        assert stored_objects() == objects
        assert scratch_files() == scratch

    yield _check
