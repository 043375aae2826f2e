"""What the thesis pages say about what happens next: the question an irreversible button asks first (computed from
the data, "" when there is nothing to ask) and who must act now on an application or a call."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from reviews.models import Adoption, ScoreSheet
from workflow_site.money import format_money
from workflow_site.roc_calendar.calendar import today
from workflow_site.roc_calendar.roc import format_roc_date

from .models import Kind, ThesisApplication, ThesisCall

S = ThesisApplication.Status
C = ThesisCall.Status


def _undoable() -> str:
    return _("此動作完成後不能復原。")


def _counts(call: ThesisCall) -> dict[str, int]:
    counts = dict.fromkeys(S.values, 0)
    counts.update(call.applications.values_list("status").annotate(n=Count("pk")).order_by())
    return counts


def _sheets(call: ThesisCall) -> dict[str, int]:
    """The sheets of all the call's panels: to score (not recused) and still open. One query."""
    return ScoreSheet.objects.filter(panel__in=call.tracks.values("panel_id")).aggregate(
        to_score=Count("pk", filter=~Q(status=ScoreSheet.Status.RECUSED)),
        open=Count("pk", filter=~Q(status__in=[ScoreSheet.Status.RECUSED, ScoreSheet.Status.SUBMITTED])),
    )


# ---------------------------------------------------------------- confirmations of the call's buttons


def confirm_start_review(call: ThesisCall) -> str:
    counts = _counts(call)
    parts = []
    if today() <= call.application_deadline:
        parts.append(
            _("申請截止日 %(date)s 還沒到，現在截止將提前結束受理。")
            % {"date": format_roc_date(call.application_deadline)}
        )
    unsent = counts[S.DRAFT] + counts[S.RETURNED]
    if unsent:
        parts.append(_("尚有 %(n)d 件草稿或退回補件的申請將不能再送出。") % {"n": unsent})
    parts.append(
        _("%(n)d 件資格符合的申請將交由各類別審查委員評分；開始後不能再受理或退回補件。") % {"n": counts[S.ELIGIBLE]}
    )
    return "".join(parts) + _undoable()


def confirm_decide(call: ThesisCall) -> str:
    """What the decision can commit at most: per track, its quota or the applications in review if fewer."""
    in_review = {
        (kind, degree): n
        for kind, degree, n in call.applications.filter(status=S.IN_REVIEW)
        .values("kind", "degree")
        .annotate(n=Count("pk"))
        .values_list("kind", "degree", "n")
        .order_by()
    }
    tracks = list(call.tracks.all())
    seats = {t.pk: min(t.quota, in_review.get((t.kind, t.degree), 0)) for t in tracks}
    most = sum(seats[t.pk] * t.amount for t in tracks)
    return (
        _(
            "%(n)d 件審查中的申請將依各類別名額與最低分數核定：至多 %(seats)d 件獲補助或獲獎，金額合計至多 %(most)s，"
            "其餘列為未獲選；各審查會結果隨之鎖定。"
        )
        % {"n": sum(in_review.values()), "seats": sum(seats.values()), "most": format_money(most) or _("0元")}
        + _undoable()
    )


def confirm_close_call(call: ThesisCall) -> str:
    return _("本年度結案後不能再變更。") + _undoable()


# ---------------------------------------------------------------- confirmations of an application's buttons


def confirm_refuse_eligibility(application: ThesisApplication) -> str:
    return _("申請「%(title)s」將不進入審查，申請人會看到審查意見。") % {"title": application.title} + _undoable()


def confirm_cancel(application: ThesisApplication) -> str:
    return (
        _("將撤銷「%(title)s」的補助 %(amount)s，申請人不能再繳交完稿請領。")
        % {"title": application.title, "amount": format_money(application.amount)}
        + _undoable()
    )


def confirm_accept_final(application: ThesisApplication) -> str:
    return (
        _("驗收後即可撥付補助 %(amount)s，申請人不能再更換完稿。") % {"amount": format_money(application.amount)}
        + _undoable()
    )


def confirm_close_application(application: ThesisApplication) -> str:
    return _("結案後本申請不再處理。") + _undoable()


def confirm_withdraw(application: ThesisApplication) -> str:
    text = _("撤回後這份申請不能再送出。")
    if application.call.status == C.OPEN:
        text += _("申請截止日 %(date)s 前可以重新申請。") % {
            "date": format_roc_date(application.call.application_deadline)
        }
    return text + _undoable()


# ---------------------------------------------------------------- what happens next


