"""The API permission matrix (#12 item 8): every operation the OpenAPI schema publishes, called by every role on an
object of the caller's own agency and on one of another agency, answers the status code stated in MATRIX below.

A new endpoint fails `test_the_matrix_states_every_operation` until someone states who may call it. A refused write
must also leave the data as it was: the target row, the rows counted in WATCHED and the transition log.

How to read a row: `"POST /api/v1/proposals/{id}/approve/": row("proposal.pending", {"*": 404, HEAD: 200, CLERK: 403})`
calls the approve action on a pending proposal (`world["proposal.pending"]`: agency A's and agency B's) and expects
the head 200, the clerk 403, everyone else signed in 404. Keys are a role, a group (GROUPS: `RUNS`, `AGENCY`,
`STAFF`, `PANEL`) or `"*"` (every signed-in role); the more specific key wins. The rules the rows share:

- anonymous: 401 (the API answers with a `WWW-Authenticate: Token` challenge), unless the row's `anon` says otherwise;
- the other agency's object: 404 for the roles that see only their own (SCOPED: agency roles for agency data, the
  recipient for a notification or a token, the reviewer for a score sheet, panel members for a panel); every other
  role answers as for the own agency's object;
- a list (`rows=True`) shown to agency A's clerk or head holds A's rows only, and at least one; shown to the insider
  (a reviewer working at A), none.

Objects are seeded once per module, inside a transaction; each case runs in a savepoint rolled back after it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from accounts import services as account_services
from accounts import tokens
from accounts.models import Agency, ApiToken, Delegation, User
from accounts.roles import Role
from accounts.tests.factories import PASSWORD, AgencyFactory, UserFactory
from notifications.models import Channel, Notification, NotificationPreference
from notifications.tests.factories import ReminderRuleFactory
from plan_control.appraisal import services as appraisal_services
from plan_control.budget.tests.factories import in_every_stage, jpeg, live_dates
from plan_control.models import (
    AmountLedger,
    Appraisal,
    AppraisalRound,
    BudgetCeiling,
    BudgetCycle,
    BudgetDocument,
    BudgetRequest,
    ControlledPlan,
    MeetingDecision,
    ProgressReport,
    ReviewMeeting,
    SiteVisit,
    SiteVisitPhoto,
)
from plan_control.monitoring import services as monitoring_services
from plan_control.tests import factories as plans
from proposals import services as proposal_services
from proposals.models import Attachment, Proposal, ProposalRound
from proposals.tests.factories import make_round, score_everything, sent_proposal
from reviews import services as review_services
from reviews.models import Adoption, Panel, PanelMember, ScoreSheet, TieResolution
from reviews.tests import factories as reviews
from theses import services as thesis_services
from theses.models import ApplicantProfile, ThesisApplication, ThesisCall, ThesisDocument
from theses.tests.factories import RUBRIC as THESIS_RUBRIC
from theses.tests.factories import make_applicant, sent_application
from theses.tests.factories import pdf as thesis_pdf
from theses.tests.factories import score_everything as thesis_score_everything
from workflow_site.models import TransitionLog
from workflow_site.roc_calendar.calendar import today

# ---------------------------------------------------------------------------------------------- roles

ANON, CLERK, HEAD, OFFICER, SUPERVISOR, ADMIN = "anon", "clerk", "head", "officer", "supervisor", "admin"
REVIEWER, CHAIR, INSIDER, APPLICANT = "reviewer", "chair", "insider", "applicant"
ROLES = (ANON, CLERK, HEAD, OFFICER, SUPERVISOR, ADMIN, REVIEWER, CHAIR, INSIDER, APPLICANT)
# The clerk and the head of agency A; an RDEC officer and an RDEC supervisor; a system administrator; a reviewer and
# a panel chair (external, no agency) sitting on the "own" panels, on the proposal round in scoring and on the thesis
# call in review; an insider: a reviewer who works at agency A (an internal representative) and sits on no panel here,
# so sees nothing of A's; a graduate student applying for a thesis subsidy (no agency), whose "own" application is
# theirs and the "other" another student's.
AGENCY, STAFF, RUNS, PANEL = "agency", "staff", "runs", "panel"
GROUPS = {  # most specific first: RUNS lies inside STAFF
    RUNS: (OFFICER, ADMIN),  # who run the processes (rules run_round, run_panel, run_control); not the supervisor
    AGENCY: (CLERK, HEAD),
    STAFF: (OFFICER, SUPERVISOR, ADMIN),  # RDEC staff: see every agency's data, finalise
    PANEL: (REVIEWER, CHAIR),
    "*": (CLERK, HEAD, OFFICER, SUPERVISOR, ADMIN, REVIEWER, CHAIR, INSIDER, APPLICANT),
}

# Per kind of object: the roles who see only their own ("own" target: agency A's, or the clerk's own notification
# and token, the reviewer's own sheet, a panel the reviewer and the chair sit on). Kinds absent here have one target.
SCOPED = {
    "proposal": GROUPS[AGENCY],
    "adoption": GROUPS[AGENCY],
    "plan": GROUPS[AGENCY],
    "report": GROUPS[AGENCY],
    "appraisal": GROUPS[AGENCY],
    "delegation": GROUPS[AGENCY],
    "notification": (CLERK,),
    "token": (CLERK,),
    "sheet": (REVIEWER,),
    "panel": GROUPS[PANEL],
    "agency": (),  # the directory: everyone signed in reads every agency
    "user": (),  # administrators only, whichever agency
    "thesis_app": (APPLICANT,),  # an applicant's own; RDEC and the panel see both students' alike
    "budget_request": GROUPS[AGENCY],
    "budget_meeting": GROUPS[AGENCY],  # an agency sees the meetings it is concerned in
    "budget_visit": GROUPS[AGENCY],  # and the visits to its requests
}


@dataclass(frozen=True)
class Row:
    target: str | None  # world key of the object in {id}; None for a collection
    expect: dict[str, int]
    anon: int = 401
    body: Callable[[dict, object], dict] | None = None  # (world, target) -> request body
    multipart: bool = False
    query: dict | None = None
    rows: bool = False


def row(target=None, expect=None, **kwargs) -> Row:
    return Row(target, expect or {}, **kwargs)


def fixed(data: dict) -> Callable[[dict, object], dict]:
    return lambda _w, _t: data


def _pdf(_w, _t) -> dict:
    return {
        "file": SimpleUploadedFile("附件.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf")
    }


def _plans_csv(_w, _t) -> dict:
    return {"file": plans.csv_upload(plans.sheet_rows([plans.plan_dict("NEW-1", "OWN")])), "year": 111}


def _delegation(w, _t) -> dict:
    return {
        "user": w["user.head"].pk,
        "substitute": w["user.spare"][0].pk,
        "starts": today().isoformat(),
        "ends": (today() + datetime.timedelta(days=3)).isoformat(),
        "reason": "公假",
    }


def _round_body(_w, _t) -> dict:
    return {
        "year": 121,
        "title": "121年度市政創新提案",
        "submission_deadline": (today() + datetime.timedelta(days=30)).isoformat(),
        "scoring_deadline": (today() + datetime.timedelta(days=60)).isoformat(),
        "rubric": [{"code": "innovation", "name": "創新性", "weight": 100, "max_score": 10}],
        "min_members": 1,
        "min_external": 0,
    }


def _agency_put(_w, agency) -> dict:
    return {"code": agency.code, "name": f"{agency.name}（改）", "name_en": "", "kind": agency.kind, "active": True}


def _user_put(_w, user) -> dict:
    return {
        "username": user.username,
        "email": user.email,
        "display_name": "改名",
        "agency": user.agency_id,
        "roles": [Role.AGENCY_CLERK],
        "is_active": True,
    }


def _panel_extra(key: str):
    """A sheet (or member) of the target panel itself, for the chair's actions."""

    def body(w, panel) -> dict:
        extra = w["panel.extra"][panel.pk]
        data = {"sheet": extra[key].pk, "reason": "委員申請更正"}
        if key == "recused":
            data["member"] = extra["reserve"].pk
        return data

    return body


