"""The pre-budget review for `make run`: the fiscal-108 cycle (run in 107), finished with the figures RDEC reported,
and this year's cycle collecting requests.

Fiscal 108: the agencies requested 315.5億 in total (public budget, funds, central subsidies and other money); RDEC
held 24 preliminary review meetings in May and June 107, made 3 site visits, balanced the budget in July and
approved 91.64億 of public budget and 18.47億 of fund budget (central subsidies are the central government's to
grant, so none is approved here); the cycle was approved, its granted requests registered as fiscal 108's
controlled plans, and closed. Everything goes through the services, played through on 107's days
(`workflow_site.demo.played_on`), so what they stamp with "now" (sent, decided, approved, held, the amount ledger,
the transition log, the notices) is dated in 107; a few set-based UPDATEs then spread the times over the days.

This year's cycle collects until three weeks from today: a few drafts by the demo agencies' clerks, one waiting for
its head's sign-off and one at RDEC, so the reminders and the pages have work to show.
"""

from __future__ import annotations

import datetime
import random

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.models import Agency, User
from accounts.roles import Role
from workflow_site.demo import played_on
from workflow_site.roc_calendar.calendar import add_working_days, today
from workflow_site.roc_calendar.roc import format_roc_date

from ..models import BudgetCycle, BudgetRequest, ControlledPlan, ReviewMeeting
from ..monitoring.demo import DISTRICTS, GENERIC, THEMES, VILLAGES
from . import selectors, services
from .money import format_amount

FISCAL_YEAR = 108
WAN = 10_000
REQUESTED = 31_550_000_000  # 315.5億, every source
APPROVED_PUBLIC = 9_164_000_000  # 91.64億
APPROVED_FUND = 1_847_000_000  # 18.47億
MEETINGS = 24
PER_MEETING = 4
REQUESTS = MEETINGS * PER_MEETING
FLOOR = 5_000  # 萬: every request clears the new-plan threshold (NT$50,000,000) on its own year
# Agencies that run funds (the MRT, water and economic funds, the city bus) ask for fund budget too.
FUNDED = {"MTO": 0.45, "KHW": 0.35, "EDB": 0.3, "KMB": 0.6, "UDB": 0.4}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PLACES = ["市政大樓 11 樓第一會議室", "市政大樓 11 樓第二會議室", "四維行政中心 9 樓會議室"]
CUT_REASONS = [
    "分年編列，本年度核列部分經費。",
    "請先完成可行性評估，本年度核列規劃設計費。",
    "配合財源，酌減工程經費。",
]
REJECT_REASON = "計畫效益未臻明確，本年度不予核列，請重新檢討後再行提報。"
VISIT_FINDINGS = [
    "用地已取得，鄰近居民支持，惟交通維持計畫須再補強。",
    "現址設施老舊，確有改建需要；建議分期施作以配合財源。",
    "基地排水不良，設計時應納入滯洪設施。",
]


def _pdf() -> SimpleUploadedFile:
    return SimpleUploadedFile("計畫書.pdf", PDF, content_type="application/pdf")


def _at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _staff() -> list[tuple[Agency, User, User]]:
    """The demo agencies that have both a clerk and a head (from the accounts and proposals demos), by code."""
    people: dict[tuple[int, str], int] = {}
    for pk, agency_id, role in (
        User.objects.filter(
            is_active=True, agency__isnull=False, groups__name__in=[Role.AGENCY_CLERK, Role.AGENCY_HEAD]
        )
        .order_by("username")
        .values_list("pk", "agency_id", "groups__name")
    ):
        people.setdefault((agency_id, role), pk)
    users = User.objects.in_bulk(set(people.values()))
    staff = []
    for agency in Agency.objects.exclude(code="RDEC").order_by("code"):
        clerk, head = people.get((agency.pk, Role.AGENCY_CLERK)), people.get((agency.pk, Role.AGENCY_HEAD))
        if clerk and head:
            staff.append((agency, users[clerk], users[head]))
    return staff


def _title(agency: Agency, k: int, taken: set[str]) -> str:
    templates, _scale = THEMES.get(agency.code, GENERIC)
    places = VILLAGES if agency.kind == "district_office" else DISTRICTS
    title = templates[k % len(templates)].format(d=places[(k * 5 + 3) % len(places)], agency=agency.name)
    phase = 2
    while title in taken:
        title = f"{templates[k % len(templates)].format(d=places[k % len(places)], agency=agency.name)}（第{phase}期）"
        phase += 1
    taken.add(title)
    return title


