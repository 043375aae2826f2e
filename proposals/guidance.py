"""What the pages say about what happens next: the question an irreversible button asks first (computed from the
data, "" when there is nothing to ask) and who must act now and what they wait for, which the pages show above the
buttons, so someone offered none still knows what comes next."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from reviews.models import Adoption, ScoreSheet
from workflow_site.roc_calendar.calendar import today
from workflow_site.roc_calendar.roc import format_roc_date

from . import selectors
from .models import Grade, Proposal, ProposalRound

P = Proposal.Status
R = ProposalRound.Status
SCREENED = (P.SCREENED_OUT, P.IN_REVIEW, P.GRADED, P.FORWARDED, P.CLOSED)


def _sheets(round_: ProposalRound) -> dict[str, int]:
    """The panel's sheets: to score (not recused) and still open. One query."""
    return ScoreSheet.objects.filter(panel_id=round_.panel_id).aggregate(
        to_score=Count("pk", filter=~Q(status=ScoreSheet.Status.RECUSED)),
        open=Count("pk", filter=~Q(status__in=[ScoreSheet.Status.RECUSED, ScoreSheet.Status.SUBMITTED])),
    )


def _undoable() -> str:
    return _("此動作完成後不能復原。")


# ---------------------------------------------------------------- confirmations of the round's buttons


def confirm_close_submissions(round_: ProposalRound) -> str:
    """Asked only before the deadline: after it, closing is what everyone expects."""
    if today() > round_.submission_deadline:
        return ""
    counts = selectors.round_counts(round_=round_)
    drafts, pending = counts[P.DRAFT], counts[P.PENDING_APPROVAL]
    parts = [
        _("提案截止日 %(date)s 還沒到，現在截止收件將提前結束受理。")
        % {"date": format_roc_date(round_.submission_deadline)}
    ]
    if drafts:
        parts.append(_("尚有 %(n)d 件草稿將不能再送出。") % {"n": drafts})
    if pending:
        parts.append(_("%(n)d 件待機關主管核定的提案仍可由機關主管核定送研考會。") % {"n": pending})
    if not drafts and not pending:
        parts.append(_("目前沒有尚未送出的提案。"))
    parts.append(_("截止後進入書面初審；在任何提案完成初審之前，仍可重新開放收件。"))
    return "".join(parts)


def confirm_start_scoring(round_: ProposalRound) -> str:
    counts = selectors.round_counts(round_=round_)
    members = round_.panel.members.filter(reserve=False).count() if round_.panel else 0
    return _(
        "%(n)d 件通過初審的提案將交由 %(m)d 位委員評分，並建立評分表；開始評分後不能再變更評分表、"
        "等第名額與委員組成規則，也不能再重新開放收件。"
    ) % {"n": counts[P.IN_REVIEW], "m": members}


def confirm_close_scoring(round_: ProposalRound) -> str:
    sheets = _sheets(round_)
    text = _("結束評分後委員不能再送出或修改評分。")
    if sheets["open"]:
        text = _("尚有 %(n)d 份評分表（共 %(t)d 份）未送出，") % {"n": sheets["open"], "t": sheets["to_score"]} + text
    return text + _undoable()


def confirm_finalise(round_: ProposalRound) -> str:
    counts = selectors.round_counts(round_=round_)
    quotas = "、".join(f"{dict(Grade.choices).get(q['grade'], q['grade'])} {q['count']}" for q in round_.grade_quotas)
    return _(
        "%(n)d 件委員審查中的提案將依評分結果確定名次與等第（名額：%(quotas)s），審查會結果鎖定；確定後不能再變更。"
    ) % {"n": counts[P.IN_REVIEW], "quotas": quotas}


def confirm_publish(round_: ProposalRound) -> str:
    winners = round_.proposals.exclude(grade="").count()
    return _("%(n)d 件獲獎提案將公布在公開的成果網頁，任何人不需登入都看得到；公布後不能撤回。") % {"n": winners}


def confirm_close_round(round_: ProposalRound) -> str:
    return _("本年度結案後不能再變更，也不能再公布或修改結果。") + _undoable()


# ---------------------------------------------------------------- confirmations of a proposal's buttons


def confirm_approve(proposal: Proposal) -> str:
    return _("核定後提案「%(title)s」即送研考會，機關不能再修改或撤回；承辦人會收到收件通知。") % {
        "title": proposal.title
    }


def _first_screening(proposal: Proposal) -> str:
    if proposal.round.proposals.filter(status__in=SCREENED).exists():
        return ""
    return _("這是本年度第一件完成書面初審的提案：之後本年度不能再重新開放收件。")


def confirm_pass_screening(proposal: Proposal) -> str:
    """Asked only for the round's first screening, which ends the way back to reopening submissions."""
    first = _first_screening(proposal)
    return first + _("提案將交由審查委員評分。") + _undoable() if first else ""


def confirm_fail_screening(proposal: Proposal) -> str:
    return (
        _("提案「%(title)s」將不進入委員審查，%(agency)s會看到初審意見。")
        % {"title": proposal.title, "agency": proposal.agency}
        + _first_screening(proposal)
        + _undoable()
    )