def _tie(w, panel) -> dict:
    return {"item_ids": w["panel.extra"][panel.pk]["items"], "reason": "創新性較具體"}


FULL_SCORES = {"innovation": 8, "feasibility": 7, "benefit": 15}


def _thesis_call_body(_w, _t) -> dict:
    return {
        "year": 150,
        "title": "150年度學位論文獎補助",
        "application_deadline": (today() + datetime.timedelta(days=30)).isoformat(),
        "review_deadline": (today() + datetime.timedelta(days=60)).isoformat(),
        "final_due_date": (today() + datetime.timedelta(days=200)).isoformat(),
        "tracks": [{"kind": "subsidy", "degree": "master", "quota": 2, "amount": 30000}],
        "rubrics": {"subsidy": THESIS_RUBRIC},
        "min_members": 1,
    }


def _budget_cycle_body(_w, _t) -> dict:
    return {"fiscal_year": 150, "public_ceiling": 9_164_000_000, "fund_ceiling": 1_847_000_000, **_iso(live_dates())}


def _iso(dates: dict) -> dict:
    return {name: day.isoformat() for name, day in dates.items()}


def _budget_request_body(w, _t) -> dict:
    return {
        "cycle": w["budget_cycle.collecting"].pk,
        "title": "智慧停車",
        "kind": "new_annual",
        "amounts": {"public": 60_000_000},
        "total": 60_000_000,
    }


def _budget_meeting_day(w) -> str:
    return (w["budget_cycle.reviewing"].meeting_start + datetime.timedelta(days=1)).isoformat()


def _budget_meeting_body(w, _t) -> dict:
    return {
        "cycle": w["budget_cycle.reviewing"].pk,
        "date": _budget_meeting_day(w),
        "place": "研考會",
        "request_ids": [w["budget_request.in_review"][0].pk],
    }


def _budget_visit_body(w, _t) -> dict:
    return {
        "cycle": w["budget_cycle.reviewing"].pk,
        "date": _budget_meeting_day(w),
        "request_ids": [w["budget_request.in_review"][0].pk],
    }


def _budget_decision(_w, meeting) -> dict:
    return {"request": meeting.agenda.get().pk, "amounts": {"public": 50_000_000}, "note": "照案"}