def application_next_step(application: ThesisApplication) -> str:
    """Who acts next on the application and what it waits for."""
    call = application.call
    status = application.status
    if status in (S.DRAFT, S.RETURNED):
        if call.status != C.OPEN or today() > call.application_deadline:
            return _("本年度已截止收件，這份申請不能再送出。")
        if status == S.RETURNED:
            return _("研考會退回補件：請依審查意見補齊文件，於 %(date)s 前再送出。") % {
                "date": format_roc_date(call.application_deadline)
            }
        return _("草稿：上傳文件後送出，研考會將進行資格審查。申請截止日：%(date)s。") % {
            "date": format_roc_date(call.application_deadline)
        }
    if status == S.SUBMITTED:
        return _("已送研考會，待資格審查；缺件時研考會會退回補件。")
    if status == S.ELIGIBLE:
        return _("資格符合：研考會截止收件後交由審查委員評分。")
    if status == S.INELIGIBLE:
        return _("資格不符，不進入審查；理由見審查意見。")
    if status == S.IN_REVIEW:
        if call.status == C.REVIEWING:
            return _("審查委員評分中，評分截止日：%(date)s；之後由研考會核定結果。") % {
                "date": format_roc_date(call.review_deadline)
            }
        return _("審查中。")
    if status == S.APPROVED:
        if application.kind == Kind.SUBSIDY:
            return _("獲補助 %(amount)s：請於 %(date)s 前繳交論文完稿，經研考會驗收後撥付。") % {
                "amount": format_money(application.amount),
                "date": format_roc_date(call.final_due_date),
            }
        return _("獲獎勵 %(amount)s：待研考會函送相關機關參採。") % {"amount": format_money(application.amount)}
    if status == S.REJECTED:
        return _("未獲選。")
    if status == S.FINAL_SUBMITTED:
        return _("已繳交論文完稿，待研考會驗收。")
    if status == S.ACCEPTED:
        return _("完稿已驗收，補助 %(amount)s 撥付後由研考會結案。") % {"amount": format_money(application.amount)}
    if status == S.OVERDUE:
        return _("已逾完稿繳交期限（%(date)s）：仍可繳交完稿，研考會也可能撤銷補助。") % {
            "date": format_roc_date(call.final_due_date)
        }
    if status == S.CANCELLED:
        return _("補助已撤銷；理由見審查意見。")
    if status == S.FORWARDED:
        waiting = application.adoptions.filter(status=Adoption.Status.PENDING).count()
        return _("已函送機關參採，尚有 %(n)d 個機關未回復；回復後由研考會結案。") % {"n": waiting}
    if status == S.CLOSED:
        return _("已結案，不需再處理。")
    if status == S.WITHDRAWN:
        return _("申請已撤回，不再處理。")
    return ""


def call_next_step(call: ThesisCall, *, can_run: bool) -> str:
    """What the call waits for now, and whom."""
    if call.status == C.PLANNING:
        if not can_run:
            return _("規劃中：待研考會承辦人完成設定並開始受理申請。")
        return _("規劃中：請為各類別審查會加入委員，再按「開始受理申請」。")
    counts = _counts(call)
    if call.status == C.OPEN:
        text = _(
            "受理申請中，申請截止日 %(date)s：已送出 %(sent)d 件，資格符合 %(eligible)d 件，申請人草稿 %(drafts)d 件。"
        ) % {
            "date": format_roc_date(call.application_deadline),
            "sent": counts[S.SUBMITTED] + counts[S.ELIGIBLE] + counts[S.INELIGIBLE],
            "eligible": counts[S.ELIGIBLE],
            "drafts": counts[S.DRAFT] + counts[S.RETURNED],
        }
        if counts[S.SUBMITTED]:
            text += _("尚有 %(n)d 件待資格審查，完成後才能截止收件並開始審查。") % {"n": counts[S.SUBMITTED]}
        return text
    if call.status == C.REVIEWING:
        sheets = _sheets(call)
        return _("委員評分中：%(done)d／%(total)d 份評分表已送出，評分截止日 %(date)s；全部完成後核定結果。") % {
            "done": sheets["to_score"] - sheets["open"],
            "total": sheets["to_score"],
            "date": format_roc_date(call.review_deadline),
        }
    if call.status == C.DECIDED:
        return _(
            "已核定：獲補助或獲獎 %(n)d 件。獲補助者須於 %(date)s 前繳交完稿，待驗收 %(final)d 件；"
            "獲獎論文待函送機關參採。"
        ) % {
            "n": counts[S.APPROVED]
            + counts[S.FINAL_SUBMITTED]
            + counts[S.ACCEPTED]
            + counts[S.OVERDUE]
            + counts[S.FORWARDED]
            + counts[S.CLOSED],
            "date": format_roc_date(call.final_due_date),
            "final": counts[S.FINAL_SUBMITTED],
        }
    if call.status == C.CLOSED:
        return _("本年度已結案。")
    return ""
