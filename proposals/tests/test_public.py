"""The public results page /results/: published winners only, grouped by grade, searchable, accessible."""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory
from proposals import services
from proposals.models import Proposal, ProposalRound
from reviews import services as review_services
from reviews.models import ScoreSheet
from workflow_site.roc_calendar.roc import format_roc_date

pytestmark = pytest.mark.django_db

# Two criteria out of 50 each: a sheet's weighted total is simply their sum.
RUBRIC = [
    {"code": "innovation", "name": "創新性", "weight": 50, "max_score": 50},
    {"code": "benefit", "name": "效益", "weight": 50, "max_score": 50},
]
AGENCY_NAMES = ["高雄市政府經濟發展局", "高雄市政府海洋局", "高雄市政府社會局", "高雄市政府交通局"]
REVIEWER_NAMES = ["林秀英教授", "黃志明顧問", "張家豪科長"]


@dataclass
class Cast:
    officer: object
    agencies: list
    clerks: list
    heads: list
    reviewers: list  # the last one is internal, from agencies[0]: recused from that agency's proposals


@pytest.fixture
def cast(make_user) -> Cast:
    rdec = AgencyFactory(code="RDEC", name="高雄市政府研究發展考核委員會")
    agencies = [AgencyFactory(code=f"K{n:02d}", name=name) for n, name in enumerate(AGENCY_NAMES)]
    reviewers = [
        make_user(Role.REVIEWER, agency=None, username="reviewer_lin", display_name=REVIEWER_NAMES[0]),
        make_user(Role.REVIEWER, agency=None, username="reviewer_huang", display_name=REVIEWER_NAMES[1]),
        make_user(Role.REVIEWER, agency=agencies[0], username="reviewer_chang", display_name=REVIEWER_NAMES[2]),
    ]
    return Cast(
        officer=make_user(Role.RDEC_OFFICER, agency=rdec),
        agencies=agencies,
        clerks=[make_user(Role.AGENCY_CLERK, agency=a) for a in agencies],
        heads=[make_user(Role.AGENCY_HEAD, agency=a) for a in agencies],
        reviewers=reviewers,
    )


def sheet_scores(place: int, reviewer_index: int) -> dict[str, str]:
    """Scores that rank the entries in the order given, with no ties: total = 90 - 2 x place - 0.5 x reviewer."""
    return {
        "innovation": str(Decimal(45 - place)),
        "benefit": str(Decimal(45 - place) - Decimal("0.5") * reviewer_index),
    }


def round_open(cast: Cast, *, year: int, quotas: dict[str, int] | None = None) -> ProposalRound:
    """A round with the cast's three reviewers on its panel (chair first), open for proposals."""
    quotas = quotas or {"excellent": 1, "a": 1, "b": 1, "merit": 1}
    round_ = services.round_create(
        actor=cast.officer,
        year=year,
        title=f"{year}年度市政創新提案",
        submission_deadline=datetime.date(year + 1911, 5, 31),
        scoring_deadline=datetime.date(year + 1911, 7, 31),
        rubric=RUBRIC,
        grade_quotas=[{"grade": g, "count": n} for g, n in quotas.items()],
        min_members=3,
        min_external=0,
    )
    for index, reviewer in enumerate(cast.reviewers):
        kind = "internal" if reviewer.agency_id else "external"
        services.round_panel_member_add(
            round_id=round_.pk, actor=cast.officer, user_id=reviewer.pk, kind=kind, chair=index == 0
        )
    return services.round_open(round_id=round_.pk, actor=cast.officer)


def proposal_draft(cast: Cast, round_: ProposalRound, entry: dict) -> Proposal:
    agency = entry.get("agency", 0)
    return services.proposal_create(
        actor=cast.clerks[agency],
        round_id=round_.pk,
        title=entry["title"],
        summary=entry.get("summary", "摘要"),
        problem=entry.get("problem", ""),
        approach=entry.get("approach", ""),
        benefits=entry.get("benefits", ""),
    )


