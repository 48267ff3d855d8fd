"""Hypothesis state machine on real PostgreSQL: money commands, one at a time or racing.

Each step is either one command on one line, or a race: a Hypothesis-chosen mix of commands
fired from many threads at once. After every step the ledger balances, no account is below
zero, the cached totals equal the ledger, nothing is drawn beyond a line, and no command
answered with anything but a decision. Steps that succeed are checked to have done so (a
refused step must say why, with a domain code).
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.integration.budget import test_money_races as races
from tests.integration.budget.support import ledger_consistent

COMMANDS = {
    "order": races.order,
    "invoice": races.invoice,
    "approval": races.approval,
    "plan_change": races.plan_change,
    "credit": races.credit,
    "refund": races.refund,
    "payment": races.payment,
}
command_names = st.sampled_from(sorted(COMMANDS))


def test_random_races_of_money_commands_keep_the_ledger_whole(race_runtime):
    runtime = race_runtime

    class LedgerUnderRaces(RuleBasedStateMachine):
        @initialize()
        def open_line(self) -> None:
            self.line = races._prepare(runtime)
            self.outcomes: Counter[str] = Counter()

        @rule(name=command_names, index=st.integers(0, 20))
        def one_command(self, name: str, index: int) -> None:
            outcome = races._outcome(COMMANDS[name], self.line, index, _NoGate())
            self._record(outcome)

        @rule(mix=st.lists(st.tuples(command_names, st.integers(0, 20)), min_size=2, max_size=24))
        def race(self, mix: list[tuple[str, int]]) -> None:
            threads = min(len(mix), races.THREADS)
            start = threading.Barrier(threads)
            with ThreadPoolExecutor(max_workers=threads) as pool:
                futures = [
                    pool.submit(
                        races._outcome,
                        COMMANDS[name],
                        self.line,
                        index,
                        races._Gate(start, n) if n < threads else _NoGate(),
                    )
                    for n, (name, index) in enumerate(mix)
                ]
                for future in futures:
                    self._record(future.result())

        def _record(self, outcome: str) -> None:
            assert not outcome.startswith(races._NEVER), outcome
            # A refusal carries a stable domain code ("budget.insufficient"), never a bare message.
            assert outcome in ("done", "busy") or "." in outcome, outcome
            self.outcomes[outcome] += 1

        @invariant()
        def ledger_is_whole(self) -> None:
            if hasattr(self, "line"):
                ledger_consistent(runtime)
                races._assert_within_line(runtime, self.line)

    run_state_machine_as_test(
        LedgerUnderRaces,
        settings=settings(
            max_examples=8, stateful_step_count=6, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )


class _NoGate:
    def wait(self) -> None:
        pass
