"""`make run` loads the demo: it must work on a fresh database and be harmless the second time."""

import pytest
from django.core.management import call_command

from proposals.models import Proposal, ProposalRound


@pytest.mark.django_db
def test_seed_demo_builds_the_2018_round_once(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "rdec.officer" in out
    assert "優等 4 / 甲等 17 / 乙等 13 / 佳作 11" in out
    round_107 = ProposalRound.objects.get(year=107)
    assert round_107.status == "published"
    assert round_107.proposals.exclude(status__in=["draft", "withdrawn"]).count() == 69
    states = set(Proposal.objects.values_list("status", flat=True))
    assert states >= {
        "draft",
        "pending_approval",
        "submitted",
        "screened_out",
        "graded",
        "forwarded",
        "closed",
        "withdrawn",
    }
    before = Proposal.objects.count()
    call_command("seed_demo")
    assert Proposal.objects.count() == before