def build_round(
    cast: Cast,
    *,
    year: int,
    entries: list[dict],
    quotas: dict[str, int] | None = None,
    finalise: bool = True,
    publish: bool = True,
) -> ProposalRound:
    """A round run through the services: `entries` (title, summary, agency index, ...) best first, so the n-th
    entry ranks n-th; the quotas grade the first ones and the rest are ranked without a grade."""
    round_ = round_open(cast, year=year, quotas=quotas)
    place_of = {}
    for place, entry in enumerate(entries):
        proposal = proposal_draft(cast, round_, entry)
        agency = entry.get("agency", 0)
        services.proposal_submit(proposal_id=proposal.pk, actor=cast.clerks[agency])
        services.proposal_approve(proposal_id=proposal.pk, actor=cast.heads[agency])
        place_of[proposal.pk] = place
    services.round_close_submissions(round_id=round_.pk, actor=cast.officer)
    for proposal_id in place_of:
        services.proposal_screen(proposal_id=proposal_id, actor=cast.officer, passed=True, reason="符合格式")
    services.round_start_scoring(round_id=round_.pk, actor=cast.officer)
    for reviewer_index, reviewer in enumerate(cast.reviewers):
        sheets = ScoreSheet.objects.filter(
            panel_id=round_.panel_id, member__user=reviewer, status=ScoreSheet.Status.NOT_STARTED
        ).select_related("item")
        for sheet in sheets:
            review_services.sheet_submit(
                sheet_id=sheet.pk,
                actor=reviewer,
                scores=sheet_scores(place_of[sheet.item.subject_id], reviewer_index),
            )
    if finalise:
        services.round_finalise(round_id=round_.pk, actor=cast.officer)
    if publish:
        services.round_publish(round_id=round_.pk, actor=cast.officer)
    round_.refresh_from_db()
    return round_


# Best first. Agency 0's entries are not scored by the internal reviewer (委員C).
ENTRIES_107 = [
    {
        "title": "智慧路燈節能計畫",
        "summary": "以感測器依人車流量調整路燈亮度。",
        "problem": "夜間路燈全亮，電費偏高。",
        "approach": "裝設感測器與遠端控制。",
        "benefits": "每年節省電費一成。",
        "agency": 0,
    },
    {"title": '=HYPERLINK("http://evil","x")', "summary": "港區貨櫃車預約進場，減少排隊。", "agency": 1},
    {"title": "+1+1", "summary": "社區長照據點共餐服務。", "agency": 2},
    {"title": "-2", "summary": "公車動態資訊看板。", "agency": 3},
    {"title": "@SUM(A1)", "summary": "圖書館自助借書。", "agency": 0},
    {"title": "校園午餐食材登錄", "summary": "午餐食材來源公開。", "agency": 1},
]


@pytest.fixture
def published_round(cast, settings, tmp_path) -> ProposalRound:
    """107: finalised and published; 4 winners (one of each grade), 2 ranked without a grade; the 優等 winner
    has an award report."""
    settings.MEDIA_ROOT = tmp_path
    round_ = build_round(cast, year=107, entries=ENTRIES_107)
    winner = round_.proposals.get(rank=1)
    services.attachment_add(
        proposal_id=winner.pk,
        actor=cast.officer,
        upload=SimpleUploadedFile("award.pdf", b"%PDF-1.4\n% award report\n", content_type="application/pdf"),
        is_award_report=True,
    )
    return round_


@pytest.fixture
def unpublished_round(cast) -> ProposalRound:
    """108: finalised but not published."""
    return build_round(
        cast,
        year=108,
        entries=[{"title": "颱風淹水預警路燈", "summary": "以路燈閃爍提醒淹水。", "agency": 2}],
        quotas={"excellent": 1},
        publish=False,
    )


@pytest.fixture
def draft(cast) -> Proposal:
    """109: open, with a draft that mentions 路燈 too."""
    return proposal_draft(
        cast, round_open(cast, year=109), {"title": "路燈夜間巡查草稿", "summary": "路燈巡查。", "agency": 0}
    )


class Page(HTMLParser):
    """What a screen reader user meets: headings in order, form controls and their labels, links."""

    def __init__(self, html: str):
        super().__init__()
        self.lang = None
        self.headings: list[tuple[int, str]] = []
        self.controls: list[dict] = []
        self.label_for: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.ids: list[str] = []
        self.forms: list[dict] = []
        self._heading = None
        self._link = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.append(attrs["id"])
        if tag == "html":
            self.lang = attrs.get("lang")
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._heading = [int(tag[1]), ""]
        elif tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit"):
            self.controls.append(attrs)
        elif tag == "label" and attrs.get("for"):
            self.label_for.append(attrs["for"])
        elif tag == "a":
            self._link = [attrs.get("href"), ""]
        elif tag == "form":
            self.forms.append(attrs)

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") and self._heading:
            self.headings.append((self._heading[0], self._heading[1].strip()))
            self._heading = None
        elif tag == "a" and self._link:
            self.links.append((self._link[0], self._link[1].strip()))
            self._link = None

    def handle_data(self, data):
        if self._heading is not None:
            self._heading[1] += data
        if self._link is not None:
            self._link[1] += data

    def texts(self, level: int) -> list[str]:
        return [text for lvl, text in self.headings if lvl == level]


