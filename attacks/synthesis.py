"""Shokri et al.'s model-based synthesis of shadow data (IEEE S&P 2017), and the attack on it.

An attacker with no data from the target's distribution makes some by querying the target:
SYNTHESIZE (their Algorithm 1) hill-climbs from a random record towards records the target
classifies as class c with high confidence, then samples such records as shadow training data.
:func:`synthesize` runs it for many records at once; :func:`shokri_synthetic` trains shadow
models on the synthesised records and attacks the target with Shokri's per-class classifiers.

SYNTHESIZE(c), with y* = 0, j = 0, k = k_max to begin, for at most ``iter_max`` queries:

1. query y = f(x); if y_c ≥ y*_c, *accept* x: when also y_c > conf_min and c = argmax y, return x
   with probability y_c; otherwise x* ← x, y*_c ← y_c, j ← 0;
2. else *reject* it: j ← j + 1, and after more than ``rej_max`` consecutive rejections
   k ← max(k_min, ⌈k / 2⌉) and j ← 0;
3. x ← x* with k features randomised, and repeat.

The reference accounts print the procedure without its initialisation and with the reject
counter as i in two lines; this follows the paper's algorithm (y*_c = 0, j = 0, k = k_max, one
counter j). A first record x* is drawn uniformly from the feature space (a fair coin for every
binary feature, uniform on [low, high] otherwise), and the first query is always accepted.
"Randomise k features" re-draws k distinct features uniformly on [low, high]; on a binary space
it flips them, since re-drawing a bit leaves it unchanged half the time and spends a query on the
same record.

How the releases of :mod:`benchmark.zoo.release` act on it: with a top-k release y_c is 0
while c is outside the top k, so every candidate ties y*_c = 0 and is accepted: the chain walks
at random until c enters the top k, then climbs. A rounded release ties candidates more often,
and a tie is an acceptance (y_c ≥ y*_c). c = argmax y requires y_c to be the unique largest
entry: a class tied at the top is not the target's prediction. A label-only release carries no
confidence to climb, and :func:`synthesize` refuses it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import torch

from attacks.logodds import to_unit_interval
from attacks.oracle import Oracle
from attacks.shokri import Classifier, _balanced_sample, _fit
from benchmark.zoo.datasets import FeatureSpace
from benchmark.zoo.engine import TrainConfig, forward_many, train_group
from benchmark.zoo.models import architecture as zoo_architecture
from benchmark.zoo.release import Defence, release

__all__ = ["ShokriSynthetic", "Synthesis", "shokri_synthetic", "synthesize"]


@dataclasses.dataclass(frozen=True)
class Synthesis:
    """What :func:`synthesize` made, and what it cost.

    Attributes
    ----------
    records : ndarray of float32, shape (R, *space.shape)
        The synthesised records, in the order of the chains that made them.
    classes : ndarray of int64, shape (R,)
        The class each record was synthesised for.
    queries : ndarray of int64, shape (R,)
        Queries the chain of each record spent (1 to ``iter_max``).
    spent : int
        Queries spent in all, the failed chains' included: ``queries.sum() + failed · iter_max``,
        the rows the oracle answered.
    failed : int
        Chains that gave up after ``iter_max`` queries.
    """

    records: np.ndarray
    classes: np.ndarray
    queries: np.ndarray
    spent: int
    failed: int

    @property
    def queries_per_record(self) -> float:
        """Queries spent per synthesised record, the failed chains' included (inf if none)."""
        return self.spent / len(self.classes) if len(self.classes) else math.inf


def _random_records(rng: np.random.Generator, space: FeatureSpace, count: int) -> np.ndarray:
    """RANDRECORD(): ``count`` records drawn uniformly from the space, shape (count, D)."""
    size = (count, math.prod(space.shape))
    if space.binary:
        return (rng.random(size, dtype=np.float32) < 0.5).astype(np.float32)
    return rng.uniform(space.low, space.high, size).astype(np.float32)


