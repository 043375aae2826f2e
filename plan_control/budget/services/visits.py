"""Site visits to requested plans, with their findings and photos."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from workflow_site.errors import NotFound
from workflow_site.permissions import require

from ...models import (
    BudgetRequest,
    SiteVisit,
    SiteVisitPhoto,
)
from .. import selectors
from ..uploads import sniff_photo
from ._common import _cycle


def _photo(visit: SiteVisit, upload, actor) -> SiteVisitPhoto:
    try:
        kind = sniff_photo(upload)
    except ValidationError as exc:
        raise ValidationError({"photos": exc.messages}) from exc
    photo = SiteVisitPhoto(
        visit=visit,
        name=(getattr(upload, "name", "") or "photo")[-255:],
        format=kind,
        size=upload.size,
        uploaded_by=actor,
    )
    return photo


@transaction.atomic
def site_visit_create(
    *,
    actor,
    cycle_id: int,
    date: datetime.date,
    request_ids: list[int],
    findings: str = "",
    photos=(),
) -> SiteVisit:
    """RDEC records a site visit to requests of the cycle at RDEC (400 `request_ids`), with its findings and photos
    (JPEG or PNG by content, 10 MB each at most: 400 `photos`, nothing saved)."""
    require(actor, "plan_control.run_budget")
    cycle = _cycle(cycle_id)
    ids = list(dict.fromkeys(request_ids or ()))
    if not ids:
        raise ValidationError({"request_ids": [_("請至少選擇一件訪查計畫。")]})
    requests = list(BudgetRequest.objects.filter(pk__in=ids, cycle=cycle, status__in=selectors.IN_CYCLE))
    missing = sorted(set(ids) - {r.pk for r in requests})
    if missing:
        raise ValidationError(
            {"request_ids": [_("以下案件不屬本年度或未送研考會：%(ids)s") % {"ids": "、".join(map(str, missing))}]}
        )
    visit = SiteVisit(cycle=cycle, date=date, findings=findings, created_by=actor)
    visit.full_clean()
    pending = [(_photo(visit, upload, actor), upload) for upload in photos]  # every photo checked before any is saved
    visit.save()
    visit.requests.set(requests)
    for photo, upload in pending:
        photo.visit = visit
        photo.file.save(f"{photo.format}.{photo.format}", upload, save=False)
        photo.save()
    return visit


@transaction.atomic
def site_visit_update(
    *, actor, visit_id: int, findings: str | None = None, date: datetime.date | None = None
) -> SiteVisit:
    """Correct a site visit's date or findings."""
    require(actor, "plan_control.run_budget")
    visit = _visit(visit_id, actor)
    fields = []
    if findings is not None:
        visit.findings = findings
        fields.append("findings")
    if date is not None:
        visit.date = date
        fields.append("date")
    visit.full_clean()
    if fields:
        visit.save(update_fields=fields)
    return visit


def _visit(visit_id: int, actor) -> SiteVisit:
    try:
        return SiteVisit.objects.filter(selectors.site_visit_visibility(actor)).select_for_update().get(pk=visit_id)
    except SiteVisit.DoesNotExist as exc:
        raise NotFound() from exc


@transaction.atomic
def site_visit_add_photo(*, actor, visit_id: int, upload) -> SiteVisitPhoto:
    """One more photo of a visit (JPEG or PNG by content, 10 MB at most: 400 `photos`)."""
    require(actor, "plan_control.run_budget")
    visit = _visit(visit_id, actor)
    photo = _photo(visit, upload, actor)
    photo.file.save(f"{photo.format}.{photo.format}", upload, save=False)
    photo.save()
    return photo
