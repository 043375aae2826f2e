"""One family of application errors. Services raise them; the API maps them to HTTP in one place.

Messages are translatable and written in Traditional Chinese, the language the back office reads.
"""

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    """A domain rule refused the request. `code` is stable and machine-readable; `message` is for people."""

    status = 400
    default_code = "invalid"
    default_message = _("無法處理此請求。")

    def __init__(self, message=None, *, code: str | None = None, extra: dict | None = None):
        self.message = message if message is not None else self.default_message
        self.code = code or self.default_code
        self.extra = extra or {}
        super().__init__(str(self.message))


class ValidationFailed(ApplicationError):
    """Input broke a rule; `extra` may hold `{field: [messages]}`."""

    status = 400
    default_code = "invalid"


class PermissionDenied(ApplicationError):
    status = 403
    default_code = "permission_denied"
    default_message = _("您沒有執行此操作的權限。")


class NotFound(ApplicationError):
    """Missing, or not visible to this user: the two are indistinguishable on purpose."""

    status = 404
    default_code = "not_found"
    default_message = _("找不到資料。")


class TransitionNotAllowed(ApplicationError):
    """The object's current state does not allow the transition."""

    status = 409
    default_code = "transition_not_allowed"
    default_message = _("目前狀態不允許此操作。")


class ConcurrentUpdate(ApplicationError):
    """Someone else changed the object between our read and our write."""

    status = 409
    default_code = "concurrent_update"
    default_message = _("資料已被他人更新，請重新整理後再試。")


class Conflict(ApplicationError):
    """A uniqueness or other state conflict that is not a transition (e.g. a duplicate slot)."""

    status = 409
    default_code = "conflict"
    default_message = _("資料衝突。")