def _randomise(
    rng: np.random.Generator, records: np.ndarray, k: np.ndarray, space: FeatureSpace
) -> np.ndarray:
    """RANDRECORD(x*, k): ``k[i]`` distinct random features of row i re-drawn (bits flipped).

    The features are the first ``k[i]`` of a random permutation of each row: one argsort of
    random keys, (L, D).
    """
    order = np.argsort(rng.random(records.shape), axis=1)
    chosen = np.empty(records.shape, dtype=bool)
    np.put_along_axis(chosen, order, np.arange(records.shape[1]) < k[:, None], axis=1)
    if space.binary:
        fresh = 1.0 - records
    else:
        fresh = rng.uniform(space.low, space.high, records.shape).astype(np.float32)
    return np.where(chosen, fresh, records).astype(np.float32)


def _check_options(
    *, k_max: int, k_min: int, conf_min: float, rej_max: int, iter_max: int, features: int
) -> None:
    if not 1 <= k_min <= k_max <= features:
        raise ValueError(
            f"need 1 <= k_min <= k_max <= {features} features, got k_min={k_min}, k_max={k_max}"
        )
    if not 0.0 <= conf_min < 1.0:
        raise ValueError(f"conf_min must be in [0, 1), got {conf_min}")
    if rej_max < 0:
        raise ValueError(f"rej_max must be 0 or more, got {rej_max}")
    if iter_max < 1:
        raise ValueError(f"iter_max must be at least 1, got {iter_max}")


