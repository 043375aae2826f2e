"""Every write of the pre-budget review (先期作業), one module per concern: the cycle (`cycles`), requests
(`requests`), review meetings (`meetings`) and site visits (`visits`); `_common` is what they share. Callers use this
package: `services.request_submit(...)`.

State changes go through workflow_site.transitions; every change of an amount (requested, recommended, approved) leaves
`AmountLedger` rows in the same transaction.

Amounts come in as `amounts`, a dict {source: NT$} over `models.budget.SOURCES` ("public", "fund", "central",
"other"; a missing source is 0), integers only. Bad input is a 400 by field (Django ValidationError) and saves
nothing; a refused stage is a 409 with a code from `errors.Code`.
"""

from ._common import C, Kind, S
from .cycles import (
    CYCLE_AMOUNTS,
    CYCLE_DATES,
    EVEN_CURVE,
    cycle_approve,
    cycle_ceiling_set,
    cycle_close,
    cycle_create,
    cycle_open,
    cycle_start_balancing,
    cycle_start_review,
    cycle_update,
    plan_code,
)
from .meetings import meeting_create, meeting_hold, meeting_record_decision, meeting_update
from .requests import (
    DECISIONS,
    EDITABLE,
    REQUEST_FIELDS,
    request_approve,
    request_create,
    request_decide,
    request_document_add,
    request_recommend,
    request_return,
    request_start_review,
    request_submit,
    request_update,
    request_withdraw,
)
from .visits import site_visit_add_photo, site_visit_create, site_visit_update

__all__ = [
    "CYCLE_AMOUNTS",
    "CYCLE_DATES",
    "DECISIONS",
    "EDITABLE",
    "EVEN_CURVE",
    "REQUEST_FIELDS",
    "C",
    "Kind",
    "S",
    "cycle_approve",
    "cycle_ceiling_set",
    "cycle_close",
    "cycle_create",
    "cycle_open",
    "cycle_start_balancing",
    "cycle_start_review",
    "cycle_update",
    "meeting_create",
    "meeting_hold",
    "meeting_record_decision",
    "meeting_update",
    "plan_code",
    "request_approve",
    "request_create",
    "request_decide",
    "request_document_add",
    "request_recommend",
    "request_return",
    "request_start_review",
    "request_submit",
    "request_update",
    "request_withdraw",
    "site_visit_add_photo",
    "site_visit_create",
    "site_visit_update",
]