def _spread(total: int, weights: list[float]) -> list[int]:
    """`total` split in proportion to `weights`, in integers that add up exactly (largest remainder)."""
    scale = sum(weights)
    shares = [total * w / scale for w in weights]
    parts = [int(s) for s in shares]
    for i in sorted(range(len(shares)), key=lambda i: parts[i] - shares[i])[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _requests(staff, rng: random.Random) -> list[dict]:
    """REQUESTS requests, 315.5億 in all, in 萬: each its agency, clerk, head, kind, title and amounts by source."""
    totals = [
        FLOOR + part
        for part in _spread(REQUESTED // WAN - FLOOR * REQUESTS, [rng.lognormvariate(0, 1.1) for _ in range(REQUESTS)])
    ]
    taken: set[str] = set()
    used: dict[str, int] = {}
    plans = []
    for n, total in enumerate(totals):
        agency, clerk, head = staff[n % len(staff)]
        k = used[agency.code] = used.get(agency.code, -1) + 1
        fund = int(total * FUNDED.get(agency.code, rng.choice([0, 0, 0.1, 0.2])))
        other = int(total * rng.choice([0, 0, 0, 0.05]))
        # At least a fifth of every request is public budget.
        central = min(int(total * rng.choice([0, 0, 0.2, 0.3, 0.45])), total * 4 // 5 - fund - other)
        central = max(central, 0)
        kind = rng.choice(
            [BudgetRequest.Kind.NEW_MEDIUM_TERM, BudgetRequest.Kind.NEW_ANNUAL, BudgetRequest.Kind.CONTINUING]
        )
        plans.append(
            {
                "agency": agency,
                "clerk": clerk,
                "head": head,
                "title": _title(agency, k, taken),
                "kind": kind,
                "amounts": {
                    "public": (total - fund - central - other) * WAN,
                    "fund": fund * WAN,
                    "central": central * WAN,
                    "other": other * WAN,
                },
                "total": total * WAN,
                "years": {str(FISCAL_YEAR + 1): total * WAN, str(FISCAL_YEAR + 2): total * WAN // 2}
                if kind == BudgetRequest.Kind.NEW_MEDIUM_TERM
                else None,
            }
        )
    return plans


def _decisions(plans: list[dict], rng: random.Random) -> list[tuple[str, int, int]]:
    """(decision, approved public, approved fund) per request, the approved sums exactly 91.64億 and 18.47億.

    Every eighth request is rejected; others are approved as requested (their public and fund budget) while that
    leaves at least a third of each figure to the rest, which are cut in proportion to what they asked for."""
    order = list(range(len(plans)))
    rng.shuffle(order)
    decision = dict.fromkeys(range(len(plans)), "cut")
    for i in range(0, len(plans), 8):
        decision[i] = "rejected"
    public = {i: p["amounts"]["public"] // WAN for i, p in enumerate(plans)}
    fund = {i: p["amounts"]["fund"] // WAN for i, p in enumerate(plans)}
    target_public, target_fund = APPROVED_PUBLIC // WAN, APPROVED_FUND // WAN
    granted_public = granted_fund = 0
    for i in order:
        if decision[i] == "rejected":
            continue
        if granted_public + public[i] <= target_public * 2 // 3 and granted_fund + fund[i] <= target_fund * 2 // 3:
            decision[i] = "approved"
            granted_public += public[i]
            granted_fund += fund[i]
    cut = [i for i in range(len(plans)) if decision[i] == "cut"]
    cut_public = _spread(target_public - granted_public, [public[i] for i in cut])
    cut_fund = _spread(target_fund - granted_fund, [fund[i] or 0.0 for i in cut]) if any(fund[i] for i in cut) else []
    result = []
    by_cut = {i: (cut_public[n], cut_fund[n] if cut_fund else 0) for n, i in enumerate(cut)}
    for i, p in enumerate(plans):
        if decision[i] == "approved":
            result.append(("approved", public[i] * WAN, fund[i] * WAN))
        elif decision[i] == "rejected":
            result.append(("rejected", 0, 0))
        else:
            a, b = by_cut[i]
            if not (a + b > 0 and a <= public[i] and b <= fund[i] and (a + b) * WAN < p["total"]):
                raise AssertionError(f"the demo's cut of request {i} does not fit: {a} + {b} of {p['total']}")
            result.append(("cut", a * WAN, b * WAN))
    return result


def _meeting_days() -> list[datetime.date]:
    """MEETINGS working days, Tuesday to Thursday, from May 2 to June 29, 107 (2018)."""
    days, day = [], datetime.date(2018, 5, 2)
    while len(days) < MEETINGS:
        if day.weekday() in (1, 2, 3) and day != datetime.date(2018, 6, 14):  # Dragon Boat eve: a short week
            days.append(day)
        day += datetime.timedelta(days=1)
    return days


def _send(plan: dict, cycle: BudgetCycle) -> BudgetRequest:
    """The clerk drafts the request with its plan document and sends it; the head signs it off."""
    request = services.request_create(
        actor=plan["clerk"],
        cycle_id=cycle.pk,
        title=plan["title"],
        kind=plan["kind"],
        amounts=plan["amounts"],
        total=plan["total"],
        years=plan["years"],
        justification=f"{plan['agency'].name}提報之{plan['title']}，依施政重點與地方需求辦理。",
    )
    services.request_document_add(actor=plan["clerk"], request_id=request.pk, upload=_pdf())
    services.request_submit(actor=plan["clerk"], request_id=request.pk)
    return services.request_approve(actor=plan["head"], request_id=request.pk)


def _meeting(officer, supervisor, reviewers, cycle, n, day, requests, plans, decisions) -> int:
    """One preliminary review meeting: called two weeks ahead; on its day four requests decided, the minutes."""
    agenda = requests[n * PER_MEETING : (n + 1) * PER_MEETING]
    with played_on(day - datetime.timedelta(days=14)):
        meeting = services.meeting_create(
            actor=officer,
            cycle_id=cycle.pk,
            date=day,
            place=PLACES[n % len(PLACES)],
            request_ids=[r.pk for r in agenda],
            attendee_ids=[officer.pk, supervisor.pk, *(u.pk for u in reviewers)],
        )
    with played_on(day, hour=14):
        _decide_at_meeting(officer, cycle, n, meeting, agenda, requests, plans, decisions)
    return meeting.pk


def _decide_at_meeting(officer, cycle, n, meeting, agenda, requests, plans, decisions) -> None:
    for request in agenda:
        decision, public, fund = decisions[requests.index(request)]
        plan = plans[requests.index(request)]
        services.meeting_record_decision(
            actor=officer,
            meeting_id=meeting.pk,
            request_id=request.pk,
            # What the city funds as it will be decided; central subsidies and other money as applied for.
            amounts={"public": public, "fund": fund, "central": plan["amounts"]["central"], "other": 0}
            if decision != "rejected"
            else {},
            note="照案通過。" if decision == "approved" else (REJECT_REASON if decision == "rejected" else "酌減。"),
        )
    services.meeting_hold(
        actor=officer,
        meeting_id=meeting.pk,
        minutes=f"{cycle}第 {n + 1} 次初審會議：審查 {len(agenda)} 件計畫，各案初審意見詳如決議。",
    )


def _seed_108(officer: User, supervisor: User, staff) -> list[str]:
    rng = random.Random(FISCAL_YEAR)
    plans = _requests(staff, rng)
    decisions = _decisions(plans, rng)
    # Played through on its 107 days (what the services stamp, the ledger, the log and the notices are dated in 107):
    # created in January with the request deadline still to come (the services refuse a request after it), the
    # requests sent in March, the meetings in May and June, the balancing in July.
    with played_on(datetime.date(2018, 1, 15)):
        deadline = datetime.date(2018, 3, 30)
        cycle = services.cycle_create(
            actor=officer,
            fiscal_year=FISCAL_YEAR,
            public_ceiling=APPROVED_PUBLIC,
            fund_ceiling=APPROVED_FUND,
            request_deadline=deadline,
            meeting_start=datetime.date(2018, 5, 1),
            meeting_end=datetime.date(2018, 6, 29),
            balancing_date=datetime.date(2018, 7, 17),
        )
        services.cycle_open(actor=officer, cycle_id=cycle.pk)
    with played_on(datetime.date(2018, 3, 20), hour=14):
        requests = [_send(plan, cycle) for plan in plans]
    with played_on(datetime.date(2018, 4, 2)):
        services.cycle_start_review(actor=officer, cycle_id=cycle.pk)
    reviewers = list(User.objects.filter(groups__name=Role.REVIEWER, is_active=True).order_by("username")[:4])
    meetings = []
    for n, day in enumerate(_meeting_days()):
        meetings.append((_meeting(officer, supervisor, reviewers, cycle, n, day, requests, plans, decisions), day))
    for n, findings in enumerate(VISIT_FINDINGS):
        day = datetime.date(2018, 6, 5 + 7 * n)
        with played_on(day, hour=16):
            services.site_visit_create(
                actor=officer,
                cycle_id=cycle.pk,
                date=day,
                request_ids=[r.pk for r in requests[n * 7 + 1 : n * 7 + 3]],
                findings=findings,
            )
    with played_on(datetime.date(2018, 7, 17), hour=10):
        services.cycle_start_balancing(actor=officer, cycle_id=cycle.pk)
        for n, (request, (decision, public, fund)) in enumerate(zip(requests, decisions, strict=True)):
            services.request_decide(
                actor=officer,
                request_id=request.pk,
                decision=decision,
                amounts={"public": public, "fund": fund} if decision != "rejected" else None,
                reason=""
                if decision == "approved"
                else (REJECT_REASON if decision == "rejected" else CUT_REASONS[n % 3]),
            )
    with played_on(datetime.date(2018, 7, 31), hour=15):
        services.cycle_approve(actor=supervisor, cycle_id=cycle.pk)
    with played_on(datetime.date(2018, 8, 1)):
        services.cycle_close(actor=officer, cycle_id=cycle.pk)
    _backdate(cycle, meetings)
    figures = selectors.totals(cycle=cycle)["overall"]
    plans_registered = ControlledPlan.objects.filter(year=FISCAL_YEAR, budget_request__cycle=cycle).count()
    return [
        f"{cycle}：申請 {figures['count']} 件共 {format_amount(figures['requested']['total'])}，"
        f"核定公務預算 {format_amount(figures['approved']['public'])}、"
        f"基金預算 {format_amount(figures['approved']['fund'])}；"
        f"初審會議 {len(meetings)} 場、實地訪查 {cycle.site_visits.count()} 次；列管計畫 {plans_registered} 項"
    ]


def _backdate(cycle: BudgetCycle, meetings: list[tuple[int, datetime.date]]) -> None:
    """The 107 times spread over the days around them: drafted early in March, sent over a week, decided and the
    meetings held in the afternoon."""
    requests = BudgetRequest.objects.filter(cycle=cycle)
    for rest in range(5):
        requests.filter(pk__in=[pk for pk in requests.values_list("pk", flat=True) if pk % 5 == rest]).update(
            created_at=_at(datetime.date(2018, 3, 1 + rest)),
            submitted_at=_at(datetime.date(2018, 3, 20 + rest), 16),
            decided_at=_at(datetime.date(2018, 7, 17), 17),
            updated_at=_at(datetime.date(2018, 7, 17), 17),
        )
    for pk, day in meetings:
        ReviewMeeting.objects.filter(pk=pk).update(
            created_at=_at(day - datetime.timedelta(days=14)), held_at=_at(day, 17)
        )
    cycle.site_visits.update(created_at=_at(datetime.date(2018, 6, 26)))
    BudgetCycle.objects.filter(pk=cycle.pk).update(
        created_at=_at(datetime.date(2018, 1, 15)), approved_at=_at(datetime.date(2018, 7, 31), 15)
    )
    ControlledPlan.objects.filter(budget_request__cycle=cycle).update(created_at=_at(datetime.date(2018, 7, 31), 15))


def _seed_current(officer: User, staff) -> list[str]:
    """This year's cycle (next fiscal year), collecting: a few drafts, one awaiting sign-off, one at RDEC."""
    year = today().year - 1911 + 1
    deadline = add_working_days(today(), 15)
    cycle = services.cycle_create(
        actor=officer,
        fiscal_year=year,
        public_ceiling=APPROVED_PUBLIC,
        fund_ceiling=APPROVED_FUND,
        request_deadline=deadline,
        meeting_start=deadline + datetime.timedelta(days=14),
        meeting_end=deadline + datetime.timedelta(days=60),
        balancing_date=deadline + datetime.timedelta(days=75),
    )
    services.cycle_open(actor=officer, cycle_id=cycle.pk)
    taken = set(BudgetRequest.objects.values_list("title", flat=True))
    drafts = []
    for n, (agency, clerk, head) in enumerate(staff[:4]):
        drafts.append(
            services.request_create(
                actor=clerk,
                cycle_id=cycle.pk,
                title=_title(agency, 40 + n, taken),
                kind=BudgetRequest.Kind.NEW_ANNUAL,
                amounts={"public": (6 + 2 * n) * 10_000_000},
                total=(6 + 2 * n) * 10_000_000,
                justification="草擬中。",
            )
        )
        if n < 2:
            services.request_document_add(actor=clerk, request_id=drafts[-1].pk, upload=_pdf())
            services.request_submit(actor=clerk, request_id=drafts[-1].pk)
        if n == 0:
            services.request_approve(actor=head, request_id=drafts[-1].pk)
    by = format_roc_date(deadline)
    return [f"{cycle}受理申請中（截止 {by}）：{len(drafts)} 件申請，其中草稿 {len(drafts) - 2} 件"]


@transaction.atomic
def seed() -> list[str]:
    """Seeder for `seed_demo` (idempotent: each cycle is skipped once it exists)."""
    officer = User.objects.filter(username="rdec.officer").first()
    supervisor = User.objects.filter(username="rdec.chief").first()
    staff = _staff()
    if officer is None or supervisor is None or not staff:
        return []
    lines = []
    if not BudgetCycle.objects.filter(fiscal_year=FISCAL_YEAR).exists():
        lines += _seed_108(officer, supervisor, staff)
    if not BudgetCycle.objects.filter(fiscal_year=today().year - 1911 + 1).exists():
        lines += _seed_current(officer, staff)
    return lines
