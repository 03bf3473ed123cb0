import secrets
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.signals import user_logged_in
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from handover.accounts.models import ApiToken, Role, User, token_digest
from handover.accounts.rules import (
    email_same,
    time_zone_valid,
    username_normalize,
    username_refusal,
    username_skeleton,
)
from handover.lib.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    PermissionDenied,
    Unprocessable,
)
from handover.lib.links import page_url
from handover.lib.text import text_check

TOKEN_PREFIX = "hov_"
USERNAME_LENGTH = 150  # AbstractUser.username's max_length
SUPPORT_GROUP = "support"
# What support agents may look at in the admin; every change goes through the services.
SUPPORT_VIEWS = {
    "accounts": ["user"],
    "offers": ["offer", "offerterms"],
    "orders": ["order", "message"],
    "delivery": ["delivery", "deliveryfile"],
    "disputes": ["dispute"],
    "evidence": ["event"],
    "ledger": ["account", "ledgertransaction", "entry"],
}


def support_group_sync() -> Group:
    """The support agents' group with view permissions on the record; made after migrations."""
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    wanted = Permission.objects.filter(
        codename__in=[f"view_{m}" for models in SUPPORT_VIEWS.values() for m in models],
        content_type__app_label__in=list(SUPPORT_VIEWS),
    )
    group.permissions.set(wanted)
    return group


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    email: str = "",
    role: Role = Role.MEMBER,
    time_zone: str = "UTC",
    verified: bool = False,
) -> User:
    """Create an account after checking the name, the address and the password's strength,
    and send the address its verification link (unless ``verified``: the operator vouches).

    The name is stored NFKC-normalised (as Django's own forms do), and refused when it mixes
    scripts or looks like an existing name (422)."""
    username = _username_clean(username)
    if not time_zone_valid(time_zone):
        raise InvalidInput(f"Unknown time zone {time_zone[:64]!r}.", code="bad_time_zone")
    try:
        if email:
            validate_email(email)
        validate_password(password, User(username=username, email=email))
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages)) from None
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"The username {username!r} is taken.", code="username_taken")
    username_check(username)
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=username,
                email=email,
                password=password,
                role=role,
                is_staff=role != Role.MEMBER,
                is_superuser=role == Role.OPERATOR,
                time_zone=time_zone,
                email_verified_at=timezone.now() if verified and email else None,
            )
            if role == Role.SUPPORT:
                user.groups.add(support_group_sync())
    except IntegrityError:
        # Another sign-up took the name, or one that looks like it, since the checks above.
        raise Conflict(f"The username {username!r} is taken.", code="username_taken") from None
    email_verification_send(user=user)
    return user


def _username_clean(raw: str) -> str:
    # The length first: normalising a long string is slow, and can only make it longer.
    if not 1 <= len(raw) <= USERNAME_LENGTH:
        raise InvalidInput(f"The username must have 1 to {USERNAME_LENGTH} characters.")
    username = text_check(
        username_normalize(raw), field="username", limit=USERNAME_LENGTH, one_line=True
    )
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages)) from None
    return username


def username_check(name: str, *, account_id: int | None = None) -> None:
    """Refuse (422) a normalised name that mixes scripts or looks like another account's."""
    refusal = username_refusal(name)
    if refusal:
        raise Unprocessable(refusal, code="username_mixed_scripts")
    lookalikes = User.objects.filter(name_skeleton=username_skeleton(name))
    if account_id is not None:
        lookalikes = lookalikes.exclude(pk=account_id)
    if lookalikes.exists():
        raise Unprocessable(
            "The username is too close to an existing name: it would pass for it.",
            code="username_too_close",
        )


@transaction.atomic
def token_create(*, user: User, label: str = "") -> str:
    """Issue a new bearer token and return it; only its digest is kept."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, digest=token_digest(raw), prefix=raw[:12], label=label)
    return raw


def token_for_credentials(
    *, username: str, password: str, request: HttpRequest | None = None
) -> str:
    """Exchange a username and password for a new token. With the request, this is a sign-in
    like the web's: failures count towards django-axes' lockout, a success clears the count
    and sets the last login (``user_logged_in``, as ``django.contrib.auth.login`` sends)."""
    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        raise NotAuthenticated("Wrong username or password.", code="bad_credentials")
    raw = token_create(user=user, label="api login")
    if request is not None:
        user_logged_in.send(sender=user.__class__, request=request, user=user)
    return raw


def token_user(raw: str) -> User | None:
    """The active user a bearer token belongs to, if any."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    return User.objects.filter(api_tokens__digest=token_digest(raw), is_active=True).first()


# --- e-mail addresses: verification and change ---------------------------------------------------

EMAIL_LENGTH = 254  # AbstractUser.email's max_length
MAX_LINK_TOKEN = 400  # characters; a longer "token" is not one of ours and is not even parsed
_VERIFY_SALT = "handover.accounts.email-verify"
_CHANGE_SALT = "handover.accounts.email-change"


def email_verified_check(user: User) -> None:
    """Refuse (403 ``email_unverified``) what needs a verified address: a first order or offer."""
    if user.email_verified_at is None:
        where = f" to {user.email}" if user.email else ""
        raise PermissionDenied(
            f"Confirm your e-mail address first: follow the link we sent{where}, "
            "or ask for a new one on your account page.",
            code="email_unverified",
        )


