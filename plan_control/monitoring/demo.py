"""Controlled plans for `make run`: the 2018 (民國107年) year of monthly control, and this year's plans.

107年: 163 plans across the demo agencies, imported from a spreadsheet, started, and reported on for all
twelve months (filled in and submitted by the agencies' clerks, accepted by RDEC; a few returned for
correction and submitted again). At the year end 103 plans are completed or lag by less than 5 points and
60 lag by 5 points or more, many of them for several months in a row, each with its reason and remedy.
This year: 20 plans in execution, the past months reported, last month's and this month's slots open and
mostly pending, so reminders and the board have work to show now.

Everything goes through the services, 107 played through on its days (`workflow_site.demo.played_on`: imported in
December 2017, each month reported early the next, December's before the year closed), so the times the services
stamp, the transition log and the notices are dated in 107; the submission times are then spread around each
deadline with a few set-based UPDATEs. None of those touches a state or `lagging`, so the monthly tally the
services keep needs no rebuild here.
"""

from __future__ import annotations

import csv
import datetime
import io
import math
import random
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from accounts.models import Agency, User
from workflow_site.demo import played_on
from workflow_site.roc_calendar.calendar import today

from ..models import ControlledPlan, ProgressReport
from . import selectors, services
from .imports import COLUMNS

YEAR = 107
PLANS = 163
LAGGING_AT_YEAR_END = 60  # the rest, 103, are completed or lag by less than the threshold
CURRENT_PLANS = 20
THRESHOLD = Decimal("5.0")  # the default of ControlYear.lag_threshold, which the demo does not change

DISTRICTS = [
    "前鎮",
    "鳳山",
    "岡山",
    "苓雅",
    "三民",
    "左營",
    "楠梓",
    "小港",
    "鼓山",
    "旗津",
    "鹽埕",
    "新興",
    "前金",
    "大寮",
    "林園",
    "仁武",
    "鳥松",
    "大社",
    "橋頭",
    "路竹",
    "湖內",
    "茄萣",
    "燕巢",
    "旗山",
    "美濃",
    "六龜",
    "甲仙",
    "杉林",
    "內門",
    "梓官",
]
VILLAGES = ["忠孝", "仁愛", "信義", "和平", "中正", "光華", "興仁", "復興", "文山", "福德", "新興", "明德"]

