"""Email the content editors, once a week, the pages whose medical review is due.

Run it from cron (docs/deploy.md). A page is listed when its last approval is older than the
review interval less 30 days (conditions.models.REVIEW_INTERVAL, REVIEW_DUE_SOON). At most one
email goes out per ISO week, however often the command runs: the week is recorded with the
email, in one transaction, under a unique constraint.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from clinic.emails import queue_email
from clinic.models import SiteInfo
from conditions.models import REVIEW_DUE_SOON, Condition, ReviewReminder, Treatment

EDITORS_GROUP = "Content editor"


class Command(BaseCommand):
    help = "Queue this week's email to content editors listing pages due for medical review."

    def add_arguments(self, parser):
        parser.add_argument(
            "--site-url",
            default="",
            help="The site's address, e.g. https://www.example-clinic.com, for links in the email.",
        )

    def handle(self, *args, site_url, **options):
        year, week, _day = timezone.localdate().isocalendar()
        this_week = f"{year}-W{week:02d}"
        if ReviewReminder.objects.filter(week=this_week).exists():
            self.stdout.write(f"The review reminder for {this_week} was already sent.")
            return
        pages = [
            (
                page,
                site_url.rstrip("/") + reverse(f"admin:conditions_{kind}_change", args=[page.pk]),
            )
            for model, kind in ((Condition, "condition"), (Treatment, "treatment"))
            for page in model.objects.review_due().select_related("approval")
        ]
        pages.sort(key=lambda item: item[0].next_review_due)
        recipients = sorted(
            set(
                get_user_model()
                .objects.filter(groups__name=EDITORS_GROUP, is_active=True)
                .exclude(email="")
                .values_list("email", flat=True)
            )
        )
        if not pages or not recipients:
            self.stdout.write(
                "No pages are due for review." if not pages else "No content editor has an email."
            )
            return
        try:
            with transaction.atomic():
                ReviewReminder.objects.create(week=this_week, pages=len(pages))
                queue_email(
                    SiteInfo.load().practice,
                    recipients,
                    subject=f"{len(pages)} page(s) due for medical review",
                    message=render_to_string(
                        "conditions/email/review_reminder.txt",
                        {"pages": pages, "days": REVIEW_DUE_SOON.days},
                    ),
                )
        except IntegrityError:  # another run recorded this week first
            self.stdout.write(f"The review reminder for {this_week} was already sent.")
            return
        self.stdout.write(f"Queued the review reminder: {len(pages)} page(s), {this_week}.")
