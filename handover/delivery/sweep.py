"""What a killed process leaves behind, removed once it is old enough to be sure.

A refused or failed upload deletes what it wrote, and a failed preview its parts. A process
killed in the middle (SIGKILL, a power cut) cannot: the stored object has no row and never
will. The sweep lists the stored files under ``originals/``, ``previews/`` and ``references/``
order by order, and deletes those that no delivered file, preview part or reference file
names and that are older than ``ORPHAN_AGE``; and it empties the scratch folder of what is
that old. No upload or preview takes a day, so nothing still being written is touched."""

import logging
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from django.core.files.storage import Storage, default_storage
from django.utils import timezone

from handover.delivery.models import DeliveryFile, PreviewPart
from handover.delivery.storage import scratch_dir
from handover.orders.models import Attachment

logger = logging.getLogger(__name__)

ORPHAN_AGE = timedelta(hours=24)
# Each kind of stored file, by the folder its keys start with (one subfolder per order).
_FOLDERS: dict[str, type[DeliveryFile] | type[PreviewPart] | type[Attachment]] = {
    "originals": DeliveryFile,
    "previews": PreviewPart,
    "references": Attachment,  # the buyer's reference files (one folder "new" while placing)
}


def storage_sweep(now: datetime | None = None, storage: Storage | None = None) -> dict[str, int]:
    """Delete stored files no row names and scratch files, older than ``ORPHAN_AGE``."""
    now = now or timezone.now()
    storage = storage or default_storage
    cutoff = now - ORPHAN_AGE
    removed = {"stored": 0, "scratch": _scratch_sweep(cutoff)}
    for folder, model in _FOLDERS.items():
        try:  # S3 has no folders to ask about: list, and take nothing found as empty
            orders, _files = storage.listdir(folder)
        except FileNotFoundError:
            continue
        for order in orders:
            prefix = f"{folder}/{order}/"
            _dirs, names = storage.listdir(prefix.rstrip("/"))
            known = set(
                model.objects.filter(storage_key__startswith=prefix).values_list(
                    "storage_key", flat=True
                )
            )
            for name in names:
                key = prefix + name
                if key in known or storage.get_modified_time(key) > cutoff:
                    continue
                storage.delete(key)
                removed["stored"] += 1
                logger.warning("deleted %s: stored over %s ago, no row names it", key, ORPHAN_AGE)
    return removed


def _scratch_sweep(cutoff: datetime) -> int:
    oldest = cutoff.timestamp()
    removed = 0
    for path in Path(scratch_dir()).iterdir():
        try:
            if path.lstat().st_mtime > oldest:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue  # its own process finished with it meanwhile
        removed += 1
    return removed
