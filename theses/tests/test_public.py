"""/results/theses/: awarded theses for anyone, with only what the applicants agreed to publish."""

import datetime

import pytest
import time_machine

from accounts.roles import Role
from theses import services
from theses.tests.factories import make_applicant, make_call, score_everything, sent_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided(make_user):
    with time_machine.travel(datetime.datetime(2026, 12, 4, 2, 0, tzinfo=datetime.UTC), tick=False):
        officer = make_user(Role.RDEC_OFFICER)
        call = make_call(officer, quota=1)
        services.call_open(call_id=call.pk, actor=officer)
        defended = {"defence_date": datetime.date(2026, 6, 30)}
        named = sent_application(
            call, make_applicant("named", university="國立中山大學"), kind="award", title="港灣城市的觀光治理",
            publish_name="林小明", **defended,
        )  # fmt: skip
        loser = sent_application(call, make_applicant("loser"), kind="award", title="未獲獎的論文", **defended)
        doctor = sent_application(
            call, make_applicant("doc", degree="doctor", university="國立高雄大學"), kind="award",
            title="高雄捷運與都市更新", **defended,
        )  # fmt: skip
        subsidy = sent_application(call, make_applicant("sub"), kind="subsidy", title="補助研究計畫")
        for app in (named, loser, doctor, subsidy):
            services.application_screen(actor=officer, application_id=app.pk, eligible=True)
        services.call_start_review(call_id=call.pk, actor=officer)
        score_everything(call, {named.pk: 90, loser.pk: 65, doctor.pk: 88, subsidy.pk: 95})
        services.call_decide(call_id=call.pk, actor=officer)
    return call


def test_anyone_sees_awarded_theses_with_only_the_published_name(client, decided):
    html = client.get("/results/theses/").content.decode()
    assert "港灣城市的觀光治理" in html and "國立中山大學　碩士論文　林小明" in html
    assert "高雄捷運與都市更新" in html and "國立高雄大學　博士論文</p>" in html  # no name agreed: none shown
    assert "未獲獎的論文" not in html and "補助研究計畫" not in html
    assert "named" not in html and "doc 同學" not in html
    assert "獲獎論文共 2 篇" in html
    assert 'href="/results/"' in html  # the sections' navigation


def test_nothing_before_the_decision_and_a_year_filter(client, decided):
    assert "查無獲獎論文" in client.get("/results/theses/?year=114").content.decode()
    assert "港灣城市的觀光治理" in client.get("/results/theses/?year=115").content.decode()
    assert client.post("/results/theses/").status_code == 405


def test_one_query_whatever_the_number(client, decided, django_assert_num_queries):
    with django_assert_num_queries(1):
        client.get("/results/theses/")