MATRIX: dict[str, Row] = {
    # -- accounts: the directory for everyone signed in; agencies and users for administrators
    "GET /api/v1/agencies/": row(None, {"*": 200}),
    "POST /api/v1/agencies/": row(
        None, {"*": 403, ADMIN: 201}, body=fixed({"code": "NEW", "name": "新機關", "kind": "bureau"})
    ),
    "GET /api/v1/agencies/{id}/": row("agency", {"*": 200}),
    "PUT /api/v1/agencies/{id}/": row("agency", {"*": 403, ADMIN: 200}, body=_agency_put),
    "PATCH /api/v1/agencies/{id}/": row("agency", {"*": 403, ADMIN: 200}, body=fixed({"name": "改名局"})),
    "GET /api/v1/users/": row(None, {"*": 403, ADMIN: 200}),
    "POST /api/v1/users/": row(
        None,
        {"*": 403, ADMIN: 201},
        body=fixed(
            {"username": "matrix.new", "password": "Another-horse-2026", "agency": None, "roles": [Role.REVIEWER]}
        ),
    ),
    "GET /api/v1/users/{id}/": row("user.spare", {"*": 403, ADMIN: 200}),
    "PUT /api/v1/users/{id}/": row("user.spare", {"*": 403, ADMIN: 200}, body=_user_put),
    "PATCH /api/v1/users/{id}/": row("user.spare", {"*": 403, ADMIN: 200}, body=fixed({"display_name": "改名"})),
    "GET /api/v1/me/": row(None, {"*": 200}),
    # Signing in is open to anyone (and re-signing in to the signed in): the body's credentials decide.
    "POST /api/v1/auth/token/": row(
        None, {"*": 200}, anon=200, body=lambda w, _t: {"username": w["user.clerk"].username, "password": PASSWORD}
    ),
    "GET /api/v1/auth/tokens/": row(None, {"*": 200}),
    "DELETE /api/v1/auth/tokens/{id}/": row("token", {"*": 404, CLERK: 204}),
    "POST /api/v1/auth/logout-all/": row(None, {"*": 200}),
    # Acting substitutes: the absent user, their agency head (and an RDEC supervisor) or an admin name one.
    "GET /api/v1/delegations/": row(None, {"*": 200}),
    "POST /api/v1/delegations/": row(None, {"*": 403, HEAD: 201, SUPERVISOR: 201, ADMIN: 201}, body=_delegation),
    "GET /api/v1/delegations/{id}/": row("delegation", {"*": 404, AGENCY: 200, SUPERVISOR: 200, ADMIN: 200}),
    "POST /api/v1/delegations/{id}/revoke/": row(
        "delegation", {"*": 404, AGENCY: 200, SUPERVISOR: 200, ADMIN: 200}, body=fixed({"reason": "提前返回"})
    ),
    # -- notifications: one's own inbox only
    "GET /api/v1/notifications/": row(None, {"*": 200}),
    "GET /api/v1/notifications/{id}/": row("notification", {"*": 404, CLERK: 200}),
    "POST /api/v1/notifications/{id}/read/": row("notification", {"*": 404, CLERK: 200}),
    "GET /api/v1/notifications/preference/": row(None, {"*": 200}),
    "PUT /api/v1/notifications/preference/": row(None, {"*": 200}, body=fixed({"daily_digest": True})),
    "POST /api/v1/notifications/read-all/": row(None, {"*": 200}),
    "GET /api/v1/notifications/unread-count/": row(None, {"*": 200}),
    # -- proposal rounds: everyone signed in reads; RDEC runs them (each row's round is in the stage its action needs)
    "GET /api/v1/proposal-rounds/": row(None, {"*": 200}),
    "POST /api/v1/proposal-rounds/": row(None, {"*": 403, RUNS: 201}, body=_round_body),
    "GET /api/v1/proposal-rounds/{id}/": row("round.published", {"*": 200}),
    "POST /api/v1/proposal-rounds/{id}/open/": row("round.planning", {"*": 403, RUNS: 200}),
    "POST /api/v1/proposal-rounds/{id}/close-submissions/": row("round.open", {"*": 403, RUNS: 200}),
    # Nothing screened yet in that round: RDEC may still reopen it, with a reason.
    "POST /api/v1/proposal-rounds/{id}/reopen-submissions/": row(
        "round.screening", {"*": 403, RUNS: 200}, body=fixed({"reason": "延長收件"})
    ),
    # 409 for RDEC: its proposals still await screening (the screen action's targets).
    "POST /api/v1/proposal-rounds/{id}/start-scoring/": row("round.screening", {"*": 403, RUNS: 409}),
    "POST /api/v1/proposal-rounds/{id}/close-scoring/": row("round.scoring", {"*": 403, RUNS: 200}),
    "POST /api/v1/proposal-rounds/{id}/finalize/": row("round.grading", {"*": 403, STAFF: 200}),
    "POST /api/v1/proposal-rounds/{id}/publish/": row("round.finalised", {"*": 403, RUNS: 200}),
    "POST /api/v1/proposal-rounds/{id}/close/": row("round.published", {"*": 403, RUNS: 200}),
    "POST /api/v1/proposal-rounds/{id}/panel-members/": row(
        "round.planning",
        {"*": 403, RUNS: 201},
        body=lambda w, _t: {"user": w["user.spare_reviewer"].pk, "kind": "external"},
    ),
    "GET /api/v1/proposal-rounds/{id}/preview/": row("round.grading", {"*": 403, STAFF: 200}),
    # Finalised but not published: RDEC reads the results, everyone else hears they are not out yet.
    "GET /api/v1/proposal-rounds/{id}/results/": row("round.finalised", {"*": 409, STAFF: 200}),
    "GET /api/v1/proposal-rounds/{id}/export/": row("round.finalised", {"*": 403, STAFF: 200}),
    # -- proposals: the agency's own (drafts too), RDEC what was sent, reviewers what they score
    "GET /api/v1/proposals/": row(None, {"*": 200}, rows=True),
    "POST /api/v1/proposals/": row(
        None,
        {"*": 403, CLERK: 201},
        body=lambda w, _t: {"round": w["round.open"].pk, "title": "智慧停車", "summary": "路邊停車感測"},
    ),
    "GET /api/v1/proposals/{id}/": row("proposal.in_review", {"*": 404, AGENCY: 200, STAFF: 200, PANEL: 200}),
    "PUT /api/v1/proposals/{id}/": row(
        "proposal.draft", {"*": 404, CLERK: 200, HEAD: 403}, body=fixed({"title": "修正後", "summary": "修正摘要"})
    ),
    "PATCH /api/v1/proposals/{id}/": row(
        "proposal.draft", {"*": 404, CLERK: 200, HEAD: 403}, body=fixed({"title": "修正後"})
    ),
    "POST /api/v1/proposals/{id}/submit/": row("proposal.draft", {"*": 404, CLERK: 200, HEAD: 403}),
    "POST /api/v1/proposals/{id}/withdraw/": row(
        "proposal.draft", {"*": 404, CLERK: 200, HEAD: 403}, body=fixed({"reason": "不送了"})
    ),
    "POST /api/v1/proposals/{id}/attachments/": row(
        "proposal.draft", {"*": 404, CLERK: 201, HEAD: 403}, body=_pdf, multipart=True
    ),
    "POST /api/v1/proposals/{id}/approve/": row("proposal.pending", {"*": 404, HEAD: 200, CLERK: 403}),
    "POST /api/v1/proposals/{id}/return/": row(
        "proposal.pending", {"*": 404, HEAD: 200, CLERK: 403}, body=fixed({"reason": "請補充效益"})
    ),
    "POST /api/v1/proposals/{id}/screen/": row(
        "proposal.submitted", {"*": 404, AGENCY: 403, STAFF: 403, RUNS: 200}, body=fixed({"passed": True})
    ),
    "POST /api/v1/proposals/{id}/forward/": row(
        "proposal.graded",
        {"*": 404, AGENCY: 403, STAFF: 403, RUNS: 200},
        body=lambda w, _t: {"agencies": [w["agency.rdec"].pk]},
    ),
    # -- adoptions: the agency asked, and RDEC
    "GET /api/v1/adoptions/": row(None, {"*": 200}, rows=True),
    "GET /api/v1/adoptions/{id}/": row("adoption", {"*": 404, AGENCY: 200, STAFF: 200}),
    "POST /api/v1/adoptions/{id}/respond/": row(
        "adoption", {"*": 404, AGENCY: 200, STAFF: 403}, body=fixed({"response": "adopt", "reason": "納入明年度計畫"})
    ),
    # -- score sheets: a reviewer's own, nobody else's (RDEC and the chair included)
    "GET /api/v1/score-sheets/": row(None, {"*": 200}),
    "GET /api/v1/score-sheets/{id}/": row("sheet", {"*": 404, REVIEWER: 200}),
    "PATCH /api/v1/score-sheets/{id}/": row(
        "sheet", {"*": 404, REVIEWER: 200}, body=fixed({"scores": {"innovation": 8}, "comment": "草稿"})
    ),
    "POST /api/v1/score-sheets/{id}/submit/": row(
        "sheet", {"*": 404, REVIEWER: 200}, body=fixed({"scores": FULL_SCORES})
    ),
    "POST /api/v1/score-sheets/{id}/declare-conflict/": row(
        "sheet", {"*": 404, REVIEWER: 200}, body=fixed({"reason": "曾任該機關顧問"})
    ),
    # -- panels: RDEC and the panel's members; the chair manages sheets, RDEC runs the panel
    "GET /api/v1/panels/{id}/": row("panel.scoring", {"*": 404, STAFF: 200, PANEL: 200}),
    "GET /api/v1/panels/{id}/progress/": row("panel.scoring", {"*": 404, STAFF: 200, CHAIR: 200, REVIEWER: 403}),
    "GET /api/v1/panels/{id}/sheets/": row("panel.scoring", {"*": 404, STAFF: 200, CHAIR: 200, REVIEWER: 403}),
    "GET /api/v1/panels/{id}/preview/": row("panel.closed", {"*": 404, STAFF: 200, CHAIR: 200, REVIEWER: 403}),
    "GET /api/v1/panels/{id}/results/": row("panel.finalised", {"*": 404, STAFF: 200, PANEL: 200}),
    "POST /api/v1/panels/{id}/reopen-sheet/": row(
        "panel.scoring", {"*": 404, STAFF: 403, REVIEWER: 403, CHAIR: 200}, body=_panel_extra("submitted")
    ),
    "POST /api/v1/panels/{id}/reinstate-sheet/": row(
        "panel.scoring", {"*": 404, STAFF: 403, REVIEWER: 403, CHAIR: 200}, body=_panel_extra("declared")
    ),
    "POST /api/v1/panels/{id}/reassign-sheet/": row(
        "panel.scoring", {"*": 404, STAFF: 403, REVIEWER: 403, CHAIR: 201}, body=_panel_extra("recused")
    ),
    "POST /api/v1/panels/{id}/resolve-tie/": row(
        "panel.tied", {"*": 404, STAFF: 403, REVIEWER: 403, CHAIR: 201}, body=_tie
    ),
    "POST /api/v1/panels/{id}/start-scoring/": row("panel.forming", {"*": 404, STAFF: 403, RUNS: 200, PANEL: 403}),
    "POST /api/v1/panels/{id}/close/": row("panel.scoring", {"*": 404, STAFF: 403, RUNS: 200, PANEL: 403}),
    "POST /api/v1/panels/{id}/finalize/": row("panel.closed", {"*": 404, STAFF: 200, PANEL: 403}),
    # -- controlled plans and monthly reports: RDEC all, an agency its own
    "GET /api/v1/plans/": row(None, {"*": 200}, rows=True),
    "POST /api/v1/plans/import/": row(None, {"*": 403, RUNS: 201}, body=_plans_csv, multipart=True),
    "GET /api/v1/plans/{id}/": row("plan.in_execution", {"*": 404, AGENCY: 200, STAFF: 200}),
    "POST /api/v1/plans/{id}/start/": row("plan.registered", {"*": 404, AGENCY: 403, STAFF: 403, RUNS: 200}),
    "POST /api/v1/plans/{id}/complete/": row("plan.in_execution", {"*": 404, AGENCY: 403, STAFF: 403, RUNS: 200}),
    "POST /api/v1/plans/{id}/terminate/": row(
        "plan.in_execution", {"*": 404, AGENCY: 403, STAFF: 403, RUNS: 200}, body=fixed({"reason": "政策調整"})
    ),
    "GET /api/v1/progress-reports/": row(None, {"*": 200}, rows=True),
    "POST /api/v1/progress-reports/": row(
        None, {"*": 403, RUNS: 201}, body=lambda w, _t: {"plan": w["plan.in_execution"][0].pk, "month": 4}
    ),
    "GET /api/v1/progress-reports/{id}/": row("report.pending", {"*": 404, AGENCY: 200, STAFF: 200}),
    "PUT /api/v1/progress-reports/{id}/": row(
        "report.pending",
        {"*": 404, AGENCY: 200, STAFF: 403},
        body=fixed({"actual_percent": 25, "budget_executed": 250_000, "narrative": "依進度執行"}),
    ),
    "PATCH /api/v1/progress-reports/{id}/": row(
        "report.pending", {"*": 404, AGENCY: 200, STAFF: 403}, body=fixed({"narrative": "依進度執行"})
    ),
    "POST /api/v1/progress-reports/{id}/submit/": row("report.filled", {"*": 404, AGENCY: 200, STAFF: 403}),
    "POST /api/v1/progress-reports/{id}/accept/": row(
        "report.submitted", {"*": 404, AGENCY: 403, STAFF: 403, RUNS: 200}
    ),
    "POST /api/v1/progress-reports/{id}/return/": row(
        "report.submitted", {"*": 404, AGENCY: 403, STAFF: 403, RUNS: 200}, body=fixed({"reason": "預算數有誤"})
    ),
    "GET /api/v1/monthly-analysis/": row(None, {"*": 403, STAFF: 200}, query={"year": plans.YEAR, "month": 1}),
    # An agency gets its own row only; others none (an empty list).
    "GET /api/v1/agency-summaries/": row(None, {"*": 200}, query={"year": plans.YEAR}, rows=True),
    # -- year-end appraisal: rounds readable by everyone signed in, run by RDEC; appraisals like plans
    "GET /api/v1/appraisal-rounds/": row(None, {"*": 200}),
    "POST /api/v1/appraisal-rounds/": row(None, {"*": 403, RUNS: 201}, body=fixed({"year": 111})),
    "GET /api/v1/appraisal-rounds/{id}/": row("appraisal_round.review", {"*": 200}),
    "POST /api/v1/appraisal-rounds/{id}/rollup/": row("appraisal_round.open", {"*": 403, RUNS: 202}),
    "GET /api/v1/appraisal-rounds/{id}/progress/": row("appraisal_round.open", {"*": 200}),
    "POST /api/v1/appraisal-rounds/{id}/open-review/": row("appraisal_round.self_assessment", {"*": 403, RUNS: 200}),
    "POST /api/v1/appraisal-rounds/{id}/finalize/": row("appraisal_round.review", {"*": 403, STAFF: 200}),
    # The distribution is public inside the government; the graded plans listed are the viewer's own (or all: RDEC).
    "GET /api/v1/appraisal-rounds/{id}/results/": row("appraisal_round.finalised", {"*": 200}),
    "GET /api/v1/appraisals/": row(None, {"*": 200}, rows=True),
    "GET /api/v1/appraisals/{id}/": row("appraisal.review", {"*": 404, AGENCY: 200, STAFF: 200}),
    "POST /api/v1/appraisals/{id}/submit-self-assessment/": row(
        "appraisal.self_assessment", {"*": 404, AGENCY: 200, STAFF: 403}, body=fixed({"score": 85, "text": "如期完成"})
    ),
    "POST /api/v1/appraisals/{id}/review/": row(
        "appraisal.review",
        {"*": 404, AGENCY: 403, STAFF: 403, RUNS: 200},
        body=fixed({"score": 80, "comment": "預算執行偏低"}),
    ),
    # -- thesis calls: what they offer is public to everyone signed in (applicants included); RDEC runs them
    "GET /api/v1/thesis-calls/": row(None, {"*": 200}),
    "POST /api/v1/thesis-calls/": row(None, {"*": 403, RUNS: 201}, body=_thesis_call_body),
    "GET /api/v1/thesis-calls/{id}/": row("thesis_call.open", {"*": 200}),
    "POST /api/v1/thesis-calls/{id}/open/": row("thesis_call.planning", {"*": 403, RUNS: 200}),
    "POST /api/v1/thesis-calls/{id}/members/": row(
        "thesis_call.planning",
        {"*": 403, RUNS: 201},
        body=lambda w, _t: {"kind": "subsidy", "user": w["user.spare_reviewer"].pk, "member_kind": "external"},
    ),
    # 409 for RDEC: its sent applications still await screening (the screen action's targets).
    "POST /api/v1/thesis-calls/{id}/start-review/": row("thesis_call.open", {"*": 403, RUNS: 409}),
    # Every sheet is in but the panel still scores: the officer ends it; a supervisor is told to wait for them.
    "POST /api/v1/thesis-calls/{id}/decide/": row("thesis_call.reviewing", {"*": 403, RUNS: 200, SUPERVISOR: 409}),
    "POST /api/v1/thesis-calls/{id}/close/": row("thesis_call.decided", {"*": 403, RUNS: 200}),
    "GET /api/v1/thesis-calls/{id}/results/": row("thesis_call.decided", {"*": 403, STAFF: 200}),
    # -- thesis applications: the applicant's own (drafts too), RDEC what was sent, the panel what it scores
    "GET /api/v1/thesis-applications/": row(None, {"*": 200}),
    "POST /api/v1/thesis-applications/": row(
        None,
        {"*": 403, APPLICANT: 201},
        body=lambda w, _t: {
            "call": w["thesis_call.open_empty"].pk,
            "kind": "subsidy",
            "title": "港區",
            "abstract": "x",
        },
    ),
    "GET /api/v1/thesis-applications/{id}/": row(
        "thesis_app.in_review", {"*": 404, APPLICANT: 200, STAFF: 200, PANEL: 200}
    ),
    "PATCH /api/v1/thesis-applications/{id}/": row(
        "thesis_app.draft", {"*": 404, APPLICANT: 200}, body=fixed({"title": "修正後"})
    ),
    "POST /api/v1/thesis-applications/{id}/documents/": row(
        "thesis_app.draft",
        {"*": 404, APPLICANT: 201},
        body=lambda w, t: {"role": "other", **_pdf(w, t)},
        multipart=True,
    ),
    "POST /api/v1/thesis-applications/{id}/submit/": row("thesis_app.draft", {"*": 404, APPLICANT: 200}),
    "POST /api/v1/thesis-applications/{id}/withdraw/": row(
        "thesis_app.draft", {"*": 404, APPLICANT: 200}, body=fixed({"reason": "不申請了"})
    ),
    "POST /api/v1/thesis-applications/{id}/screen/": row(
        "thesis_app.submitted", {"*": 404, APPLICANT: 403, STAFF: 403, RUNS: 200}, body=fixed({"eligible": True})
    ),
    "POST /api/v1/thesis-applications/{id}/return/": row(
        "thesis_app.submitted",
        {"*": 404, APPLICANT: 403, STAFF: 403, RUNS: 200},
        body=fixed({"note": "請補指導教授推薦函"}),
    ),
    "POST /api/v1/thesis-applications/{id}/submit-final/": row(
        "thesis_app.approved", {"*": 404, APPLICANT: 200, STAFF: 403}, body=_pdf, multipart=True
    ),
    "POST /api/v1/thesis-applications/{id}/accept-final/": row(
        "thesis_app.final_submitted", {"*": 404, APPLICANT: 403, STAFF: 403, RUNS: 200}
    ),
    "POST /api/v1/thesis-applications/{id}/cancel/": row(
        "thesis_app.approved",
        {"*": 404, APPLICANT: 403, STAFF: 403, RUNS: 200},
        body=fixed({"reason": "逾期未繳交完稿"}),
    ),
    # -- applicants: anyone registers and verifies (no credentials are read); the profile is an applicant's own
    "POST /api/v1/applicants/register/": row(
        None,
        {"*": 202},
        anon=202,
        body=fixed(
            {
                "username": "matrix.registrant",
                "email": "registrant@example.edu.tw",
                "password": "Another-horse-2026",
                "display_name": "新同學",
            }
        ),
    ),
    "POST /api/v1/applicants/verify/": row(
        None, {"*": 200}, anon=200, body=lambda w, _t: {"token": w["applicant.token"]}
    ),
    # -- the pre-budget review: cycles read by everyone signed in, run by RDEC officers, approved by a supervisor
    "GET /api/v1/budget-cycles/": row(None, {"*": 200}),
    "POST /api/v1/budget-cycles/": row(None, {"*": 403, RUNS: 201}, body=_budget_cycle_body),
    "GET /api/v1/budget-cycles/{id}/": row("budget_cycle.collecting", {"*": 200}),
    "PATCH /api/v1/budget-cycles/{id}/": row(
        "budget_cycle.collecting", {"*": 403, RUNS: 200}, body=fixed({"continuing_threshold": 20_000_000})
    ),
    "POST /api/v1/budget-cycles/{id}/ceilings/": row(
        "budget_cycle.collecting",
        {"*": 403, RUNS: 200},
        body=lambda w, _t: {"agency": w["agency"][1].pk, "public": 100_000_000},
    ),
    "POST /api/v1/budget-cycles/{id}/open/": row("budget_cycle.planning", {"*": 403, RUNS: 200}),
    "POST /api/v1/budget-cycles/{id}/start-review/": row("budget_cycle.collecting", {"*": 403, RUNS: 200}),
    # 409 for RDEC: its requests in review still lack their recommendation (the recommend action's targets).
    "POST /api/v1/budget-cycles/{id}/start-balancing/": row("budget_cycle.reviewing", {"*": 403, RUNS: 409}),
    "POST /api/v1/budget-cycles/{id}/approve/": row("budget_cycle.decided", {"*": 403, SUPERVISOR: 200, ADMIN: 200}),
    "POST /api/v1/budget-cycles/{id}/close/": row("budget_cycle.approved", {"*": 403, RUNS: 200}),
    "GET /api/v1/budget-cycles/{id}/totals/": row("budget_cycle.balancing", {"*": 403, STAFF: 200}),
    # -- budget requests: the agency's own (drafts too), RDEC what reached it, a meeting's attendees its agenda (the
    # matrix reviewer attends the meetings: reads those requests and is refused RDEC's actions on them)
    "GET /api/v1/budget-requests/": row(None, {"*": 200}, rows=True),
    "POST /api/v1/budget-requests/": row(None, {"*": 403, CLERK: 201}, body=_budget_request_body),
    "GET /api/v1/budget-requests/{id}/": row(
        "budget_request.in_review", {"*": 404, AGENCY: 200, STAFF: 200, REVIEWER: 200}
    ),
    "PATCH /api/v1/budget-requests/{id}/": row(
        "budget_request.draft", {"*": 404, CLERK: 200, HEAD: 403}, body=fixed({"title": "修正後"})
    ),
    "POST /api/v1/budget-requests/{id}/documents/": row(
        "budget_request.draft", {"*": 404, CLERK: 201, HEAD: 403}, body=_pdf, multipart=True
    ),
    "POST /api/v1/budget-requests/{id}/submit/": row("budget_request.draft", {"*": 404, CLERK: 200, HEAD: 403}),
    "POST /api/v1/budget-requests/{id}/withdraw/": row(
        "budget_request.draft", {"*": 404, CLERK: 200, HEAD: 403}, body=fixed({"reason": "不送了"})
    ),
    "POST /api/v1/budget-requests/{id}/approve/": row("budget_request.pending", {"*": 404, HEAD: 200, CLERK: 403}),
    "POST /api/v1/budget-requests/{id}/return/": row(
        "budget_request.pending", {"*": 404, HEAD: 200, CLERK: 403}, body=fixed({"reason": "請補充效益"})
    ),
    "POST /api/v1/budget-requests/{id}/start-review/": row(
        "budget_request.submitted", {"*": 404, AGENCY: 403, STAFF: 403, RUNS: 200}
    ),
    "POST /api/v1/budget-requests/{id}/recommend/": row(
        "budget_request.in_review",
        {"*": 404, AGENCY: 403, STAFF: 403, RUNS: 200, REVIEWER: 403},
        body=fixed({"amounts": {"public": 50_000_000}, "note": "書面審查"}),
    ),
    "POST /api/v1/budget-requests/{id}/decide/": row(
        "budget_request.recommended",
        {"*": 404, AGENCY: 403, STAFF: 200, REVIEWER: 403},
        body=fixed({"decision": "approved"}),
    ),
    "GET /api/v1/budget-requests/{id}/ledger/": row(
        "budget_request.in_review", {"*": 404, AGENCY: 200, STAFF: 200, REVIEWER: 200}
    ),
    # -- review meetings: RDEC all, attendees theirs, agencies those on their requests; RDEC officers run them
    "GET /api/v1/review-meetings/": row(None, {"*": 200}),
    "POST /api/v1/review-meetings/": row(None, {"*": 403, RUNS: 201}, body=_budget_meeting_body),
    "GET /api/v1/review-meetings/{id}/": row("budget_meeting", {"*": 404, AGENCY: 200, STAFF: 200, REVIEWER: 200}),
    "PATCH /api/v1/review-meetings/{id}/": row(
        "budget_meeting",
        {"*": 404, AGENCY: 403, STAFF: 403, RUNS: 200, REVIEWER: 403},
        body=fixed({"place": "研考會第三會議室"}),
    ),
    "POST /api/v1/review-meetings/{id}/hold/": row(
        "budget_meeting",
        {"*": 404, AGENCY: 403, STAFF: 403, RUNS: 200, REVIEWER: 403},
        body=fixed({"minutes": "一、照案通過。"}),
    ),
    "POST /api/v1/review-meetings/{id}/decisions/": row(
        "budget_meeting", {"*": 404, AGENCY: 403, STAFF: 403, RUNS: 200, REVIEWER: 403}, body=_budget_decision
    ),
    # -- site visits: RDEC all, an agency those to its requests; RDEC officers record them
    "GET /api/v1/site-visits/": row(None, {"*": 200}),
    "POST /api/v1/site-visits/": row(None, {"*": 403, RUNS: 201}, body=_budget_visit_body),
    "GET /api/v1/site-visits/{id}/": row("budget_visit", {"*": 404, AGENCY: 200, STAFF: 200}),
    "PATCH /api/v1/site-visits/{id}/": row(
        "budget_visit", {"*": 404, AGENCY: 403, STAFF: 403, RUNS: 200}, body=fixed({"findings": "補充訪查意見。"})
    ),
    "POST /api/v1/site-visits/{id}/photos/": row(
        "budget_visit",
        {"*": 404, AGENCY: 403, STAFF: 403, RUNS: 201},
        body=lambda _w, _t: {"file": jpeg()},
        multipart=True,
    ),
    "GET /api/v1/applicants/me/": row(None, {"*": 403, APPLICANT: 200}),
    "PUT /api/v1/applicants/me/": row(
        None,
        {"*": 403, APPLICANT: 200},
        body=fixed(
            {"university": "國立高雄大學", "department": "都市發展研究所", "degree": "master", "advisor": "李教授"}
        ),
    ),
}

