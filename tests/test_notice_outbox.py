"""Faults at the moment a user acts (issue 12, item 8): the worker stopped, the SMTP server down, the broker (Redis)
unreachable when a clerk submits a proposal. Each time the request succeeds at once and the head's notice arrives
at a real SMTP server after recovery, exactly once: the notification rows are the outbox, and the sweep beat runs
every minute enqueues what the request could not."""

import contextlib
import time

import pytest
from rest_framework.test import APIClient

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory, UserFactory
from notifications.models import Notification
from notifications.tasks import sweep_outbox
from proposals import services as proposal_services
from proposals.models import Proposal
from proposals.tests.factories import make_round
from tests.fixtures.smtp import free_port
from tests.fixtures.waiting import wait_for
from workflow_site import celery_app

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def drafted(make_user):
    """A draft proposal of the 交通局 clerk, whose head has an e-mail address."""
    officer = make_user(Role.RDEC_OFFICER)
    round_ = make_round(officer, members=1)
    proposal_services.round_open(round_id=round_.pk, actor=officer)
    agency = AgencyFactory(code="TB", name="交通局")
    clerk = UserFactory(roles=[Role.AGENCY_CLERK], agency=agency, username="tb.clerk")
    UserFactory(roles=[Role.AGENCY_HEAD], agency=agency, username="tb.head", email="head@tb.gov.tw")
    proposal = proposal_services.proposal_create(actor=clerk, round_id=round_.pk, title="公車動態", summary="即時到站")
    client = APIClient()
    client.force_authenticate(clerk)
    return proposal, client


def submit(proposal, client) -> float:
    """The clerk submits through the API; returns how long the answer took."""
    started = time.monotonic()
    response = client.post(f"/api/v1/proposals/{proposal.pk}/submit/")
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "pending_approval"
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.PENDING_APPROVAL
    return elapsed


def the_notice():
    return Notification.objects.get(purpose="notice", channel="email", to_address="head@tb.gov.tw")


def delivered_once(smtp_server) -> None:
    wait_for(lambda: len(smtp_server.messages) >= 1, message="the head's notice at the SMTP server")
    time.sleep(1)  # room for a wrong second copy
    [message] = smtp_server.messages
    assert message["To"] == "head@tb.gov.tw"
    assert message["Subject"].strip() == "【待核定】提案「公車動態」待您核定"
    assert "交通局的提案「公車動態」已由承辦人送出，待您核定後送研考會。" in message.get_content()
    assert the_notice().state == "sent"


@contextlib.contextmanager
def broker_unreachable():
    """This process's connections to the broker go to a closed port, as when Redis is down; the worker's are
    untouched (it would reconnect on its own)."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    real_connection_for_write = celery_app.connection_for_write

    def reset_pools() -> None:  # kombu keeps one pool per connection: the real one comes back untouched
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    reset_pools()
    celery_app.connection_for_write = lambda url=None, **kwargs: real_connection_for_write(dead, **kwargs)
    try:
        yield
    finally:
        del celery_app.connection_for_write  # the class's method again
        reset_pools()


def test_worker_stopped_at_submit_delivers_when_it_is_back(mail_worker, smtp_server, drafted):
    proposal, client = drafted
    mail_worker.stop()

    submit(proposal, client)
    time.sleep(1)
    assert smtp_server.messages == []
    assert the_notice().state == "pending"

    mail_worker.start()  # the send task waited in Redis
    delivered_once(smtp_server)


def test_smtp_down_at_submit_retries_and_delivers_when_it_is_back(mail_worker, smtp_server, drafted):
    proposal, client = drafted
    smtp_server.stop()

    submit(proposal, client)
    wait_for(lambda: the_notice().state == "retrying", message="a failed attempt")
    assert "ConnectionRefusedError" in the_notice().last_error

    smtp_server.start()
    delivered_once(smtp_server)


def test_redis_down_at_submit_answers_at_once_and_the_sweep_delivers_after_recovery(mail_worker, smtp_server, drafted):
    proposal, client = drafted
    with broker_unreachable():
        elapsed = submit(proposal, client)
        assert elapsed < 5  # a few quick tries at publishing, then the user has their answer
        notice = the_notice()
        assert (notice.state, notice.queued_at) == ("pending", None)  # left for the sweep
        # A sweep running while the broker is still down loses nothing: the rows it could not enqueue stay unqueued.
        assert sweep_outbox.apply().get() == 0
        assert the_notice().queued_at is None
    assert smtp_server.messages == []

    sweep_outbox.delay()  # ... beat's next sweep once Redis answers again
    delivered_once(smtp_server)
