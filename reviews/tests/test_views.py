"""The reviewer's pages: my panels, and the score page with my own sheets only."""

import pytest
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