METHODS = ("get", "post", "put", "patch", "delete")
GRANTED = {200, 201, 202, 204}


def kind_of(target: str) -> str:
    return target.split(".")[0]


def targets_of(spec: Row) -> tuple[str, ...]:
    if spec.target is None:
        return ("list",)
    return ("own", "other") if kind_of(spec.target) in SCOPED else ("one",)


def expected(spec: Row, role: str, target: str) -> int:
    if role == ANON:
        return spec.anon
    if target == "other" and role in SCOPED[kind_of(spec.target)]:
        return 404
    code = _pick(spec.expect, role)
    assert code is not None, f"no expectation for {role}"
    return code


def _pick(table: dict[str, int], role: str) -> int | None:
    """The most specific entry for `role`: the role itself, then its groups in GROUPS' order, "*" last."""
    if role in table:
        return table[role]
    return next((table[group] for group in GROUPS if group in table and role in GROUPS[group]), None)


CASES = [
    pytest.param(operation, role, target, id=f"{operation.replace('/api/v1/', '')} {role} {target}")
    for operation, spec in MATRIX.items()
    for role in ROLES
    for target in targets_of(spec)
]


# ---------------------------------------------------------------------------------------------- the world


def seed() -> dict:
    """Two agencies (A "own", B "other"), each with a clerk and a head; RDEC staff; a reviewer and a chair; and
    objects of every kind in the stages the actions need, one of A's and one of B's where an agency owns them."""
    w: dict = {}
    start = today()
    own, clerk_a, head_a = plans.agency_people("OWN")
    other, clerk_b, head_b = plans.agency_people("OTH")
    rdec = AgencyFactory(code="RDEC", name="研考會")
    officer = UserFactory(roles=[Role.RDEC_OFFICER], agency=rdec, username="matrix.officer")
    w.update(
        {
            "agency": (own, other),
            "agency.rdec": rdec,
            "user.clerk": clerk_a,
            "user.head": head_a,
            "user.spare": (
                UserFactory(roles=[Role.AGENCY_CLERK], agency=own, username="matrix.spare_own"),
                UserFactory(roles=[Role.AGENCY_CLERK], agency=other, username="matrix.spare_oth"),
            ),
            "user.spare_reviewer": UserFactory(roles=[Role.REVIEWER], agency=None, username="matrix.spare_reviewer"),
            "role": {
                CLERK: clerk_a,
                HEAD: head_a,
                OFFICER: officer,
                SUPERVISOR: UserFactory(roles=[Role.RDEC_SUPERVISOR], agency=rdec, username="matrix.supervisor"),
                ADMIN: UserFactory(roles=[Role.ADMIN], agency=None, username="matrix.admin"),
                REVIEWER: UserFactory(roles=[Role.REVIEWER], agency=None, username="matrix.reviewer"),
                CHAIR: UserFactory(roles=[Role.REVIEWER], agency=None, username="matrix.chair"),
                INSIDER: UserFactory(roles=[Role.REVIEWER], agency=own, username="matrix.insider"),
                APPLICANT: make_applicant("matrix.applicant"),
            },
        }
    )
    _seed_proposals(w, officer, (clerk_a, head_a), (clerk_b, head_b), start)
    _seed_panels(w, own, other)
    _seed_plans(w, officer, clerk_a, clerk_b)
    _seed_theses(w, officer, start)
    _seed_budget(w, officer, (clerk_a, head_a), (clerk_b, head_b))
    # An in-app reminder to each clerk about their draft. The deadline scan that writes these commits in a durable
    # transaction of its own, which cannot run inside the module's; the row is what it would write.
    rule = ReminderRuleFactory(channels=[Channel.IN_APP])
    w["notification"] = tuple(
        Notification.objects.create(
            recipient=clerk,
            item=draft,
            kind=rule.kind,
            item_title=draft.title,
            url=f"/proposals/{draft.pk}/",
            rule=rule,
            offset=0,
            due_date=start,
            channel=Channel.IN_APP,
            subject="提案截止提醒",
            body="提案今日截止。",
        )
        for clerk, draft in zip((clerk_a, clerk_b), w["proposal.draft"], strict=True)
    )
    w["token"] = tuple(tokens.token_issue(user=clerk)[0] for clerk in (clerk_a, clerk_b))
    w["delegation"] = tuple(
        account_services.delegation_create(
            actor=None,
            user=clerk,
            substitute=spare,
            starts=start,
            ends=start + datetime.timedelta(days=7),
            reason="公假",
        )
        for clerk, spare in zip((clerk_a, clerk_b), w["user.spare"], strict=True)
    )
    return w


