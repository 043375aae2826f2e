"""Schemathesis fuzzes the whole API, once per role (#12 item 8): every operation of the published OpenAPI schema gets
a few generated requests, valid and invalid, on seeded data, through the real WSGI stack in this process (middleware,
token authentication, throttles, the exception handler) and the test's database. No answer may be a 5xx, and every
answer must be one the schema documents: its status code, its content type and its body.

Bounded and deterministic: a handful of examples per operation and role (`derandomize`, no shrinking, no example
database), about a minute for the file. A failure lists each operation and check that failed, with a curl command to
replay it, and the traceback of any server error."""

import datetime
import traceback
from collections import Counter
from decimal import Decimal

import pytest
import schemathesis
from django.contrib.contenttypes.models import ContentType
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts import tokens
from accounts.models import Agency, ApiToken, Delegation, User
from accounts.roles import Role
from notifications.models import Channel, Notification, ReminderRule
from plan_control.budget.tests.factories import in_every_stage
from plan_control.models import (
    Appraisal,
    AppraisalRound,
    BudgetCycle,
    BudgetRequest,
    ControlledPlan,
    ProgressReport,
    ReviewMeeting,
    SiteVisit,
)
from plan_control.monitoring import services as monitoring_services
from plan_control.tests import factories as plans
from proposals import services as proposal_services
from proposals.models import Proposal, ProposalRound
from proposals.tests.factories import agency_people, graded_round, make_round, sent_proposal
from reviews.models import Adoption, Panel, ScoreSheet
from theses import services as thesis_services
from theses.models import ThesisApplication, ThesisCall
from theses.tests.factories import make_applicant, make_call, sent_application
from theses.tests.factories import score_everything as thesis_score_everything

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Spreadsheet downloads: the body is ODS or XLSX, not JSON to validate (its status and content type still are).
BINARY = ("/export/",)

# Examples per operation: (valid, invalid). Anonymous requests are refused before their input is read, but for
# signing in: a few of them say enough.
EXAMPLES = {
    "anonymous": (2, 1),
    "agency_clerk": (4, 2),
    "agency_head": (4, 2),
    "rdec_officer": (4, 2),
    "reviewer": (4, 2),
    "applicant": (4, 2),
}

# Valid ids for {id}: every row of the model behind the collection, the caller's and others' (their 404s and 403s are
# answers too).
ROWS = {
    "/api/v1/adoptions/": Adoption,
    "/api/v1/agencies/": Agency,
    "/api/v1/appraisal-rounds/": AppraisalRound,
    "/api/v1/appraisals/": Appraisal,
    "/api/v1/auth/tokens/": ApiToken,
    "/api/v1/budget-cycles/": BudgetCycle,
    "/api/v1/budget-requests/": BudgetRequest,
    "/api/v1/delegations/": Delegation,
    "/api/v1/notifications/": Notification,
    "/api/v1/panels/": Panel,
    "/api/v1/plans/": ControlledPlan,
    "/api/v1/progress-reports/": ProgressReport,
    "/api/v1/review-meetings/": ReviewMeeting,
    "/api/v1/site-visits/": SiteVisit,
    "/api/v1/proposal-rounds/": ProposalRound,
    "/api/v1/proposals/": Proposal,
    "/api/v1/score-sheets/": ScoreSheet,
    "/api/v1/thesis-applications/": ThesisApplication,
    "/api/v1/thesis-calls/": ThesisCall,
    "/api/v1/users/": User,
}
# Open to anyone: registering (a made-up username and a strong enough password pass) and verifying (no made-up token
# does). Every other operation refuses the anonymous.
PUBLIC = ("/api/v1/applicants/register/", "/api/v1/applicants/verify/")


@pytest.fixture(scope="module")
def api_schema(django_db_setup, django_db_blocker):
    """The schema the site serves, bound to the site's WSGI application."""
    with django_db_blocker.unblock():
        return schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())


