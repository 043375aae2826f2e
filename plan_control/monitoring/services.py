"""Every write of plan control: plans, the import, monthly report slots and their lifecycle.

A write that can change the monthly analysis' counts (a plan entering or leaving control, a report becoming
counted or not) refreshes the agency's monthly tally in the same transaction, after the write
(`tally.tally_refresh`); the others say why they need not."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Agency
from accounts.roles import Role
from accounts.selectors import users_by_agency
from workflow_site import notices
from workflow_site.bulk import copy_rows
from workflow_site.errors import Conflict, NotFound, TransitionNotAllowed
from workflow_site.permissions import require
from workflow_site.roc_calendar.calendar import WorkingCalendar
from workflow_site.roc_calendar.roc import format_roc_date
from workflow_site.transitions import apply_bulk_transition, apply_transition

from ..models import ControlledPlan, ProgressReport, planned_progress_problem
from . import selectors
from .errors import Code
from .imports import ImportRow, read_plan_rows
from .tally import tally_refresh

REPORT_FIELDS = ("actual_percent", "budget_executed", "narrative", "lag_reason", "remedy")


class ImportRejected(ValidationError):
    """An import refused row by row: `rows` is [{"row", "column", "message"}, ...] for the API's 400 `{"errors": rows}`;
    as a Django ValidationError its messages read 「第 n 列：...」 under "errors"."""

    def __init__(self, rows: list[dict]):
        self.rows = rows
        super().__init__({"errors": [_("第 %(row)d 列：%(message)s") % r for r in rows]})


def report_due_date(year: int, month: int, day: int) -> datetime.date:
    """The monthly deadline for `month`'s report: `day` of the following month, moved to a working day."""
    calendar = WorkingCalendar()
    ad_year = year + 1911
    next_year, next_month = (ad_year + 1, 1) if month == 12 else (ad_year, month + 1)
    return calendar.monthly_deadline(next_year, next_month, day)


BUDGET_MAX = 2**63 - 1  # the budget column is a bigint


def _budget(text: str) -> int | None:
    """A budget cell as whole NT$ (thousands separators allowed), or None when it is not one."""
    try:
        value = Decimal(text.replace(",", ""))
    except ArithmeticError:
        return None
    if not value.is_finite() or value != value.to_integral_value() or not 0 <= value <= BUDGET_MAX:
        return None
    return int(value)


def _planned_column(values: list[str]) -> str:
    """The month column (m1..m12) a bad planned curve goes wrong in, as `planned_progress_problem` reads it."""
    numbers = []
    for month, value in enumerate(values, start=1):
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            return f"m{month}"
        if not number.is_finite() or not 0 <= number <= 100:
            return f"m{month}"
        numbers.append(number)
    for month in range(1, 12):
        if numbers[month] < numbers[month - 1]:
            return f"m{month + 1}"
    return "m1"


def _validate_rows(rows: list[ImportRow], year: int) -> tuple[list[dict], dict[str, int]]:
    """Every problem of every row, with its row number (the import is all or nothing), and the pk of each
    agency code the rows name."""
    errors = []
    agencies = dict(Agency.objects.filter(code__in={r.agency_code for r in rows}).values_list("code", "pk"))
    taken = set(
        ControlledPlan.objects.filter(year=year, code__in={r.code for r in rows}).values_list("code", flat=True)
    )
    seen: dict[str, int] = {}
    for row in rows:
        problems = []  # (column, message): the column is the header the officer must correct
        if not row.code:
            problems.append(("code", _("缺少計畫編號")))
        elif row.code in taken:
            problems.append(("code", _("計畫編號 %(code)s 已存在於本年度") % {"code": row.code}))
        elif row.code in seen:
            problems.append(
                ("code", _("計畫編號 %(code)s 與第 %(row)d 列重複") % {"code": row.code, "row": seen[row.code]})
            )
        else:
            seen[row.code] = row.number
        if row.agency_code not in agencies:
            problems.append(("agency_code", _("未知的機關代碼 %(code)s") % {"code": row.agency_code or "（空白）"}))
        if not row.title:
            problems.append(("title", _("缺少計畫名稱")))
        if _budget(row.budget) is None:
            problems.append(("budget", _("預算須為非負整數（新臺幣元）：%(v)s") % {"v": row.budget or "（空白）"}))
        problem = planned_progress_problem(row.planned)
        if problem:
            problems.append((_planned_column(row.planned), problem))
        errors += [{"row": row.number, "column": column, "message": message} for column, message in problems]
    return errors, agencies


