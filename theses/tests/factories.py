"""Builders for thesis tests: a call in any stage and applicants with profiles, through the services."""

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from reviews import services as review_services
from reviews.models import ScoreSheet
from theses import services
from theses.models import ApplicantProfile, ThesisCall

RUBRIC = [
    {"code": "relevance", "name": "與市政之關聯", "weight": 50, "max_score": 100},
    {"code": "quality", "name": "研究品質", "weight": 50, "max_score": 100},
]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name: str = "plan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def make_call(officer, *, year: int = 115, members: int = 3, quota: int = 2, **kwargs) -> ThesisCall:
    """A call with both kinds for master's and doctoral students, and `members` reviewers on every panel."""
    call = services.call_create(
        actor=officer,
        year=year,
        title=f"{year}年度學位論文獎補助",
        application_deadline=kwargs.pop("application_deadline", datetime.date(2026, 12, 31)),
        review_deadline=kwargs.pop("review_deadline", datetime.date(2027, 1, 31)),
        final_due_date=kwargs.pop("final_due_date", datetime.date(2027, 6, 30)),
        tracks=kwargs.pop(
            "tracks",
            [
                {"kind": kind, "degree": degree, "quota": quota, "amount": amount, "min_score": 60}
                for kind, degree, amount in [
                    ("subsidy", "master", 30000),
                    ("subsidy", "doctor", 50000),
                    ("award", "master", 20000),
                    ("award", "doctor", 40000),
                ]
            ],
        ),
        rubrics={"subsidy": RUBRIC, "award": RUBRIC},
        min_members=members,
        **kwargs,
    )
    for n in range(members):
        reviewer = UserFactory(roles=[Role.REVIEWER], agency=None, username=f"thesis_reviewer{year}_{n}")
        for kind in ("subsidy", "award"):
            services.call_member_add(
                call_id=call.pk, actor=officer, kind=kind, user_id=reviewer.pk, member_kind="external", chair=n == 0
            )
    return call


def make_applicant(username: str, *, degree: str = "master", verified: bool = True, **profile):
    user = UserFactory(roles=[Role.APPLICANT], agency=None, username=username, display_name=f"{username} 同學")
    ApplicantProfile.objects.create(
        user=user,
        university=profile.get("university", "國立中山大學"),
        department=profile.get("department", "公共事務管理研究所"),
        degree=degree,
        advisor=profile.get("advisor", "陳教授"),
        email_verified_at=timezone.now() if verified else None,
    )
    return user


def sent_application(call, applicant, *, kind: str = "subsidy", title: str = "高雄輕軌轉乘行為研究", **fields):
    application = services.application_create(
        actor=applicant, call_id=call.pk, kind=kind, title=title, abstract="摘要", **fields
    )
    role = "plan" if kind == "subsidy" else "thesis"
    services.document_add(actor=applicant, application_id=application.pk, role=role, upload=pdf())
    return services.application_submit(actor=applicant, application_id=application.pk)


def score_everything(call, points: dict[int, int]) -> None:
    """Submit every open sheet of the call's panels with `points[application_id]` on each criterion."""
    for sheet in (
        ScoreSheet.objects.filter(panel__in=[t.panel_id for t in call.tracks.all()])
        .exclude(status="recused")
        .select_related("member__user", "item")
    ):
        value = points[sheet.item.subject_id]
        review_services.sheet_submit(
            sheet_id=sheet.pk, actor=sheet.member.user, scores={"relevance": value, "quality": value}
        )
