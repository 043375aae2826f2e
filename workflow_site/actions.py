"""Transition buttons: one table per page and one POST view, for every process.

A page declares its buttons once as an `ActionTable` of `Action`s, each naming the FSM transition it stands for
and the service that runs it. The buttons shown are the table's actions whose transition `available_transitions`
offers the user now (state, conditions, permission, acting substitutes), so no page repeats a transition's source
states or stage rules: those live on the model (`@transition(source=..., conditions=[...])`). A POST goes
through `TransitionPostView`, which answers 404 for an action it does not know or an object the user may not see,
runs the service through `run_service` (refusals become messages, never a 500) and goes back to the page.

An irreversible action asks first: with `confirm` (a text, or `confirm(obj) -> text` computed from the data, ""
when there is nothing to ask) the button's POST does not run the service but shows a page saying what will happen,
carrying over the reason typed, with 確定 (posting again with confirmed=1) and 取消 (back to the object's page).
Only a user the button is offered to is asked; anyone else gets the service's refusal straight away.

    REPORT_ACTIONS = ActionTable(
        Action("accept", _("審核通過"), _("已審核通過月報。"),
               run=lambda pk, actor, data: services.report_accept(report_id=pk, actor=actor)),
        Action("terminate", _("終止計畫"), _("已終止計畫。"), run=..., reason="required",
               confirm=lambda plan: _("計畫終止後不能再恢復，尚未填報的 %(n)s 份月報將不再催報。") % {...}),
        ...
    )
    context["actions"] = REPORT_ACTIONS.for_object(report, request.user)

    class ReportTransitionView(TransitionPostView):
        actions = REPORT_ACTIONS
        redirect_url_name = "plan_control:report"

        def get_object(self, request, pk):
            return get_object_or_404(selectors.report_list(viewer=request.user), pk=pk)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from .transitions import available_transitions
from .views import run_service


@dataclass(frozen=True)
class Action:
    """A button: `name` is the URL slug, `transition` the FSM transition it stands for (default: `name`)."""

    name: str
    label: str
    done: str  # the success message
    run: Callable[..., object]  # run(pk, actor, data) -> calls the service; data is the POST
    transition: str = ""
    reason: str = ""  # "required" / "optional" / "" (no reason field on the button's form)
    style: str = "mdc-button--raised"
    confirm: str | Callable[[object], str] = ""  # what will happen: asked before the service runs

    @property
    def transition_name(self) -> str:
        return self.transition or self.name

    def confirmation(self, obj) -> str:
        """What the confirmation page says for `obj`; "" when the action runs without asking."""
        text = self.confirm(obj) if callable(self.confirm) else self.confirm
        return str(text or "")


class ActionTable:
    def __init__(self, *actions: Action):
        self.actions = actions
        self._by_name = {action.name: action for action in actions}

    def get(self, name: str) -> Action | None:
        return self._by_name.get(name)

    def for_object(self, obj, user) -> list[Action]:
        """The buttons `user` may press on `obj` now, in the table's order."""
        names = set(available_transitions(obj, user))
        return [action for action in self.actions if action.transition_name in names]


class TransitionPostView(LoginRequiredMixin, View):
    """POST /<pk>/<action name>/: run the action's service for the signed-in user, then back to the object's page.

    Subclasses set `actions` and `redirect_url_name` (reversed with the pk) and define `get_object`, which must
    raise Http404 for an object the user may not see (checked before anything else)."""

    http_method_names = ["post"]
    actions: ActionTable
    redirect_url_name: str

    def get_object(self, request, pk: int):
        raise NotImplementedError

    def post(self, request, pk: int, name: str):
        action = self.actions.get(name)
        if action is None:
            raise Http404
        obj = self.get_object(request, pk)
        # Only someone who may press the button now is asked: anyone else (a stale page, a hand-made POST) gets the
        # service's own refusal at once, never a page describing data they cannot act on.
        asking = action.confirm and request.POST.get("confirmed") != "1"
        question = action.confirmation(obj) if asking and action in self.actions.for_object(obj, request.user) else ""
        if question:
            context = {
                "object": obj,
                "action": action,
                "question": question,
                "reason": request.POST.get("reason", ""),
                "back_url": reverse(self.redirect_url_name, args=[pk]),
            }
            return render(request, "workflow_site/confirm.html", context)
        run_service(request, lambda: action.run(pk, request.user, request.POST), str(action.done))
        return HttpResponseRedirect(reverse(self.redirect_url_name, args=[pk]))
