import torch
from torch.utils.data import random_split

from benchmark.zoo.splits import model_split, population_split


def test_population_is_disjoint_sorted_and_deterministic():
    population, pool = population_split(100, 20, seed=5)
    again, _ = population_split(100, 20, seed=5)
    assert torch.equal(population, again)
    assert len(population) == 20 and len(pool) == 80
    assert torch.equal(torch.cat([population, pool]).sort().values, torch.arange(100))
    assert torch.equal(population, population.sort().values)


def test_model_split_follows_mico_random_split_semantics():
    pool = torch.arange(10, 110)
    split = model_split(
        pool, challenge=5, training=30, seed_challenge=1, seed_membership=2, seed_training=3
    )
    # MICO: random_split(dataset, [2m, N - 2m], generator) etc., with torch generators here
    challenge, rest = random_split(
        pool.tolist(), [10, 90], generator=torch.Generator().manual_seed(1)
    )
    nonmember, member = random_split(
        list(challenge), [5, 5], generator=torch.Generator().manual_seed(2)
    )
    training, evaluation = random_split(
        list(rest), [25, 65], generator=torch.Generator().manual_seed(3)
    )
    assert split.challenge.tolist() == list(challenge)
    assert split.member.tolist() == list(member)
    assert split.nonmember.tolist() == list(nonmember)
    assert split.training.tolist() == list(training)
    assert split.evaluation.tolist() == list(evaluation)
    assert split.train_set.tolist() == list(member) + list(training)
    assert split.membership.tolist() == [c in set(member) for c in challenge]


def test_model_split_sets_are_disjoint_and_seed_dependent():
    pool = torch.arange(200)
    a = model_split(
        pool, challenge=10, training=50, seed_challenge=7, seed_membership=8, seed_training=9
    )
    b = model_split(pool, challenge=10, training=50, seed_challenge=7)
    c = model_split(pool, challenge=10, training=50, seed_challenge=17)
    assert torch.equal(a.challenge, b.challenge) and b.member is None and b.training is None
    assert not torch.equal(a.challenge, c.challenge)
    assert int(a.membership.sum()) == 10
    everything = torch.cat([a.nonmember, a.member, a.training, a.evaluation])
    assert torch.equal(everything.sort().values, pool)
    assert not set(a.challenge.tolist()) & set(a.training.tolist())
