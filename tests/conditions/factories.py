import datetime

import factory
from django.contrib.auth.models import Group, User

from conditions.models import (
    FAQ,
    Condition,
    Reference,
    Reviewer,
    Treatment,
    TreatmentCategory,
    TreatmentStep,
)


class ReviewerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reviewer

    name = factory.Sequence(lambda n: f"Dr. Reviewer {n}")
    credentials = "MD"


def clinical_reviewer(username="reviewer", name="Dr. Reviewer", **profile):
    """A staff user in the Clinical reviewer group, with a reviewer profile."""
    user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
    if created:
        user.groups.add(Group.objects.get(name="Clinical reviewer"))
        ReviewerFactory(user=user, name=name, **profile)
    return User.objects.get(pk=user.pk)  # fresh: permissions are cached per object


def approve(page, by=None):
    """Approve the page's clinical content as saved now, as a clinical reviewer would."""
    return page.approve(by or clinical_reviewer())


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentCategory

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class PageFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Page {n}")
    slug = factory.Sequence(lambda n: f"page-{n}")
    summary = "A short summary for patients."
    status = "published"
    published_at = factory.LazyFunction(lambda: datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))

    @factory.post_generation
    def approved(page, create, extracted, **kwargs):
        """Approved by a clinical reviewer as created, unless approved=False."""
        if create and extracted is not False:
            approve(page)


class TreatmentFactory(PageFactory):
    class Meta:
        model = Treatment

    name = factory.Sequence(lambda n: f"Treatment {n}")
    slug = factory.Sequence(lambda n: f"treatment-{n}")
    category = factory.SubFactory(CategoryFactory)
    what_it_is = "A treatment."
    who_it_helps = "Some people."
    before_during_after = "Before, during, after."
    recovery = "Rest."
    risks = "Some risks."


class ConditionFactory(PageFactory):
    class Meta:
        model = Condition

    name = factory.Sequence(lambda n: f"Condition {n}")
    slug = factory.Sequence(lambda n: f"condition-{n}")
    overview = "An overview."
    symptoms = "- Aching\n- Burning"
    causes = "Causes."
    diagnosis = "Diagnosis."
    when_to_seek_care = "When to seek care."
    prognosis = "Outlook."


class StepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentStep

    condition = factory.SubFactory(ConditionFactory)
    treatment = factory.SubFactory(TreatmentFactory)
    step = TreatmentStep.Step.CONSERVATIVE


class FAQFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FAQ

    question = factory.Sequence(lambda n: f"Question {n}?")
    answer = "An answer."


class ReferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reference

    organisation = "North American Spine Society"
    title = "North American Spine Society"
    url = "https://www.spine.org/"
