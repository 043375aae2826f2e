"""The OpenAPI schema tells the truth (#12 item 4): every list and detail endpoint, called on seeded data by an RDEC
officer (who sees everything), answers JSON that validates against the response schema the generator publishes; an
unknown filter value is a 400, not a silently unfiltered list."""

import copy
from datetime import timedelta
from decimal import Decimal

import jsonschema
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from accounts.models import User
from accounts.roles import Role
from plan_control.budget.tests.factories import in_every_stage
from plan_control.models import Appraisal, AppraisalRound
from plan_control.monitoring import services as monitoring_services
from plan_control.tests import factories as plans
from proposals import services as proposal_services
from proposals.tests.factories import agency_people, graded_round, make_round, sent_proposal
from reviews.models import Panel
from theses import services as thesis_services
from theses.tests.factories import make_applicant, make_call, score_everything, sent_application
from workflow_site.roc_calendar.calendar import today

pytestmark = pytest.mark.django_db

BINARY = ("/export/",)  # spreadsheet downloads: not JSON


def to_json_schema(node):
    """An OpenAPI 3.0 response schema -> JSON Schema: `nullable: true` becomes a null type (and a null enum value);
    a writeOnly property may not appear in a response; an object lists every property it may carry."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    properties = node.get("properties")
    if isinstance(properties, dict):
        write_only = {name for name, prop in properties.items() if isinstance(prop, dict) and prop.get("writeOnly")}
        node = {**node, "properties": {k: v for k, v in properties.items() if k not in write_only}}
        if "required" in node:
            node["required"] = [name for name in node["required"] if name not in write_only]
        node.setdefault("additionalProperties", False)
    node = {key: to_json_schema(value) if key != "properties" else value for key, value in node.items()}
    if "properties" in node:
        node["properties"] = {k: to_json_schema(v) for k, v in node["properties"].items()}
    if node.pop("nullable", False):
        if "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        if "type" in node:
            node["type"] = [node["type"], "null"]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    for bound in ("Minimum", "Maximum"):  # 3.0's boolean exclusive bounds are numbers in JSON Schema
        if node.get(f"exclusive{bound}") is True:
            node[f"exclusive{bound}"] = node.pop(bound.lower())
        elif node.get(f"exclusive{bound}") is False:
            del node[f"exclusive{bound}"]
    node.pop("readOnly", None)
    node.pop("writeOnly", None)
    return node


def response_validator(schema: dict, path: str):
    body = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    root = {"allOf": [copy.deepcopy(body)], "components": to_json_schema(schema["components"])}
    return jsonschema.Draft7Validator(to_json_schema(root), format_checker=jsonschema.FormatChecker())


@pytest.fixture
def seeded(make_user):
    """A finalised proposal round (graded and ungraded proposals, its panel and sheets), a draft proposal, plans with
    a filled-in and an empty report, an appraisal round with a reviewed and an unscored appraisal."""
    officer = make_user(Role.RDEC_OFFICER, Role.ADMIN, username="schema.officer")
    round_ = make_round(officer, members=2)
    proposal_services.round_open(round_id=round_.pk, actor=officer)
    _pwb, pwb_clerk, pwb_head = agency_people("PWB")
    _tb, tb_clerk, tb_head = agency_people("TB")
    first = sent_proposal(round_, pwb_clerk, pwb_head, title="智慧路燈")
    second = sent_proposal(round_, tb_clerk, tb_head, title="公車動態")
    graded_round(officer, [(first, 9), (second, 3)], round_)
    proposal_services.round_publish(round_id=round_.pk, actor=officer)
    proposal_services.proposal_forward(proposal_id=first.pk, actor=officer, agency_ids=[_tb.pk])  # unanswered
    later = make_round(officer, year=116, members=2)
    proposal_services.round_open(round_id=later.pk, actor=officer)
    proposal_services.proposal_create(actor=pwb_clerk, round_id=later.pk, title="草稿", summary="尚未送出")

    tr, tr_clerk, _tr_head = plans.agency_people("TR")
    made = plans.make_plans(officer, [plans.plan_dict("T1", "TR"), plans.plan_dict("T2", "TR")])
    monitoring_services.reports_open_for_month(year=plans.YEAR, month=1)
    plans.fill_and_submit(tr_clerk, plans.report_for(made[0], 1), plans.LINEAR[0])
    appraisal_round = AppraisalRound.objects.create(year=plans.YEAR, status=AppraisalRound.Status.REVIEW)
    Appraisal.objects.create(
        round=appraisal_round,
        plan=made[0],
        agency=tr,
        suggested_score=Decimal("88"),
        review_score=Decimal("88"),
        final_score=Decimal("88"),
        status=Appraisal.Status.REVIEWED,
        computed_at=timezone.now(),
    )
    Appraisal.objects.create(round=appraisal_round, plan=made[1], agency=tr, suggested_score=Decimal("61.5"))
    applicant, reviewer = _theses(officer)
    # The pre-budget review in every stage: drafts, decided and approved requests (nulls and figures), meetings with
    # and without decisions, a visit with its photo, ceilings; the reviewer attends its meetings.
    in_every_stage(
        officer=officer,
        supervisor=make_user(Role.RDEC_SUPERVISOR, username="schema.supervisor"),
        people=[(pwb_clerk, pwb_head), (tb_clerk, tb_head)],
        attendees=[reviewer],
    )
    return [officer, pwb_clerk, applicant, reviewer]  # everything; the agency's own drafts; theirs; a blind view


def _theses(officer):
    """A decided thesis call (approved and rejected, results) and an open one with a draft; the applicant and a
    reviewer of the double-blind call, who reads the applications without who applied (nulls)."""
    deadlines = {
        "application_deadline": today() + timedelta(days=30),
        "review_deadline": today() + timedelta(days=60),
        "final_due_date": today() + timedelta(days=200),
    }
    decided = make_call(officer, year=115, members=2, quota=1, **deadlines)
    thesis_services.call_open(call_id=decided.pk, actor=officer)
    winner, other = make_applicant("schema.winner"), make_applicant("schema.other")
    sent = [sent_application(decided, winner, title="港區轉型"), sent_application(decided, other, title="輕軌轉乘")]
    for application in sent:
        thesis_services.application_screen(actor=officer, application_id=application.pk, eligible=True)
    thesis_services.call_start_review(call_id=decided.pk, actor=officer)
    score_everything(decided, {sent[0].pk: 90, sent[1].pk: 60})
    thesis_services.call_decide(call_id=decided.pk, actor=officer)
    later = make_call(officer, year=116, members=2, **deadlines)
    thesis_services.call_open(call_id=later.pk, actor=officer)
    thesis_services.application_create(actor=winner, call_id=later.pk, kind="subsidy", title="草稿", abstract="摘要")
    return winner, User.objects.get(username="thesis_reviewer115_0")


def ids_for(api_client, path: str) -> list:
    """Ids to put in `path`'s {id}: from the list it hangs off, or the panels in the database."""
    collection = path.split("{id}")[0]
    if collection == "/api/v1/panels/":
        return list(Panel.objects.values_list("pk", flat=True))
    response = api_client.get(collection, {"limit": 100})
    if response.status_code != 200:
        return []
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return [row["id"] for row in rows]


