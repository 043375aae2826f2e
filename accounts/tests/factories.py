import datetime

import factory
from django.contrib.auth.models import Group

from accounts.models import Agency, Delegation, User

PASSWORD = "Correct-horse-2026"


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"AG{n:03d}")
    name = factory.Sequence(lambda n: f"高雄市政府第{n}局")
    name_en = factory.Sequence(lambda n: f"Bureau {n}")
    kind = Agency.Kind.BUREAU


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.gov.tw")
    display_name = factory.Sequence(lambda n: f"使用者{n}")
    agency = factory.SubFactory(AgencyFactory)
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs) -> None:
        if create and extracted:
            self.groups.set([Group.objects.get_or_create(name=role)[0] for role in extracted])


class DelegationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delegation

    user = factory.SubFactory(UserFactory)
    substitute = factory.SubFactory(UserFactory, agency=factory.SelfAttribute("..user.agency"))
    starts = factory.LazyFunction(lambda: datetime.date(2026, 11, 20))
    ends = factory.LazyFunction(lambda: datetime.date(2026, 12, 4))
    reason = "公假"
