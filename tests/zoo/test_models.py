import pytest
import torch
from torch import nn

from benchmark.zoo.models import ARCHITECTURES, CNN, MLP, init_module, init_stacked, unstack
from benchmark.zoo.stacked import forward_many


class MicoMLP(nn.Module):
    """MICO's mico_competition.MLP, as participants have it."""

    def __init__(self):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(600, 128), nn.Tanh(), nn.Linear(128, 100))

    def forward(self, x):
        return self.mlp(x)


def test_state_dict_keys_are_micos():
    assert {k: tuple(v.shape) for k, v in MLP().state_dict().items()} == {
        "mlp.0.weight": (128, 600),
        "mlp.0.bias": (128,),
        "mlp.2.weight": (100, 128),
        "mlp.2.bias": (100,),
    }
    shapes = {k: tuple(v.shape) for k, v in CNN().state_dict().items()}
    assert shapes["cnn.0.weight"] == (128, 3, 8, 8)
    assert shapes["cnn.3.weight"] == (256, 128, 3, 3)
    assert shapes["cnn.5.weight"] == (256, 256, 3, 3)
    assert shapes["cnn.9.weight"] == (10, 6400)
    assert CNN()(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    MicoMLP().load_state_dict(MLP().state_dict())


def test_init_is_seeded_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b = init_module("mlp-purchase", 1), init_module("mlp-purchase", 1)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_stacked_forward_matches_each_module(name):
    cls = ARCHITECTURES[name]
    params = init_stacked(name, [3, 4])
    shape = tuple(size or 7 for size in cls.input_shape)  # 0: any size (a sentence's tokens)
    x = torch.randn(5, *shape)
    logits = forward_many(params, name, x, batch=2)
    per_model = torch.randn(2, 3, *shape)
    own = forward_many(params, name, per_model)
    for k, state in enumerate(unstack(params)):
        module = cls()
        module.load_state_dict(state)
        with torch.no_grad():
            torch.testing.assert_close(logits[k], module(x), rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(own[k], module(per_model[k]), rtol=1e-4, atol=1e-5)


def test_forward_many_rejects_wrong_shapes():
    params = init_stacked("mlp-purchase", [0])
    with pytest.raises(ValueError, match="expects inputs"):
        forward_many(params, "mlp-purchase", torch.zeros(3, 10))
