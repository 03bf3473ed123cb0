from django.core.management.base import BaseCommand, CommandError

from handover.accounts.models import Role
from handover.accounts.services import user_create
from handover.lib.errors import HandoverError


class Command(BaseCommand):
    help = "Manage accounts: `user add NAME --password P [--email E] [--support|--operator]`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Create an account.")
        add.add_argument("name")
        add.add_argument("--password", required=True)
        add.add_argument("--email", default="")
        role = add.add_mutually_exclusive_group()
        role.add_argument("--support", action="store_true", help="A support agent (staff).")
        role.add_argument("--operator", action="store_true", help="An operator (superuser).")

    def handle(self, *args, action: str, **options):
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
            )
        except HandoverError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"created {user.username} (id {user.pk}, {user.get_role_display()})")
