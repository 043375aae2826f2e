"""The 107年度 (2018) thesis call as Kaohsiung's RDEC reported it, and this year's call open, for `make run`.

107年: "補助撰寫論文研究經費共 7 位；評獲優良學位論文獎勵者 4 位". Eighteen graduate students applied: one was not
eligible (a topic outside Kaohsiung's affairs), the panels of three reviewers scored the rest, 7 subsidies and 4
awards were granted within the quotas and 6 were not; the subsidised students handed in their finished theses and
RDEC accepted them; the call is closed. This year's call takes applications: two drafts and two sent.

The services refuse an application after its call's deadline and an award for a thesis defended more than two years
ago, so the 107 call is played through on its 2018 days (`workflow_site.demo.played_on`): called in March, applied for
in April and May, screened in June, decided in July, the finished theses handed in in November, closed in December;
every time the services stamp, the transition log and the notices are dated in 107.
"""

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.demo import DEMO_EMAIL_DOMAIN, DEMO_PASSWORD
from accounts.models import User
from accounts.roles import Role
from reviews import services as review_services
from reviews.models import ScoreSheet
from workflow_site.demo import played_on
from workflow_site.roc_calendar.calendar import add_working_days, today
from workflow_site.roc_calendar.roc import format_roc_date

from . import services
from .models import ApplicantProfile, ThesisApplication, ThesisCall

