import factory

from clinic.models import Provider


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Alex Doctor{n}")
    slug = factory.Sequence(lambda n: f"alex-doctor-{n}")
    credentials = "MD"
    specialty = "Interventional pain medicine"
    bio = "Trained in anesthesiology.\n\nTreats back pain."
    board_certifications = "American Board of Anesthesiology — Pain Medicine"
    published = True

    @factory.post_generation
    def locations(provider, create, extracted, **kwargs):
        if create and extracted:
            provider.locations.set(extracted)

    @factory.post_generation
    def treatments(provider, create, extracted, **kwargs):
        if create and extracted:
            provider.treatments.set(extracted)
