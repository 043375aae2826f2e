"""Builders for pre-budget review tests: a cycle, requests in any stage and uploads, all through the services.

The clock the tests freeze is NOW (2026-03-02, ROC 115): the fiscal-116 cycle collects requests until 31 March,
meets in May and June and balances in July.
"""

from __future__ import annotations

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile

from plan_control.budget import services
from plan_control.models import BudgetCycle, BudgetRequest

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