S = ThesisApplication.Status
YEAR = 107
SUBSIDY_RUBRIC = [
    {"code": "relevance", "name": "與高雄市政之關聯", "weight": 30, "max_score": 30},
    {"code": "method", "name": "研究方法", "weight": 30, "max_score": 30},
    {"code": "feasibility", "name": "可行性", "weight": 20, "max_score": 20},
    {"code": "policy", "name": "政策應用價值", "weight": 20, "max_score": 20},
]
AWARD_RUBRIC = [
    {"code": "relevance", "name": "與高雄市政之關聯", "weight": 30, "max_score": 30},
    {"code": "quality", "name": "學術品質", "weight": 40, "max_score": 40},
    {"code": "policy", "name": "政策建議價值", "weight": 30, "max_score": 30},
]
TRACKS = [
    {"kind": "subsidy", "degree": "master", "quota": 5, "amount": 40_000, "min_score": 70},
    {"kind": "subsidy", "degree": "doctor", "quota": 2, "amount": 80_000, "min_score": 70},
    {"kind": "award", "degree": "master", "quota": 3, "amount": 30_000, "min_score": 70},
    {"kind": "award", "degree": "doctor", "quota": 1, "amount": 60_000, "min_score": 70},
]
REVIEWERS = [
    ("reviewer.lee", "評審委員 李教授"),
    ("reviewer.wang", "評審委員 王顧問"),
    ("reviewer.hsu", "評審委員 許教授"),
]
# username, name, kind, degree, title, university, department, advisor, quality (None: not eligible)
APPLICANTS_107 = [
    ("thesis107.01", "蔡宜蓁", "subsidy", "master", "高雄輕軌環狀線通車後沿線土地使用變遷之研究",
     "國立中山大學", "公共事務管理研究所", "汪明生教授", 0.91),
    ("thesis107.02", "郭家瑋", "subsidy", "master", "高雄市長照2.0社區整體照顧服務體系之績效評估",
     "高雄醫學大學", "醫務管理暨醫療資訊學系", "黃秀美教授", 0.87),
    ("thesis107.03", "楊子萱", "subsidy", "master", "駁二藝術特區文化創意產業群聚效應之研究",
     "國立高雄師範大學", "文化創意設計研究所", "林文昌教授", 0.84),
    ("thesis107.04", "劉冠廷", "subsidy", "master", "高雄市登革熱防治之跨局處協力治理分析",
     "國立高雄大學", "政治法律學系碩士班", "陳建宏教授", 0.81),
    ("thesis107.05", "許雅筑", "subsidy", "master", "高雄市公共自行車系統使用行為與捷運轉乘之研究",
     "國立高雄科技大學", "運籌管理系碩士班", "吳佳玲教授", 0.78),
    ("thesis107.06", "鄭博文", "subsidy", "master", "前鎮漁港產業轉型與觀光發展之研究",
     "國立高雄科技大學", "海洋事務與產業管理研究所", "蘇振宇教授", 0.74),
    ("thesis107.07", "謝孟儒", "subsidy", "master", "高雄市旗津區居民對海岸侵蝕之風險認知研究",
     "義守大學", "土木與生態工程學系碩士班", "張國棟教授", 0.66),
    ("thesis107.08", "洪郁婷", "subsidy", "master", "臺北市捷運系統營運效率之比較研究",
     "國立政治大學", "公共行政學系", "李怡芳教授", None),
    ("thesis107.09", "王俊傑", "subsidy", "doctor", "高雄臨海工業區循環經濟政策之治理網絡分析",
     "國立中山大學", "公共事務管理研究所", "廖坤榮教授", 0.89),
    ("thesis107.10", "陳思妤", "subsidy", "doctor", "大林蒲遷村政策之利害關係人分析",
     "國立成功大學", "都市計劃學系", "孔憲法教授", 0.83),
    ("thesis107.11", "林柏翰", "subsidy", "doctor", "高雄市都市更新公私協力機制之研究",
     "國立高雄大學", "都市發展與建築研究所", "曾憲嫻教授", 0.72),
    ("thesis107.12", "張雅琪", "award", "master", "高雄市社會住宅政策之民眾接受度研究",
     "國立中山大學", "社會學系", "王佩珊教授", 0.88),
    ("thesis107.13", "黃柏豪", "award", "master", "高雄市1999市民服務專線服務品質之研究",
     "國立高雄大學", "亞太工商管理學系", "周志明教授", 0.85),
    ("thesis107.14", "李佳穎", "award", "master", "高雄市國民中學新住民子女學習適應之研究",
     "國立高雄師範大學", "教育學系", "吳淑華教授", 0.80),
    ("thesis107.15", "吳承恩", "award", "master", "高雄港區空氣污染物排放與管制策略之研究",
     "國立中山大學", "環境工程研究所", "袁中新教授", 0.69),
    ("thesis107.16", "周怡安", "award", "doctor", "高雄市水環境營造計畫之成效評估：以愛河流域為例",
     "國立成功大學", "水利及海洋工程學系", "游保杉教授", 0.90),
    ("thesis107.17", "蕭宇翔", "award", "doctor", "高雄市智慧城市治理之公民參與研究",
     "國立中山大學", "政治學研究所", "廖達琪教授", 0.76),
    ("thesis107.18", "江雨潔", "award", "master", "高雄市原住民族部落文化產業發展之研究",
     "文藻外語大學", "國際事務系碩士班", "陳怡君教授", 0.62),
]  # fmt: skip
INELIGIBLE_REASON = "研究主題非高雄市政議題，不符申請資格。"
# username, name, degree, university, department, advisor, kind, title, sent
APPLICANTS_NOW = [
    ("student.chen", "研究生 陳同學", "master", "國立中山大學", "公共事務管理研究所", "汪明生教授",
     "subsidy", "高雄市社會住宅包租代管政策執行之研究", False),
    ("student.lin", "研究生 林同學", "doctor", "國立成功大學", "都市計劃學系", "孔憲法教授",
     "award", "亞洲新灣區開發與高雄港埠轉型之治理研究", False),
    ("student.wu", "研究生 吳同學", "master", "國立高雄大學", "政治法律學系碩士班", "陳建宏教授",
     "subsidy", "高雄捷運黃線路網對沿線住宅價格影響之研究", True),
    ("student.tsai", "研究生 蔡同學", "master", "國立高雄師範大學", "地理學系", "林玉芬教授",
     "award", "高雄市極端降雨與都市淹水脆弱度分析", True),
]  # fmt: skip
# A small but real PDF: the upload check reads the bytes, not the name.
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def _user(username: str, display: str, roles: list[str]) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = account_services.user_create(
            actor=None,
            username=username,
            password=DEMO_PASSWORD,
            email=f"{username.replace('.', '_')}{DEMO_EMAIL_DOMAIN}",
            display_name=display,
            roles=roles,
        )
    return user