@pytest.fixture
def server_errors():
    """Django's WSGI handler closes the database connection around each request (`close_old_connections`), which
    would end the test's transaction: unhooked here as Django's test client does. Keeps each 500's traceback."""
    errors = []

    def keep(sender, request=None, **kwargs):
        where = "\n".join(traceback.format_exc().splitlines()[-12:])  # the innermost frames and the error
        errors.append(f"{request.method} {request.get_full_path()}\n{where}")

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    got_request_exception.connect(keep)
    yield errors
    got_request_exception.disconnect(keep)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(make_user):
    """Each process with something to do: a published round with unanswered adoptions, a round in scoring with open
    sheets, an open round with a draft and a proposal awaiting sign-off, plans with a submitted and an open report, an
    appraisal round in review, thesis calls, budget cycles in every stage, a delegation, a notification each. Returns
    the user of each role (None: anonymous)."""
    officer = make_user(Role.RDEC_OFFICER, username="fuzz.officer")
    pwb, pwb_clerk, pwb_head = agency_people("PWB")
    tb, tb_clerk, tb_head = agency_people("TB")

    published = make_round(officer, year=114, members=2)
    proposal_services.round_open(round_id=published.pk, actor=officer)
    first = sent_proposal(published, pwb_clerk, pwb_head, title="智慧路燈")
    second = sent_proposal(published, tb_clerk, tb_head, title="公車動態")
    graded_round(officer, [(first, 9), (second, 3)], published)
    proposal_services.round_publish(round_id=published.pk, actor=officer)
    proposal_services.proposal_forward(proposal_id=first.pk, actor=officer, agency_ids=[tb.pk, pwb.pk])

    scoring = make_round(officer, year=115, members=2)
    proposal_services.round_open(round_id=scoring.pk, actor=officer)
    scored = [sent_proposal(scoring, pwb_clerk, pwb_head, title=f"提案{n}") for n in range(2)]
    proposal_services.round_close_submissions(round_id=scoring.pk, actor=officer)
    for proposal in scored:
        proposal_services.proposal_screen(proposal_id=proposal.pk, actor=officer, passed=True)
    proposal_services.round_start_scoring(round_id=scoring.pk, actor=officer)
    reviewer = User.objects.get(username="reviewer115_0")  # the panel's chair, an external expert of no agency

    open_round = make_round(officer, year=116, members=2)
    proposal_services.round_open(round_id=open_round.pk, actor=officer)
    proposal_services.proposal_create(actor=pwb_clerk, round_id=open_round.pk, title="草稿", summary="尚未送出")
    waiting = proposal_services.proposal_create(actor=pwb_clerk, round_id=open_round.pk, title="待核", summary="待核")
    proposal_services.proposal_submit(proposal_id=waiting.pk, actor=pwb_clerk)

    tr, tr_clerk, _tr_head = plans.agency_people("TR")
    made = plans.make_plans(officer, [plans.plan_dict("P1", "PWB"), plans.plan_dict("T1", "TR")])
    monitoring_services.reports_open_for_month(year=plans.YEAR, month=1)
    plans.fill_and_submit(tr_clerk, plans.report_for(made[1], 1), plans.LINEAR[0])
    appraisal_round = AppraisalRound.objects.create(year=plans.YEAR, status=AppraisalRound.Status.REVIEW)
    Appraisal.objects.create(
        round=appraisal_round,
        plan=made[0],
        agency=pwb,
        suggested_score=Decimal("88"),
        review_score=Decimal("88"),
        final_score=Decimal("88"),
        status=Appraisal.Status.REVIEWED,
        computed_at=timezone.now(),
    )
    Appraisal.objects.create(round=appraisal_round, plan=made[1], agency=tr, suggested_score=Decimal("61.5"))

    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    Delegation.objects.create(
        user=pwb_head, substitute=pwb_clerk, starts=tomorrow, ends=tomorrow + datetime.timedelta(days=7), reason="公假"
    )
    applicant = _theses(officer)
    # The pre-budget review in every stage, PWB's and TB's requests in each state; the reviewer attends its meetings.
    in_every_stage(
        officer=officer,
        supervisor=make_user(Role.RDEC_SUPERVISOR, username="fuzz.supervisor"),
        people=[(pwb_clerk, pwb_head), (tb_clerk, tb_head)],
        attendees=[reviewer],
    )
    users = {
        "agency_clerk": pwb_clerk,
        "agency_head": pwb_head,
        "rdec_officer": officer,
        "reviewer": reviewer,
        "applicant": applicant,
    }
    rule = ReminderRule.objects.create(kind="proposals.submission", name="提案截止提醒")
    for user in users.values():
        Notification.objects.create(
            recipient=user,
            content_type=ContentType.objects.get_for_model(ProposalRound),
            object_id=open_round.pk,
            kind=rule.kind,
            item_title=open_round.title,
            url=f"/proposals/rounds/{open_round.pk}/",
            rule=rule,
            offset=-3,
            due_date=open_round.submission_deadline,
            channel=Channel.IN_APP,
            subject=f"【提醒】{open_round.title}即將截止",
            body="請至系統辦理。",
        )
    return {"anonymous": None, **users}


