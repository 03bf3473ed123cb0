import secrets

from django.contrib.auth import authenticate
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from handover.accounts.models import ApiToken, Role, User, token_digest
from handover.accounts.rules import username_normalize, username_refusal, username_skeleton
from handover.lib.errors import Conflict, InvalidInput, NotAuthenticated, Unprocessable
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
def user_create(*, username: str, password: str, email: str = "", role: Role = Role.MEMBER) -> User:
    """Create an account after checking the name, the address and the password's strength.

    The name is stored NFKC-normalised (as Django's own forms do), and refused when it mixes
    scripts or looks like an existing name (422)."""
    username = _username_clean(username)
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
            )
            if role == Role.SUPPORT:
                user.groups.add(support_group_sync())
    except IntegrityError:
        # Another sign-up took the name, or one that looks like it, since the checks above.
        raise Conflict(f"The username {username!r} is taken.", code="username_taken") from None
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
