from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from units.invitations import InvitationRefused, invitation_resend, invitations_request, users_to_invite


class Command(BaseCommand):
    help = (
        "Send invitations to set a password: to one account (--email), or to every account still without a "
        "password whose invitation has expired or was never sent (--pending)."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--email", help="the account's e-mail address")
        which.add_argument("--pending", action="store_true")

    def handle(self, *args, email: str | None, pending: bool, **options):
        if email:
            users = list(get_user_model().objects.filter(email__iexact=email.strip()))
            if not users:
                raise CommandError(_("No account has the e-mail address %s.") % email)
            try:
                for user in users:
                    invitation_resend(user=user, by=None)
            except InvitationRefused as exc:
                raise CommandError(str(exc)) from exc
            count = len(users)
        else:
            count = len(invitations_request(users=list(users_to_invite()), by=None))
        self.stdout.write(_("%d invitations will be sent.") % count)
