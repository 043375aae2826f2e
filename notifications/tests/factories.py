import datetime

import factory

from accounts.models import Delegation
from accounts.tests.factories import UserFactory
from notifications.models import ReminderRule
from tests.deadline_fixture.source import KIND


class ReminderRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReminderRule

    kind = KIND
    name = "測試期限提醒"
    offsets = factory.LazyFunction(lambda: [-3, 0, 1])
    channels = factory.LazyFunction(lambda: ["email", "in_app"])
    escalate_after = 2


def due_item(*, owner, due: datetime.date, reason: str = "年度報告") -> Delegation:
    """An open item of the test deadline source, owned by `owner`, due on `due`.

    The source is built on Delegation; the item's own substitute is inactive so it never receives anything.
    """
    return Delegation.objects.create(
        user=owner,
        substitute=UserFactory(is_active=False, agency=owner.agency),
        starts=due,
        ends=due,
        reason=reason,
    )
