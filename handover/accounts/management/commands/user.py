from django.core.management.base import BaseCommand, CommandError

from handover.accounts.models import Role, User
from handover.accounts.services import email_verified_mark, user_create
from handover.lib.errors import HandoverError


class Command(BaseCommand):
    help = (
        "Manage accounts: `user add NAME --password P [--email E] [--support|--operator] "
        "[--verified]`, `user verify NAME...`."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Create an account.")
        add.add_argument("name")
        add.add_argument("--password", required=True)
        add.add_argument("--email", default="")
        role = add.add_mutually_exclusive_group()
        role.add_argument("--support", action="store_true", help="A support agent (staff).")
        role.add_argument("--operator", action="store_true", help="An operator (superuser).")
        add.add_argument(
            "--verified", action="store_true", help="Take the address as confirmed (no link)."
        )
        verify = sub.add_parser("verify", help="Take accounts' addresses as confirmed.")
        verify.add_argument("names", nargs="+")

    def handle(self, *args, action: str, **options):
        if action == "verify":
            self._verify(options["names"])
            return
        role = Role.MEMBER
        if options["support"]:
            role = Role.SUPPORT
        elif options["operator"]:
            role = Role.OPERATOR
        try:
            user = user_create(
                username=options["name"],
                password=options["password"],
                email=options["email"],
                role=role,
                verified=options["verified"],
            )
        except HandoverError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"created {user.username} (id {user.pk}, {user.get_role_display()})")

    def _verify(self, names: list[str]) -> None:
        for name in names:
            user = User.objects.filter(username=name).first()
            if user is None:
                raise CommandError(f"No account named {name!r}.")
            try:
                email_verified_mark(user=user)
            except HandoverError as exc:
                raise CommandError(f"{name}: {exc.detail}") from None
            self.stdout.write(f"{user.username}: {user.email} is confirmed")
