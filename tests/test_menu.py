"""The side menu: the processes first, then 評分, then the reference pages (directory, calendar)."""

import pytest

from accounts.roles import Role

pytestmark = pytest.mark.django_db

ORDER = ["市政創新提案", "學位論文獎補助", "列管計畫", "年終考核", "先期作業", "評分", "機關名錄", "行事曆調整"]


def test_an_officer_reads_the_processes_first(client, make_user):
    client.force_login(make_user(Role.RDEC_OFFICER))
    page = client.get("/").content.decode()
    menu = page[page.index("vf-page__menu-primary") :]
    positions = [menu.find(f">{title}<") for title in ORDER]
    assert -1 not in positions, dict(zip(ORDER, positions, strict=True))
    assert positions == sorted(positions)
