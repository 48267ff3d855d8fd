"""Experiments: groups, a seeded lottery anyone can re-run, a client's own choice, and outflow to
work per group with the difference against control and its 95 % confidence interval.

The lottery (`lottery`): the client ids sorted, shuffled by Python's `random.Random(seed)`, then
dealt round-robin over the groups in the draw's recorded group order. So a draw is reproduced
from what it records (seed, the sorted ids, the group order), the caller's order of the ids does
not matter, and the groups' sizes differ by at most one. A later draw in the same experiment
deals first to the groups that have fewest participants so far (`group_order`), which keeps the
whole experiment balanced to within one, draw after draw.

Plain Python: no session, no clock, no randomness of its own (the command draws a seed when the
caller gives none). Refusals are domain errors naming the field, in English and Dutch.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from shared.errors import Conflict, RuleBroken

MIN_GROUPS, MAX_GROUPS = 2, 6
GROUP_KEY = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
MAX_SEED = 2**63 - 1  # a seed fits a signed 64-bit column
CONFIDENCE = 0.95


class AssignmentMethod(StrEnum):
    """How an experiment puts clients in groups, and how one assignment was made."""

    LOTTERY = "lottery"
    CHOICE = "choice"


class IntervalMethod(StrEnum):
    """statsmodels' `confint_proportions_2indep` methods offered for a difference of proportions."""

    NEWCOMB = "newcomb"  # Newcombe's hybrid score interval (1998, method 10): the default
    WALD = "wald"  # the normal approximation; too narrow for small groups or extreme proportions


@dataclass(frozen=True)
class Group:
    key: str
    name: str
    control: bool = False


def check_groups(groups: Sequence[Group]) -> None:
    """2 to 6 groups, keys unique and of the form `more_support`, exactly one control."""
    if not MIN_GROUPS <= len(groups) <= MAX_GROUPS:
        raise RuleBroken(
            "experiment.group_count",
            f"An experiment has {MIN_GROUPS} to {MAX_GROUPS} groups; this one has {len(groups)}.",
            "groups",
            message_nl=(
                f"Een experiment heeft {MIN_GROUPS} tot {MAX_GROUPS} groepen. Dit experiment heeft er {len(groups)}."
            ),
        )
    bad = [g.key for g in groups if not GROUP_KEY.fullmatch(g.key)]
    if bad:
        raise RuleBroken(
            "experiment.group_key",
            "A group key is lower case letters, digits and _, starting with a letter (at most 30).",
            "groups",
            message_nl=(
                "Een groepscode heeft kleine letters, cijfers en _. Hij begint met een letter (hoogstens 30 tekens)."
            ),
        )
    twice = sorted(key for key, n in Counter(g.key for g in groups).items() if n > 1)
    if twice:
        raise RuleBroken(
            "experiment.group_key_twice",
            f"Each group needs its own key; used more than once: {', '.join(twice)}.",
            "groups",
            message_nl=f"Elke groep heeft een eigen code. Deze code staat er vaker in: {', '.join(twice)}.",
        )
    controls = sum(1 for g in groups if g.control)
    if controls != 1:
        raise RuleBroken(
            "experiment.one_control",
            f"Exactly one group is the control group; this experiment has {controls}.",
            "groups",
            message_nl=f"Precies een groep is de controlegroep. Dit experiment heeft er {controls}.",
        )


@dataclass(frozen=True)
class Experiment:
    id: str
    municipality: str
    name: str
    assignment: AssignmentMethod
    groups: tuple[Group, ...]  # in their defined order, the lottery's order for a first draw

    @property
    def control(self) -> Group:
        return next(g for g in self.groups if g.control)

    def group(self, key: str) -> Group:
        for group in self.groups:
            if group.key == key:
                return group
        keys = ", ".join(g.key for g in self.groups)
        raise RuleBroken(
            "experiment.unknown_group",
            f"This experiment has no group {key!r}; its groups are: {keys}.",
            "group",
            message_nl=f"Dit experiment heeft geen groep {key!r}. De groepen zijn: {keys}.",
        )

    def check_assigns_by(self, how: AssignmentMethod) -> None:
        """A draw only in a lottery experiment, a client's choice only in a choice experiment."""
        if how == self.assignment:
            return
        if how == AssignmentMethod.LOTTERY:
            raise Conflict(
                "experiment.not_a_lottery",
                "In this experiment clients choose their group; there is nothing to draw.",
                "assignment",
                message_nl="In dit experiment kiezen klanten zelf hun groep. Er valt niets te loten.",
            )
        raise Conflict(
            "experiment.not_a_choice",
            "In this experiment groups are drawn by lottery; a client cannot choose one.",
            "assignment",
            message_nl="In dit experiment wordt de groep geloot. Een klant kan niet zelf kiezen.",
        )


# --- the lottery ------------------------------------------------------------------------------


def group_order(groups: Sequence[Group], sizes: Mapping[str, int]) -> list[str]:
    """The order a draw deals in: fewest participants first, then the defined order."""
    position = {g.key: i for i, g in enumerate(groups)}
    return sorted(position, key=lambda key: (sizes.get(key, 0), position[key]))


def lottery(client_ids: Iterable[str], order: Sequence[str], seed: int) -> list[tuple[str, str]]:
    """(client id, group key) for each client: the ids sorted, shuffled with `random.Random(seed)`,
    dealt round-robin over `order`. The same ids, order and seed give the same result."""
    ids = sorted(client_ids)
    random.Random(seed).shuffle(ids)
    return [(client_id, order[i % len(order)]) for i, client_id in enumerate(ids)]