def _applicant(username, display, degree, university, department, advisor) -> User:
    user = _user(username, display, [Role.APPLICANT])
    services.profile_set(actor=user, university=university, department=department, degree=degree, advisor=advisor)
    # The demo students have confirmed their e-mail address.
    ApplicantProfile.objects.filter(user=user, email_verified_at__isnull=True).update(email_verified_at=timezone.now())
    return user


def _call(officer: User, year: int, application_deadline: datetime.date) -> ThesisCall:
    review_deadline = add_working_days(application_deadline, 20)
    call = services.call_create(
        actor=officer,
        year=year,
        title=f"{year}年度高雄市政府學位論文獎補助",
        application_deadline=application_deadline,
        review_deadline=review_deadline,
        final_due_date=review_deadline + datetime.timedelta(days=150),
        tracks=TRACKS,
        rubrics={"subsidy": SUBSIDY_RUBRIC, "award": AWARD_RUBRIC},
    )
    for index, (username, display) in enumerate(REVIEWERS):
        reviewer = _user(username, display, [Role.REVIEWER])
        for kind in ("subsidy", "award"):
            services.call_member_add(
                call_id=call.pk, actor=officer, kind=kind, user_id=reviewer.pk, member_kind="external", chair=index == 0
            )
    services.call_open(call_id=call.pk, actor=officer)
    return call


def _apply(call: ThesisCall, user: User, kind: str, title: str, *, defended: datetime.date | None, send: bool):
    application = services.application_create(
        actor=user,
        call_id=call.pk,
        kind=kind,
        title=title,
        abstract=f"本研究以{title.removesuffix('之研究')}為主題，蒐集高雄市政府相關機關資料並訪談承辦人員，"
        "分析現況與問題，提出具體可行的政策建議。",
        defence_date=defended,
        publish_name=user.display_name.split()[-1] if kind == "award" else "",
    )
    if send:
        role = "plan" if kind == "subsidy" else "thesis"
        services.document_add(actor=user, application_id=application.pk, role=role, upload=_pdf(f"{role}.pdf"))
        services.application_submit(actor=user, application_id=application.pk)
    return application


def _score(call: ThesisCall, quality: dict[int, float]) -> None:
    """Every reviewer scores each application at its quality, give or take half a point: totals never tie."""
    rubrics = {t.panel_id: AWARD_RUBRIC if t.kind == "award" else SUBSIDY_RUBRIC for t in call.tracks.all()}
    sheets = (
        ScoreSheet.objects.filter(panel__in=list(rubrics))
        .exclude(status=ScoreSheet.Status.RECUSED)
        .select_related("member__user", "item")
        .order_by("pk")
    )
    for sheet in sheets:
        rubric = rubrics[sheet.panel_id]
        q = quality[sheet.item.subject_id]
        nudge = (sheet.member.user_id % 3 - 1) * 0.5
        scores = {c["code"]: round(c["max_score"] * q, 1) for c in rubric}
        first = rubric[0]
        scores[first["code"]] = min(first["max_score"], scores[first["code"]] + nudge)
        review_services.sheet_submit(
            sheet_id=sheet.pk, actor=sheet.member.user, scores=scores, comment="詳如審查意見。"
        )


