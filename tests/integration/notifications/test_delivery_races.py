"""Never twice, on PostgreSQL with two threads: two workers queueing the same message's deliveries
make one row per recipient x cause x channel (the UNIQUE constraint decides), and two senders
running at once send each mail once."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace

import pytest
from sqlmodel import Session, select

from services.notifications import delivery
from services.notifications.domain.messages import Message, RecipientKind
from services.notifications.models_delivery import Delivery
from tests.integration.monitoring.support import frozen_world
from tests.integration.notifications.delivery_support import LoopbackSmtp, deliveries_of_client, outlets
from tests.support.world import api_client, make_case


@pytest.fixture(scope="module")
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("races"), "postgresql") as world:
        yield world


def _together(work, n: int = 2) -> list[BaseException]:
    barrier, errors = threading.Barrier(n), []

    def run() -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_two_workers_queueing_the_same_message_make_one_delivery_per_channel(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 401, approve=False)
    cause = str(uuid.uuid4())
    message = Message.about(
        message_id=str(uuid.uuid4()),
        municipality="0014",
        template="plan_returned",
        client_id=case.client_id,
        recipient_kind=RecipientKind.CLIENT,
        params={},
        cause_event_id=cause,
        at=clock.now(),
    )
    def queue() -> None:
        with runtime.uow("notifications") as uow:
            delivery.add_and_queue(uow, replace(message))
            uow.commit()

    for _round in range(3):
        assert _together(queue, 4) == []
    with Session(runtime.engine) as session:
        rows = session.exec(select(Delivery).where(Delivery.cause == f"{cause}:plan_returned")).all()
    assert sorted(r.channel for r in rows) == ["email", "in_app"]


def test_two_senders_at_once_send_each_mail_once(env):
    runtime, http, _clock = env
    cases = [make_case(http, runtime, "0014", seed, email=f"klant{seed}@example.nl") for seed in (402, 403, 404)]
    smtp = LoopbackSmtp()
    smtp.start()

    def send() -> None:
        sender = outlets(runtime, api_client(runtime), smtp)  # one in-process client per thread
        with runtime.uow("notifications") as uow:
            delivery.send_due_mail(uow, sender)

    try:
        assert _together(send, 3) == []
    finally:
        smtp.stop()
    for case in cases:
        rows = deliveries_of_client(runtime, case.client_id, "email")
        assert rows and {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}
    received = [(m["To"], m["Subject"]) for m in smtp.catcher.mails()]
    for seed in (402, 403, 404):  # each of the journey's mails (plan received, approved, invoice to confirm) once
        to = f"klant{seed}@example.nl"
        mine = [subject for address, subject in received if address == to]
        assert len(mine) == len(set(mine)) == len(deliveries_of_client(runtime, cases[0].client_id, "email")), mine
