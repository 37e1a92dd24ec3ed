"""Architectures registry and stacked (K models at once) parameters.

Every architecture is a plain ``nn.Module`` whose ``state_dict`` is what a bundle's
``model.pt`` holds, so a participant loads a model with MICO-style code::

    model = MLP()
    model.load_state_dict(torch.load("model_0/model.pt"))

The classes reproduce MICO's ``mico_competition.models`` (``MLP`` keeps its body in
``self.mlp``, ``CNN`` in ``self.cnn``; keys ``mlp.0.weight``, ``cnn.0.weight`` ...).
MICO's CNN, reconstructed from its source: conv 8×8 stride 2 pad 3 (32→16), max-pool 3
stride 1 (16→14), conv 3×3 (14→12), conv 3×3 (12→10), avg-pool 2 (10→5), flatten
(256·5·5 = 6400) and one linear layer to 10 logits, tanh after each convolution.

A group of K models is a dict mapping each ``state_dict`` key to a tensor of shape
``(K, *shape)``: see :func:`stack`, :func:`unstack`, :func:`init_stacked`, :func:`load_stacked`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

Stacked = dict[str, torch.Tensor]


class ZooModule(nn.Module):
    """Base of registry architectures: one ``nn.Sequential`` body named by :attr:`body`."""

    body: ClassVar[str]
    input_shape: ClassVar[tuple[int, ...]]
    num_classes: ClassVar[int]

    def sequential(self) -> nn.Sequential:
        """The body the stacked engine interprets layer by layer."""
        module = getattr(self, self.body)
        assert isinstance(module, nn.Sequential)
        return module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sequential()(x)


class MLP(ZooModule):
    """MICO's Purchase-100 network: Linear(600, 128), Tanh, Linear(128, 100)."""

    body = "mlp"
    input_shape = (600,)
    num_classes = 100

    def __init__(self) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(600, 128), nn.Tanh(), nn.Linear(128, 100))


class CNN(ZooModule):
    """MICO's CIFAR-10 network (input (B, 3, 32, 32))."""

    body = "cnn"
    input_shape = (3, 32, 32)
    num_classes = 10

    def __init__(self) -> None:
        super().__init__()
        self.cnn = nn.Sequential(
            nn.Conv2d(3, 128, kernel_size=8, stride=2, padding=3),
            nn.Tanh(),
            nn.MaxPool2d(kernel_size=3, stride=1),
            nn.Conv2d(128, 256, kernel_size=3),
            nn.Tanh(),
            nn.Conv2d(256, 256, kernel_size=3),
            nn.Tanh(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.Linear(in_features=6400, out_features=10),
        )


class DigitsCNN(ZooModule):
    """A small CNN for scikit-learn's 8×8 digits (input (B, 1, 8, 8))."""

    body = "cnn"
    input_shape = (1, 8, 8)
    num_classes = 10

    def __init__(self) -> None:
        super().__init__()
        self.cnn = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),
            nn.Tanh(),
            nn.MaxPool2d(kernel_size=2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.Tanh(),
            nn.AvgPool2d(kernel_size=2),
            nn.Flatten(),
            nn.Linear(32 * 2 * 2, 10),
        )


class TextMLP384(ZooModule):
    """A head on a frozen 384-wide encoder's sentence activations (all-MiniLM-L6-v2):
    Linear(384, 128), Tanh, Linear(128, 2)."""

    body = "mlp"
    input_shape = (384,)
    num_classes = 2

    def __init__(self) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(384, 128), nn.Tanh(), nn.Linear(128, 2))


class TextMLP768(ZooModule):
    """The same head on a 768-wide encoder (RoBERTa-base, MICO's SST-2 model)."""

    body = "mlp"
    input_shape = (768,)
    num_classes = 2

    def __init__(self) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(768, 128), nn.Tanh(), nn.Linear(128, 2))


class TextCLS768(ZooModule):
    """RoBERTa's classification head, as MICO's SST-2 models have it on the first token's
    state: Linear(768, 768) (``dense``), Tanh, Linear(768, 2) (``out_proj``)."""

    body = "mlp"
    input_shape = (768,)
    num_classes = 2

    def __init__(self) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(768, 768), nn.Tanh(), nn.Linear(768, 2))


ARCHITECTURES: dict[str, type[ZooModule]] = {}


def register_architecture(name: str) -> Callable[[type[ZooModule]], type[ZooModule]]:
    """Class decorator adding an architecture to :data:`ARCHITECTURES`."""

    def decorate(cls: type[ZooModule]) -> type[ZooModule]:
        if name in ARCHITECTURES:
            raise ValueError(f"architecture {name!r} is already registered")
        ARCHITECTURES[name] = cls
        return cls

    return decorate


register_architecture("mlp-purchase")(MLP)
register_architecture("cnn-cifar")(CNN)
register_architecture("cnn-digits")(DigitsCNN)
register_architecture("text-mlp-384")(TextMLP384)
register_architecture("text-mlp-768")(TextMLP768)
register_architecture("text-cls-768")(TextCLS768)


def architecture(name: str) -> type[ZooModule]:
    """The registered class called ``name``."""
    if name not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {name!r}; known: {', '.join(sorted(ARCHITECTURES))}"
        )
    return ARCHITECTURES[name]


def init_module(name: str, seed: int) -> ZooModule:
    """PyTorch's default initialisation of ``name`` under ``torch.manual_seed(seed)``.

    The global RNG is forked, so callers' random state is untouched.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return architecture(name)()


def stack(state_dicts: Sequence[dict[str, torch.Tensor]]) -> Stacked:
    """Stack K state dicts into ``{key: (K, *shape)}`` (float32, contiguous)."""
    if not state_dicts:
        raise ValueError("stack needs at least one state_dict")
    keys = list(state_dicts[0])
    for i, sd in enumerate(state_dicts):
        if list(sd) != keys:
            raise ValueError(f"state_dict {i} has keys {list(sd)}, expected {keys}")
    return {k: torch.stack([sd[k].float() for sd in state_dicts]).contiguous() for k in keys}


def unstack(params: Stacked) -> list[dict[str, torch.Tensor]]:
    """Split stacked parameters into K independent state dicts (cloned, detached)."""
    count = len(next(iter(params.values())))
    return [{k: v[i].detach().clone() for k, v in params.items()} for i in range(count)]


def init_stacked(name: str, seeds: Sequence[int]) -> Stacked:
    """Stacked initial parameters of K models, model ``k`` from ``init_module(name, seeds[k])``."""
    return stack([init_module(name, int(seed)).state_dict() for seed in seeds])


def load_stacked(model_dirs: Sequence[str | Path], architecture_name: str) -> Stacked:
    """Load ``model_dir/model.pt`` of every directory as one stacked group.

    Parameters
    ----------
    model_dirs : sequence of paths
        Bundle directories ``.../model_<i>/``.
    architecture_name : str
        Registry name; each file must load into that class (checked).

    Returns
    -------
    dict[str, torch.Tensor]
        ``{key: (K, *shape)}``, ready for :func:`benchmark.zoo.engine.forward_many`.
    """
    cls = architecture(architecture_name)
    state_dicts = []
    for directory in model_dirs:
        state = torch.load(Path(directory) / "model.pt", map_location="cpu", weights_only=True)
        cls().load_state_dict(state)
        state_dicts.append(state)
    return stack(state_dicts)