def get_page(client, url: str = "/results/", **params) -> Page:
    response = client.get(url, params)
    assert response.status_code == 200, response.content.decode()[:500]
    return Page(response.content.decode())


def test_only_winners_of_published_rounds_appear(client, published_round, unpublished_round, draft):
    page = get_page(client)  # no login
    titles = page.texts(4)
    assert titles == [e["title"] for e in ENTRIES_107[:4]]
    assert page.texts(2) == ["107年度市政創新提案"]
    # Ranked without a grade, finalised but unpublished, a draft: none of them.
    for absent in ("@SUM(A1)", "校園午餐食材登錄", "颱風淹水預警路燈", "108年度市政創新提案", draft.title):
        assert absent not in [t for _, t in page.headings] + [text for _, text in page.links]
    # The year filter offers published years only.
    html = client.get("/results/").content.decode()
    assert '<option value="107">民國107年</option>' in html
    assert "民國108年" not in html and "民國109年" not in html


def test_grades_in_order_each_a_heading_with_rank_agency_summary_and_report(client, published_round):
    response = client.get("/results/")
    html = response.content.decode()
    page = Page(html)
    assert page.texts(3) == ["優等（1 件）", "甲等（1 件）", "乙等（1 件）", "佳作（1 件）"]
    assert "第 1 名　高雄市政府經濟發展局" in html
    assert "以感測器依人車流量調整路燈亮度。" in html
    assert "第 4 名　高雄市政府交通局" in html
    winner = published_round.proposals.get(rank=1)
    report_links = [text for href, text in page.links if href == f"/results/{winner.pk}/report/"]
    assert report_links == ["得獎報告：award.pdf（PDF，24\xa0位元組）"]
    download = client.get(f"/results/{winner.pk}/report/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF-1.4")
    assert 'filename="award.pdf"' in download["Content-Disposition"]
    # A graded proposal without a report, and an unpublished one, have nothing to download.
    assert client.get(f"/results/{published_round.proposals.get(rank=2).pk}/report/").status_code == 404
    # Only the 優等 winner has a report.
    assert sum(1 for _, text in page.links if text.startswith("得獎報告")) == 1
    # The publication date, in the ROC calendar.
    assert format_roc_date(published_round.published_at) in html
    assert format_roc_date(published_round.published_at).startswith("民國")


def test_user_text_is_escaped(client, published_round):
    html = client.get("/results/").content.decode()
    assert "=HYPERLINK(&quot;http://evil&quot;,&quot;x&quot;)" in html
    assert '"http://evil"' not in html


def test_search_by_a_word_in_the_summary(client, published_round, unpublished_round, draft):
    page = get_page(client, q="感測器")
    assert page.texts(4) == ["智慧路燈節能計畫"]
    # "路燈" is also in the unpublished round and the draft: still only the published winner.
    assert get_page(client, q="路燈").texts(4) == ["智慧路燈節能計畫"]
    # Several words: all of them must match.
    assert get_page(client, q="路燈 貨櫃").texts(4) == []


def test_search_by_agency_name_and_by_problem_text(client, published_round):
    assert get_page(client, q="海洋局").texts(4) == ['=HYPERLINK("http://evil","x")']
    assert get_page(client, q="電費偏高").texts(4) == ["智慧路燈節能計畫"]


def test_nothing_found(client, published_round):
    response = client.get("/results/", {"q": "捷運"})
    html = response.content.decode()
    assert "查無符合的得獎提案" in html
    assert Page(html).texts(2) == []
    # The keyword is kept in the box.
    assert 'value="捷運"' in html


