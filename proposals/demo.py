"""A 2018-like (民國107年) innovation round for `make run`, and this year's round open for proposals.

107年: 69 proposals from 20 agencies, 3 screened out, 66 scored by 7 reviewers (5 external, 2 internal;
the internal ones recused from their own agency's proposals), graded 優等 4 / 甲等 17 / 乙等 13 / 佳作 11,
published; a few winners forwarded for adoption, one answered. Plus drafts never sent and a withdrawal.
This year's round is open, with drafts, a proposal awaiting sign-off and sent ones.
"""

import datetime
import random

from django.db import transaction

from accounts import services as account_services
from accounts.demo import DEMO_EMAIL_DOMAIN, DEMO_PASSWORD
from accounts.models import Agency, User
from accounts.roles import Role
from reviews import services as review_services
from reviews.models import ScoreSheet
from reviews.selectors import panel_evaluation
from workflow_site.demo import played_on
from workflow_site.roc_calendar.calendar import add_working_days, today

from . import services
from .models import Proposal, ProposalRound

MORE_AGENCIES = [
    ("HB", "高雄市政府衛生局", "Department of Health"),
    ("EB", "高雄市政府教育局", "Education Bureau"),
    ("TOB", "高雄市政府觀光局", "Tourism Bureau"),
    ("UDB", "高雄市政府都市發展局", "Urban Development Bureau"),
    ("PD", "高雄市政府警察局", "Police Department"),
    ("FB", "高雄市政府消防局", "Fire Bureau"),
    ("LAB", "高雄市政府勞工局", "Labor Affairs Bureau"),
    ("CAB", "高雄市政府民政局", "Civil Affairs Bureau"),
    ("AGB", "高雄市政府農業局", "Agriculture Bureau"),
]
TOPICS = [
    "智慧路燈節能管理",
    "公車到站資訊整合",
    "長照服務一站式申辦",
    "校園午餐食材溯源",
    "登革熱孳生源熱點預警",
    "災害應變資訊儀表板",
    "工程施工即時影像",
    "市民陳情案件分流",
    "港區空氣品質感測",
    "共享停車位媒合",
    "社宅申請線上化",
    "河川水位預警推播",
    "觀光人流分析",
    "消防栓巡檢數位化",
    "就業媒合行動平台",
    "區公所臨櫃預約",
    "農產品產銷履歷",
    "捷運轉乘優惠整合",
    "公園設施報修",
    "路平專案排程優化",
    "老舊建物耐震評估",
    "身心障礙輔具租借",
    "學生視力保健追蹤",
    "夜間救護派遣優化",
    "市場攤位電子支付",
    "道路挖掘協調平台",
    "公文電子化簽核",
    "文化場館聯合售票",
    "環保回收點地圖",
]
RUBRIC = [
    {"code": "innovation", "name": "創新性", "weight": 30, "max_score": 30, "guidance": "作法新穎、突破現況"},
    {"code": "feasibility", "name": "可行性", "weight": 25, "max_score": 25, "guidance": "資源、法規與時程可行"},
    {"code": "benefit", "name": "效益", "weight": 25, "max_score": 25, "guidance": "對市民與機關的具體效益"},
    {"code": "spread", "name": "擴散性", "weight": 20, "max_score": 20, "guidance": "可推廣至其他機關"},
]
REVIEWERS = [
    ("reviewer.lee", "external"),
    ("reviewer.wang", "external"),
    ("reviewer.lin", "external"),
    ("reviewer.huang", "external"),
    ("reviewer.chou", "external"),
    ("sb.reviewer", "internal"),
    ("edb.reviewer", "internal"),
]


def _user(username: str, display: str, agency: Agency | None, roles: list[str]) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = account_services.user_create(
            actor=None,
            username=username,
            password=DEMO_PASSWORD,
            email=f"{username.replace('.', '_')}{DEMO_EMAIL_DOMAIN}",
            display_name=display,
            agency=agency,
            roles=roles,
        )
    return user


