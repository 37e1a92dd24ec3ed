"""What an attack sees of one scenario: model outputs on challenge and population points.

Every attack in :mod:`attacks` is a function of an :class:`Observations`, so the same code runs
against a downloaded bundle, a platform track, or synthetic arrays in a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

__all__ = ["ModelId", "Observations"]

ModelId = tuple[str, int]
"""A model's ``(phase, index)``, e.g. ``("dev", 117)``."""


@dataclass(frozen=True)
class Observations:
    """Outputs of the shadow and target models of one scenario.

    Shapes use ``S`` shadow models (train models, membership known), ``T`` target models,
    ``P`` challenge points (the union of every target's challenge points), ``K`` challenge
    points per target (MICO's ``2m``), ``Z`` population points (a track's reserved
    population, never trained on; or, for a track that reserves none, as MICO's, reference
    points drawn from the dataset that shadows may have trained on, see
    ``shadow_population_in``),
    ``A`` queries per point (the original plus augmentations; 1 without) and ``C`` classes.

    Parameters
    ----------
    labels : ndarray of int, shape (P,)
        True class of every challenge point.
    shadow_logits : ndarray of float, shape (S, P, A, C)
        Logits of every shadow model on every challenge point and query.
    shadow_in : ndarray of bool, shape (S, P)
        ``shadow_in[s, p]`` is True when shadow model ``s`` trained on point ``p``.
    target_points : ndarray of int, shape (T, K)
        Index into ``P`` of every challenge point of every target, in the target's order.
    target_logits : ndarray of float, shape (T, K, A, C)
        Logits of every target model on its own challenge points.
    population_labels : ndarray of int, shape (Z,)
        True class of every population point.
    shadow_population_logits : ndarray of float, shape (S, Z, A, C)
        Logits of every shadow model on the population.
    target_population_logits : ndarray of float, shape (T, Z, A, C)
        Logits of every target model on the population.
    target_ids : tuple of (str, int), length T
        ``(phase, model index)`` of every target, the keys of a submission.
    shadow_grad_norms : ndarray of float, shape (S, P), optional
        Norm of the gradient of the loss with respect to the weights, per shadow and point
        (first query only). Needed by white-box attacks.
    target_grad_norms : ndarray of float, shape (T, K), optional
        The same for every target on its own challenge points.
    target_in : ndarray of bool, shape (T, K), optional
        Ground truth when the targets are models with revealed membership (train models in a
        report). Attacks never read it; evaluation does.
    shadow_population_in : ndarray of bool, shape (S, Z), optional
        Which shadows trained on which population point; None when no model trained on any (a
        reserved population). Attacks that need OUT models on z use only those.
    shadow_robustness : ndarray of float in [0, 1], shape (S, P), optional
        Fraction of a point and its perturbed copies whose released label is the point's class,
        per shadow and point (:func:`attacks.label_only.model_robustness`). Needed by the
        label-only attack.
    target_robustness : ndarray of float in [0, 1], shape (T, K), optional
        The same for every target on its own challenge points.

    Raises
    ------
    ValueError
        If shapes disagree, a label or index is out of range, an output is not finite, or a
        robustness lies outside [0, 1].
    """

    labels: np.ndarray
    shadow_logits: np.ndarray
    shadow_in: np.ndarray
    target_points: np.ndarray
    target_logits: np.ndarray
    population_labels: np.ndarray
    shadow_population_logits: np.ndarray
    target_population_logits: np.ndarray
    target_ids: tuple[ModelId, ...]
    shadow_grad_norms: np.ndarray | None = field(default=None)
    target_grad_norms: np.ndarray | None = field(default=None)
    target_in: np.ndarray | None = field(default=None)
    shadow_population_in: np.ndarray | None = field(default=None)
    shadow_robustness: np.ndarray | None = field(default=None)
    target_robustness: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def n_shadows(self) -> int:
        """Number of shadow models ``S``."""
        return int(self.shadow_logits.shape[0])

    @property
    def n_targets(self) -> int:
        """Number of target models ``T``."""
        return int(self.target_logits.shape[0])

    @property
    def n_classes(self) -> int:
        """Number of classes ``C``."""
        return int(self.shadow_logits.shape[-1])

    @property
    def target_labels(self) -> np.ndarray:
        """True class of every target's challenge points, shape (T, K)."""
        return np.asarray(self.labels[self.target_points])

    def holdout(self, held_out: np.ndarray) -> Observations:
        """Turn some shadow models into targets with known membership, on every point.

        The returned observations use the remaining shadows as shadows and the held-out ones as
        targets whose challenge points are all ``P`` points; ``target_in`` holds their
        membership. Attacks tune their options on such a split (never on the real targets).

        Parameters
        ----------
        held_out : ndarray of int, shape (H,)
            Indices of the shadow models to hold out; at least one shadow must remain.

        Returns
        -------
        Observations
            ``S - H`` shadows, ``H`` targets with ``K = P``, target ids ``("shadow", s)``.

        Raises
        ------
        ValueError
            If an index is out of range or repeated, or no shadow would remain.
        """
        held_out = np.asarray(held_out, dtype=np.int64)
        if held_out.ndim != 1 or held_out.size == 0:
            raise ValueError(f"held_out must be a non-empty 1-d array, got shape {held_out.shape}")
        bad = np.flatnonzero((held_out < 0) | (held_out >= self.n_shadows))
        if bad.size:
            raise ValueError(
                f"held_out[{bad[0]}] = {held_out[bad[0]]} is not a shadow index "
                f"(0..{self.n_shadows - 1})"
            )
        if np.unique(held_out).size != held_out.size:
            raise ValueError("held_out contains a repeated index")
        keep = np.setdiff1d(np.arange(self.n_shadows), held_out)
        if keep.size == 0:
            raise ValueError("held_out leaves no shadow model")
        n_points = self.labels.shape[0]
        grads = self.shadow_grad_norms
        z_in = self.shadow_population_in
        robust = self.shadow_robustness
        return replace(
            self,
            shadow_population_in=None if z_in is None else z_in[keep],
            shadow_logits=self.shadow_logits[keep],
            shadow_in=self.shadow_in[keep],
            shadow_population_logits=self.shadow_population_logits[keep],
            shadow_grad_norms=None if grads is None else grads[keep],
            target_points=np.broadcast_to(np.arange(n_points), (held_out.size, n_points)),
            target_logits=self.shadow_logits[held_out],
            target_population_logits=self.shadow_population_logits[held_out],
            target_grad_norms=None if grads is None else grads[held_out],
            target_ids=tuple(("shadow", int(s)) for s in held_out),
            target_in=self.shadow_in[held_out],
            shadow_robustness=None if robust is None else robust[keep],
            target_robustness=None if robust is None else robust[held_out],
        )