def _mail(*, to: str, subject: str, lines: list[str]) -> None:
    """Send one e-mail once the transaction commits: a link for an account not yet saved
    would lead nowhere. A mail server that fails is logged, not the user's error (``robust``):
    the account is made, and the link is asked for again from the account page."""
    message = EmailMessage(subject=subject, body="\n\n".join(lines) + "\n", to=[to])
    transaction.on_commit(message.send, robust=True)


def _lifetime() -> str:
    """How long a link works, in words: "2 days", "1 hour"."""
    minutes = int(settings.HANDOVER_EMAIL_LINK_LIFETIME.total_seconds() // 60)
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{minutes} minutes"


def email_verification_send(*, user: User) -> None:
    """Send the owner a signed link that marks the account's address as theirs."""
    if not user.email or user.email_verified_at is not None:
        return
    token = signing.dumps({"u": user.pk, "e": user.email}, salt=_VERIFY_SALT)
    _mail(
        to=user.email,
        subject="Confirm your e-mail address",
        lines=[
            f"Hello {user.username},",
            "Follow this link to confirm that this address is yours; then you can order and "
            f"publish offers. It works for {_lifetime()}:",
            _link("web:email_verify", token),
            "If you did not sign up, ignore this e-mail.",
        ],
    )


def _link(page: str, token: str) -> str:
    """The page's public address with the signed token in its query."""
    return page_url(page) + "?" + urlencode({"token": token})


def _link_payload(token: str, salt: str) -> dict[str, Any]:
    """What a link's token says, if we signed it and it has not expired; refused otherwise."""
    max_age = settings.HANDOVER_EMAIL_LINK_LIFETIME
    if len(token) > MAX_LINK_TOKEN:
        raise InvalidInput("This link is not valid.", code="bad_link")
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise InvalidInput(
            "This link has expired: ask for a new one.", code="link_expired"
        ) from None
    except signing.BadSignature:
        raise InvalidInput("This link is not valid.", code="bad_link") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        raise InvalidInput("This link is not valid.", code="bad_link")
    return payload


@transaction.atomic
def email_verify(*, token: str) -> User:
    """Mark an address verified from the link sent to it; a link for an address the account no
    longer has does nothing."""
    payload = _link_payload(token, _VERIFY_SALT)
    user = User.objects.select_for_update().filter(pk=payload["u"], is_active=True).first()
    if user is None or user.email != payload.get("e"):
        raise InvalidInput(
            "This link is for an address the account no longer has.", code="bad_link"
        )
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


@transaction.atomic
def email_verified_mark(*, user: User) -> User:
    """Take the account's address as confirmed without a link (the operator's word)."""
    if not user.email:
        raise InvalidInput("The account has no e-mail address.", code="invalid")
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


def _email_clean(raw: str) -> str:
    email = raw.strip()
    if not email or len(email) > EMAIL_LENGTH:
        raise InvalidInput(f"Give an e-mail address of at most {EMAIL_LENGTH} characters.")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages)) from None
    return email


def _email_taken(email: str, *, by_other_than: User) -> bool:
    return User.objects.filter(email__iexact=email).exclude(pk=by_other_than.pk).exists()


def email_change_request(*, user: User, new_email: str) -> str:
    """Send a link to the new address; the account's address changes only when it is followed.
    Refused when the address is the account's already or another account's (in any case)."""
    new_email = _email_clean(new_email)
    if email_same(new_email, user.email):
        raise InvalidInput("That is already your address.", code="email_unchanged")
    if _email_taken(new_email, by_other_than=user):
        raise Conflict("Another account uses this address.", code="email_taken")
    token = signing.dumps({"u": user.pk, "old": user.email, "new": new_email}, salt=_CHANGE_SALT)
    with transaction.atomic():
        _mail(
            to=new_email,
            subject="Confirm your new e-mail address",
            lines=[
                f"Hello {user.username},",
                "You asked to use this address for your Handover account. Follow this link to "
                f"confirm it; it works for {_lifetime()}:",
                _link("web:email_change_confirm", token),
                "Until then your account keeps its current address. If you did not ask for "
                "this, ignore this e-mail.",
            ],
        )
    return new_email


@transaction.atomic
def email_change_confirm(*, token: str) -> User:
    """Put the new address in place (verified: the link reached it) and tell the old one."""
    payload = _link_payload(token, _CHANGE_SALT)
    # The lock keeps two links (two new addresses) from both replacing the same old one.
    user = User.objects.select_for_update().filter(pk=payload["u"], is_active=True).first()
    old, new = payload.get("old"), payload.get("new")
    if user is None or not isinstance(new, str) or user.email != old:
        raise InvalidInput(
            "This link was already used, or the address changed since.", code="bad_link"
        )
    if _email_taken(new, by_other_than=user):
        raise Conflict("Another account uses this address now.", code="email_taken")
    user.email, user.email_verified_at = new, timezone.now()
    user.save(update_fields=["email", "email_verified_at"])
    if old:
        _mail(
            to=old,
            subject="Your e-mail address was changed",
            lines=[
                f"Hello {user.username},",
                f"Your Handover account's e-mail address is now {new}; e-mails go there from now.",
                "If you did not do this, reset your password at once:",
                page_url("web:password_reset"),
            ],
        )
    return user


# --- preferences -------------------------------------------------------------------------------


def time_zone_set(*, user: User, time_zone: str) -> User:
    """Show the user times in ``time_zone`` (an IANA name); refused if the machine knows no such
    zone."""
    if not time_zone_valid(time_zone):
        raise InvalidInput(f"Unknown time zone {time_zone[:64]!r}.", code="bad_time_zone")
    if user.time_zone != time_zone:
        user.time_zone = time_zone
        user.save(update_fields=["time_zone"])
    return user
