"""The API's middleware: the JSON shape of a 405, and idempotency.

Idempotency-Key for every POST under /api/: the same key and body get the stored answer
again, the same key with another body gets 422, the same key while the first request runs gets
409. Without a key the request runs as usual.

A key is claimed before the request runs and its answer stored after, each in a short
transaction of its own. If the process dies in between, the claim stays unanswered and a retry
gets 409 rather than running the request a second time.

The claim and the answer are plain SQL: they run for every POST, each holding SQLite's single
writer lock, and the ORM took ten times longer than the statements themselves."""

import hashlib
import json

from django.core.exceptions import RequestDataTooBig
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from handover.api.auth import api_user_admit, request_api_user
from handover.api.models import IdempotencyRecord
from handover.trust.rules import AccountSuspended

# Answers that must not be stored: a fresh token is a secret.
NOT_STORED = ("/api/v1/auth/token",)
MAX_KEY = 200
_TABLE = IdempotencyRecord._meta.db_table


def idempotency_scope(user, request: HttpRequest) -> str:
    """Whose keys a key is among: each user's own; without a user, the client address's own
    (hashed to fit), so that two clients choosing the same key never get each other's answer."""
    if user:
        return f"user:{user.pk}"
    address = request.META.get("REMOTE_ADDR", "")
    return f"anon:{hashlib.sha256(address.encode()).hexdigest()[:32]}"


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status)


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    if request.content_type == "multipart/form-data":
        # The boundary differs between retries, so hash what the form says, not its bytes;
        # each file by its content's hash (taken while it streamed in), not its name and size.
        fields = sorted((k, v) for k in request.POST for v in request.POST.getlist(k))
        files = sorted(
            (k, f.name, f.size, _content_sha256(f))
            for k in request.FILES
            for f in request.FILES.getlist(k)
        )
        digest.update(json.dumps([fields, files]).encode())
    else:
        digest.update(request.body)
    return digest.hexdigest()


def _content_sha256(file) -> str:
    """The hash the upload handler took while the file streamed in, or one taken now."""
    known = getattr(file, "sha256", None)
    if known:
        return known
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def idempotency_key_taken(scope: str, key: str) -> bool:
    """Whether a request already claimed this key."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {_TABLE} WHERE scope = %s AND {connection.ops.quote_name('key')} = %s",
            [scope, key],
        )
        return cursor.fetchone() is not None


def _claim(scope: str, key: str, fingerprint: str) -> int | None:
    """Insert an unanswered record for the key; its id, or None when the key is taken."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    # A transaction of its own, so that the request itself runs in the services' short
    # transactions and not under one long write lock. No savepoint is needed: a taken key is
    # not an error here (ON CONFLICT), so nothing has to be rolled back.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} (scope, {connection.ops.quote_name('key')}, fingerprint,"
            " status, content_type, body, created_at) VALUES (%s, %s, %s, 0, '', %s, %s)"
            " ON CONFLICT DO NOTHING RETURNING id",
            [scope, key, fingerprint, b"", now],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _answer(record_id: int, response: HttpResponse) -> None:
    """Store the answer on the claimed record; every answer, a failure too, so a retry never
    runs a request twice. A streamed answer is not kept: its claim goes."""
    # In a transaction, so that on SQLite the write queues for the writer lock.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if response.streaming:
            cursor.execute(f"DELETE FROM {_TABLE} WHERE id = %s", [record_id])
        else:
            cursor.execute(
                f"UPDATE {_TABLE} SET status = %s, content_type = %s, body = %s WHERE id = %s",
                [
                    response.status_code,
                    response.get("Content-Type", ""),
                    response.content,
                    record_id,
                ],
            )


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get("Idempotency-Key")
        if (
            request.method != "POST"
            or key is None
            or not request.path.startswith("/api/")
            or request.path in NOT_STORED
        ):
            return self.get_response(request)
        if not key or len(key) > MAX_KEY or not key.isprintable():
            return _error(
                400, "bad_idempotency_key", f"Use a key of 1 to {MAX_KEY} printable characters."
            )
        user = request_api_user(request)
        if user is not None:
            # Refused for who the caller is, not for what they asked: not kept under the key,
            # so the same request runs once support reinstates them.
            try:
                api_user_admit(user)
            except AccountSuspended as refusal:
                return _error(refusal.status, refusal.code, refusal.detail)
        scope = idempotency_scope(user, request)
        try:
            fingerprint = _fingerprint(request)
        except RequestDataTooBig:
            return _error(413, "too_large", "The request body is too large.")
        record_id = _claim(scope, key, fingerprint)
        if record_id is None:
            return self._replay(scope, key, fingerprint)
        response = self.get_response(request)
        _answer(record_id, response)
        return response

    def _replay(self, scope: str, key: str, fingerprint: str) -> HttpResponse:
        record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if record is None or record.status == 0:
            return _error(
                409,
                "idempotency_in_progress",
                "A request with this key is still running, or stopped before it answered: look "
                "at the order before retrying with a new key.",
            )
        if record.fingerprint != fingerprint:
            return _error(
                422, "idempotency_key_reused", "This Idempotency-Key was used for another request."
            )
        response = HttpResponse(
            bytes(record.body), status=record.status, content_type=record.content_type
        )
        response["Idempotent-Replayed"] = "true"
        return response


class MethodNotAllowedMiddleware:
    """django-ninja answers a method a route lacks with a plain-text 405; every other API error
    is {"error", "detail"} JSON, so this one is too, its Allow header kept."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code != 405
            or not request.path.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        allowed = response.get("Allow", "")
        detail = f"{request.method} is not allowed here; use {allowed}."
        replaced = _error(405, "method_not_allowed", detail)
        replaced["Allow"] = allowed
        return replaced