@transaction.atomic
def plans_import(*, actor, year: int, upload) -> int:
    """Import a year's plans from ODS, XLSX or CSV (UTF-8 with or without BOM, or Big5), all or nothing.

    Raises ImportRejected (a ValidationError) listing every bad row in `rows`; nothing is saved then.
    """
    require(actor, "plan_control.run_control")
    rows = read_plan_rows(upload)
    errors, agencies = _validate_rows(rows, year)
    if errors:
        raise ImportRejected(errors)
    selectors.control_year(year)
    now = timezone.now()
    # No tally refresh: imported plans are registered, not in control until started.
    try:
        return copy_rows(
            ControlledPlan,
            ["year", "code", "agency", "title", "budget", "planned_progress", "status", "created_at"],
            (
                (
                    year,
                    row.code,
                    agencies[row.agency_code],
                    row.title,
                    _budget(row.budget),
                    [float(Decimal(str(v))) for v in row.planned],
                    ControlledPlan.Status.REGISTERED,
                    now,
                )
                for row in rows
            ),
        )
    except IntegrityError as exc:  # a concurrent import took a code between our check and our insert
        raise Conflict(_("計畫編號與同時進行的匯入重複，請重新匯入。"), code=Code.DUPLICATE_CODE) from exc


def _plan(plan_id: int, viewer) -> ControlledPlan:
    try:
        return selectors.plan_list(viewer=viewer).select_for_update(of=("self",)).get(pk=plan_id)
    except ControlledPlan.DoesNotExist as exc:
        raise NotFound() from exc


@transaction.atomic
def plan_start(*, plan_id: int, actor) -> ControlledPlan:
    """registered -> in_execution: RDEC approved the work plan; monthly reporting begins."""
    plan = _plan(plan_id, actor)
    apply_transition(plan, "start", actor=actor)
    tally_refresh(year=plan.year, agency_ids=[plan.agency_id])
    return plan


@transaction.atomic
def plans_start_registered(*, year: int, actor) -> int:
    """registered -> in_execution for every plan of `year` still registered (after the import), at once: one
    guarded UPDATE with a log row per plan, and the tally of the agencies concerned. Returns how many started."""
    require(actor, "plan_control.run_control")
    plans = ControlledPlan.objects.filter(year=year, status=ControlledPlan.Status.REGISTERED)
    agency_ids = set(plans.values_list("agency_id", flat=True))
    if not agency_ids:
        return 0
    started = apply_bulk_transition(plans, "start", actor=actor)
    tally_refresh(year=year, agency_ids=agency_ids)
    return started


@transaction.atomic
def plan_complete(*, plan_id: int, actor) -> ControlledPlan:
    """in_execution -> completed."""
    plan = _plan(plan_id, actor)
    apply_transition(plan, "complete", actor=actor)
    # No tally refresh: in execution and completed are both in control (selectors.ACTIVE_PLAN_STATES), so no
    # count moves. test_tally's step-by-step recount fails if that ever stops being true.
    return plan


@transaction.atomic
def plan_terminate(*, plan_id: int, actor, reason: str) -> ControlledPlan:
    """registered | in_execution -> terminated, with the reason."""
    if not reason.strip():
        raise ValidationError({"reason": [_("請說明終止理由。")]})
    plan = _plan(plan_id, actor)
    apply_transition(plan, "terminate", actor=actor, reason=reason)
    tally_refresh(year=plan.year, agency_ids=[plan.agency_id])
    return plan


