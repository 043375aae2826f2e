"""Site-visit photos: the format is recognised from the bytes, never from the file name."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

PHOTO_MAX_BYTES = 10 * 1024 * 1024
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def sniff_photo(upload) -> str:
    """'jpeg' or 'png' from the content; ValidationError (Traditional Chinese) for anything else or past 10 MB."""
    if upload.size > PHOTO_MAX_BYTES:
        raise ValidationError(
            _("照片大小 %(size).1f MB，超過上限 10 MB。") % {"size": upload.size / 1024 / 1024}, code="too_large"
        )
    if upload.size == 0:
        raise ValidationError(_("檔案是空的。"), code="empty")
    upload.seek(0)
    head = upload.read(len(PNG_MAGIC))
    upload.seek(0)
    if head.startswith(JPEG_MAGIC):
        return "jpeg"
    if head.startswith(PNG_MAGIC):
        return "png"
    raise ValidationError(_("照片只接受 JPEG 或 PNG 格式（依檔案內容判斷）。"), code="bad_type")