def _seed_107(officer: User) -> list[str]:
    """Played through on its 2018 days: what the services stamp (times, the log, the notices) is dated in 107."""
    with played_on(datetime.date(2018, 3, 1)):
        call = _call(officer, YEAR, datetime.date(2018, 5, 31))
    quality, eligible = {}, []
    for n, (username, name, kind, degree, title, university, department, advisor, q) in enumerate(APPLICANTS_107):
        with played_on(datetime.date(2018, 4, 2) + datetime.timedelta(days=2 * n), hour=20):
            user = _applicant(username, f"研究生 {name}", degree, university, department, advisor)
            defended = datetime.date(2017, 6, 20) if kind == "award" else None
            application = _apply(call, user, kind, title, defended=defended, send=True)
        quality[application.pk] = q
    with played_on(datetime.date(2018, 6, 4)):
        for application in call.applications.order_by("pk"):
            q = quality[application.pk]
            if q is None:
                services.application_screen(
                    actor=officer, application_id=application.pk, eligible=False, reason=INELIGIBLE_REASON
                )
            else:
                services.application_screen(
                    actor=officer, application_id=application.pk, eligible=True, reason="資格符合"
                )
                eligible.append(application)
        services.call_start_review(call_id=call.pk, actor=officer)
    with played_on(datetime.date(2018, 6, 25), hour=14):
        _score(call, {pk: q for pk, q in quality.items() if q is not None})
    with played_on(datetime.date(2018, 7, 31), hour=15):
        services.call_decide(call_id=call.pk, actor=officer)
    subsidised = call.applications.filter(status=S.APPROVED, kind="subsidy").select_related("applicant")
    for n, application in enumerate(subsidised.order_by("pk")):
        with played_on(datetime.date(2018, 11, 1) + datetime.timedelta(days=n), hour=16):
            services.application_submit_final(
                actor=application.applicant, application_id=application.pk, upload=_pdf("final.pdf")
            )
        with played_on(datetime.date(2018, 11, 12) + datetime.timedelta(days=n)):
            services.application_accept_final(actor=officer, application_id=application.pk)
            services.application_close(actor=officer, application_id=application.pk)
    with played_on(datetime.date(2018, 12, 28)):
        services.call_close(call_id=call.pk, actor=officer)
    granted = dict.fromkeys(("subsidy", "award"), 0)
    for kind in call.applications.filter(status__in=[S.APPROVED, S.CLOSED]).values_list("kind", flat=True):
        granted[kind] += 1
    rejected = call.applications.filter(status=S.REJECTED).count()
    return [
        f"{YEAR}年度學位論文獎補助：補助撰寫論文研究經費共 {granted['subsidy']} 位；"
        f"評獲優良學位論文獎勵者 {granted['award']} 位（未獲選 {rejected} 件、資格不符 1 件），已結案"
    ]


def _seed_current(officer: User, year: int) -> list[str]:
    call = _call(officer, year, add_working_days(today(), 15))
    defended = today() - datetime.timedelta(days=90)
    lines = []
    for username, display, degree, university, department, advisor, kind, title, sent in APPLICANTS_NOW:
        user = _applicant(username, display, degree, university, department, advisor)
        _apply(call, user, kind, title, defended=defended if kind == "award" else None, send=sent)
        state = "已送出" if sent else "草稿"
        lines.append(f"  {username:<16} {display}  [applicant]  {state}：{title}")
    deadline = format_roc_date(call.application_deadline)
    return [f"{year}年度學位論文獎補助受理中（申請截止 {deadline}）：草稿 2 件、已送出 2 件；申請人帳號：", *lines]


@transaction.atomic
def seed() -> list[str]:
    """Seeder for `seed_demo` (idempotent: each call is seeded once, by its year)."""
    officer = User.objects.get(username="rdec.officer")
    lines = []
    if not ThesisCall.objects.filter(year=YEAR).exists():
        lines += _seed_107(officer)
    year = today().year - 1911
    if year != YEAR and not ThesisCall.objects.filter(year=year).exists():
        lines += _seed_current(officer, year)
    return lines