# Per agency code: plan titles ({d} = a district, or a village for a district office) and the budget scale.
THEMES: dict[str, tuple[list[str], int]] = {
    "MTO": (
        [
            "高雄捷運環狀輕軌第二階段建設計畫",
            "高雄捷運岡山路竹延伸線第一階段建設計畫",
            "高雄捷運黃線建設綜合規劃計畫",
            "高雄捷運{d}站聯合開發計畫",
            "捷運紅線{d}站出入口增設工程",
        ],
        3_000_000_000,
    ),
    "PWB": (
        [
            "{d}區道路拓寬工程",
            "{d}區公園整建工程",
            "{d}區人行道環境改善工程",
            "{d}區橋梁耐震補強工程",
            "{d}區自行車道串聯工程",
        ],
        150_000_000,
    ),
    "TB": (
        [
            "{d}區立體停車場新建工程",
            "{d}區公共自行車站點擴建計畫",
            "智慧號誌系統建置計畫（{d}區）",
            "{d}轉運站新建工程",
        ],
        200_000_000,
    ),
    "KMB": (["電動公車汰換計畫（{d}路線）", "{d}公車調度站改建工程"], 120_000_000),
    "SB": (
        [
            "{d}社會福利服務中心新建工程",
            "{d}區公共托育家園設置計畫",
            "{d}長青綜合服務中心新建工程",
            "{d}區身心障礙福利服務中心設置計畫",
        ],
        60_000_000,
    ),
    "EPB": (
        ["{d}區資源回收場設備更新計畫", "{d}區河川水質改善計畫", "{d}掩埋場復育工程", "{d}區空氣品質淨化區設置計畫"],
        80_000_000,
    ),
    "EDB": (
        ["前鎮區公有市場改建工程", "{d}區公有零售市場改建工程", "{d}產業園區開發計畫", "{d}區商圈環境改善計畫"],
        250_000_000,
    ),
    "CB": (
        ["高雄市立圖書館{d}分館新建工程", "{d}歷史建築修復工程", "{d}區藝文中心整建工程", "{d}眷村文化園區活化計畫"],
        90_000_000,
    ),
    "QZD": (["前鎮區{d}里活動中心新建工程", "前鎮區{d}里排水側溝改善工程"], 15_000_000),
    "FSD": (["鳳山區{d}里活動中心改建工程", "鳳山區{d}里道路改善工程"], 15_000_000),
    "GSD": (["岡山區{d}里活動中心改建工程", "岡山區{d}里排水改善工程"], 15_000_000),
    "KHW": (
        ["{d}區滯洪池工程", "{d}區雨水下水道建設計畫", "{d}區污水下水道系統建設計畫", "{d}溪排水整治工程"],
        400_000_000,
    ),
    "HB": (["{d}區衛生所新建工程", "{d}區長期照顧服務據點佈建計畫", "{d}區社區心理衛生中心設置計畫"], 50_000_000),
    "EB": (
        ["{d}國民中學老舊校舍改建工程", "{d}國民小學校舍耐震補強工程", "{d}國民運動中心新建工程"],
        180_000_000,
    ),
    "TOB": (["{d}風景區遊憩設施改善工程", "{d}觀光景點環境營造計畫"], 70_000_000),
    "UDB": (["{d}區段徵收開發計畫", "{d}社會住宅新建工程"], 800_000_000),
    "PD": (["{d}分局廳舍新建工程", "{d}區智慧治安監錄系統建置計畫"], 60_000_000),
    "FB": (["{d}消防分隊廳舍新建工程", "{d}區救災車輛汰換計畫"], 40_000_000),
    "LAB": (["{d}職業訓練場擴建計畫", "{d}區勞工育樂中心整建工程"], 50_000_000),
    "CAB": (["{d}區行政中心新建工程", "{d}區殯葬設施更新計畫"], 100_000_000),
    "AGB": (["{d}區農路改善工程", "{d}區農產品冷鏈物流中心建置計畫", "{d}休閒農業區環境改善計畫"], 60_000_000),
}
GENERIC = (["{agency}{d}區設施改善計畫", "{agency}{d}區服務據點建置計畫"], 50_000_000)

LAG_CAUSES = [
    ("用地取得延宕，部分私有地地主尚未同意價購。", "召開協議價購會議，必要時辦理徵收，先行施作已取得用地路段。"),
    ("工程招標流標兩次，重新檢討預算後再行上網。", "調整單價與工期後第三次公告招標，並擴大廠商說明會。"),
    ("颱風影響施工，工區積水停工。", "增派機具與人力趕工，調整工序並申請展延工期。"),
    ("地下管線遷移協調未完成。", "與台電、自來水公司召開管線協調會，訂定遷移時程。"),
    ("設計變更審查中，部分工項暫緩施作。", "加速辦理設計變更審查，先行施作不受影響工項。"),
    ("承商人力不足，施工進度緩慢。", "督促承商增派人力，每週召開進度檢討會議。"),
    ("中央補助款核撥延遲。", "函請中央主管機關儘速核撥，並以市庫先行墊付。"),
    ("營建物價上漲，承商要求調整契約價金。", "依物價指數調整條款辦理，協調承商持續施工。"),
    ("環境影響評估審查尚未通過。", "補充環評說明資料，爭取於下次審查會通過。"),
    ("文化資產審議程序延長。", "配合文資審議意見修正設計，同步進行其他工項。"),
]
NARRATIVE = [
    "依預定進度施工，各工項按計畫推動。",
    "本月完成主要結構工程，辦理品質查驗。",
    "持續辦理採購與履約管理，每月召開工作會議。",
    "本月辦理中間驗收，缺失已請承商改善。",
    "持續推動各項工作，經費依進度支用。",
]
RETURN_REASON = "預算執行數與會計月報不符，請查明修正。"


