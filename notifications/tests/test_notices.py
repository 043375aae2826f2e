"""Notices written together (`workflow_site.notices.send_each`): each its own words, one read of the recipients,
one INSERT, one send task after the commit."""

import pytest
from django.contrib.contenttypes.models import ContentType

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory, DelegationFactory
from notifications.models import Notification
from workflow_site import notices

pytestmark = pytest.mark.django_db


def test_several_notices_are_one_read_one_write_and_one_send_task(
    make_user, django_assert_num_queries, django_capture_on_commit_callbacks
):
    agency = AgencyFactory(code="SW", name="社會局")
    with_mail = make_user(Role.AGENCY_CLERK, agency=agency, display_name="陳承辦", email="chen@sw.gov.tw")
    in_app_only = make_user(Role.AGENCY_CLERK, agency=agency, display_name="林承辦", email="")
    gone = make_user(Role.AGENCY_CLERK, agency=agency, is_active=False, email="gone@sw.gov.tw")
    item = DelegationFactory(user=with_mail, substitute=in_app_only)
    sent = [
        notices.Notice((with_mail.pk, gone.pk, None), "主旨一", "第一則", item, "/a/"),
        notices.Notice((in_app_only.pk, with_mail.pk, with_mail.pk), "主旨二", "第二則", item, "/b/"),
        notices.Notice((None,), "無人", "不寫", item, "/c/"),
    ]
    assert with_mail.pk < in_app_only.pk  # rows go in notice order, then recipient order
    ContentType.objects.get_for_model(item)  # cached for the process, as in any request after the first
    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(2):  # users, one INSERT
        notices.send_each(sent)
    assert len(callbacks) == 1  # one send task for the e-mails of both notices

    rows = Notification.objects.filter(purpose=Notification.Purpose.NOTICE).order_by("pk")
    assert [(r.recipient_id, r.channel, r.subject, r.url) for r in rows] == [
        (with_mail.pk, "in_app", "主旨一", "/a/"),
        (with_mail.pk, "email", "主旨一", "/a/"),
        (with_mail.pk, "in_app", "主旨二", "/b/"),
        (with_mail.pk, "email", "主旨二", "/b/"),
        (in_app_only.pk, "in_app", "主旨二", "/b/"),
    ]
    assert rows.get(recipient=in_app_only).body.startswith("林承辦 您好：\n\n第二則\n")
    assert not rows.filter(recipient=gone).exists()  # inactive: nothing


def test_nothing_to_tell_writes_nothing(django_assert_num_queries, django_capture_on_commit_callbacks):
    item = DelegationFactory()
    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(0):
        notices.send_each([notices.Notice((None,), "無人", "不寫", item, "/")])
        notices.send(recipient_ids=[], subject="無人", body="不寫", item=item, url="/")
    assert callbacks == []
