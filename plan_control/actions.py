"""The plan-control pages' transition POST view: `workflow_site.actions.TransitionPostView`, asking first only a
user who may press the button now.

An irreversible action's confirmation says what will happen, with counts taken across agencies; someone who may
not run the action (an agency's clerk posting RDEC's button by hand, or a stale page after the stage moved on)
gets the service's own refusal (403 / 409 as a message) at once, never a page describing data they cannot act on.
"""

from __future__ import annotations

from workflow_site.actions import TransitionPostView


class AskingTransitionPostView(TransitionPostView):
    def post(self, request, pk: int, name: str):
        action = self.actions.get(name)
        if action is not None and action.confirm and request.POST.get("confirmed") != "1":
            obj = self.get_object(request, pk)
            if action not in self.actions.for_object(obj, request.user):
                # Not this user's button now: skip the question, the service refuses with its own status.
                request.POST = request.POST.copy()
                request.POST["confirmed"] = "1"
        return super().post(request, pk, name)
