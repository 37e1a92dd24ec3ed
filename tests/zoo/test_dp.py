import math

import pytest
import torch
from opacus import GradSampleModule
from opacus.optimizers import DPOptimizer

from benchmark.zoo import dp
from benchmark.zoo.engine import DPSettings, TrainConfig, train_group
from benchmark.zoo.models import architecture, init_module, init_stacked, stack


def opacus_clipped_sum(module, x, y, *, clip):
    """Opacus's own clipped, summed gradient: DPOptimizer.pre_step with no noise."""
    model = GradSampleModule(module)
    optimizer = DPOptimizer(
        torch.optim.SGD(model.parameters(), lr=0.1),
        noise_multiplier=0.0,
        max_grad_norm=clip,
        expected_batch_size=1,
    )
    torch.nn.functional.cross_entropy(model(x), y).backward()
    optimizer.pre_step()
    return {name.removeprefix("_module."): p.grad.clone() for name, p in model.named_parameters()}


@pytest.mark.parametrize(
    ("name", "batch"),
    [("mlp-purchase", 16), ("cnn-digits", 12), ("cnn-cifar", 3), ("text-mlp-384", 16)],
)
def test_clipped_sum_equals_opacus(name, batch):
    shape = architecture(name).input_shape
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(2, batch, *shape, generator=generator)
    y = torch.randint(0, architecture(name).num_classes, (2, batch), generator=generator)
    weights = torch.ones(2, batch)
    weights[1, -2:] = 0  # model 1 has a smaller Poisson batch, padded
    modules = [init_module(name, 10), init_module(name, 11)]
    clip = 0.5
    grads, norms = dp.clipped_gradient(
        stack([m.state_dict() for m in modules]), name, x, y, weights, clip=clip
    )
    for k, module in enumerate(modules):
        real = int(weights[k].sum())
        expected = opacus_clipped_sum(module, x[k, :real], y[k, :real], clip=clip)
        # Opacus's mean loss reduction: pre_step divides by expected_batch_size(=1) after
        # scaling per-sample gradients by the batch size, i.e. the plain clipped sum.
        for key, value in expected.items():
            torch.testing.assert_close(grads[key][k], value, rtol=1e-4, atol=1e-5)
        assert torch.all(norms[k, real:] == 0)
    assert (norms > clip).any(), "the test must exercise clipping"


def test_poisson_positions_rate_and_determinism():
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    positions, counts = dp.poisson_positions(g1, n=1000, rate=0.05, steps=400)
    again, _ = dp.poisson_positions(g2, n=1000, rate=0.05, steps=400)
    assert torch.equal(positions, again)
    assert abs(counts.float().mean().item() - 50) < 2
    first = positions[0, : counts[0]]
    assert torch.all(first[1:] > first[:-1]) and first.max() < 1000
    hits = torch.zeros(1000)
    for step in range(400):
        hits[positions[step, : counts[step]]] += 1
    assert 10 < hits.mean() < 30 and hits.max() < 60  # every point ~ Binomial(400, 0.05)


def test_noise_multiplier_reaches_target_epsilon():
    accountant = "prv"  # MICO's; the tiny build track exercises "rdp"
    sigma = dp.noise_multiplier(
        epsilon=4.0, delta=1e-5, sample_rate=0.1, steps=100, accountant=accountant
    )
    spent = dp.epsilon_spent(
        sigma=sigma, delta=1e-5, sample_rate=0.1, steps=100, accountant=accountant
    )
    assert 3.9 < spent <= 4.0
    assert (
        dp.epsilon_spent(
            sigma=sigma * 2, delta=1e-5, sample_rate=0.1, steps=100, accountant=accountant
        )
        < spent
    )


def test_dp_training_is_seeded_and_noisy():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(300, 600, generator=generator)
    y = torch.randint(0, 100, (300,), generator=generator)
    rows = torch.stack([torch.randperm(300, generator=generator)[:100] for _ in range(2)])
    config = TrainConfig("adam", 0.01, 2, 20, 1, 1.0, dp=DPSettings(1.0, 1.0, 0.2))
    a = train_group(
        "mlp-purchase",
        x,
        y,
        rows,
        config=config,
        init_seeds=[1, 2],
        order_seeds=[3, 4],
        noise_seeds=[5, 6],
    )
    b = train_group(
        "mlp-purchase",
        x,
        y,
        rows,
        config=config,
        init_seeds=[1, 2],
        order_seeds=[3, 4],
        noise_seeds=[5, 7],
    )
    initial = init_stacked("mlp-purchase", [1, 2])
    key = "mlp.0.weight"
    assert torch.equal(a.params[key][0], b.params[key][0])
    assert not torch.equal(a.params[key][1], b.params[key][1])
    assert not torch.equal(a.params[key], initial[key])
    assert math.isfinite(a.params[key].sum().item())


def test_dp_training_on_a_device_draws_what_the_cpu_draws(device):
    """Batches and noise come from CPU generators, so a device trains on the same draws: the
    weights agree with a CPU run to float rounding."""
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(300, 600, generator=generator)
    y = torch.randint(0, 100, (300,), generator=generator)
    rows = torch.stack([torch.randperm(300, generator=generator)[:100] for _ in range(2)])
    config = TrainConfig("sgd", 0.1, 2, 20, 1, 1.0, dp=DPSettings(1.0, 1.0, 0.2))
    seeds = {"init_seeds": [1, 2], "order_seeds": [3, 4], "noise_seeds": [5, 6]}
    here = train_group("mlp-purchase", x, y, rows, config=config, device=device, **seeds)
    cpu = train_group("mlp-purchase", x, y, rows, config=config, device="cpu", **seeds)
    for key, value in cpu.params.items():
        torch.testing.assert_close(here.params[key], value, rtol=1e-3, atol=1e-4)


def test_the_noisy_sum_is_divided_by_opacus_expected_batch_size():
    """Opacus divides by int(n·q): 511 for MICO's Purchase-100 (n = 150,000, q = 1/293)."""
    settings = DPSettings(noise_multiplier=1.0, clip=2.6, sample_rate=1 / 293)
    assert settings.expected_batch(150_000) == 511
    assert DPSettings(1.0, 1.0, 0.2).expected_batch(100) == 20
