"""Reference membership inference attacks, as pure functions of model outputs.

>>> import attacks
>>> sorted(attacks.REGISTRY)[:3]
['calibrated-loss', 'confidence', 'ensemble']

``attacks.observe(scenario_dir)`` computes (and caches) what the attacks see of a scenario of a
model bundle; ``attacks.run(name, observations)`` returns ``{(phase, model index): scores}``;
:func:`write_submission_zip` turns those into a MICO submission. The pure building blocks are
:mod:`attacks.lira` and :mod:`attacks.rmia`.
"""

from attacks.bundle import observe, observe_zoo
from attacks.observations import ModelId, Observations
from attacks.registry import REGISTRY, Attack, get, run
from attacks.submission import write_submission_zip

__all__ = [
    "REGISTRY",
    "Attack",
    "ModelId",
    "Observations",
    "get",
    "observe",
    "observe_zoo",
    "run",
    "write_submission_zip",
]
