"""Zip bombs: an uploaded OOXML/ODF file is a zip, judged by the sizes its directory declares before any member is read.

Python's zipfile never inflates a member past the `file_size` its directory declares (it stops there and the CRC check
fails), so the declared sizes bound what reading can cost, and checking them first costs nothing.
"""

from __future__ import annotations

import zipfile

from django.utils.translation import gettext as _

# Apache POI's ZipSecureFile refuses members that inflate more than 100 times (MIN_INFLATE_RATIO = 0.01); office XML
# of real prose compresses 5-20 times. Small members (styles, a mostly empty sheet) may compress better, harmlessly.
MAX_RATIO = 100
RATIO_FLOOR = 1024 * 1024


class ArchiveRefused(ValueError):
    """The archive would expand past a limit; the message (Traditional Chinese) names it."""


def check_zip(
    archive: zipfile.ZipFile, *, max_total: int, max_ratio: int | None = MAX_RATIO, max_members: int = 1000
) -> None:
    """ArchiveRefused if the members would expand past `max_total` bytes in all, or one inflates > `max_ratio` times
    (None: no ratio check, for a reader that bounds its own work: spreadsheets of repeated values pass 100)."""
    members = archive.infolist()
    if len(members) > max_members:
        raise ArchiveRefused(_("壓縮檔內的檔案超過 %(n)d 個。") % {"n": max_members})
    total = sum(member.file_size for member in members)
    if total > max_total:
        raise ArchiveRefused(
            _("檔案解壓縮後為 %(size).1f MB，超過上限 %(max)d MB。")
            % {"size": total / 1024 / 1024, "max": max_total // 1024 // 1024}
        )
    for member in members if max_ratio else ():
        if member.file_size > RATIO_FLOOR and member.file_size > max_ratio * max(member.compress_size, 1):
            raise ArchiveRefused(
                _("檔案內容「%(name)s」的壓縮比超過 %(ratio)d 倍，疑似壓縮炸彈，已拒絕。")
                % {"name": member.filename[:100], "ratio": max_ratio}
            )
