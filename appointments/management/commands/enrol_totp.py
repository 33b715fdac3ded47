"""Give a staff member an authenticator-app (TOTP) device for two-factor login."""

import base64
import io

import qrcode
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = (
        "Create a TOTP device for a staff user and print the QR code and key to add to an "
        "authenticator app. Replaces the user's existing devices when --replace is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--replace", action="store_true", help="Remove existing devices.")

    def handle(self, *args, username, replace, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user called {username!r}.")
        devices = TOTPDevice.objects.filter(user=user)
        if devices.exists() and not replace:
            raise CommandError(f"{username} already has a device; use --replace to reset it.")
        devices.delete()
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
        code = qrcode.QRCode(border=1)
        code.add_data(device.config_url)
        picture = io.StringIO()
        code.print_ascii(out=picture, invert=True)
        self.stdout.write(picture.getvalue())
        self.stdout.write(
            f"\nScan this with an authenticator app, or enter the key by hand:\n"
            f"  account: {username} ({settings.OTP_TOTP_ISSUER})\n"
            f"  key (base32): {_base32(device.bin_key)}\n"
            f"Then log in at /admin/ with the 6-digit code the app shows."
        )


def _base32(key):
    return base64.b32encode(key).decode().rstrip("=")
