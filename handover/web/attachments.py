"""The buyer's reference files on the pages: a refused upload shown beside its field, and the
stored files a service recorded kept (the upload deletes the others when the request ends)."""

from collections.abc import Iterable

from django import forms

from handover.delivery.uploads import UploadSession
from handover.lib.errors import HandoverError
from handover.orders.models import Attachment
from handover.web.http import WebRequest


def upload_refusal_show(request: WebRequest, form: forms.Form) -> HandoverError | None:
    """The upload's refusal (``api.uploads``), put beside the field of the file refused, with
    the form's other errors; None when the upload was taken."""
    refused: HandoverError | None = getattr(request, "upload_error", None)
    if refused is None:
        return None
    form.is_valid()
    name = getattr(request, "upload_error_file", "")
    field = getattr(request, "upload_error_field", "")
    detail = f"{name}: {refused.detail}" if name else refused.detail
    form.add_error(field if field in form.fields else None, detail)
    return refused


def upload_claim(request: WebRequest, attachments: Iterable[Attachment]) -> None:
    session: UploadSession | None = getattr(request, "upload_session", None)
    if session is not None:
        session.claimed.update(a.storage_key for a in attachments)
