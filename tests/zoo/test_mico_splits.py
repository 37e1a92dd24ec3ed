"""MICO's seeds rebuild MICO's splits: torchcsprng's mt19937 randperm is torch's CPU stream.

MICO split with ``random_split(..., generator=torchcsprng.create_mt19937_generator(seed))``.
That generator is ``std::mt19937`` seeded with the seed's low 32 bits (``init_genrand``), and
its ``randperm`` kernel is PyTorch's own CPU loop: for i in 0 .. n - 2, ``z = random() % (n -
i)``, swap r[i] and r[z + i], with ``random()`` one 32-bit output. Written out literally here,
in pure Python, they must give ``torch.randperm`` with ``torch.Generator().manual_seed(seed)``,
and through it :func:`benchmark.zoo.splits.model_split` with every row in the pool (no
population) must give MICO's challenge points, membership and training sets, at MICO's sizes.
"""

import pytest
import torch
from torch.utils.data import TensorDataset

from benchmark.zoo.mico import ChallengeDataset
from benchmark.zoo.splits import model_split

STATE_SIZE, SHIFT = 624, 397
MATRIX_A, UPPER, LOWER = 0x9908B0DF, 0x80000000, 0x7FFFFFFF


class MT19937:
    """Matsumoto and Nishimura's reference MT19937 (mt19937ar.c), 32-bit outputs."""

    def __init__(self, seed: int) -> None:
        self.init_genrand(seed)

    def init_genrand(self, seed: int) -> None:
        state = [seed & 0xFFFFFFFF]
        for i in range(1, STATE_SIZE):
            previous = state[-1]
            state.append((1812433253 * (previous ^ (previous >> 30)) + i) & 0xFFFFFFFF)
        self.state, self.index = state, STATE_SIZE

    def genrand_int32(self) -> int:
        if self.index >= STATE_SIZE:
            state = self.state
            for k in range(STATE_SIZE):
                y = (state[k] & UPPER) | (state[(k + 1) % STATE_SIZE] & LOWER)
                state[k] = state[(k + SHIFT) % STATE_SIZE] ^ (y >> 1) ^ (MATRIX_A if y & 1 else 0)
            self.index = 0
        y = self.state[self.index]
        self.index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        return y


def randperm(n: int, seed: int) -> list[int]:
    """PyTorch's CPU ``randperm`` loop (torchcsprng's kernel too) on a fresh MT19937."""
    generator = MT19937(seed)
    r = list(range(n))
    for i in range(n - 1):
        z = generator.genrand_int32() % (n - i)
        r[i], r[z + i] = r[z + i], r[i]
    return r


def random_split(items: list[int], first: int, seed: int) -> tuple[list[int], list[int]]:
    """``torch.utils.data.random_split(items, [first, rest], generator)`` with MICO's generator."""
    order = [items[i] for i in randperm(len(items), seed)]
    return order[:first], order[first:]


def mico_seeds(count: int, generator_seed: int) -> list[int]:
    """Seeds as MICO drew them: ``torch.empty(3, dtype=torch.int64).random_(0, to=None, ...)``."""
    generator = torch.Generator().manual_seed(generator_seed)
    return torch.empty(count, dtype=torch.int64).random_(0, to=None, generator=generator).tolist()


def test_reference_mt19937_matches_the_published_outputs():
    # mt19937ar.c's default seed; the C++ standard fixes the 10,000th output of std::mt19937.
    generator = MT19937(5489)
    outputs = [generator.genrand_int32() for _ in range(10_000)]
    assert outputs[:3] == [3499211612, 581869302, 3890346734]
    assert outputs[-1] == 4123659995


def test_mico_seeds_are_large_and_torch_keeps_their_low_32_bits():
    seeds = mico_seeds(6, generator_seed=0)
    assert all(0 <= seed < 2**63 for seed in seeds) and max(seeds) > 2**60
    for seed in [*seeds, 2**63 - 1]:
        low = torch.randperm(1000, generator=torch.Generator().manual_seed(seed & 0xFFFFFFFF))
        full = torch.randperm(1000, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(low, full)


@pytest.mark.parametrize("n", [2, 3, 624, 625, 60_000, 197_324])
def test_torch_randperm_is_the_mt19937_loop(n):
    for seed in (0, 5489, 2**32 + 7, 2**63 - 1):
        expected = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        assert randperm(n, seed) == expected.tolist()


# MICO's sizes: (N, n); m = 100. The seeds include MICO-style 63-bit draws.
SIZES = {"purchase100": (197_324, 150_000), "cifar10": (60_000, 50_000)}
SEEDS = {
    "purchase100": [
        (1, 2, 3),
        (2**63 - 1, 2**62 + 12345, 2**33 + 1),
        tuple(mico_seeds(3, 7)),
    ],
    "cifar10": [
        (0, 5489, 42),
        (2**63 - 1, 2**40 + 3, 2**62),
        tuple(mico_seeds(3, 9)),
        tuple(mico_seeds(3, 10)),
    ],
}
M = 100


@pytest.mark.parametrize(
    ("task", "seeds"), [(task, seeds) for task, triples in SEEDS.items() for seeds in triples]
)
def test_mico_splits_are_model_split_over_every_row(task, seeds):
    N, n = SIZES[task]
    seed_challenge, seed_membership, seed_training = seeds
    # MICO's ChallengeDataset, its random_split calls on the literal generator.
    challenge, rest = random_split(list(range(N)), 2 * M, seed_challenge)
    nonmember, member = random_split(challenge, M, seed_membership)
    training, evaluation = random_split(rest, n - M, seed_training)

    split = model_split(
        torch.arange(N),
        challenge=M,
        training=n,
        seed_challenge=seed_challenge,
        seed_membership=seed_membership,
        seed_training=seed_training,
    )
    assert split.challenge.tolist() == challenge
    assert split.rest.tolist() == rest
    assert split.member.tolist() == member and split.nonmember.tolist() == nonmember
    assert split.training.tolist() == training and split.evaluation.tolist() == evaluation

    rows = ChallengeDataset(
        TensorDataset(torch.arange(N)),
        len_training=n,
        len_challenge=M,
        seed_challenge=seed_challenge,
        seed_training=seed_training,
        seed_membership=seed_membership,
    )
    assert rows.get_challenges().indices == challenge
    # MICO's nested Subsets: member indexes challenge, training indexes rest.
    assert rows.member.indices == randperm(2 * M, seed_membership)[M:]
    assert [rest[i] for i in rows.training.indices] == training
    members = set(member)
    assert rows.get_solutions() == [int(row in members) for row in challenge]
    train_set = rows.get_train_dataset()
    assert len(train_set) == n
    assert [int(train_set[i][0]) for i in (0, M - 1, M, n - 1)] == [
        member[0],
        member[-1],
        training[0],
        training[-1],
    ]
    assert int(rows.get_eval_dataset()[0][0]) == evaluation[0]