def _seed_proposals(w, officer, people_a, people_b, start) -> None:
    deadlines = {
        "submission_deadline": start + datetime.timedelta(days=30),
        "scoring_deadline": start + datetime.timedelta(days=60),
    }

    def new_round(year: int, **kwargs) -> ProposalRound:
        round_ = make_round(officer, year=year, members=2, **deadlines, **kwargs)
        if year != 120:
            proposal_services.round_open(round_id=round_.pk, actor=officer)
        return round_

    def sent(round_, title: str) -> tuple[Proposal, Proposal]:
        return tuple(
            sent_proposal(round_, clerk, head, title=f"{title}（{clerk.agency.code}）")
            for clerk, head in (people_a, people_b)
        )

    def drafted(round_, title: str) -> tuple[Proposal, Proposal]:
        return tuple(
            proposal_services.proposal_create(actor=clerk, round_id=round_.pk, title=title, summary="摘要")
            for clerk, _head in (people_a, people_b)
        )

    def scored(round_, proposals, points) -> None:
        proposal_services.round_close_submissions(round_id=round_.pk, actor=officer)
        for proposal in proposals:
            proposal_services.proposal_screen(proposal_id=proposal.pk, actor=officer, passed=True)
        proposal_services.round_start_scoring(round_id=round_.pk, actor=officer)
        score_everything(round_, dict(zip([p.pk for p in proposals], points, strict=True)))

    w["round.planning"] = new_round(120)
    w["round.open"] = round_open = new_round(119)
    w["proposal.draft"] = drafted(round_open, "草稿")
    pending = drafted(round_open, "待核定")
    for proposal, (clerk, _head) in zip(pending, (people_a, people_b), strict=True):
        proposal_services.proposal_submit(proposal_id=proposal.pk, actor=clerk)
    w["proposal.pending"] = pending

    w["round.screening"] = screening = new_round(118)
    w["proposal.submitted"] = sent(screening, "待初審")
    proposal_services.round_close_submissions(round_id=screening.pk, actor=officer)

    w["round.scoring"] = scoring = new_round(117)
    for role, chair in ((REVIEWER, False), (CHAIR, True)):
        proposal_services.round_panel_member_add(
            round_id=scoring.pk, actor=officer, user_id=w["role"][role].pk, kind="external", chair=chair
        )
    w["proposal.in_review"] = in_review = sent(scoring, "評分中")
    proposal_services.round_close_submissions(round_id=scoring.pk, actor=officer)
    for proposal in in_review:
        proposal_services.proposal_screen(proposal_id=proposal.pk, actor=officer, passed=True)
    proposal_services.round_start_scoring(round_id=scoring.pk, actor=officer)

    w["round.grading"] = grading = new_round(116)
    scored(grading, sent(grading, "評分結束"), [9, 5])
    proposal_services.round_close_scoring(round_id=grading.pk, actor=officer)

    w["round.finalised"] = finalised = new_round(115)
    scored(finalised, sent(finalised, "已確定"), [9, 5])
    proposal_services.round_finalise(round_id=finalised.pk, actor=officer)

    quotas = [{"grade": "excellent", "count": 2}, {"grade": "a", "count": 2}]
    w["round.published"] = published = new_round(114, grade_quotas=quotas)
    graded, forwarded = sent(published, "優等"), sent(published, "甲等")
    scored(published, [*graded, *forwarded], [9, 8, 7, 6])
    proposal_services.round_finalise(round_id=published.pk, actor=officer)
    proposal_services.round_publish(round_id=published.pk, actor=officer)
    w["proposal.graded"] = graded
    # A's proposal asks B whether it adopts it, and B's asks A: the adoption "of A" is the one A must answer.
    own, other = w["agency"]
    proposal_services.proposal_forward(proposal_id=forwarded[1].pk, actor=officer, agency_ids=[own.pk])
    proposal_services.proposal_forward(proposal_id=forwarded[0].pk, actor=officer, agency_ids=[other.pk])
    w["adoption"] = tuple(Adoption.objects.get(proposal=p) for p in (forwarded[1], forwarded[0]))


