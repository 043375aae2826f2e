"""The tabs on top of every 列管計畫 page: the board, the reports, the appraisal, the summaries and the import are one
click away from each other (the side menu has one entry per process, not one per page)."""

from django import template
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.roles import is_rdec_staff

register = template.Library()

# (URL name, label, the URL names that light the tab, who sees it: "all", "rdec", "run_control")
TABS = (
    ("plan_control:board", _("月管制看板"), {"board", "board-print"}, "all"),
    ("plan_control:plans", _("計畫清單"), {"plans", "plan"}, "all"),
    ("plan_control:reports", _("月報"), {"reports", "report"}, "all"),
    (
        "plan_control:appraisal-rounds",
        _("年終考核"),
        {"appraisal-rounds", "appraisal-round", "appraisal-round-new"},
        "rdec",
    ),
    ("plan_control:appraisals", _("計畫考核"), {"appraisals", "appraisal"}, "all"),
    ("plan_control:agency-summaries", _("機關年度概況"), {"agency-summaries"}, "all"),
    ("plan_control:plans-import", _("匯入列管計畫"), {"plans-import"}, "run_control"),
)


@register.inclusion_tag("plan_control/_tabs.html", takes_context=True)
def plan_control_tabs(context) -> dict:
    request = context["request"]
    user = request.user
    match = getattr(request, "resolver_match", None)
    current = match.url_name if match else ""
    allowed = {
        "all": True,
        "rdec": is_rdec_staff(user),
        "run_control": user.has_perm("plan_control.run_control"),
    }
    tabs = [
        {"url": reverse(name), "label": label, "current": current in names}
        for name, label, names, who in TABS
        if allowed[who]
    ]
    return {"tabs": tabs}