def _validate(obs: Observations) -> None:
    """Check the shapes, ranges and finiteness of every array of ``obs``."""
    if obs.shadow_logits.ndim != 4:
        raise ValueError(
            f"shadow_logits must have shape (S, P, A, C), got {obs.shadow_logits.shape}"
        )
    n_shadows, n_points, n_queries, n_classes = obs.shadow_logits.shape
    if obs.target_logits.ndim != 4:
        raise ValueError(
            f"target_logits must have shape (T, K, A, C), got {obs.target_logits.shape}"
        )
    n_targets, n_per_target = obs.target_logits.shape[:2]
    n_population = obs.population_labels.shape[0]
    expected = {
        "labels": (obs.labels, (n_points,)),
        "shadow_in": (obs.shadow_in, (n_shadows, n_points)),
        "target_points": (obs.target_points, (n_targets, n_per_target)),
        "target_logits": (obs.target_logits, (n_targets, n_per_target, n_queries, n_classes)),
        "population_labels": (obs.population_labels, (n_population,)),
        "shadow_population_logits": (
            obs.shadow_population_logits,
            (n_shadows, n_population, n_queries, n_classes),
        ),
        "target_population_logits": (
            obs.target_population_logits,
            (n_targets, n_population, n_queries, n_classes),
        ),
        "shadow_grad_norms": (obs.shadow_grad_norms, (n_shadows, n_points)),
        "target_grad_norms": (obs.target_grad_norms, (n_targets, n_per_target)),
        "target_in": (obs.target_in, (n_targets, n_per_target)),
        "shadow_population_in": (obs.shadow_population_in, (n_shadows, n_population)),
        "shadow_robustness": (obs.shadow_robustness, (n_shadows, n_points)),
        "target_robustness": (obs.target_robustness, (n_targets, n_per_target)),
    }
    for name, (array, shape) in expected.items():
        if array is not None and array.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if n_shadows == 0 or n_targets == 0 or n_points == 0 or n_queries == 0 or n_classes < 2:
        raise ValueError(
            f"need at least one shadow, target, point and query and two classes, got "
            f"S={n_shadows}, T={n_targets}, P={n_points}, A={n_queries}, C={n_classes}"
        )
    if len(obs.target_ids) != n_targets:
        raise ValueError(f"target_ids has {len(obs.target_ids)} entries for {n_targets} targets")
    for name in ("shadow_in", "target_in", "shadow_population_in"):
        array = getattr(obs, name)
        if array is not None and array.dtype != np.bool_:
            raise ValueError(f"{name} must be boolean, got dtype {array.dtype}")
    for name, array, upper in (
        ("labels", obs.labels, n_classes),
        ("population_labels", obs.population_labels, n_classes),
        ("target_points", obs.target_points, n_points),
    ):
        if not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"{name} must be integers, got dtype {array.dtype}")
        bad = np.flatnonzero((array.ravel() < 0) | (array.ravel() >= upper))
        if bad.size:
            raise ValueError(
                f"{name} has {array.ravel()[bad[0]]} at flat index {bad[0]}, outside 0..{upper - 1}"
            )
    for name in (
        "shadow_logits",
        "target_logits",
        "shadow_population_logits",
        "target_population_logits",
        "shadow_grad_norms",
        "target_grad_norms",
    ):
        array = getattr(obs, name)
        if array is None:
            continue
        bad = np.flatnonzero(~np.isfinite(array.ravel()))
        if bad.size:
            index = np.unravel_index(bad[0], array.shape)
            raise ValueError(f"{name} is not finite at index {tuple(int(i) for i in index)}")
    for name in ("shadow_robustness", "target_robustness"):
        array = getattr(obs, name)
        if array is None:
            continue
        bad = np.flatnonzero(~((array.ravel() >= 0.0) & (array.ravel() <= 1.0)))
        if bad.size:
            index = tuple(int(i) for i in np.unravel_index(bad[0], array.shape))
            raise ValueError(f"{name} is {array.ravel()[bad[0]]} at index {index}, outside [0, 1]")