def _seed_panels(w, own, other) -> None:
    """Panels of the review engine in every stage: "own" ones with the matrix's reviewer and chair, "other" ones
    with three strangers. Each scores an item of agency A and one of agency B; the scoring ones have a submitted
    sheet of the chair's, a declared recusal and a reserve member, for the chair's actions."""
    w["panel.extra"] = {}
    bands = [{"grade": "excellent", "label": "優等", "quota_count": 1}]
    for stage in ("forming", "scoring", "closed", "tied", "finalised"):
        pair = []
        for side in ("own", "other"):
            chair = w["role"][CHAIR] if side == "own" else reviews.reviewer(agency=None)
            member = w["role"][REVIEWER] if side == "own" else reviews.reviewer(agency=None)
            panel = reviews.panel_create(bands=bands, min_members=3, min_external=0, title=f"{stage} {side}")
            reviews.member_add(panel, user=chair, is_chair=True)
            reviews.member_add(panel, user=member)
            filler = reviews.member_add(panel, user=reviews.reviewer(agency=None))
            items = reviews.items_sync(panel, [own, other])
            extra = {"items": [i.pk for i in items], "filler": filler}
            if stage != "forming":
                review_services.panel_start_scoring(panel_id=panel.pk, actor=None)
            if stage == "scoring":
                on_b = ScoreSheet.objects.filter(panel=panel, item=items[1])
                extra["submitted"] = review_services.sheet_submit(
                    sheet_id=on_b.get(member__user=chair).pk, actor=chair, scores=FULL_SCORES
                )
                extra["declared"] = review_services.sheet_declare_conflict(
                    sheet_id=on_b.get(member=filler).pk, actor=filler.user, reason="曾任該機關顧問"
                )
                extra["recused"] = extra["declared"]
                extra["reserve"] = reviews.member_add(panel, reserve=True)
                # The sheet on A's item: the matrix reviewer's is "own", a fellow member's is "other".
                on_a = ScoreSheet.objects.filter(panel=panel, item=items[0])
                if side == "own":
                    w["sheet"] = (on_a.get(member__user=member), on_a.get(member=filler))
            if stage in ("closed", "tied", "finalised"):
                tied = stage == "tied"
                for sheet in ScoreSheet.objects.filter(panel=panel).select_related("member__user"):
                    points = FULL_SCORES if tied or sheet.item_id == items[0].pk else {**FULL_SCORES, "benefit": 5}
                    review_services.sheet_submit(sheet_id=sheet.pk, actor=sheet.member.user, scores=points)
                review_services.panel_close(panel_id=panel.pk, actor=None)
            if stage == "finalised":
                review_services.panel_finalise(panel_id=panel.pk, actor=None)
            w["panel.extra"][panel.pk] = extra
            pair.append(Panel.objects.get(pk=panel.pk))
        w[f"panel.{stage}"] = tuple(pair)