def synthesize(
    oracle: Oracle,
    space: FeatureSpace,
    target_classes: Sequence[int] | np.ndarray,
    *,
    k_max: int = 128,
    k_min: int = 4,
    conf_min: float = 0.2,
    rej_max: int = 10,
    iter_max: int = 400,
    seed: int = 0,
) -> Synthesis:
    """SYNTHESIZE (see the module) for every entry of ``target_classes``, all chains at once.

    Every iteration queries the candidates of every live chain in one
    :meth:`~attacks.oracle.Oracle.query`, so at most ``iter_max`` calls are made, each of at
    most ``len(target_classes)`` rows.

    Parameters
    ----------
    oracle : Oracle
        The target; it must release probability vectors.
    space : FeatureSpace
        Where records live (:meth:`benchmark.zoo.datasets.TensorData.feature_space`).
    target_classes : sequence of int, length N
        One chain per entry, synthesising a record of that class.
    k_max, k_min : int, keyword-only
        Features randomised per step at first, and at least (1 ≤ k_min ≤ k_max ≤ features).
    conf_min : float in [0, 1), keyword-only
        Confidence a record needs before it may be sampled.
    rej_max : int ≥ 0, keyword-only
        Consecutive rejections tolerated before k is halved.
    iter_max : int ≥ 1, keyword-only
        Queries per chain before it gives up.
    seed : int, keyword-only
        Seed of every draw (numpy's ``default_rng``).

    Returns
    -------
    Synthesis
        At most N records, each classified by the oracle as its class (the unique largest
        entry) with confidence above ``conf_min`` when it was sampled.

    Raises
    ------
    ValueError
        If the oracle releases labels only, an option is out of range, or a class is not one
        of the released vector's (known after the first query when the oracle did not say).
    attacks.oracle.BudgetExhausted
        From the oracle, when it cannot pay for an iteration; every query until then is in
        ``oracle.spent``, none of the refused one.
    """
    if oracle.label_only:
        raise ValueError(
            "synthesis needs released probability vectors; a label-only oracle gives no "
            "confidence y_c to climb"
        )
    classes = np.asarray(target_classes)
    if classes.ndim != 1 or not np.issubdtype(classes.dtype, np.integer):
        raise ValueError(
            f"target_classes must be a 1-d array of integers, got shape {classes.shape} "
            f"and dtype {classes.dtype}"
        )
    classes = classes.astype(np.int64)
    features = math.prod(space.shape)
    _check_options(
        k_max=k_max,
        k_min=k_min,
        conf_min=conf_min,
        rej_max=rej_max,
        iter_max=iter_max,
        features=features,
    )
    _check_classes(classes, oracle.classes)
    rng = np.random.default_rng(seed)
    n = len(classes)
    x = _random_records(rng, space, n)
    best = x.copy()
    best_confidence = np.zeros(n)
    rejections = np.zeros(n, dtype=np.int64)
    k = np.full(n, k_max, dtype=np.int64)
    queries = np.zeros(n, dtype=np.int64)
    sampled = np.zeros(n, dtype=bool)
    live = np.arange(n)
    for iteration in range(1, iter_max + 1):
        if live.size == 0:
            break
        y = np.asarray(oracle.query(x[live].reshape(-1, *space.shape)), dtype=np.float64)
        if y.shape[0] != live.size or y.ndim != 2:
            raise ValueError(f"the oracle returned shape {y.shape} for {live.size} rows")
        queries[live] = iteration
        c = classes[live]
        if iteration == 1:
            _check_classes(c, y.shape[1])
        is_c = np.arange(y.shape[1]) == c[:, None]
        confidence = y[np.arange(live.size), c]
        runner_up = np.where(is_c, -np.inf, y).max(axis=1)
        accept = confidence >= best_confidence[live]
        draw = rng.random(live.size)
        sample = accept & (confidence > conf_min) & (confidence > runner_up) & (draw < confidence)
        sampled[live[sample]] = True
        kept = accept & ~sample
        best[live[kept]] = x[live[kept]]
        best_confidence[live[kept]] = confidence[kept]
        rejections[live[kept]] = 0
        rejected = live[~accept]
        rejections[rejected] += 1
        halve = rejected[rejections[rejected] > rej_max]
        k[halve] = np.maximum(k_min, -(-k[halve] // 2))
        rejections[halve] = 0
        live = live[~sample]
        x[live] = _randomise(rng, best[live], k[live], space)
    return Synthesis(
        records=x[sampled].reshape(-1, *space.shape),
        classes=classes[sampled],
        queries=queries[sampled],
        spent=int(queries.sum()),
        failed=int(n - sampled.sum()),
    )


def _check_classes(classes: np.ndarray, n_classes: int) -> None:
    """Every class in 0..n_classes-1; only that none is negative while n_classes is unknown (0)."""
    upper = n_classes if n_classes > 0 else np.iinfo(np.int64).max
    bad = np.flatnonzero((classes < 0) | (classes >= upper))
    if bad.size:
        where = f"outside 0..{n_classes - 1}" if n_classes > 0 else "below 0"
        raise ValueError(f"target_classes has {classes[bad[0]]} at index {bad[0]}, {where}")


@dataclasses.dataclass(frozen=True)
class ShokriSynthetic:
    """The result of :func:`shokri_synthetic`.

    Attributes
    ----------
    scores : ndarray of float64 in (0, 1), shape (K,)
        Membership score of every challenge point, higher means member.
    synthesis : Synthesis
        The shadow data and its cost in queries (the challenge points' K queries not included).
    """

    scores: np.ndarray
    synthesis: Synthesis


def _per_class_log_odds(
    train_x: np.ndarray,
    train_in: np.ndarray,
    train_classes: np.ndarray,
    test_x: np.ndarray,
    test_classes: np.ndarray,
    *,
    n_classes: int,
    classifier: Classifier,
    per_class: int,
    seed: int,
) -> np.ndarray:
    """Shokri's per-class attack classifiers, as :func:`attacks.shokri.shokri` fits them.

    One classifier per class of the test points from up to ``per_class`` balanced samples of
    that class; a class with fewer than 4 members or non-members is scored by one classifier of
    every class's samples. Returns the membership log-odds of the test points, shape (K,).
    """
    chosen = _balanced_sample(
        train_classes, train_in, n_classes=n_classes, per_class=per_class, seed=seed
    )
    x, y, c = train_x[chosen], train_in[chosen], train_classes[chosen]
    pooled = _balanced_sample(np.zeros_like(c), y, n_classes=1, per_class=per_class * 4, seed=seed)
    log_odds = _fit(classifier, x[pooled], y[pooled], seed)(test_x)
    bounds = np.searchsorted(c, np.arange(n_classes + 1))
    for label in np.unique(test_classes):
        rows = slice(bounds[label], bounds[label + 1])
        n_in = int(y[rows].sum())
        if min(n_in, bounds[label + 1] - bounds[label] - n_in) < 4:
            continue
        where = test_classes == label
        log_odds[where] = _fit(classifier, x[rows], y[rows], seed)(test_x[where])
    return np.asarray(log_odds)


def shokri_synthetic(
    target: Oracle,
    space: FeatureSpace,
    challenge_x: np.ndarray,
    challenge_y: np.ndarray,
    *,
    architecture: str,
    shadows: int = 8,
    per_class: int = 20,
    epochs: int = 30,
    lr: float = 1e-3,
    batch: int = 64,
    seed: int = 0,
    defence: Defence | None = None,
    classifier: Classifier = "svm",
    attack_per_class: int = 200,
    k_max: int = 128,
    k_min: int = 4,
    conf_min: float = 0.2,
    rej_max: int = 10,
    iter_max: int = 400,
    device: torch.device | str = "cpu",
) -> ShokriSynthetic:
    """Shokri et al.'s attack with shadow data synthesised from the target's answers.

    1. :func:`synthesize` ``per_class`` records of every class through ``target``;
    2. train ``shadows`` models of ``architecture`` with the zoo's engine
       (:func:`benchmark.zoo.engine.train_group`, Adam, constant learning rate, float32), model
       s on a random half of the records, its other half OUT;
    3. release every shadow's output on every record through ``defence``
       (:func:`benchmark.zoo.release.release`): an oracle does not say how it releases, so the
       caller says what to assume (default: the probability vector);
    4. fit one attack classifier per class on (released vector, IN/OUT) as
       :func:`attacks.shokri.shokri` does, and score the target's released vectors of the
       challenge points (queried through ``target``, K more queries).

    Parameters
    ----------
    target : Oracle
        Releasing probability vectors (a label-only target cannot drive the synthesis).
    space : FeatureSpace
    challenge_x : ndarray of float, shape (K, *space.shape)
    challenge_y : ndarray of int, shape (K,)
        The challenge points and their true classes.
    architecture : str, keyword-only
        Zoo architecture of the shadows (:func:`benchmark.zoo.models.init_module`); it fixes C.
    shadows : int ≥ 1, keyword-only
    per_class : int ≥ 1, keyword-only
        Synthesis chains per class (at most that many records of each).
    epochs, lr, batch : keyword-only
        Shadow training.
    seed : int, keyword-only
        Seed of the synthesis, the shadows' splits, initial weights and batch orders, and the
        attack classifiers.
    defence : Defence or None, keyword-only
        The release assumed for the shadows' outputs; it must not be label-only.
    classifier : {"svm", "mlp", "logistic"}, keyword-only
        The per-class attack classifier (see :func:`attacks.shokri.shokri`).
    attack_per_class : int ≥ 2, keyword-only
        Cap on the attack classifiers' training samples per class.
    k_max, k_min, conf_min, rej_max, iter_max : keyword-only
        See :func:`synthesize`.
    device : torch.device or str, keyword-only
        Where the shadows train (:mod:`benchmark.zoo.device`).

    Returns
    -------
    ShokriSynthetic
        Scores (K,) in (0, 1) through :func:`~attacks.logodds.to_unit_interval`, and the
        synthesis with its queries per record.

    Raises
    ------
    ValueError
        If an option is out of range, the defence or the target is label-only, the challenge
        points are malformed, or fewer than 2 records were synthesised.
    attacks.oracle.BudgetExhausted
        When the target's budget runs out.
    """
    defence = defence or Defence()
    if defence.label_only:
        raise ValueError("the shadows' defence must release vectors, got a label-only defence")
    if shadows < 1 or per_class < 1 or attack_per_class < 2:
        raise ValueError(
            f"need shadows >= 1, per_class >= 1 and attack_per_class >= 2, got {shadows}, "
            f"{per_class} and {attack_per_class}"
        )
    challenge_x = np.asarray(challenge_x, dtype=np.float32)
    problem = space.check(challenge_x)
    if problem is not None:
        raise ValueError(f"challenge_x: {problem}")
    challenge_y = np.asarray(challenge_y)
    if challenge_y.shape != (len(challenge_x),) or not np.issubdtype(challenge_y.dtype, np.integer):
        raise ValueError(
            f"challenge_y must be {len(challenge_x)} integers, got shape {challenge_y.shape} "
            f"and dtype {challenge_y.dtype}"
        )
    n_classes = zoo_architecture(architecture).num_classes
    bad = np.flatnonzero((challenge_y < 0) | (challenge_y >= n_classes))
    if bad.size:
        raise ValueError(
            f"challenge_y has {challenge_y[bad[0]]} at index {bad[0]}, outside 0..{n_classes - 1}"
        )
    synthesis = synthesize(
        target,
        space,
        np.repeat(np.arange(n_classes), per_class),
        k_max=k_max,
        k_min=k_min,
        conf_min=conf_min,
        rej_max=rej_max,
        iter_max=iter_max,
        seed=seed,
    )
    n_records = len(synthesis.classes)
    if n_records < 2:
        raise ValueError(
            f"synthesised {n_records} record(s) of {synthesis.failed + n_records} chains; "
            "shadows need at least 2 (raise iter_max or lower conf_min)"
        )
    seeds = np.random.SeedSequence(seed).generate_state(3 * shadows).reshape(3, shadows)
    split_rng = np.random.default_rng(seeds[0])
    order = np.argsort(split_rng.random((shadows, n_records)), axis=1)
    train_idx = order[:, : n_records // 2]
    shadow_in = np.zeros((shadows, n_records), dtype=bool)
    np.put_along_axis(shadow_in, train_idx, True, axis=1)
    x = torch.from_numpy(synthesis.records)
    config = TrainConfig(
        optimizer="adam", lr=lr, epochs=epochs, batch=batch, lr_step=max(epochs, 1), lr_gamma=1.0
    )
    trained = train_group(
        architecture,
        x,
        torch.from_numpy(synthesis.classes),
        torch.from_numpy(train_idx),
        config=config,
        init_seeds=[int(s) for s in seeds[1]],
        order_seeds=[int(s) for s in seeds[2]],
        device=device,
    )
    logits = forward_many(trained.params, architecture, x).numpy()
    shadow_x = release(logits, defence).reshape(-1, n_classes)
    target_x = np.asarray(target.query(challenge_x), dtype=np.float64)
    if target_x.shape != (len(challenge_x), n_classes):
        raise ValueError(
            f"the target released shape {target_x.shape} for {len(challenge_x)} challenge "
            f"points; {architecture} shadows have {n_classes} classes"
        )
    log_odds = _per_class_log_odds(
        shadow_x,
        shadow_in.ravel(),
        np.broadcast_to(synthesis.classes, shadow_in.shape).ravel(),
        target_x,
        challenge_y.astype(np.int64),
        n_classes=n_classes,
        classifier=classifier,
        per_class=attack_per_class,
        seed=seed,
    )
    return ShokriSynthetic(scores=to_unit_interval(log_odds), synthesis=synthesis)
