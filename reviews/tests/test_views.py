"""The reviewer's pages: my panels, and the score page with my own sheets only."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reviews import services
from reviews.tests.test_api import FULL, build_panel


def page_for(client, user, panel):
    client.force_login(user)
    return client.get(reverse("reviews:score", args=[panel.pk]))


@pytest.mark.django_db
def test_the_score_page_lists_only_my_sheets(client, make_user):
    setup = build_panel(make_user)
    mine = setup.sheet(setup.reviewer)
    theirs = setup.sheet(setup.chair)
    services.sheet_save_draft(sheet_id=mine.pk, actor=setup.reviewer, scores={"innovation": 6.5}, comment="構想完整")
    services.sheet_save_draft(sheet_id=theirs.pk, actor=setup.chair, comment="召集人的私人評語")
    response = page_for(client, setup.reviewer, setup.panel)
    assert response.status_code == 200
    html = response.content.decode()
    assert [row.sheet.pk for row in response.context["rows"]] == list(
        setup.panel.sheets.filter(member__user=setup.reviewer).order_by("item_id").values_list("pk", flat=True)
    )
    assert f'data-sheet="{mine.pk}"' in html
    assert f'data-sheet="{theirs.pk}"' not in html
    assert "召集人的私人評語" not in html
    # The saved draft is rendered, so a reload shows it.
    assert f'id="s{mine.pk}-innovation"' in html
    assert 'value="6.50"' in html
    assert "構想完整" in html
    # Labelled inputs with the criterion's bounds and guidance.
    assert f'<label for="s{mine.pk}-innovation">創新性' in html
    assert 'min="0" max="10.00" step="0.5"' in html
    assert "構想是否新穎" in html
    assert 'aria-live="polite"' in html
    assert "送出評分" in html


@pytest.mark.django_db
def test_a_panel_i_am_not_on_is_404(client, make_user):
    setup = build_panel(make_user)
    assert page_for(client, make_user("reviewer"), setup.panel).status_code == 404
    assert page_for(client, setup.officer, setup.panel).status_code == 404


@pytest.mark.django_db
def test_signed_out_visitors_are_sent_to_sign_in(client, make_user):
    setup = build_panel(make_user)
    response = client.get(reverse("reviews:score", args=[setup.panel.pk]))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_agency_shown_unless_the_panel_hides_it(client, make_user):
    shown = build_panel(make_user)
    assert shown.items[0].agency.name in page_for(client, shown.reviewer, shown.panel).content.decode()
    hidden = build_panel(make_user, hide_agency=True)
    html = page_for(client, hidden.reviewer, hidden.panel).content.decode()
    for item in hidden.items:
        assert item.agency.name not in html.replace(item.title, "")
    assert "提案機關" not in html


@pytest.mark.django_db
def test_a_recused_item_shows_the_reason_and_no_inputs(client, make_user):
    setup = build_panel(make_user)
    recused = setup.sheet(setup.reviewer, 0)
    services.sheet_declare_conflict(sheet_id=recused.pk, actor=setup.reviewer, reason="曾任該案審查顧問")
    html = page_for(client, setup.reviewer, setup.panel).content.decode()
    section = html.split(f'data-sheet="{recused.pk}"')[1].split("</section>")[0]
    assert "迴避" in section
    assert "曾任該案審查顧問" in section
    assert "<input" not in section
    assert "<textarea" not in section
    assert "送出評分" not in section


@pytest.mark.django_db
def test_a_submitted_item_is_read_only(client, make_user):
    setup = build_panel(make_user)
    sheet = setup.sheet(setup.reviewer, 0)
    services.sheet_submit(sheet_id=sheet.pk, actor=setup.reviewer, scores=FULL)
    html = page_for(client, setup.reviewer, setup.panel).content.decode()
    section = html.split(f'data-sheet="{sheet.pk}"')[1].split("</section>")[0]
    assert "已送出" in section
    assert section.count("readonly") == 3  # two scores and the comment
    assert "送出評分" not in section
    assert "77.00" in section


@pytest.mark.django_db
def test_my_panels_lists_my_progress(client, make_user):
    setup = build_panel(make_user)
    services.sheet_submit(sheet_id=setup.sheet(setup.reviewer).pk, actor=setup.reviewer, scores=FULL)
    build_panel(make_user)  # a panel I am not on
    client.force_login(setup.reviewer)
    response = client.get(reverse("reviews:my-panels"))
    assert response.status_code == 200
    html = response.content.decode()
    assert setup.panel.title in html
    assert reverse("reviews:score", args=[setup.panel.pk]) in html
    assert "已送出 1／2（迴避 0）" in html
    assert [panel.pk for panel, _ in response.context["panels"]] == [setup.panel.pk]


@pytest.mark.django_db
def test_admin_pages_render_and_scores_are_read_only(client, make_user):
    from django.contrib.auth import get_user_model

    setup = build_panel(make_user)
    admin = get_user_model().objects.create_superuser("h8.admin", "admin@example.gov.tw", "x")
    client.force_login(admin)
    for model in ("rubric", "panel", "scoresheet", "itemresult", "tieresolution"):
        assert client.get(f"/admin/reviews/{model}/").status_code == 200, model
    sheet = setup.sheet(setup.reviewer)
    assert client.get(f"/admin/reviews/scoresheet/?q={setup.reviewer.username}").status_code == 200
    page = client.get(f"/admin/reviews/scoresheet/{sheet.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get("/admin/reviews/scoresheet/add/").status_code == 403
    assert client.get(f"/admin/reviews/panel/{setup.panel.pk}/change/").status_code == 200


# ---------------------------------------------------------------------------------------------- 評分 menu


@pytest.mark.django_db
def test_the_scoring_menu_shows_to_reviewers_and_rdec_staff_only(client, make_user):
    for role, shown in (("reviewer", True), ("rdec_officer", True), ("rdec_supervisor", True), ("agency_clerk", False)):
        client.force_login(make_user(role))
        html = client.get("/").content.decode()
        assert ('href="/scoring/"' in html) is shown, role
    client.force_login(make_user("reviewer"))
    assert client.get("/scoring/")["Location"] == reverse("reviews:my-panels")
    client.force_login(make_user("rdec_officer"))
    assert client.get("/scoring/")["Location"] == reverse("reviews:panels")


# ---------------------------------------------------------------------------------------------- RDEC's set-up pages


def _html(response) -> str:
    return response.content.decode()


@pytest.mark.django_db
def test_officers_list_the_panels_with_process_state_and_members(client, make_user):
    scoring = build_panel(make_user)
    forming = build_panel(make_user, start=False, reviewers=2, min_members=5)
    client.force_login(scoring.officer)
    response = client.get(reverse("reviews:panels"))
    assert response.status_code == 200
    html = _html(response)
    assert reverse("reviews:panel", args=[scoring.panel.pk]) in html
    assert reverse("reviews:panel", args=[forming.panel.pk]) in html
    assert "評分中" in html and "籌組中" in html
    assert "3／3 人（備位 0 人）" in html
    assert "2／5 人（備位 0 人）" in html
    assert f"機關：{scoring.panel.round}" in html  # the round's kind (here an Agency row stands in) and name


@pytest.mark.django_db
def test_the_panel_list_costs_the_same_queries_for_2_or_12_panels(client, make_user, django_assert_max_num_queries):
    setup = build_panel(make_user)
    client.force_login(setup.officer)
    build_panel(make_user, start=False)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("reviews:panels")).status_code == 200
    for _ in range(10):
        build_panel(make_user, start=False)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("reviews:panels"))
    assert len(response.context["rows"]) == 12


@pytest.mark.django_db
def test_agencies_and_reviewers_are_refused_the_set_up_pages(client, make_user):
    setup = build_panel(make_user)
    member = setup.members[2]
    pages = [
        ("get", reverse("reviews:panels"), {}),
        ("get", reverse("reviews:panel", args=[setup.panel.pk]), {}),
        (
            "post",
            reverse("reviews:panel", args=[setup.panel.pk]),
            {"user": make_user("reviewer").pk, "kind": "external"},
        ),
        ("post", reverse("reviews:panel-member", args=[setup.panel.pk, member.pk, "remove"]), {}),
        ("post", reverse("reviews:panel-member", args=[setup.panel.pk, member.pk, "chair"]), {}),
    ]
    for user in (make_user("agency_clerk"), make_user("agency_head"), setup.reviewer, setup.chair):
        client.force_login(user)
        for method, url, data in pages:
            assert getattr(client, method)(url, data).status_code == 403, (user, url)
    client.logout()
    assert "/accounts/login/" in client.get(reverse("reviews:panel", args=[setup.panel.pk]))["Location"]
    client.force_login(setup.officer)
    assert client.get(reverse("reviews:panel", args=[setup.panel.pk + 1000])).status_code == 404
    assert setup.panel.members.count() == 3
    assert setup.panel.members.get(pk=member.pk).is_chair is False


@pytest.mark.django_db
def test_a_supervisor_reads_the_set_up_page_but_cannot_change_it(client, make_user):
    setup = build_panel(make_user, start=False)
    client.force_login(make_user("rdec_supervisor"))
    response = client.get(reverse("reviews:panel", args=[setup.panel.pk]))
    assert response.status_code == 200
    assert response.context["form"] is None
    page = _html(response)
    assert 'id="add-heading"' not in page and ">移除</button>" not in page  # no form, no buttons; the history stays
    url = reverse("reviews:panel", args=[setup.panel.pk])
    assert client.post(url, {"user": make_user("reviewer").pk, "kind": "external"}).status_code == 403
    remove = reverse("reviews:panel-member", args=[setup.panel.pk, setup.members[1].pk, "remove"])
    client.post(remove)
    assert setup.panel.members.count() == 3


@pytest.mark.django_db
def test_the_pool_holds_only_reviewers_not_on_the_panel(client, make_user):
    setup = build_panel(make_user, start=False)
    free = make_user("reviewer", display_name="林委員")
    clerk = make_user("agency_clerk", display_name="王承辦")
    client.force_login(setup.officer)
    response = client.get(reverse("reviews:panel", args=[setup.panel.pk]))
    pool = list(response.context["form"].fields["user"].queryset)
    assert free in pool
    assert clerk not in pool
    assert not {m.user for m in setup.members} & set(pool)
    html = _html(response)
    for member in setup.members:
        assert str(member.user) in html
    assert "召集人" in html and "外部委員" in html
    assert 'aria-describedby="id_user_helptext"' in html and 'id="id_user_helptext"' in html


@pytest.mark.django_db
def test_an_officer_adds_a_member_a_chair_and_a_reserve(client, make_user):
    setup = build_panel(make_user, start=False)
    url = reverse("reviews:panel", args=[setup.panel.pk])
    client.force_login(setup.officer)
    chair = make_user("reviewer", display_name="陳召集人")
    response = client.post(url, {"user": chair.pk, "kind": "internal", "is_chair": "on"}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    messages = [str(m) for m in response.context["messages"]]
    assert messages == ["已加入委員：陳召集人。"]
    assert _html(response).count("已加入委員：陳召集人。") == 1
    added = setup.panel.members.get(user=chair)
    assert (added.kind, added.is_chair, added.reserve) == ("internal", True, False)
    assert list(setup.panel.members.filter(is_chair=True)) == [added]  # the former chair stepped down

    reserve = make_user("reviewer")
    client.post(url, {"user": reserve.pk, "kind": "external", "reserve": "on"})
    assert setup.panel.members.get(user=reserve).reserve is True


@pytest.mark.django_db
def test_a_refused_addition_keeps_what_was_chosen(client, make_user):
    setup = build_panel(make_user, start=False)
    url = reverse("reviews:panel", args=[setup.panel.pk])
    client.force_login(setup.officer)
    candidate = make_user("reviewer")
    response = client.post(url, {"user": candidate.pk, "kind": "internal", "is_chair": "on", "reserve": "on"})
    assert response.status_code == 200
    html = _html(response)
    assert "備位委員不能擔任召集人。" in html
    assert f'<option value="{candidate.pk}" selected>' in html
    assert "checked" in html.split('value="internal"')[1].split(">")[0]
    assert response.context["form"]["is_chair"].value() is True
    assert response.context["form"]["reserve"].value() is True
    response = client.post(url, {"kind": "external"})
    assert response.context["form"].errors["user"]
    assert response.context["form"]["kind"].value() == "external"
    assert not setup.panel.members.filter(user=candidate).exists()


@pytest.mark.django_db
def test_once_scoring_started_only_reserve_members_join_and_none_leave(client, make_user):
    setup = build_panel(make_user)
    url = reverse("reviews:panel", args=[setup.panel.pk])
    client.force_login(setup.officer)
    response = client.get(url)
    form = response.context["form"]
    assert form.fields["reserve"].disabled and form.fields["reserve"].initial is True
    assert not response.context["can_remove"]
    late = make_user("reviewer")
    client.post(url, {"user": late.pk, "kind": "external", "is_chair": "on"})  # disabled fields keep their initial
    joined = setup.panel.members.get(user=late)
    assert (joined.reserve, joined.is_chair) == (True, False)
    remove = reverse("reviews:panel-member", args=[setup.panel.pk, setup.members[1].pk, "remove"])
    response = client.post(remove, follow=True)
    assert "評分已開始，不能再移除委員" in _html(response)
    assert setup.panel.members.filter(pk=setup.members[1].pk).exists()


@pytest.mark.django_db
def test_an_officer_removes_a_member_and_changes_the_chair_while_forming(client, make_user):
    setup = build_panel(make_user, start=False)
    client.force_login(setup.officer)
    leaving, next_chair = setup.members[2], setup.members[1]
    response = client.post(reverse("reviews:panel-member", args=[setup.panel.pk, leaving.pk, "remove"]), follow=True)
    assert [str(m) for m in response.context["messages"]] == ["已移除委員。"]
    assert not setup.panel.members.filter(pk=leaving.pk).exists()
    assert f"移除委員：{leaving.user}" in _html(response)  # in the panel's history
    response = client.post(reverse("reviews:panel-member", args=[setup.panel.pk, next_chair.pk, "chair"]), follow=True)
    assert [str(m) for m in response.context["messages"]] == ["已變更召集人。"]
    assert list(setup.panel.members.filter(is_chair=True)) == [next_chair]
    assert client.post(reverse("reviews:panel-member", args=[setup.panel.pk, next_chair.pk, "x"])).status_code == 404


@pytest.mark.django_db
def test_the_set_up_page_shows_recusals_and_who_declared_them(client, make_user):
    setup = build_panel(make_user)
    sheet = setup.sheet(setup.reviewer, 1)
    services.sheet_declare_conflict(sheet_id=sheet.pk, actor=setup.reviewer, reason="曾任該案顧問")
    client.force_login(setup.officer)
    html = _html(client.get(reverse("reviews:panel", args=[setup.panel.pk])))
    table = html.split("data-recusals")[1].split("</table>")[0]
    assert "曾任該案顧問" in table
    assert setup.items[1].title in table
    assert str(setup.reviewer) in table


@pytest.mark.django_db
def test_the_set_up_page_costs_the_same_queries_whatever_the_rows(client, make_user, django_assert_max_num_queries):
    small = build_panel(make_user, reviewers=3, items=2)
    client.force_login(small.officer)
    services.sheet_declare_conflict(sheet_id=small.sheet(small.reviewer, 0).pk, actor=small.reviewer, reason="顧問")
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("reviews:panel", args=[small.panel.pk])).status_code == 200
    large = build_panel(make_user, reviewers=12, items=6)
    for member in large.members[1:]:
        for index in range(3):
            sheet = large.sheet(member.user, index)
            services.sheet_declare_conflict(sheet_id=sheet.pk, actor=member.user, reason="顧問")
    for _ in range(10):
        make_user("reviewer")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("reviews:panel", args=[large.panel.pk]))
    assert len(response.context["recusals"]) == 33
    assert len(response.context["members"]) == 12


@pytest.mark.django_db
def test_a_finalised_panel_is_read_only_on_its_set_up_page(client, make_user):
    from reviews.models import Panel

    setup = build_panel(make_user)
    Panel.objects.filter(pk=setup.panel.pk).update(status=Panel.Status.FINALISED)
    client.force_login(setup.officer)
    response = client.get(reverse("reviews:panel", args=[setup.panel.pk]))
    assert response.context["form"] is None
    html = _html(response)
    assert ">設為召集人</button>" not in html and ">移除</button>" not in html and 'id="add-heading"' not in html
    late = make_user("reviewer")
    response = client.post(reverse("reviews:panel", args=[setup.panel.pk]), {"user": late.pk, "kind": "external"})
    assert "結果已確定，不能再加入委員。" in _html(response)
    assert not setup.panel.members.filter(user=late).exists()
