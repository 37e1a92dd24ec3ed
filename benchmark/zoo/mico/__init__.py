"""MICO's starting kit as a drop-in: ``mico_competition``'s public names on the zoo.

MICO's ``mico_competition`` package no longer installs (it needs torchcsprng). Its
starting-kit notebooks run on a MICO archive, or on a bundle of this platform, with their
imports changed to::

    from benchmark.zoo.mico import ChallengeDataset, load_purchase100, load_model
    from benchmark.zoo.mico.scoring import tpr_at_fpr, score

(``load_cifar10`` in place of ``load_purchase100`` for CIFAR-10). Everything here is a thin
face over the zoo: :class:`ChallengeDataset` draws its splits with
:func:`benchmark.zoo.splits.model_split` over every row of the dataset (MICO's seeds give
MICO's splits), the loaders are the zoo's ``purchase100`` and ``cifar10`` datasets, the
networks the zoo's architectures, and :mod:`benchmark.zoo.mico.scoring` the :mod:`scoring`
package's metrics.
"""

from benchmark.zoo.mico.challenge import LEN_CHALLENGE, ChallengeDataset
from benchmark.zoo.mico.datasets import load_cifar10, load_purchase100
from benchmark.zoo.mico.models import CNN, MLP, load_model

__all__ = [
    "CNN",
    "LEN_CHALLENGE",
    "MLP",
    "ChallengeDataset",
    "load_cifar10",
    "load_model",
    "load_purchase100",
]
