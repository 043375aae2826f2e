"""The people and the cycle most pre-budget tests start from. A module needing more people overrides `world`,
asking for this one (`def world(world, make_user)`) and adding to it; clock-bound modules use `frozen_clock`."""

from types import SimpleNamespace

import pytest
import time_machine

from accounts.roles import Role
from plan_control.budget.tests.factories import NOW, make_cycle
from plan_control.tests.factories import agency_people


@pytest.fixture
def frozen_clock():
    """The factories' day (2 March 2026, 10:00 in Taipei): the cycle collects, its deadline ahead."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(make_user):
    """Two agencies (PWB, TB) with a clerk and a head each; an RDEC officer and supervisor; a reviewer."""
    pwb, clerk, head = agency_people("PWB")
    tb, tb_clerk, tb_head = agency_people("TB")
    return SimpleNamespace(
        officer=make_user(Role.RDEC_OFFICER, username="officer"),
        supervisor=make_user(Role.RDEC_SUPERVISOR, username="supervisor"),
        reviewer=make_user(Role.REVIEWER, agency=None, username="reviewer"),
        pwb=pwb,
        clerk=clerk,
        head=head,
        tb=tb,
        tb_clerk=tb_clerk,
        tb_head=tb_head,
    )


@pytest.fixture
def cycle(world):
    return make_cycle(world.officer)
