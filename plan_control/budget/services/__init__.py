"""Every write of the pre-budget review (moved into a package; split by concern in the next commit)."""

from .requests import *  # noqa: F403