def _theses(officer):
    """A decided thesis call (results to read, a subsidy to hand the final thesis in for) and an open one with a draft
    and a sent application; returns their applicant."""
    deadlines = {
        "application_deadline": timezone.localdate() + datetime.timedelta(days=30),
        "review_deadline": timezone.localdate() + datetime.timedelta(days=60),
        "final_due_date": timezone.localdate() + datetime.timedelta(days=200),
    }
    decided = make_call(officer, year=114, members=1, **deadlines)
    thesis_services.call_open(call_id=decided.pk, actor=officer)
    student, other = make_applicant("fuzz.applicant"), make_applicant("fuzz.other")
    sent = [sent_application(decided, student), sent_application(decided, other)]
    for application in sent:
        thesis_services.application_screen(actor=officer, application_id=application.pk, eligible=True)
    thesis_services.call_start_review(call_id=decided.pk, actor=officer)
    thesis_score_everything(decided, {sent[0].pk: 90, sent[1].pk: 50})
    thesis_services.call_decide(call_id=decided.pk, actor=officer)
    open_call = make_call(officer, year=115, members=1, **deadlines)
    thesis_services.call_open(call_id=open_call.pk, actor=officer)
    thesis_services.application_create(actor=student, call_id=open_call.pk, kind="subsidy", title="草稿", abstract="x")
    sent_application(open_call, other)
    return student


def strategies(operation, examples: tuple[int, int]):
    """(mode, how many, strategy): valid requests and, if the operation takes any input, invalid ones. A valid {id}
    is one of the seeded rows (made-up ids would all be 404s); an invalid one is made up."""
    positive, negative = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
    collection = operation.path.split("{id}")[0]
    ids = list(ROWS[collection].objects.order_by("pk").values_list("pk", flat=True)) if "{id}" in operation.path else []
    seeded = [operation.as_strategy(positive, path_parameters={"id": pk}) for pk in ids]
    yield positive, examples[0], st.one_of(*seeded) if seeded else operation.as_strategy(positive)
    if operation.path_parameters or operation.query or operation.body:
        yield negative, examples[1], operation.as_strategy(negative)


def fuzz(operation, mode, count: int, strategy, authorization, answers: list, failures: dict) -> None:
    """`count` requests of `operation`; every answer's (path, status) goes to `answers`, its failed checks to
    `failures` (the first example of each operation and check)."""
    checks = CHECKS[:3] if operation.path.endswith(BINARY) else CHECKS

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=strategy)
    def run(case):
        headers = authorization()
        response = case.call(headers=headers)
        answers.append((operation.path, response.status_code))
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                failures.setdefault(
                    (operation.label, failure.title),
                    f"{mode.value}: {failure.message[:600]}\n{case.as_curl_command(headers=headers)}",
                )

    run()


@pytest.mark.parametrize("role", list(EXAMPLES))
def test_no_server_error_and_every_answer_is_documented(role, api_schema, seeded, server_errors):
    user = seeded[role]
    credentials = {}

    def authorization() -> dict:
        """The role's token; a new one when the fuzz signed it out (`auth/logout-all/`, `DELETE auth/tokens/{id}/`)."""
        if user is None:
            return {}
        if not credentials or not ApiToken.objects.filter(pk=credentials["id"]).exists():
            token, key = tokens.token_issue(user=user)
            credentials.update(id=token.pk, header=f"Token {key}")
        return {"Authorization": credentials["header"]}

    answers, failures = [], {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode, count, strategy in strategies(operation, EXAMPLES[role]):
            fuzz(operation, mode, count, strategy, authorization, answers, failures)

    report = [f"{label}: {title}\n{detail}" for (label, title), detail in sorted(failures.items())]
    assert not report, "\n\n".join([*report, "Server errors:", *server_errors[:5]])
    statuses = Counter(status for _path, status in answers)
    print(f"{role}: {len(answers)} requests, {sorted(statuses.items())}")
    succeeded = sum(n for status, n in statuses.items() if 200 <= status < 300)
    if user is None:  # nothing in the API is public but signing in, which made-up credentials never pass, and PUBLIC
        assert {path for path, status in answers if 200 <= status < 300} <= set(PUBLIC), statuses
    else:  # the fuzz got past authentication and permissions, not only refusals
        assert succeeded >= 50, statuses
