"""Experiments: the seeded lottery is reproducible and balanced, refusals name their field, and the
difference of two proportions has the interval of the textbook (Newcombe 1998)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.monitoring.domain.experiments import (
    MAX_SEED,
    AssignmentMethod,
    Draw,
    Experiment,
    Group,
    GroupCount,
    IntervalMethod,
    check_choice,
    check_groups,
    difference_of_proportions,
    draw,
    group_order,
    lottery,
    results,
)
from shared.errors import Conflict, RuleBroken

GROUPS = (Group("control", "Controle", control=True), Group("freedom", "Meer vrijheid"), Group("support", "Meer steun"))


def _experiment(assignment: AssignmentMethod = AssignmentMethod.LOTTERY, groups=GROUPS) -> Experiment:
    return Experiment(id="e-1", municipality="0014", name="Proef", assignment=assignment, groups=groups)


client_ids = st.lists(st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12), unique=True, max_size=200)
seeds = st.integers(min_value=0, max_value=MAX_SEED)
group_counts = st.integers(min_value=2, max_value=6)


# --- the lottery ------------------------------------------------------------------------------


@given(ids=client_ids, seed=seeds, k=group_counts)
def test_any_seed_and_any_list_give_groups_whose_sizes_differ_by_at_most_one(ids, seed, k):
    order = [f"g{i}" for i in range(k)]
    sizes = Counter(group for _client, group in lottery(ids, order, seed))
    counts = [sizes.get(g, 0) for g in order]
    assert max(counts) - min(counts) <= 1
    assert sum(counts) == len(ids)


@given(ids=client_ids, seed=seeds, k=group_counts, shuffle_seed=st.integers())
def test_the_same_seed_gives_the_same_draw_whatever_order_the_ids_come_in(ids, seed, k, shuffle_seed):
    order = [f"g{i}" for i in range(k)]
    shuffled = list(ids)
    random.Random(shuffle_seed).shuffle(shuffled)
    first = lottery(ids, order, seed)
    assert lottery(shuffled, order, seed) == first
    assert sorted(client for client, _ in first) == sorted(ids)  # everyone once, no one else


@given(batches=st.lists(client_ids, min_size=1, max_size=4), seed=seeds)
def test_draw_after_draw_the_whole_experiment_stays_balanced_to_within_one(batches, seed):
    experiment, assigned = _experiment(), {}
    for batch in batches:
        batch = [cid for cid in batch if cid not in assigned]
        if not batch:
            continue
        sizes = Counter(assigned.values())
        d = draw(experiment, batch, seed=seed, sizes=sizes, already_assigned=assigned)
        assigned.update(d.assignment)
    counts = [Counter(assigned.values()).get(g.key, 0) for g in GROUPS]
    assert max(counts) - min(counts) <= 1


def test_a_recorded_draw_re_run_from_its_seed_list_and_order_gives_the_same_assignment():
    ids = [f"client-{n:03}" for n in range(47)]
    d = draw(_experiment(), ids, seed=20260302, sizes={}, already_assigned=())
    recorded = Draw(seed=d.seed, client_ids=d.client_ids, group_order=d.group_order, assignment=d.assignment)
    assert recorded.rerun() == list(d.assignment)
    assert list(d.client_ids) == sorted(ids) and d.group_order == ("control", "freedom", "support")
    assert Counter(g for _, g in d.assignment) == {"control": 16, "freedom": 16, "support": 15}


def test_the_lottery_is_pinned_so_a_python_upgrade_that_changed_it_would_be_noticed():
    # random.Random(seed).shuffle is documented as reproducible for a given seed; pin one case.
    assert lottery(["a", "b", "c", "d", "e"], ["x", "y"], 42) == [
        ("d", "x"),
        ("b", "y"),
        ("c", "x"),
        ("e", "y"),
        ("a", "x"),
    ]


def test_a_later_draw_deals_first_to_the_groups_with_fewest_participants():
    assert group_order(GROUPS, {"control": 5, "freedom": 4, "support": 4}) == ["freedom", "support", "control"]
    assert group_order(GROUPS, {}) == ["control", "freedom", "support"]


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ids,taken,code,field,error",
    [
        ([], (), "experiment.draw_empty", "client_ids", RuleBroken),
        (["a", "b", "a"], (), "experiment.draw_duplicates", "client_ids", RuleBroken),
        (["a", "b"], ("b",), "experiment.already_assigned", "client_ids", Conflict),
    ],
)
def test_a_draw_that_cannot_be_fair_is_refused_naming_the_field(ids, taken, code, field, error):
    with pytest.raises(error) as caught:
        draw(_experiment(), ids, seed=1, sizes={}, already_assigned=taken)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert caught.value.message_nl != caught.value.message


def test_a_draw_in_a_choice_experiment_and_a_choice_in_a_lottery_are_refused():
    with pytest.raises(Conflict) as caught:
        draw(_experiment(AssignmentMethod.CHOICE), ["a"], seed=1, sizes={}, already_assigned=())
    assert (caught.value.code, caught.value.field) == ("experiment.not_a_lottery", "assignment")
    with pytest.raises(Conflict) as caught:
        check_choice(_experiment(AssignmentMethod.LOTTERY), "freedom", already_assigned=False)
    assert caught.value.code == "experiment.not_a_choice"


def test_a_choice_names_an_existing_group_and_a_client_chooses_once():
    experiment = _experiment(AssignmentMethod.CHOICE)
    assert check_choice(experiment, "support", already_assigned=False).name == "Meer steun"
    with pytest.raises(RuleBroken) as caught:
        check_choice(experiment, "nonsense", already_assigned=False)
    assert caught.value.field == "group"
    with pytest.raises(Conflict) as caught:
        check_choice(experiment, "support", already_assigned=True)
    assert caught.value.field == "client_id"


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1])
def test_a_seed_outside_64_bits_is_refused(seed):
    with pytest.raises(RuleBroken) as caught:
        draw(_experiment(), ["a"], seed=seed, sizes={}, already_assigned=())
    assert caught.value.field == "seed"


@pytest.mark.parametrize(
    "groups,code",
    [
        ((Group("control", "C", control=True),), "experiment.group_count"),
        (tuple(Group(f"g{i}", "G", control=i == 0) for i in range(7)), "experiment.group_count"),
        ((Group("a", "A"), Group("b", "B")), "experiment.one_control"),
        ((Group("a", "A", control=True), Group("b", "B", control=True)), "experiment.one_control"),
        ((Group("a", "A", control=True), Group("a", "B")), "experiment.group_key_twice"),
        ((Group("a", "A", control=True), Group("Meer steun", "B")), "experiment.group_key"),
        # A key's end is its end: a trailing newline (which `$` would let through) is no key.
        ((Group("a", "A", control=True), Group("support\n", "B")), "experiment.group_key"),
    ],
)
def test_groups_are_two_to_six_with_exactly_one_control_and_distinct_keys(groups, code):
    with pytest.raises(RuleBroken) as caught:
        check_groups(groups)
    assert (caught.value.code, caught.value.field) == (code, "groups")


def test_two_to_six_groups_with_one_control_are_accepted():
    check_groups(GROUPS)
    check_groups(tuple(Group(f"g{i}", "G", control=i == 5) for i in range(6)))


# --- the interval -----------------------------------------------------------------------------

# Newcombe RG (1998), "Interval estimation for the difference between independent proportions:
# comparison of eleven methods", Statistics in Medicine 17:873-890, Table II: 95 % limits for
# (a) 56/70 - 48/80 (difference 0.2000): method 1 (Wald) 0.0575 to 0.3425, method 10 (hybrid
# score, no continuity correction) 0.0524 to 0.3339; and examples (b)-(f) for method 10. The
# R package propint's tests check the same figures for (a) and (b).
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), 0.0524, 0.3339),
    ((9, 10, 3, 10), 0.1705, 0.8090),
    ((6, 7, 2, 7), 0.0582, 0.8062),
    ((5, 56, 0, 29), -0.0381, 0.1926),
    ((0, 10, 0, 20), -0.1611, 0.2775),
    ((10, 10, 0, 20), 0.6791, 1.0000),
]


@pytest.mark.parametrize("counts,low,high", NEWCOMBE_TABLE_II)
def test_the_newcombe_interval_matches_newcombes_table(counts, low, high):
    d = difference_of_proportions(*counts)
    assert d is not None and d.method == IntervalMethod.NEWCOMB
    assert (round(d.low, 4), round(d.high, 4)) == (low, high)
    assert d.estimate == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])


def test_the_wald_interval_matches_newcombes_method_1():
    d = difference_of_proportions(56, 70, 48, 80, IntervalMethod.WALD)
    assert d is not None
    assert (round(d.estimate, 4), round(d.low, 4), round(d.high, 4)) == (0.2, 0.0575, 0.3425)


def test_results_give_each_group_its_proportion_and_the_difference_against_control():
    counts = {"control": GroupCount(80, 48), "freedom": GroupCount(70, 56, without_trajectory=3)}
    answer = results(_experiment(), counts)
    control, freedom, support = answer
    assert (control.group.key, control.proportion, control.difference) == ("control", 0.6, None)
    assert freedom.proportion == 0.8 and freedom.count.without_trajectory == 3
    assert freedom.difference is not None and round(freedom.difference.low, 4) == 0.0524
    # A group nobody is in yet has no proportion and no interval.
    assert (support.count.n, support.proportion, support.difference) == (0, None, None)