def test_year_filter(client, cast, published_round):
    build_round(cast, year=106, entries=[{"title": "一站式市民服務", "summary": "臨櫃服務整合。", "agency": 3}])
    everything = get_page(client)
    assert everything.texts(2) == ["107年度市政創新提案", "106年度市政創新提案"]
    only_106 = get_page(client, year="106")
    assert only_106.texts(2) == ["106年度市政創新提案"]
    assert only_106.texts(4) == ["一站式市民服務"]
    assert get_page(client, year="107").texts(2) == ["107年度市政創新提案"]
    html = client.get("/results/", {"year": "106"}).content.decode()
    assert '<option value="106" selected>民國106年</option>' in html
    # A year with nothing published, or nonsense: nothing, or everything; never an error.
    assert "查無符合的得獎提案" in client.get("/results/", {"year": "105"}).content.decode()
    assert get_page(client, year="abc").texts(2) == ["107年度市政創新提案", "106年度市政創新提案"]
    # Year and keyword together.
    assert get_page(client, year="106", q="感測器").texts(4) == []


def test_detail_page_of_a_winner(client, published_round):
    winner = published_round.proposals.get(rank=1)
    response = client.get(f"/results/{winner.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    page = Page(html)
    assert page.texts(1) == ["智慧路燈節能計畫"]
    assert page.texts(2) == ["摘要", "問題與現況", "創新作法", "預期效益", "得獎報告"]
    assert "夜間路燈全亮，電費偏高。" in html
    assert "優等" in html and "第 1 名" in html and "高雄市政府經濟發展局" in html
    assert format_roc_date(published_round.published_at) in html
    assert page.lang == "zh-Hant-TW"


def test_detail_is_404_for_anything_not_a_published_winner(client, published_round, unpublished_round, draft):
    ungraded = published_round.proposals.get(rank=5)
    unpublished_winner = unpublished_round.proposals.get()
    assert unpublished_winner.grade == "excellent"
    for proposal_id in (ungraded.pk, unpublished_winner.pk, draft.pk, 999_999):
        assert client.get(f"/results/{proposal_id}/").status_code == 404


def test_accessibility_basics(client, published_round):
    html = client.get("/results/").content.decode()
    page = Page(html)
    assert page.lang == "zh-Hant-TW"
    # The skip link comes first and leads to <main id="main">.
    assert page.links[0] == ("#main", "跳到主要內容")
    assert '<main id="main"' in html
    assert "高雄市政府研究發展考核委員會　市政創新提案成果" in html
    assert "<footer" in html
    # One h1, then no level skipped.
    levels = [level for level, _ in page.headings]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))
    # Every form control has a visible label pointing at it.
    assert {c["id"] for c in page.controls} == {"id_q", "id_year"}
    assert all(c["id"] in page.label_for for c in page.controls)
    assert '<label for="id_q">關鍵字</label>' in html
    assert '<label for="id_year">年度</label>' in html
    search = [f for f in page.forms if f.get("role") == "search"]
    assert search and search[0]["method"] == "get"
    assert next(c for c in page.controls if c["id"] == "id_q")["name"] == "q"
    # Visible focus.
    assert ":focus-visible { outline: 3px solid" in html


def test_empty_page_has_the_same_structure(client, db):
    page = get_page(client)
    assert page.texts(1) == ["市政創新提案得獎名單"]
    assert page.lang == "zh-Hant-TW"


def test_read_only_and_public(client, published_round, make_user):
    assert client.post("/results/", {"q": "路燈"}).status_code == 405
    winner = published_round.proposals.get(rank=1)
    assert client.post(f"/results/{winner.pk}/").status_code == 405
    assert client.head("/results/").status_code == 200
    # Signed-in users see the same page.
    client.force_login(make_user(Role.AGENCY_CLERK))
    assert get_page(client).texts(4) == [e["title"] for e in ENTRIES_107[:4]]


def test_query_count_does_not_grow_with_the_winners(client, cast, django_assert_max_num_queries):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/results/")
        assert response.status_code == 200
        return len(queries)

    build_round(
        cast,
        year=111,
        entries=[{"title": f"五件之{n}", "agency": n % 4} for n in range(5)],
        quotas={"excellent": 2, "a": 1, "b": 1, "merit": 1},
    )
    with django_assert_max_num_queries(3):
        assert len(get_page(client).texts(4)) == 5
    few = count()
    build_round(
        cast,
        year=112,
        entries=[{"title": f"四十件之{n}", "agency": n % 4} for n in range(40)],
        quotas={"excellent": 10, "a": 10, "b": 10, "merit": 10},
    )
    with django_assert_max_num_queries(3):
        assert len(get_page(client).texts(4)) == 45
    assert count() == few
    with django_assert_max_num_queries(3):
        get_page(client, q="四十件", year="112")
