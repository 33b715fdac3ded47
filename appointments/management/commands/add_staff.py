"""Create a staff account, or update one, with its groups and a password, from the command line."""

import getpass
import os
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from appointments.staff import needs_second_factor

ENVIRONMENT_PASSWORD = "DJANGO_STAFF_PASSWORD"  # noqa: S105 - the variable, not a password


class Command(BaseCommand):
    help = (
        "Create a staff user in the named groups, or update an existing one (its groups become "
        "exactly those named). Never a superuser. The password is asked twice in a terminal, or "
        f"read from {ENVIRONMENT_PASSWORD} when that is set; an existing user keeps theirs when "
        "none is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--group",
            action="append",
            required=True,
            dest="groups",
            metavar="GROUP",
            help='A group, e.g. "Intake"; repeat for several.',
        )
        parser.add_argument("--email", default=None)
        parser.add_argument("--name", default=None, help='"First Last"')

    def handle(self, *args, username, groups, email, name, **options):
        User = get_user_model()
        chosen = self.groups_named(groups)
        user = User.objects.filter(username=username).first()
        created = user is None
        if created:
            user = User(username=username)
        elif user.is_superuser:
            # A superuser already may do everything; making them a group member would quietly
            # take that away, which is for a person in the admin to decide.
            raise CommandError(
                f"{username} is a superuser; this command only manages staff in groups."
            )
        if email is not None:
            user.email = email
        if name is not None:
            user.first_name, _, user.last_name = name.strip().partition(" ")
        reactivated = not created and not user.is_active
        user.is_staff = True
        user.is_active = True
        try:
            user.full_clean(exclude=["password"])
        except ValidationError as error:
            raise CommandError(_messages(error)) from error

        password = self.new_password(user, required=created)
        if password is not None:
            try:
                validate_password(password, user)
            except ValidationError as error:
                raise CommandError(f"Password refused: {_messages(error)}") from error
            user.set_password(password)

        earlier = [] if created else sorted(user.groups.values_list("name", flat=True))
        with transaction.atomic():
            user.save()
            user.groups.set(chosen)

        names = ", ".join(group.name for group in chosen)
        if created:
            self.stdout.write(f"Created staff user {username} in {names}.")
        else:
            was = ", ".join(earlier) or "no group"
            self.stdout.write(
                f"Updated staff user {username}: groups {was} -> {names}; "
                f"password {'changed' if password is not None else 'unchanged'}"
                f"{'; active again' if reactivated else ''}."
            )
        user = User.objects.get(pk=user.pk)  # fresh, without permissions cached before the groups
        if needs_second_factor(user) and not user.totpdevice_set.filter(confirmed=True).exists():
            self.stdout.write(
                f"{username} needs a second factor to log in: run "
                f"`manage.py enrol_totp {username}` and give them the QR code."
            )

    def groups_named(self, names):
        groups = list(Group.objects.filter(name__in=names).order_by("name"))
        unknown = sorted(set(names) - {group.name for group in groups})
        if unknown:
            existing = ", ".join(Group.objects.order_by("name").values_list("name", flat=True))
            raise CommandError(
                f"No group called {', '.join(map(repr, unknown))}. The groups are: {existing}."
            )
        return groups

    def new_password(self, user, required):
        """The password from the environment, else asked twice in a terminal; None keeps the
        existing user's password."""
        password = os.environ.get(ENVIRONMENT_PASSWORD)
        if password is not None:
            return password
        if not sys.stdin.isatty():
            if required:
                raise CommandError(
                    f"No password: set {ENVIRONMENT_PASSWORD} or run the command in a terminal."
                )
            return None
        prompt = "Password" if required else "New password (empty keeps the current one)"
        password = getpass.getpass(f"{prompt}: ")
        if not password and not required:
            return None
        if getpass.getpass("Password again: ") != password:
            raise CommandError("The two passwords differ; nothing was changed.")
        return password


def _messages(error):
    return " ".join(error.messages)