def test_every_list_and_detail_answer_matches_the_published_schema(api_client, seeded):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    checked, wrong = 0, []
    for viewer, (path, operations) in ((v, item) for v in seeded for item in schema["paths"].items()):
        api_client.force_authenticate(viewer)
        if "get" not in operations or path.endswith(BINARY):
            continue
        if "200" not in operations["get"]["responses"]:
            continue
        urls = [path.replace("{id}", str(pk)) for pk in ids_for(api_client, path)] if "{id}" in path else [path]
        validator = response_validator(schema, path)
        for url in urls:
            response = api_client.get(url)
            if response.status_code != 200:  # not this object's stage (e.g. no results yet): not a schema case
                continue
            checked += 1
            for error in validator.iter_errors(response.json()):
                where = "/".join(str(p) for p in error.absolute_path)
                wrong.append(f"{url} {where}: {error.message[:160]}")
    assert checked > 80
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/proposals/?status=bogus",
        "/api/v1/proposals/?grade=bogus",
        "/api/v1/adoptions/?status=bogus",
        "/api/v1/plans/?status=bogus",
        "/api/v1/progress-reports/?status=bogus",
        "/api/v1/appraisals/?status=bogus",
        "/api/v1/appraisals/?grade=bogus",
        "/api/v1/appraisal-rounds/?status=bogus",
        "/api/v1/delegations/?status=bogus",
        "/api/v1/thesis-calls/?status=bogus",
        "/api/v1/thesis-applications/?status=bogus",
        "/api/v1/thesis-applications/?kind=bogus",
        "/api/v1/notifications/?unread=bogus",
        "/api/v1/progress-reports/?lagging=bogus",
        "/api/v1/progress-reports/?lagging=yes",
        "/api/v1/budget-cycles/?status=bogus",
        "/api/v1/budget-requests/?status=bogus",
        "/api/v1/budget-requests/?cycle=bogus",
        "/api/v1/review-meetings/?status=bogus",
        "/api/v1/site-visits/?cycle=bogus",
    ],
)
def test_an_unknown_filter_value_is_refused(api_client, make_user, url):
    api_client.force_authenticate(make_user(Role.RDEC_OFFICER))
    response = api_client.get(url)
    assert response.status_code == 400, response.content


def test_a_strict_boolean_filter_still_takes_true_and_false(api_client, make_user):
    api_client.force_authenticate(make_user(Role.RDEC_OFFICER))
    for given in ("true", "false", "1", "0", ""):
        assert api_client.get("/api/v1/progress-reports/", {"lagging": given}).status_code == 200, given


def test_plan_import_400s_match_their_documented_shape(api_client, make_user):
    """Bad rows, an unreadable file and a bad year: each 400 validates against the import's 400 schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    body = schema["paths"]["/api/v1/plans/import/"]["post"]["responses"]["400"]["content"]["application/json"]
    root = {"allOf": [copy.deepcopy(body["schema"])], "components": to_json_schema(schema["components"])}
    validator = jsonschema.Draft7Validator(to_json_schema(root))
    officer = make_user(Role.RDEC_OFFICER)
    plans.agency_people("TR")
    api_client.force_authenticate(officer)
    bad_row = plans.csv_upload(plans.sheet_rows([plans.plan_dict("T1", "NOSUCH")]))
    cases = {
        "rows": {"year": plans.YEAR, "file": bad_row},
        "file": {"year": plans.YEAR, "file": SimpleUploadedFile("plans.xlsx", b"not a spreadsheet")},
        "year": {"year": 0, "file": plans.csv_upload(plans.sheet_rows([plans.plan_dict("T1", "TR")]))},
    }
    for name, data in cases.items():
        response = api_client.post("/api/v1/plans/import/", data, format="multipart")
        assert response.status_code == 400, (name, response.content)
        assert list(validator.iter_errors(response.json())) == [], (name, response.json())