def _seed_plans(w, officer, clerk_a, clerk_b) -> None:
    year = plans.YEAR
    made = plans.make_plans(
        officer,
        [
            plans.plan_dict(code, agency)
            for code, agency in (("A-1", "OWN"), ("B-1", "OTH"), ("A-2", "OWN"), ("B-2", "OTH"))
        ],
        year=year,
        start=False,
    )
    running, registered = (made[0], made[2]), (made[1], made[3])  # ordered by code, B-1, B-2
    for plan in running:
        monitoring_services.plan_start(plan_id=plan.pk, actor=officer)
    w["plan.in_execution"] = running
    w["plan.registered"] = registered
    for month in (1, 2, 3):
        monitoring_services.reports_open_for_month(year=year, month=month)
    for plan, clerk in zip(running, (clerk_a, clerk_b), strict=True):
        plans.fill_and_submit(clerk, plans.report_for(plan, 1), plans.LINEAR[0])
        monitoring_services.report_update(
            actor=clerk,
            report_id=plans.report_for(plan, 2).pk,
            actual_percent=Decimal(str(plans.LINEAR[1])),
            budget_executed=200_000,
        )
    for key, month in (("report.submitted", 1), ("report.filled", 2), ("report.pending", 3)):
        w[key] = tuple(plans.report_for(plan, month) for plan in running)

    # Appraisal rounds: 115 open (its plans are this year's), 114 in self-assessment, 113 in review with every plan
    # reviewed, 112 finalised. The rollup is a Celery group: the rows it would write are written here.
    w["appraisal_round.open"] = appraisal_services.appraisal_round_create(actor=officer, year=year)
    for stage, round_year in (("self_assessment", 114), ("review", 113), ("finalised", 112)):
        pair = plans.make_plans(
            officer,
            [plans.plan_dict(f"A{round_year}", "OWN"), plans.plan_dict(f"B{round_year}", "OTH")],
            year=round_year,
        )
        in_review = stage != "self_assessment"
        round_ = AppraisalRound.objects.create(
            year=round_year, status=AppraisalRound.Status.REVIEW if in_review else AppraisalRound.Status.SELF_ASSESSMENT
        )
        appraisals = tuple(
            Appraisal.objects.create(
                round=round_,
                plan=plan,
                agency_id=plan.agency_id,
                suggested_score=Decimal(score),
                review_score=Decimal(score) if in_review else None,
                final_score=Decimal(score) if in_review else None,
                status=Appraisal.Status.REVIEWED if in_review else Appraisal.Status.SUGGESTED,
                computed_at=timezone.now(),
            )
            for plan, score in zip(pair, ("91", "74"), strict=True)
        )
        if stage == "finalised":
            appraisal_services.appraisal_round_finalise(round_id=round_.pk, actor=officer)
        w[f"appraisal_round.{stage}"] = AppraisalRound.objects.get(pk=round_.pk)
        w[f"appraisal.{stage}"] = appraisals