def _agency_staff() -> list[tuple[Agency, User, User]]:
    for code, name, name_en in MORE_AGENCIES:
        if not Agency.objects.filter(code=code).exists():
            account_services.agency_create(actor=None, code=code, name=name, name_en=name_en, kind="bureau")
    staff = []
    for agency in Agency.objects.exclude(code__in=["RDEC", "NSYSU"]).order_by("code"):
        short = agency.code.lower()
        clerk = _user(f"{short}.clerk", f"{agency.name}承辦", agency, [Role.AGENCY_CLERK])
        head = _user(f"{short}.head", f"{agency.name}主管", agency, [Role.AGENCY_HEAD])
        staff.append((agency, clerk, head))
    return staff[:20]


def _reviewers() -> list[tuple[User, str]]:
    sb, edb = Agency.objects.get(code="SB"), Agency.objects.get(code="EDB")
    names = {
        "reviewer.lin": ("評審委員 林教授", None),
        "reviewer.huang": ("評審委員 黃執行長", None),
        "reviewer.chou": ("評審委員 周研究員", None),
        "sb.reviewer": ("社會局代表 簡專委", sb),
        "edb.reviewer": ("經發局代表 游專委", edb),
    }
    people = []
    for username, kind in REVIEWERS:
        display, agency = names.get(username, (username, None))
        people.append((_user(username, display, agency, [Role.REVIEWER]), kind))
    return people


def _seed_2018(officer: User, chief: User, staff) -> list[str]:
    """Played through on its 2018 days: what the services stamp (times, the log, the notices) is dated in 107."""
    rng = random.Random(107)
    with played_on(datetime.date(2018, 3, 1)):
        round_ = _open_2018(officer)
    with played_on(datetime.date(2018, 4, 16)):
        sent = _send_2018(round_, staff)
    with played_on(datetime.date(2018, 6, 1)):
        services.round_close_submissions(round_id=round_.pk, actor=officer)
        for n, proposal in enumerate(sent):
            if n in (7, 31, 58):
                services.proposal_screen(
                    proposal_id=proposal.pk, actor=officer, passed=False, reason="屬例行業務，非創新作法"
                )
            else:
                services.proposal_screen(proposal_id=proposal.pk, actor=officer, passed=True, reason="符合提案格式")
        services.round_start_scoring(round_id=round_.pk, actor=officer)
    with played_on(datetime.date(2018, 7, 16), hour=14):
        _score_2018(round_, rng)
    with played_on(datetime.date(2018, 8, 1)):
        services.round_close_scoring(round_id=round_.pk, actor=officer)
        chair = round_.panel.members.get(is_chair=True).user
        for tie in panel_evaluation(round_.panel).outcome.ties:
            review_services.tie_resolve(
                panel_id=round_.panel_id, actor=chair, item_ids=tie.item_ids, reason="委員會議決"
            )
    with played_on(datetime.date(2018, 8, 15), hour=15):
        services.round_finalise(round_id=round_.pk, actor=chief)
    with played_on(datetime.date(2018, 8, 20)):
        services.round_publish(round_id=round_.pk, actor=officer)
    winners = list(round_.proposals.filter(grade__in=["excellent", "a"]).order_by("rank")[:3])
    with played_on(datetime.date(2018, 9, 3)):
        _forward_2018(officer, winners)
    with played_on(datetime.date(2018, 9, 27), hour=16):
        # The first winner's agencies have both answered (the proposal closes); the others still owe an answer.
        for adoption, response in zip(winners[0].adoptions.order_by("pk"), ["adopt", "partial"], strict=False):
            clerk = User.objects.filter(agency_id=adoption.agency_id, groups__name=Role.AGENCY_CLERK).first()
            services.adoption_respond(
                adoption_id=adoption.pk, actor=clerk, response=response, reason="納入明年度計畫辦理"
            )
    counts = {g: round_.proposals.filter(grade=g).count() for g in ("excellent", "a", "b", "merit")}
    return [
        f"107年度市政創新提案：{len(sent)} 件送件，等第 優等 {counts['excellent']} / 甲等 {counts['a']} / "
        f"乙等 {counts['b']} / 佳作 {counts['merit']}，已公布於 /results/"
    ]


def _open_2018(officer: User) -> ProposalRound:
    round_ = services.round_create(
        actor=officer,
        year=107,
        title="107年度市政創新提案",
        submission_deadline=datetime.date(2018, 5, 31),
        scoring_deadline=datetime.date(2018, 7, 31),
        rubric=RUBRIC,
        aggregation="trimmed_mean",
    )
    for index, (reviewer, kind) in enumerate(_reviewers()):
        services.round_panel_member_add(
            round_id=round_.pk, actor=officer, user_id=reviewer.pk, kind=kind, chair=index == 0
        )
    services.round_open(round_id=round_.pk, actor=officer)
    return round_