@dataclass(frozen=True)
class Draw:
    """What a draw records so anyone can re-run it: `lottery(client_ids, group_order, seed)`."""

    seed: int
    client_ids: tuple[str, ...]  # sorted: the list the shuffle starts from
    group_order: tuple[str, ...]
    assignment: tuple[tuple[str, str], ...]  # (client id, group key), in the shuffled order

    def rerun(self) -> list[tuple[str, str]]:
        return lottery(self.client_ids, self.group_order, self.seed)


def draw(
    experiment: Experiment,
    client_ids: Sequence[str],
    *,
    seed: int,
    sizes: Mapping[str, int],
    already_assigned: Iterable[str],
) -> Draw:
    """Refuse a draw that cannot be fair (nothing to draw, an id twice, a client already in a
    group of this experiment, a choice experiment), else draw."""
    experiment.check_assigns_by(AssignmentMethod.LOTTERY)
    check_seed(seed)
    if not client_ids:
        raise RuleBroken(
            "experiment.draw_empty",
            "A draw needs at least one client.",
            "client_ids",
            message_nl="Voor een loting is minstens een klant nodig.",
        )
    twice = sorted(cid for cid, n in Counter(client_ids).items() if n > 1)
    if twice:
        raise RuleBroken(
            "experiment.draw_duplicates",
            f"Each client may be in the draw once; more than once: {_some(twice)}.",
            "client_ids",
            message_nl=f"Elke klant mag maar een keer meeloten. Vaker genoemd: {_some(twice)}.",
        )
    taken = sorted(set(client_ids) & set(already_assigned))
    if taken:
        raise Conflict(
            "experiment.already_assigned",
            f"{len(taken)} of these clients already have a group in this experiment: {_some(taken)}.",
            "client_ids",
            message_nl=f"{len(taken)} van deze klanten hebben al een groep in dit experiment: {_some(taken)}.",
        )
    order = tuple(group_order(experiment.groups, sizes))
    ids = tuple(sorted(client_ids))
    return Draw(seed=seed, client_ids=ids, group_order=order, assignment=tuple(lottery(ids, order, seed)))


def check_seed(seed: int) -> None:
    if not 0 <= seed <= MAX_SEED:
        raise RuleBroken(
            "experiment.seed_range",
            f"A seed is a whole number from 0 to {MAX_SEED}.",
            "seed",
            message_nl=f"Een seed is een heel getal van 0 tot {MAX_SEED}.",
        )


def check_choice(experiment: Experiment, group_key: str, already_assigned: bool) -> Group:
    experiment.check_assigns_by(AssignmentMethod.CHOICE)
    group = experiment.group(group_key)
    if already_assigned:
        raise Conflict(
            "experiment.already_assigned",
            "This client already has a group in this experiment.",
            "client_id",
            message_nl="Deze klant heeft al een groep in dit experiment.",
        )
    return group


def _some(ids: Sequence[str], shown: int = 5) -> str:
    return ", ".join(ids[:shown]) + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupCount:
    """What the participants of one group achieved so far."""

    n: int  # participants
    outflow: int  # participants with work (Table 4.7's first three rows) on any plan trajectory
    without_trajectory: int = 0  # participants with no plan trajectory: counted as no outflow


@dataclass(frozen=True)
class Difference:
    """A group's proportion minus control's, with its interval."""

    estimate: float
    low: float
    high: float
    method: IntervalMethod
    confidence: float = CONFIDENCE


@dataclass(frozen=True)
class GroupResult:
    group: Group
    count: GroupCount
    proportion: float | None  # None for a group without participants
    difference: Difference | None  # None for control, or when either group is empty


def difference_of_proportions(
    outflow: int, n: int, control_outflow: int, control_n: int, method: IntervalMethod = IntervalMethod.NEWCOMB
) -> Difference | None:
    """outflow/n minus control_outflow/control_n and its 95 % interval, by statsmodels'
    `confint_proportions_2indep` (compare="diff"); None when a group has no participants."""
    if n == 0 or control_n == 0:
        return None
    from statsmodels.stats.proportion import confint_proportions_2indep

    low, high = confint_proportions_2indep(
        outflow, n, control_outflow, control_n, method=method.value, compare="diff", alpha=1 - CONFIDENCE
    )
    return Difference(
        estimate=outflow / n - control_outflow / control_n, low=float(low), high=float(high), method=method
    )


def results(
    experiment: Experiment, counts: Mapping[str, GroupCount], method: IntervalMethod = IntervalMethod.NEWCOMB
) -> list[GroupResult]:
    """Per group in its defined order: n, outflow, proportion, and (not for control) the difference
    against control with its interval."""
    control = counts.get(experiment.control.key, GroupCount(0, 0))
    answer = []
    for group in experiment.groups:
        count = counts.get(group.key, GroupCount(0, 0))
        difference = (
            None
            if group.control
            else difference_of_proportions(count.outflow, count.n, control.outflow, control.n, method)
        )
        proportion = count.outflow / count.n if count.n else None
        answer.append(GroupResult(group=group, count=count, proportion=proportion, difference=difference))
    return answer


def too_small(count: GroupCount, minimum: int) -> bool:
    """Whether a group's figures could point at a person: fewer than `minimum` participants, or fewer
    than `minimum` with (or without) outflow among them (a zero is no person)."""
    no_outflow = count.n - count.outflow
    return any(0 < cell < minimum for cell in (count.n, count.outflow, no_outflow))