def confirm_withdraw(proposal: Proposal) -> str:
    return _("撤回後提案不能再送出；若要再提，須重新建立草稿。") + _undoable()


# ---------------------------------------------------------------- what happens next


def proposal_next_step(proposal: Proposal) -> str:
    """Who acts next on the proposal and what it waits for."""
    round_ = proposal.round
    if proposal.status == P.DRAFT:
        if round_.status != R.OPEN:
            return _("本年度已截止收件，草稿不能再送出。")
        return _("草稿由%(agency)s承辦人撰寫，送出後由機關主管核定。提案截止日：%(date)s。") % {
            "agency": proposal.agency,
            "date": format_roc_date(round_.submission_deadline),
        }
    if proposal.status == P.PENDING_APPROVAL:
        return _("待%(agency)s機關主管核定；核定後提案即送研考會，退回則回到承辦人修改。") % {"agency": proposal.agency}
    if proposal.status == P.SUBMITTED:
        if round_.status == R.OPEN:
            return _("已送達研考會。%(date)s 截止收件後，由研考會進行書面初審。") % {
                "date": format_roc_date(round_.submission_deadline)
            }
        return _("研考會書面初審中；通過者交由審查委員評分。")
    if proposal.status == P.SCREENED_OUT:
        return _("書面初審未通過，不進入委員審查；理由見初審意見。")
    if proposal.status == P.IN_REVIEW:
        if round_.status == R.SCREENING:
            return _("已通過書面初審，待研考會完成所有提案的初審後開始委員評分。")
        if round_.status == R.SCORING:
            return _("審查委員評分中，評分截止日：%(date)s。") % {"date": format_roc_date(round_.scoring_deadline)}
        return _("評分已結束，待研考會確定評定結果。")
    if proposal.status == P.GRADED:
        if round_.published_at is None:
            return _("評定結果已確定，待研考會公布。")
        if proposal.grade in round_.forward_grades:
            return _("結果已公布，待研考會轉請相關機關參採。")
        if proposal.grade:
            return _("結果已公布；此等第不轉請機關參採。")
        return _("結果已公布；本提案未獲等第。")
    if proposal.status == P.FORWARDED:
        waiting = proposal.adoptions.filter(status=Adoption.Status.PENDING).count()
        return _("已轉請相關機關參採，尚有 %(n)d 個機關未回復；全部回復後自動結案。") % {"n": waiting}
    if proposal.status == P.CLOSED:
        return _("已結案，不需再處理。")
    if proposal.status == P.WITHDRAWN:
        return _("提案已撤回，不再處理。")
    return ""


def round_next_step(round_: ProposalRound, counts: dict[str, int], *, can_run: bool, ties: int = 0) -> str:
    """What the round waits for now, and whom (shown on the round's page whether or not there is a button)."""
    if round_.status == R.PLANNING:
        if not can_run:
            return _("規劃中：待研考會承辦人完成設定並開始受理提案。")
        return _("規劃中：請確認設定與審查委員，再按「開始受理提案」。")
    if round_.status == R.OPEN:
        return _(
            "受理提案中，提案截止日 %(date)s。已送研考會 %(sent)d 件；各機關尚有草稿 %(drafts)d 件、"
            "待機關主管核定 %(pending)d 件。"
        ) % {
            "date": format_roc_date(round_.submission_deadline),
            "sent": counts[P.SUBMITTED],
            "drafts": counts[P.DRAFT],
            "pending": counts[P.PENDING_APPROVAL],
        }
    if round_.status == R.SCREENING:
        waiting = counts[P.SUBMITTED]
        if waiting:
            return _("書面初審中：尚有 %(n)d 件提案待初審，全部完成後才能開始評分。") % {"n": waiting}
        return _("書面初審已全部完成（通過 %(n)d 件），確認審查委員後即可開始評分。") % {"n": counts[P.IN_REVIEW]}
    if round_.status == R.SCORING:
        sheets = _sheets(round_)
        return _("委員評分中：%(done)d／%(total)d 份評分表已送出，評分截止日 %(date)s。") % {
            "done": sheets["to_score"] - sheets["open"],
            "total": sheets["to_score"],
            "date": format_roc_date(round_.scoring_deadline),
        }
    if round_.status == R.GRADING:
        if round_.finalised_at is None:
            if ties:
                return _("評分已結束：有 %(n)d 組跨越名額界線的同分，須由審查會召集人排序後才能核定結果。") % {
                    "n": ties
                }
            return _("評分已結束：請檢視結果預覽，再核定結果。")
        return _("結果已確定，待研考會公布。")
    if round_.status == R.PUBLISHED:
        waiting = counts[P.GRADED]
        return _("結果已公布：尚有 %(n)d 件已評定的提案未轉請參採或結案；參採回復完成後可結案。") % {"n": waiting}
    if round_.status == R.CLOSED:
        return _("本年度已結案。")
    return ""