def _staff() -> list[tuple[Agency, User]]:
    """The demo agencies that have a clerk (`<code>.clerk`, from the accounts and proposals demos), by code."""
    clerks = {u.username: u for u in User.objects.filter(username__endswith=".clerk", agency__isnull=False)}
    staff = []
    for agency in Agency.objects.exclude(code__in=["RDEC", "NSYSU"]).order_by("code"):
        clerk = clerks.get(f"{agency.code.lower()}.clerk")
        if clerk is not None and clerk.agency_id == agency.pk:
            staff.append((agency, clerk))
    return staff[:20]


def _s_curve(rng: random.Random) -> list[float]:
    """A logistic (S-shaped) planned cumulative curve for months 1..12, one decimal, ending at exactly 100."""
    steep, middle = rng.uniform(0.55, 1.1), rng.uniform(4.5, 7.5)

    def g(t: float) -> float:
        return 1 / (1 + math.exp(-steep * (t - middle)))

    low, high = g(0), g(12)
    return [round(100 * (g(m) - low) / (high - low), 1) for m in range(1, 13)]


def _titles(staff, count: int, rng: random.Random, taken: set[str]) -> list[tuple[Agency, User, str, int]]:
    """`count` plans assigned round-robin to the agencies: (agency, clerk, title, budget in NT$)."""
    used = {code: 0 for code in THEMES}
    plans = []
    for n in range(count):
        agency, clerk = staff[n % len(staff)]
        templates, scale = THEMES.get(agency.code, GENERIC)
        places = VILLAGES if agency.kind == "district_office" else DISTRICTS
        k = used.get(agency.code, 0)
        used[agency.code] = k + 1
        template = templates[k % len(templates)]
        title = template.format(d=places[(k * 7 + len(agency.code)) % len(places)], agency=agency.name)
        phase = 2
        while title in taken:
            title = f"{template.format(d=places[k % len(places)], agency=agency.name)}（第{phase}期）"
            phase += 1
        taken.add(title)
        budget = scale * rng.lognormvariate(0, 0.8)
        if "輕軌" in title or "延伸線" in title:
            budget = rng.uniform(12_000_000_000, 19_000_000_000)
        plans.append((agency, clerk, title, int(min(max(budget, 3_000_000), 19_000_000_000)) // 1000 * 1000))
    return plans


def _csv(year: int, plans, curves) -> ContentFile:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for n, ((agency, _clerk, title, budget), curve) in enumerate(zip(plans, curves, strict=True), start=1):
        writer.writerow([f"{year}-{n:03d}", agency.code, title, budget, *curve])
    return ContentFile(out.getvalue().encode("utf-8"), name=f"{year}年度列管計畫.csv")


def _actuals(curve: list[float], kind: str, rng: random.Random) -> list[Decimal]:
    """Cumulative actual progress, never decreasing; the year end decides the kind:
    'done' reaches 100, 'close' ends within the threshold, 'lag' ends 5 points or more behind,
    'recovered' lags for a few months mid-year and catches up."""
    planned = [Decimal(str(v)) for v in curve]
    if kind == "done":
        final = Decimal(100)
    elif kind in ("close", "recovered"):
        final = Decimal(str(round(rng.uniform(95.6, 99.8), 1)))
    else:
        final = Decimal(str(round(100 - rng.uniform(5.5, 42), 1)))
    start = rng.choice([3, 4, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12]) if kind == "lag" else 13
    bump = range(rng.randint(3, 5), rng.randint(7, 9)) if kind == "recovered" else range(0)
    actual, previous = [], Decimal(0)
    for m in range(1, 13):
        if m >= start:
            lag = (100 - final) * (m - start + 1) / (13 - start) + Decimal(str(round(rng.uniform(5.2, 6.5), 1)))
            lag = lag.quantize(Decimal("0.1"))
        elif m in bump:
            lag = Decimal(str(round(rng.uniform(5.5, 9), 1)))
        else:
            lag = Decimal(str(round(rng.uniform(0, 3.5), 1)))
        value = max(previous, planned[m - 1] - lag, Decimal(0))
        value = min(value, final) if m < 12 else final
        actual.append(value)
        previous = value
    return actual


def _fill(*, report_id, clerk, officer, month, planned, actual, budget, cause, accept, returned=False) -> bool:
    """The clerk fills in and submits one report; RDEC accepts it (or returns it once first). True if lagging."""
    lag = planned - actual
    lagging = actual < 100 and lag >= THRESHOLD
    reason, remedy = cause if lagging else ("", "")
    executed = int(budget * actual / 100 * Decimal("0.93"))
    services.report_update(
        actor=clerk,
        report_id=report_id,
        actual_percent=actual,
        budget_executed=executed,
        narrative=NARRATIVE[month % len(NARRATIVE)] if actual < 100 else "計畫已完成，辦理結算驗收。",
        lag_reason=reason,
        remedy=remedy,
    )
    services.report_submit(actor=clerk, report_id=report_id)
    if returned:
        services.report_return(actor=officer, report_id=report_id, reason=RETURN_REASON)
        corrected = int(budget * actual / 100 * Decimal("0.9"))
        services.report_update(actor=clerk, report_id=report_id, budget_executed=corrected)
        services.report_submit(actor=clerk, report_id=report_id)
    if accept:
        services.report_accept(actor=officer, report_id=report_id)
    return lagging


def _backdate(year: int, month: int, plan_ids: list[int]) -> None:
    """Reports were submitted a few days before their deadline (a few late), not today: six UPDATEs a month."""
    due = ProgressReport.objects.filter(year=year, month=month).values_list("due_date", flat=True).first()
    if due is None:
        return
    if month == 12 and year == YEAR:
        # The finished year's last reports went in before it closed, so all of 107 is dated in 107.
        due = datetime.date(year + 1911, 12, 29)
    for rest, days in enumerate((-5, -3, -1, 0, -2, 2)):
        at = timezone.make_aware(datetime.datetime.combine(due + datetime.timedelta(days=days), datetime.time(16)))
        ProgressReport.objects.filter(
            year=year, month=month, submitted_at__isnull=False, plan_id__in=[pk for pk in plan_ids if pk % 6 == rest]
        ).update(submitted_at=at)


def _seed_2018(officer: User, staff) -> list[str]:
    rng = random.Random(YEAR)
    plans = _titles(staff, PLANS, rng, set())
    curves = [_s_curve(rng) for _ in plans]
    with played_on(datetime.date(2017, 12, 20), hour=10):
        services.plans_import(actor=officer, year=YEAR, upload=_csv(YEAR, plans, curves))
    kinds = ["lag"] * LAGGING_AT_YEAR_END + ["done"] * 72 + ["recovered"] * 14
    kinds += ["close"] * (PLANS - len(kinds))
    rng.shuffle(kinds)
    rows = list(ControlledPlan.objects.filter(year=YEAR).order_by("code").values_list("pk", "code"))
    ControlledPlan.objects.filter(year=YEAR).update(officer=officer)
    with played_on(datetime.date(2018, 1, 2)):
        for pk, _code in rows:
            services.plan_start(plan_id=pk, actor=officer)
    by_plan = {}
    for (pk, _code), (_agency, clerk, _title, budget), curve, kind in zip(rows, plans, curves, kinds, strict=True):
        by_plan[pk] = (clerk, budget, curve, _actuals(curve, kind, rng), rng.choice(LAG_CAUSES))
    for month in range(1, 13):
        # Each month's reports are filled in and reviewed in the days before the deadline early the next month;
        # December's are the last of the year's, so they are dated in its final days.
        with played_on(datetime.date(2018, month + 1, 3) if month < 12 else datetime.date(2018, 12, 28)):
            services.reports_open_for_month(year=YEAR, month=month)
            reports = ProgressReport.objects.filter(year=YEAR, month=month).order_by("plan__code")
            for report_id, plan_id in reports.values_list("pk", "plan_id"):
                clerk, budget, curve, actual, cause = by_plan[plan_id]
                _fill(
                    report_id=report_id,
                    clerk=clerk,
                    officer=officer,
                    month=month,
                    planned=Decimal(str(curve[month - 1])),
                    actual=actual[month - 1],
                    budget=budget,
                    cause=cause,
                    accept=month < 12 or rng.random() < 0.93,
                    returned=month < 12 and rng.random() < 0.015,
                )
        _backdate(YEAR, month, list(by_plan))
    done = [pk for pk, (_c, _b, _curve, actual, _cause) in by_plan.items() if actual[-1] == 100]
    with played_on(datetime.date(2018, 12, 31), hour=15):
        for pk in done:
            services.plan_complete(plan_id=pk, actor=officer)
    analysis = selectors.monthly_analysis(year=YEAR, month=12)
    return [
        f"{YEAR}年度列管計畫：{analysis['total']} 項（已完成 {len(done)} 項），12月 進度正常 "
        f"{analysis['on_track']['count']} / 落後 {analysis['lagging']['count']}"
    ]


def _seed_current(officer: User, staff) -> list[str]:
    """This year: 20 plans in execution; months before last reported, last month's and this month's open."""
    now = today()
    year, current = now.year - 1911, now.month
    rng = random.Random(year)
    plans = _titles(staff, CURRENT_PLANS, rng, set(ControlledPlan.objects.values_list("title", flat=True)))
    curves = [_s_curve(rng) for _ in plans]
    services.plans_import(actor=officer, year=year, upload=_csv(year, plans, curves))
    rows = list(ControlledPlan.objects.filter(year=year).order_by("code").values_list("pk", flat=True))
    ControlledPlan.objects.filter(year=year).update(
        officer=officer, created_at=timezone.make_aware(datetime.datetime(now.year - 1, 12, 20, 10))
    )
    for pk in rows:
        services.plan_start(plan_id=pk, actor=officer)
    kinds = ["close"] * 14 + ["lag"] * 6
    by_plan = {
        pk: (clerk, budget, curve, _actuals(curve, kind, rng), rng.choice(LAG_CAUSES))
        for pk, (_agency, clerk, _title, budget), curve, kind in zip(rows, plans, curves, kinds, strict=True)
    }
    for month in range(1, current + 1):
        services.reports_open_for_month(year=year, month=month)
        reports = ProgressReport.objects.filter(year=year, month=month).order_by("plan__code")
        for n, (report_id, plan_id) in enumerate(reports.values_list("pk", "plan_id")):
            if month == current and n >= 3:
                continue  # this month's slot: mostly still to fill in
            if month == current - 1 and n % 5 == 4:
                continue  # last month's, due about now: a few still pending
            clerk, budget, curve, actual, cause = by_plan[plan_id]
            _fill(
                report_id=report_id,
                clerk=clerk,
                officer=officer,
                month=month,
                planned=Decimal(str(curve[month - 1])),
                actual=actual[month - 1],
                budget=budget,
                cause=cause,
                accept=month < current - 1 or (month == current - 1 and n % 5 < 2),
            )
            if month == current - 1 and n == 2:
                services.report_return(actor=officer, report_id=report_id, reason=RETURN_REASON)
        if month < current - 1:
            _backdate(year, month, rows)
    pending = ProgressReport.objects.filter(year=year, status=ProgressReport.Status.PENDING).count()
    submitted = ProgressReport.objects.filter(year=year, status=ProgressReport.Status.SUBMITTED).count()
    return [f"{year}年度列管計畫執行中：{len(rows)} 項，待填報月報 {pending} 件、待審核 {submitted} 件"]


@transaction.atomic
def seed() -> list[str]:
    """Seeder for `seed_demo` (idempotent: each year is skipped once it has plans)."""
    officer = User.objects.get(username="rdec.officer")
    staff = _staff()
    if not staff:
        return []
    lines = []
    if not ControlledPlan.objects.filter(year=YEAR).exists():
        lines += _seed_2018(officer, staff)
    if not ControlledPlan.objects.filter(year=today().year - 1911).exists():
        lines += _seed_current(officer, staff)
    return lines