@transaction.atomic
def report_open(*, actor, plan_id: int, month: int) -> ProgressReport:
    """An RDEC officer opens one plan's report slot for a month; a second slot for the same month is a 409."""
    require(actor, "plan_control.run_control")
    if not 1 <= month <= 12:
        raise ValidationError({"month": [_("月份須介於 1 到 12。")]})
    plan = _plan(plan_id, actor)
    if plan.status != ControlledPlan.Status.IN_EXECUTION:
        raise TransitionNotAllowed(_("計畫不在執行中，不能開啟月報。"), code=Code.PLAN_NOT_IN_EXECUTION)
    if ProgressReport.objects.filter(plan=plan, month=month).exists():
        raise Conflict(_("此計畫 %(m)d 月的月報已開啟。") % {"m": month}, code=Code.DUPLICATE_REPORT)
    settings_row = selectors.control_year(plan.year)
    report = ProgressReport(
        plan=plan,
        year=plan.year,
        month=month,
        agency_id=plan.agency_id,
        due_date=report_due_date(plan.year, month, settings_row.report_day),
        planned_percent=plan.planned_for(month),
    )
    report.full_clean()
    # No tally refresh: the plan was counted when started, and a pending slot is not a counted report.
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError as exc:  # opened by the monthly task at the same moment
        raise Conflict(_("此計畫 %(m)d 月的月報已開啟。") % {"m": month}, code=Code.DUPLICATE_REPORT) from exc
    return report


@transaction.atomic
def reports_open_for_month(*, year: int, month: int) -> int:
    """Open the month's slot for every plan in execution (the beat task on the 1st); idempotent."""
    settings_row = selectors.control_year(year)
    due = report_due_date(year, month, settings_row.report_day)
    plans = ControlledPlan.objects.filter(year=year, status=ControlledPlan.Status.IN_EXECUTION).exclude(
        reports__month=month
    )
    slots = [
        ProgressReport(
            plan_id=pk,
            year=year,
            month=month,
            agency_id=agency_id,
            due_date=due,
            planned_percent=ControlledPlan(planned_progress=curve).planned_for(month),
        )
        for pk, agency_id, curve in plans.values_list("pk", "agency_id", "planned_progress")
    ]
    # ignore_conflicts: the unique (plan, month) key makes a second run, or a racing officer, harmless.
    # No tally refresh: the plans were counted when started, and pending slots are not counted reports.
    ProgressReport.objects.bulk_create(slots, batch_size=5000, ignore_conflicts=True)
    return len(slots)


def _report(report_id: int, viewer) -> ProgressReport:
    try:
        return (
            selectors.report_list(viewer=viewer)
            .select_for_update(of=("self",))
            .select_related("plan")
            .get(pk=report_id)
        )
    except ProgressReport.DoesNotExist as exc:
        raise NotFound() from exc


def _previous(report: ProgressReport) -> ProgressReport | None:
    if report.month == 1:
        return None
    return ProgressReport.objects.filter(plan_id=report.plan_id, month=report.month - 1).first()


