"""The public list of outstanding theses (優良學位論文獎勵), for anyone, without signing in (WCAG 2.1 AA).

Only what the applicant agreed to make public: the title, university, degree and year, and the name they chose
to publish (none when they chose none)."""

from __future__ import annotations

from itertools import groupby

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import selectors


def _year(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isdigit() and 0 < int(raw) < 1000 else None


@require_safe
def awarded(request: HttpRequest) -> HttpResponse:
    """Awarded theses of every decided call, newest year first, or of one year (`?year=107`); one query."""
    year = _year(request.GET.get("year", ""))
    theses = list(selectors.awarded_theses(year=year))
    years = [
        {"year": y, "title": rows[0].call.title, "theses": rows}
        for y, rows in ((y, list(rows)) for y, rows in groupby(theses, key=lambda a: a.call.year))
    ]
    return render(request, "theses/public/awarded.html", {"years": years, "year": year, "count": len(theses)})