def _seed_theses(w, officer, start) -> None:
    """Thesis calls in every stage, each with an application of the matrix applicant ("own") and one of another
    student ("other") in the state its actions need. The matrix reviewer and chair sit on the call in review."""
    students = (w["role"][APPLICANT], make_applicant("matrix.applicant_other"))
    deadlines = {
        "application_deadline": start + datetime.timedelta(days=30),
        "review_deadline": start + datetime.timedelta(days=60),
        "final_due_date": start + datetime.timedelta(days=200),
    }

    def new_call(year: int, kinds=("subsidy",), panel=None) -> ThesisCall:
        tracks = [{"kind": kind, "degree": "master", "quota": 2, "amount": 30000, "min_score": 60} for kind in kinds]
        call = thesis_services.call_create(
            actor=officer,
            year=year,
            title=f"{year}年度學位論文獎補助",
            tracks=tracks,
            rubrics=dict.fromkeys(kinds, THESIS_RUBRIC),
            min_members=1,
            **deadlines,
        )
        for n, member in enumerate(panel or [UserFactory(roles=[Role.REVIEWER], agency=None)]):
            thesis_services.call_member_add(
                call_id=call.pk, actor=officer, kind="subsidy", user_id=member.pk, member_kind="external", chair=n == 0
            )
        if year != 140:
            thesis_services.call_open(call_id=call.pk, actor=officer)
        return call

    def sent(call, kind: str = "subsidy") -> tuple[ThesisApplication, ThesisApplication]:
        extra = {"defence_date": start - datetime.timedelta(days=30)} if kind == "award" else {}
        return tuple(sent_application(call, s, kind=kind, title=f"{kind}（{s.username}）", **extra) for s in students)

    def reviewed(call, applications) -> None:
        for application in applications:
            thesis_services.application_screen(actor=officer, application_id=application.pk, eligible=True)
        thesis_services.call_start_review(call_id=call.pk, actor=officer)
        thesis_score_everything(call, dict(zip([a.pk for a in applications], (90, 80), strict=True)))

    w["thesis_call.planning"] = new_call(140)
    w["thesis_call.open"] = open_call = new_call(141, kinds=("subsidy", "award"))
    drafts = []
    for student in students:
        draft = thesis_services.application_create(
            actor=student, call_id=open_call.pk, kind="subsidy", title="草稿", abstract="摘要"
        )
        thesis_services.document_add(actor=student, application_id=draft.pk, role="plan", upload=thesis_pdf())
        drafts.append(draft)
    w["thesis_app.draft"] = tuple(drafts)
    w["thesis_app.submitted"] = sent(open_call, kind="award")
    w["thesis_call.open_empty"] = new_call(142)

    w["thesis_call.reviewing"] = reviewing = new_call(143, panel=[w["role"][CHAIR], w["role"][REVIEWER]])
    w["thesis_app.in_review"] = in_review = sent(reviewing)
    reviewed(reviewing, in_review)

    w["thesis_call.decided"] = decided = new_call(144)
    w["thesis_app.approved"] = approved = sent(decided)
    reviewed(decided, approved)
    thesis_services.call_decide(call_id=decided.pk, actor=officer)

    final = new_call(145)
    handed_in = sent(final)
    reviewed(final, handed_in)
    thesis_services.call_decide(call_id=final.pk, actor=officer)
    for student, application in zip(students, handed_in, strict=True):
        thesis_services.application_submit_final(actor=student, application_id=application.pk, upload=thesis_pdf())
    w["thesis_app.final_submitted"] = handed_in

    registrant = thesis_services.applicant_register(
        username="matrix.unverified", email="unverified@example.edu.tw", password="Another-horse-2026", display_name="x"
    )
    w["applicant.token"] = thesis_services.verification_token(registrant)


def _seed_budget(w, officer, people_a, people_b) -> None:
    """Pre-budget cycles in every stage with A's and B's requests in the states the actions need (the factories'
    world); the matrix reviewer attends the meetings on the requests in review, so reads them."""
    stages = in_every_stage(
        officer=officer,
        supervisor=w["role"][SUPERVISOR],
        people=[people_a, people_b],
        attendees=[w["role"][REVIEWER]],
    )
    names = {"cycle": "budget_cycle", "request": "budget_request", "meeting": "budget_meeting", "visit": "budget_visit"}
    for key, value in stages.items():  # "request.draft" -> "budget_request.draft", "visit" -> "budget_visit"
        kind, _dot, state = key.partition(".")
        w[".".join(filter(None, (names[kind], state)))] = value


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Seeded once for the module inside a transaction rolled back at its end; each test runs in a savepoint of it
    (pytest-django's `db`), so every write a case makes is undone before the next."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield seed()
        transaction.set_rollback(True)


# ---------------------------------------------------------------------------------------------- the tests

# What a refused write must leave as it was, besides its target row.
WATCHED = (
    Agency,
    User,
    User.groups.through,
    ApiToken,
    Delegation,
    Notification,
    NotificationPreference,
    ProposalRound,
    Proposal,
    Attachment,
    Adoption,
    Panel,
    PanelMember,
    ScoreSheet,
    TieResolution,
    ControlledPlan,
    ProgressReport,
    AppraisalRound,
    Appraisal,
    ThesisCall,
    ThesisApplication,
    ThesisDocument,
    ApplicantProfile,
    BudgetCycle,
    BudgetCeiling,
    BudgetRequest,
    BudgetDocument,
    AmountLedger,
    ReviewMeeting,
    ReviewMeeting.agenda.through,
    MeetingDecision,
    SiteVisit,
    SiteVisitPhoto,
    TransitionLog,
)


COUNT_WATCHED = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{m._meta.db_table}")' for m in WATCHED)


def snapshot(obj) -> dict:
    """The row counts of WATCHED (one query) and the target's own row."""
    with connection.cursor() as cursor:
        cursor.execute(COUNT_WATCHED)
        state = dict(zip([m._meta.db_table for m in WATCHED], cursor.fetchone(), strict=True))
    if obj is not None:
        state["target"] = type(obj).objects.filter(pk=obj.pk).values().first()
    return state


def resolve(world: dict, spec: Row, target: str):
    if spec.target is None:
        return None
    objects = world[spec.target]
    return objects if target == "one" else objects[0 if target == "own" else 1]


def test_the_matrix_states_every_operation():
    """Every method and path the schema publishes has a row, and every row is still an operation."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    published = {f"{m.upper()} {path}" for path, item in schema["paths"].items() for m in item if m in METHODS}
    assert sorted(published - MATRIX.keys()) == [], "operations nobody has stated the permissions of"
    assert sorted(MATRIX.keys() - published) == [], "rows for operations the API no longer has"


@pytest.mark.django_db
@pytest.mark.parametrize(("operation", "role", "target"), CASES)
def test_permission(world, api_client, operation, role, target):
    spec = MATRIX[operation]
    method, path = operation.split(" ")
    obj = resolve(world, spec, target)
    url = path.replace("{id}", str(obj.pk)) if obj is not None else path
    if role != ANON:
        api_client.force_authenticate(User.objects.get(pk=world["role"][role].pk))
    want = expected(spec, role, target)
    write = method != "GET"
    before = snapshot(obj) if write and want not in GRANTED else None

    if method == "GET":
        response = api_client.get(url, spec.query)
    else:
        body = spec.body(world, obj) if spec.body else None
        response = getattr(api_client, method.lower())(url, body, format="multipart" if spec.multipart else "json")

    detail = response.content[:300].decode(errors="replace")
    assert response.status_code == want, f"{operation} as {role} on {target}: {response.status_code} {detail}"
    if before is not None:
        assert snapshot(obj) == before, f"{operation} as {role} on {target} was refused but changed data"
    if spec.rows and role in (CLERK, HEAD, INSIDER):
        data = response.json()
        agencies = {r["agency"] for r in (data["results"] if isinstance(data, dict) else data)}
        mine = set() if role == INSIDER else {world["agency"][0].pk}
        assert agencies == mine, f"{role} of agency A listed rows of agencies {agencies}"
