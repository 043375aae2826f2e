"""Logging filters named by settings.LOGGING."""

from __future__ import annotations

import logging


class ClientErrorWithoutTraceback(logging.Filter):
    """`django.request` logs a 403 (PermissionDenied) or 400 (SuspiciousOperation) with the exception's traceback:
    for an answer the site meant to give, the one line "Forbidden (Permission denied): /path" says all there is. 5xx
    records keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
