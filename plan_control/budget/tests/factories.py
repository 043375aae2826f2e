"""Builders for pre-budget review tests: a cycle, requests in any stage and uploads, all through the services.

The clock the tests freeze is NOW (2026-03-02, ROC 115): the fiscal-116 cycle collects requests until 31 March,
meets in May and June and balances in July.
"""

from __future__ import annotations

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile

from plan_control.budget import services
from plan_control.models import BudgetCycle, BudgetRequest
from workflow_site.roc_calendar.calendar import today

NOW = datetime.datetime(2026, 3, 2, 2, 0, tzinfo=datetime.UTC)  # 10:00 in Taipei
AFTER_DEADLINE = datetime.datetime(2026, 4, 1, 2, 0, tzinfo=datetime.UTC)
FISCAL_YEAR = 116
MEETING_DAY = datetime.date(2026, 5, 12)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
YI = 100_000_000  # 億
WAN = 10_000  # 萬


def pdf(name: str = "plan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def jpeg(name: str = "site.jpg", content: bytes = JPEG) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


def png(name: str = "site.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def make_cycle(officer, *, fiscal_year: int = FISCAL_YEAR, open_: bool = True, **kwargs) -> BudgetCycle:
    """A cycle with the seed's ceilings (91.64億 public, 18.47億 fund), collecting unless `open_` is False."""
    cycle = services.cycle_create(
        actor=officer,
        fiscal_year=fiscal_year,
        public_ceiling=kwargs.pop("public_ceiling", 9_164_000_000),
        fund_ceiling=kwargs.pop("fund_ceiling", 1_847_000_000),
        request_deadline=kwargs.pop("request_deadline", datetime.date(2026, 3, 31)),
        meeting_start=kwargs.pop("meeting_start", datetime.date(2026, 5, 1)),
        meeting_end=kwargs.pop("meeting_end", datetime.date(2026, 6, 30)),
        balancing_date=kwargs.pop("balancing_date", datetime.date(2026, 7, 15)),
        **kwargs,
    )
    if open_:
        services.cycle_open(actor=officer, cycle_id=cycle.pk)
        cycle.refresh_from_db()
    return cycle


def draft(clerk, cycle, *, public: int = 60_000_000, fund: int = 0, central: int = 0, other: int = 0, **fields):
    """A draft request of the clerk's agency; a new annual plan of 6,000 萬 public budget unless told."""
    amounts = {"public": public, "fund": fund, "central": central, "other": other}
    return services.request_create(
        actor=clerk,
        cycle_id=cycle.pk,
        title=fields.pop("title", "捷運延伸線周邊人行環境改善"),
        kind=fields.pop("kind", BudgetRequest.Kind.NEW_ANNUAL),
        amounts=fields.pop("amounts", amounts),
        total=fields.pop("total", public + fund + central + other),
        justification=fields.pop("justification", "改善步行安全與轉乘。"),
        **fields,
    )


def sent(clerk, head, cycle, **fields) -> BudgetRequest:
    """A request drafted with its plan document, sent by the clerk and signed off by the head: at RDEC."""
    request = draft(clerk, cycle, **fields)
    services.request_document_add(actor=clerk, request_id=request.pk, upload=pdf())
    services.request_submit(actor=clerk, request_id=request.pk)
    return services.request_approve(actor=head, request_id=request.pk)


def reload(request: BudgetRequest) -> BudgetRequest:
    return BudgetRequest.objects.get(pk=request.pk)


def live_dates(start: datetime.date | None = None) -> dict[str, datetime.date]:
    """A cycle's timeline that holds on whatever day the tests run (for tests that freeze no clock): requests until
    30 days from `start` (today in Taipei), meetings in the two months after, balancing a week later."""
    start = start or today()
    return {
        "request_deadline": start + datetime.timedelta(days=30),
        "meeting_start": start + datetime.timedelta(days=31),
        "meeting_end": start + datetime.timedelta(days=90),
        "balancing_date": start + datetime.timedelta(days=97),
    }


def in_every_stage(*, officer, supervisor, people, attendees=(), first_year: int = 130) -> dict:
    """Cycles in every stage and, for each (clerk, head) of `people`, requests in the states their actions need, all
    through the services on today's dates (no frozen clock): for the API-wide tests (permission matrix, fuzz, schema).

    Keys: "cycle.<planning|collecting|reviewing|balancing|decided|approved>" ("decided": balancing with every request
    decided); "request.<draft|pending|submitted|in_review|recommended|decided|approved>", "meeting" (scheduled, on the
    in_review one, `attendees` attending), "visit" (with a photo): tuples, one per agency in `people` order;
    "meeting.held": the balancing cycle's meeting, which recommended its requests. The first agency has ceilings of
    its own in the collecting cycle.
    """
    dates = live_dates()
    day = dates["meeting_start"] + datetime.timedelta(days=9)
    attending = [user.pk for user in attendees]
    w: dict = {}

    def cycle(offset: int, **kwargs) -> BudgetCycle:
        return make_cycle(officer, fiscal_year=first_year + offset, **dates, **kwargs)

    def each(make) -> tuple:
        return tuple(make(clerk, head) for clerk, head in people)

    def with_document(clerk, cycle_, title: str) -> BudgetRequest:
        request = draft(clerk, cycle_, title=title)
        services.request_document_add(actor=clerk, request_id=request.pk, upload=pdf())
        return request

    w["cycle.planning"] = cycle(0, open_=False)
    w["cycle.collecting"] = collecting = cycle(1)
    services.cycle_ceiling_set(
        actor=officer, cycle_id=collecting.pk, agency_id=people[0][0].agency_id, public=50 * YI, fund=None
    )
    w["request.draft"] = each(lambda clerk, head: with_document(clerk, collecting, "人行環境改善（草稿）"))
    pending = each(lambda clerk, head: with_document(clerk, collecting, "人行環境改善（待核定）"))
    for (clerk, _head), request in zip(people, pending, strict=True):
        services.request_submit(actor=clerk, request_id=request.pk)
    w["request.pending"] = tuple(reload(r) for r in pending)
    w["request.submitted"] = each(lambda clerk, head: sent(clerk, head, collecting, title="人行環境改善（已送）"))

    w["cycle.reviewing"] = reviewing = cycle(2)
    in_review = each(lambda clerk, head: sent(clerk, head, reviewing, title="河濱公園（初審中）", public=9000 * WAN))
    services.cycle_start_review(actor=officer, cycle_id=reviewing.pk)
    w["request.in_review"] = tuple(reload(r) for r in in_review)
    w["meeting"] = tuple(
        services.meeting_create(
            actor=officer,
            cycle_id=reviewing.pk,
            date=day,
            place="研考會第一會議室",
            request_ids=[request.pk],
            attendee_ids=attending,
        )
        for request in in_review
    )
    w["visit"] = tuple(
        services.site_visit_create(
            actor=officer,
            cycle_id=reviewing.pk,
            date=day,
            request_ids=[request.pk],
            findings="用地已取得。",
            photos=[jpeg()],
        )
        for request in in_review
    )

    def balanced(offset: int, title: str) -> tuple:
        """A cycle balancing, its requests recommended by a held meeting (9,000 萬 asked, 8,000 萬 recommended)."""
        cycle_ = cycle(offset)
        requests = each(lambda clerk, head: sent(clerk, head, cycle_, title=title, public=8000 * WAN, fund=1000 * WAN))
        services.cycle_start_review(actor=officer, cycle_id=cycle_.pk)
        meeting = services.meeting_create(
            actor=officer,
            cycle_id=cycle_.pk,
            date=day,
            place="研考會第二會議室",
            request_ids=[r.pk for r in requests],
            attendee_ids=attending,
        )
        for request in requests:
            services.meeting_record_decision(
                actor=officer,
                meeting_id=meeting.pk,
                request_id=request.pk,
                amounts={"public": 7000 * WAN, "fund": 1000 * WAN},
                note="分年辦理",
            )
        services.meeting_hold(actor=officer, meeting_id=meeting.pk, minutes="一、照建議金額辦理。")
        services.cycle_start_balancing(actor=officer, cycle_id=cycle_.pk)
        return cycle_, requests, meeting

    w["cycle.balancing"], recommended, w["meeting.held"] = balanced(3, "港區綠能（待核定）")
    w["request.recommended"] = tuple(reload(r) for r in recommended)

    def decide(requests) -> None:
        for n, request in enumerate(requests):
            if n % 2:
                services.request_decide(
                    actor=officer, request_id=request.pk, decision="cut", amounts={"public": 6000 * WAN}, reason="分年"
                )
            else:
                services.request_decide(actor=officer, request_id=request.pk, decision="approved")

    w["cycle.decided"], decided, _meeting = balanced(4, "輕軌延伸（已核定）")
    decide(decided)
    w["request.decided"] = tuple(reload(r) for r in decided)
    approved_cycle, approved, _meeting = balanced(5, "公車轉乘站（已核定）")
    decide(approved)
    services.cycle_approve(actor=supervisor, cycle_id=approved_cycle.pk)
    w["cycle.approved"] = BudgetCycle.objects.get(pk=approved_cycle.pk)
    w["request.approved"] = tuple(reload(r) for r in approved)
    for key in ("cycle.planning", "cycle.collecting", "cycle.reviewing", "cycle.balancing", "cycle.decided"):
        w[key].refresh_from_db()
    return w