def _send_2018(round_: ProposalRound, staff) -> list[Proposal]:
    """69 proposals sent and signed off, two weeks before the deadline; a draft never sent and a withdrawal."""
    sent = []
    for n in range(69):
        agency, clerk, head = staff[n % len(staff)]
        proposal = services.proposal_create(
            actor=clerk,
            round_id=round_.pk,
            title=f"{TOPICS[n % len(TOPICS)]}{'（第二期）' if n >= len(TOPICS) else ''}",
            summary=f"{agency.name}提出：{TOPICS[n % len(TOPICS)]}，以數位工具簡化流程、提升服務品質。",
            problem="現行作業仰賴人工與紙本，處理時間長且資訊分散。",
            approach="整合既有資料，建置線上服務與管理介面，並與相關機關協作。",
            benefits="縮短處理時間、減少民眾往返，並可推廣至其他機關。",
            contact_name=clerk.display_name,
            contact_email=clerk.email,
        )
        services.proposal_submit(proposal_id=proposal.pk, actor=clerk)
        services.proposal_approve(proposal_id=proposal.pk, actor=head)
        sent.append(proposal)
    # Never sent, and withdrawn: they stay with their agency.
    agency, clerk, head = staff[0]
    services.proposal_create(actor=clerk, round_id=round_.pk, title="市民卡整合服務（未送出）", summary="草稿")
    withdrawn = services.proposal_create(actor=clerk, round_id=round_.pk, title="行動支付停車（撤回）", summary="撤回")
    services.proposal_withdraw(proposal_id=withdrawn.pk, actor=clerk, reason="與他機關提案重複")
    return sent


def _score_2018(round_: ProposalRound, rng: random.Random) -> None:
    quality = {item_id: rng.uniform(0.55, 0.95) for item_id in round_.panel.items.values_list("pk", flat=True)}
    sheets = ScoreSheet.objects.filter(panel=round_.panel).exclude(status="recused").select_related("member__user")
    for sheet in sheets:
        base = quality[sheet.item_id]
        scores = {
            c["code"]: round(min(c["max_score"], max(0, c["max_score"] * (base + rng.uniform(-0.08, 0.08)))), 1)
            for c in RUBRIC
        }
        review_services.sheet_submit(sheet_id=sheet.pk, actor=sheet.member.user, scores=scores)


def _forward_2018(officer: User, winners: list[Proposal]) -> None:
    agencies = {a.code: a for a in Agency.objects.all()}
    for proposal in winners:
        targets = [a.pk for code, a in agencies.items() if code in ("PWB", "TB") and a.pk != proposal.agency_id]
        services.proposal_forward(proposal_id=proposal.pk, actor=officer, agency_ids=targets)


def _seed_current(officer: User, staff) -> list[str]:
    year = today().year - 1911
    round_ = services.round_create(
        actor=officer,
        year=year,
        title=f"{year}年度市政創新提案",
        submission_deadline=add_working_days(today(), 10),
        scoring_deadline=add_working_days(today(), 40),
        rubric=RUBRIC,
    )
    services.round_open(round_id=round_.pk, actor=officer)
    for n, (_agency, clerk, head) in enumerate(staff[:5]):
        proposal = services.proposal_create(
            actor=clerk, round_id=round_.pk, title=f"{TOPICS[-1 - n]}（{year}年）", summary="本年度提案，撰寫中。"
        )
        if n >= 2:
            services.proposal_submit(proposal_id=proposal.pk, actor=clerk)
        if n >= 3:
            services.proposal_approve(proposal_id=proposal.pk, actor=head)
    return [f"{year}年度市政創新提案受理中：草稿 2 件、待核定 1 件、已送件 2 件"]


@transaction.atomic
def seed() -> list[str]:
    """Seeder for `seed_demo` (idempotent: skipped once the 107 round exists)."""
    if ProposalRound.objects.filter(year=107).exists():
        return []
    officer = User.objects.get(username="rdec.officer")
    chief = User.objects.get(username="rdec.chief")
    staff = _agency_staff()
    return _seed_2018(officer, chief, staff) + _seed_current(officer, staff)


__all__ = ["Proposal", "seed"]
