"""The ops commands' own logic without I/O: a preset applied to another municipality, and
draining workers waiting for their tasks (a stand-in for Celery's remote control)."""

from __future__ import annotations

import re
import shlex

import pytest

from eigenregie.entrypoints.cli import build_parser
from eigenregie.ops import OpsError, drain_workers, resume_workers
from services.intake.domain.criteria import ResidentRule
from services.intake.domain.policy_presets import PRESETS, find_preset, policy_from_preset
from tests.support.environment import REPO


def test_a_preset_is_found_by_name_in_any_case_or_by_code():
    assert find_preset("Groningen") is PRESETS["0014"]
    assert find_preset(" utrecht ") is PRESETS["0344"]
    assert find_preset("0599") is PRESETS["0599"]
    assert find_preset("leiden") is None


def test_a_preset_for_another_municipality_names_it_in_the_residence_rule_and_keeps_the_rest():
    policy = policy_from_preset(PRESETS["0014"], "0363", "Amsterdam")
    assert (policy.municipality_code, policy.municipality_name) == ("0363", "Amsterdam")
    residence = [r for r in policy.admission_rules if isinstance(r, ResidentRule)]
    assert residence == [ResidentRule(("0363",))]
    others = [r for r in policy.admission_rules if not isinstance(r, ResidentRule)]
    assert others == [r for r in PRESETS["0014"].admission_rules if not isinstance(r, ResidentRule)]
    assert policy.schemes == PRESETS["0014"].schemes and policy.review_model == PRESETS["0014"].review_model


class FakeInspect:
    def __init__(self, control: FakeControl) -> None:
        self.control = control

    def active(self):
        return self.control.busy.pop(0) if self.control.busy else {name: [] for name in self.control.names}

    def reserved(self):
        return {name: [] for name in self.control.names}

    def scheduled(self):
        return {self.control.names[0]: [{"eta": "later"}]}


class FakeControl:
    """Answers like Celery's `app.control`: two budget workers and one intake worker."""

    def __init__(self, busy: list[dict[str, list[object]]]) -> None:
        self.names = ["budget@a", "budget@b"]
        self.busy = busy
        self.calls: list[tuple[str, str, list[str]]] = []

    def ping(self, timeout: float):
        return [{"budget@a": {"ok": "pong"}}, {"intake@a": {"ok": "pong"}}, {"budget@b": {"ok": "pong"}}]

    def cancel_consumer(self, queue, destination, reply, timeout):
        self.calls.append(("cancel_consumer", queue, destination))

    def add_consumer(self, queue, destination, reply, timeout):
        self.calls.append(("add_consumer", queue, destination))

    def inspect(self, destination, timeout):
        assert destination == self.names
        return FakeInspect(self)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_drain_stops_the_services_workers_consuming_and_waits_until_their_tasks_finished():
    control = FakeControl(busy=[{"budget@a": [{"id": 1}], "budget@b": []}, {"budget@a": [{"id": 1}]}])
    clock = Clock()
    result = drain_workers(control, "budget", timeout=60, sleep=clock.sleep, monotonic=lambda: clock.now)
    assert control.calls == [("cancel_consumer", "budget", ["budget@a", "budget@b"])]
    assert result.drained and result.workers == ["budget@a", "budget@b"]
    assert clock.slept == [0.5, 0.5]  # asked twice more while budget@a still ran its task
    assert "1 retry(s) wait for their time" in result.lines[-1]


def test_drain_gives_up_after_the_timeout_and_says_what_still_runs():
    control = FakeControl(busy=[{"budget@a": [{"id": 1}]}] * 100)
    clock = Clock()
    result = drain_workers(control, "budget", timeout=2, sleep=clock.sleep, monotonic=lambda: clock.now)
    assert not result.drained
    assert "not drained within 2 s: 1 task(s) running" in result.lines[-1]


def test_drain_and_resume_refuse_a_service_without_workers_naming_it():
    with pytest.raises(OpsError, match="no monitoring worker answered") as refused:
        drain_workers(FakeControl(busy=[]), "monitoring", timeout=1)
    assert refused.value.argument == "service"
    with pytest.raises(OpsError, match="no notifications worker answered"):
        resume_workers(FakeControl(busy=[]), "notifications")


def test_resume_makes_every_worker_of_the_service_consume_its_queue_again():
    control = FakeControl(busy=[])
    assert resume_workers(control, "budget") == [
        "2 budget worker(s) take tasks from queue budget again: budget@a, budget@b"
    ]
    assert control.calls == [("add_consumer", "budget", ["budget@a", "budget@b"])]


def test_every_command_in_the_deploy_scripts_section_of_the_operations_docs_parses():
    text = (REPO / "docs" / "operations.md").read_text()
    section = text.split("\n## Deploy scripts\n", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("| "))
    commands = {c for c in re.findall(r"`(prb [^`]+)`", table) if c != "prb worker <service>"}
    assert len(commands) > 20
    parser = build_parser()
    for command in sorted(commands):
        words = shlex.split(re.sub(r"<[^>]+>", "some-id", command.replace("$(date +%F)", "2026-12-01")))[1:]
        try:
            parser.parse_args(words)
        except SystemExit:
            pytest.fail(f"docs/operations.md names a command prb does not take: {command}")
