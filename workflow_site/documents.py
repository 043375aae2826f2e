"""Uploaded documents (proposal attachments, thesis plans and theses): the format is recognised from the bytes, never
from the file name, and an archive is refused from its declared sizes before it is inflated."""

from __future__ import annotations

import zipfile

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from workflow_site.archives import ArchiveRefused, check_zip

MAX_BYTES = 20 * 1024 * 1024
# A 20 MB document of text and pictures expands to a few times its size; a zip bomb to hundreds of MB.
MAX_UNCOMPRESSED = 100 * 1024 * 1024
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"


def sniff_kind(upload) -> str:
    """'pdf', 'docx' or 'odt' from the content; ValidationError (Traditional Chinese) for anything else."""
    if upload.size > MAX_BYTES:
        raise ValidationError(
            _("檔案大小 %(size).1f MB，超過上限 20 MB。") % {"size": upload.size / 1024 / 1024}, code="too_large"
        )
    if upload.size == 0:
        raise ValidationError(_("檔案是空的。"), code="empty")
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(upload) as archive:
                check_zip(archive, max_total=MAX_UNCOMPRESSED)  # by the declared sizes, before reading a member
                names = set(archive.namelist())
                # ODF requires `mimetype` as the first, uncompressed entry naming the document type.
                if "mimetype" in names and archive.read("mimetype").strip() == ODT_MIMETYPE:
                    return "odt"
                if "[Content_Types].xml" in names and "word/document.xml" in names:
                    return "docx"
        except zipfile.BadZipFile:
            pass
        except ArchiveRefused as exc:
            raise ValidationError(str(exc), code="too_large") from exc
        finally:
            upload.seek(0)
    raise ValidationError(_("只接受 PDF、DOCX 或 ODT 格式的檔案（依檔案內容判斷）。"), code="bad_type")
