""" "Download all": every original of one delivery as one ZIP archive, written as it is sent.

Who may take it is the single original's rule (``buyer_may_take_originals``); a refused buyer
gets the same error, and the refusal goes on the record as one event naming the archive.

What the record says about an archive, file by file, in the event a single original's
download writes (``file.original_downloaded``, with ``"archive"`` in its payload):

- a file whose data and CRC were all handed to the connection: its size, ``complete: true``;
- the file the transfer stopped in, when the client went away mid-archive: the bytes of it
  handed over, ``complete: false`` (part of an original is still part of the work);
- files not begun: nothing.

"Handed to the connection" is what the server can know: a byte written to the socket may still
sit in the kernel's buffers (a few MiB at most; a proxy in front is asked not to buffer, with
``X-Accel-Buffering: no``) when the client goes, so the record may say a little more than
arrived, never less, and never a file that was not begun.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from handover.delivery.models import Delivery, DeliveryFile
from handover.delivery.services import (
    Visit,
    buyer_may_take_originals,
    file_served_record,
    originals_refused,
)
from handover.delivery.storage import stored_blocks
from handover.delivery.zipstream import Entry, ZipLayout, safe_names, zip_chunks
from handover.lib.errors import NotFound
from handover.lib.ranges import SentRange
from handover.orders.rules import Actor
from handover.orders.services import role_of

BLOCK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class OriginalsArchive:
    delivery: Delivery
    number: int  # the delivery's place on its order, from 1
    files: list[DeliveryFile]
    layout: ZipLayout

    @property
    def filename(self) -> str:
        return f"order-{self.delivery.order_id}-delivery-{self.number}-originals.zip"

    @property
    def length(self) -> int:
        return self.layout.length


def originals_archive(*, delivery_id: int, visit: Visit) -> OriginalsArchive:
    """The archive of a delivery's originals, if ``visit.user`` may take them; a refusal
    is recorded and raised as for one original. Strangers are told there is no delivery."""
    delivery = Delivery.objects.select_related("order__buyer").filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound("No such delivery.")
    order = delivery.order
    try:
        actor = role_of(order, visit.user)
    except NotFound:
        raise NotFound("No such delivery.") from None
    files = list(delivery.files.all())
    if actor == Actor.BUYER and not buyer_may_take_originals(order, delivery):
        originals_refused(
            order_id=order.pk,
            visit=visit,
            actor=actor,
            # The first file names the refusal in the timeline; the archive says it was all.
            payload={
                "file_id": files[0].pk,
                "sha256": files[0].sha256,
                "bytes": 0,
                "archive": {"delivery_id": delivery.pk, "files": [f.pk for f in files]},
            },
        )
    names = safe_names(f.name for f in files)
    entries = [
        Entry(name=name, size=f.size, modified=delivery.created_at)
        for name, f in zip(names, files, strict=True)
    ]
    number = Delivery.objects.filter(order=order, pk__lte=delivery.pk).count()
    return OriginalsArchive(delivery, number, files, ZipLayout(entries))


def archive_stream(archive: OriginalsArchive, visit: Visit) -> Iterator[bytes]:
    """The archive's bytes, each original read from storage as it is sent and put on the
    order's record once handed over (see the module's docstring)."""

    def read(index: int) -> Iterator[bytes]:
        return stored_blocks(archive.files[index].storage_key, BLOCK_SIZE)

    def progress(index: int, handed: int, complete: bool) -> None:
        file = archive.files[index]
        sent = SentRange(200, handed, "" if complete else f"0-{handed - 1}")
        marker = {"delivery_id": archive.delivery.pk, "name": archive.layout.entries[index].name}
        file_served_record(
            file=file, visit=visit, sent=sent, archive=marker | {"complete": complete}
        )

    return zip_chunks(archive.layout, read, progress)