def _check_figures(report: ProgressReport, previous: ProgressReport | None) -> None:
    errors: dict[str, list[str]] = {}
    if report.actual_percent is not None:
        if not 0 <= report.actual_percent <= 100:
            errors["actual_percent"] = [_("實際進度須介於 0 到 100。")]
        elif (
            previous is not None
            and previous.actual_percent is not None
            and report.actual_percent < previous.actual_percent
            and not report.lag_reason.strip()
        ):
            errors["actual_percent"] = [
                _("實際累計進度 %(now)s%% 低於上月的 %(before)s%%，請於落後原因說明。")
                % {"now": report.actual_percent, "before": previous.actual_percent}
            ]
    if report.budget_executed is not None and report.budget_executed < 0:
        errors["budget_executed"] = [_("預算執行數不得為負數。")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def report_update(*, actor, report_id: int, **fields) -> ProgressReport:
    """The agency fills in its figures while the report is pending or returned."""
    report = _report(report_id, actor)
    require(actor, "plan_control.report_progress", report)
    if report.status not in (ProgressReport.Status.PENDING, ProgressReport.Status.RETURNED):
        raise TransitionNotAllowed(_("已填報的月報不能再修改。"), code=Code.REPORT_LOCKED)
    unknown = set(fields) - set(REPORT_FIELDS)
    if unknown:
        raise ValidationError({key: [_("此欄位不可修改。")] for key in unknown})
    for key, value in fields.items():
        setattr(report, key, value if value is not None or key in ("actual_percent", "budget_executed") else "")
    _check_figures(report, _previous(report))
    # Only the changed fields: the keys, uniqueness and constraints of a slot cannot change in an update.
    report.full_clean(
        exclude=[f.name for f in ProgressReport._meta.fields if f.name not in fields],
        validate_unique=False,
        validate_constraints=False,
    )
    # No tally refresh: a pending or returned report is not counted, and neither its state nor `lagging` is
    # among the fields.
    report.save(update_fields=list(fields))
    return report


@transaction.atomic
def report_submit(*, actor, report_id: int) -> ProgressReport:
    """pending | returned -> submitted: the lag is measured against the year's threshold; the consecutive
    lagging months counted (reaching the year's alert level reminds the agency head)."""
    report = _report(report_id, actor)
    require(actor, "plan_control.report_progress", report)
    if report.actual_percent is None:
        raise ValidationError({"actual_percent": [_("請填寫實際累計進度。")]})
    if report.budget_executed is None:
        raise ValidationError({"budget_executed": [_("請填寫預算執行數。")]})
    previous = _previous(report)
    _check_figures(report, previous)
    threshold = selectors.control_year(report.year).lag_threshold
    lag_points = report.planned_percent - report.actual_percent
    lagging = report.actual_percent < 100 and lag_points >= threshold
    if lagging and not (report.lag_reason.strip() and report.remedy.strip()):
        raise ValidationError(
            {"lag_reason": [_("進度落後 %(p)s 個百分點，請填寫落後原因與因應對策。") % {"p": lag_points}]}
        )
    counted = previous is not None and previous.status in (
        ProgressReport.Status.SUBMITTED,
        ProgressReport.Status.ACCEPTED,
    )
    consecutive = (previous.consecutive_lagging + 1 if counted and previous.lagging else 1) if lagging else 0
    apply_transition(
        report,
        "submit",
        actor=actor,
        kwargs={"at": timezone.now(), "lag_points": lag_points, "lagging": lagging, "consecutive": consecutive},
        update_fields=["submitted_at", "lag_points", "lagging", "consecutive_lagging"],
    )
    tally_refresh(year=report.year, agency_ids=[report.plan.agency_id], months=[report.month])
    return report


@transaction.atomic
def report_accept(*, actor, report_id: int) -> ProgressReport:
    """submitted -> accepted (RDEC officer)."""
    report = _report(report_id, actor)
    apply_transition(report, "accept", actor=actor)
    # No tally refresh: submitted and accepted both count (selectors.COUNTED) and `lagging` stays, so no count
    # moves; it would also queue every acceptance behind the year's lock. test_tally's recount guards this.
    return report


@transaction.atomic
def report_return(*, actor, report_id: int, reason: str) -> ProgressReport:
    """submitted -> returned with the reason; the agency corrects and submits again."""
    if not reason.strip():
        raise ValidationError({"reason": [_("請說明退回理由。")]})
    report = _report(report_id, actor)
    apply_transition(
        report,
        "return_for_correction",
        actor=actor,
        reason=reason,
        kwargs={"reason": reason},
        update_fields=["return_reason"],
    )
    tally_refresh(year=report.year, agency_ids=[report.plan.agency_id], months=[report.month])
    _notify_returned(report, reason)
    return report


def _notify_returned(report: ProgressReport, reason: str) -> None:
    """The clerk who filled the report in hears at once that it came back, and why (the reminders of the returned
    report's deadline go to every clerk of the agency later); the agency's clerks when nobody is on record."""
    recipients = selectors.report_filled_in_by(report) or users_by_agency({report.agency_id}, Role.AGENCY_CLERK).get(
        report.agency_id, ()
    )
    facts = {"code": report.plan.code, "title": report.plan.title, "year": report.year, "month": report.month}
    notices.send(
        recipient_ids=recipients,
        subject=_("【月報退回】%(code)s %(title)s %(year)d年%(month)d月月報請修正") % facts,
        body=_(
            "研考會已退回「%(title)s」%(year)d年%(month)d月的進度月報，請依退回理由修正後重新送出"
            "（填報期限：%(due)s）。\n退回理由："
        )
        % {**facts, "due": format_roc_date(report.due_date)}
        + reason,
        item=report,
        url=f"/plan-control/reports/{report.pk}/",
    )
