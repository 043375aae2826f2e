"""API lists cost a constant number of queries, whatever the number of proposals."""

import pytest

from accounts.roles import Role
from proposals import services
from proposals.tests.factories import agency_people, make_round, sent_proposal
from proposals.tests.test_services import PDF

pytestmark = pytest.mark.django_db


def grow(round_, clerk, head, n: int) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    for i in range(n):
        proposal = sent_proposal(round_, clerk, head, f"提案{i}")
        if i % 2:
            draft = services.proposal_create(actor=clerk, round_id=round_.pk, title=f"草稿{i}", summary="摘要")
            services.attachment_add(proposal_id=draft.pk, actor=clerk, upload=SimpleUploadedFile("a.pdf", PDF))
        assert proposal.pk


@pytest.mark.parametrize("role", [Role.AGENCY_CLERK, Role.RDEC_OFFICER])
def test_proposal_list_query_count_is_constant(api_client, make_user, django_assert_max_num_queries, role):
    officer = make_user(Role.RDEC_OFFICER)
    round_ = make_round(officer)
    services.round_open(round_id=round_.pk, actor=officer)
    _agency, clerk, head = agency_people("PWB")
    viewer = clerk if role == Role.AGENCY_CLERK else officer
    grow(round_, clerk, head, 3)
    api_client.force_authenticate(viewer)
    with django_assert_max_num_queries(20) as few:
        first = api_client.get("/api/v1/proposals/")
    grow(round_, clerk, head, 30)
    with django_assert_max_num_queries(len(few)):
        second = api_client.get("/api/v1/proposals/")
    assert second.json()["count"] > first.json()["count"]


def test_round_list_query_count_is_constant(api_client, make_user, django_assert_max_num_queries):
    officer = make_user(Role.RDEC_OFFICER)
    make_round(officer, year=101)
    api_client.force_authenticate(officer)
    with django_assert_max_num_queries(20) as few:
        api_client.get("/api/v1/proposal-rounds/")
    for year in range(102, 110):
        make_round(officer, year=year)
    with django_assert_max_num_queries(len(few)):
        response = api_client.get("/api/v1/proposal-rounds/")
    assert response.json()["count"] == 9


def test_adoption_list_query_count_is_constant(api_client, make_user, django_assert_max_num_queries):
    from proposals.tests.factories import graded_round

    officer = make_user(Role.RDEC_OFFICER)
    round_ = make_round(officer, grade_quotas=[{"grade": "excellent", "count": 5}])
    services.round_open(round_id=round_.pk, actor=officer)
    target, target_clerk, _h = agency_people("TB")
    _a, clerk, head = agency_people("PWB")
    proposals = [sent_proposal(round_, clerk, head, f"提案{i}") for i in range(5)]
    graded_round(officer, [(p, 9) for p in proposals], round_)
    services.proposal_forward(proposal_id=proposals[0].pk, actor=officer, agency_ids=[target.pk])
    api_client.force_authenticate(target_clerk)
    with django_assert_max_num_queries(10) as few:
        api_client.get("/api/v1/adoptions/")
    for p in proposals[1:]:
        services.proposal_forward(proposal_id=p.pk, actor=officer, agency_ids=[target.pk])
    with django_assert_max_num_queries(len(few)):
        assert api_client.get("/api/v1/adoptions/").json()["count"] == 5
