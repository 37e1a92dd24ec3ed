import pytest
import torch
import torch.nn.functional as F

from benchmark.zoo.engine import TrainConfig, train_group
from benchmark.zoo.models import architecture, init_module, unstack
from benchmark.zoo.stacked import forward_many


def literal_training(name, x, y, rows, *, config, init_seed, order_seed):
    """One model, one nn.Module, torch.optim and StepLR: the reference the engine must match."""
    model = init_module(name, init_seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, config.lr_step, config.lr_gamma)
    generator = torch.Generator().manual_seed(order_seed)
    for _ in range(config.epochs):
        order = rows[torch.randperm(len(rows), generator=generator)] if config.shuffle else rows
        for start in range(0, len(order), config.batch):
            batch = order[start : start + config.batch]
            optimizer.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
        scheduler.step()
    return model.state_dict()


@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "in order"])
@pytest.mark.parametrize("name", ["mlp-purchase", "cnn-digits", "text-mlp-384"])
def test_group_training_equals_training_alone(name, shuffle, device):
    """Text heads too: one fine-tuning run of a group equals the one-model reference."""
    shape = architecture(name).input_shape
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(200, *shape, generator=generator)
    y = torch.randint(0, architecture(name).num_classes, (200,), generator=generator)
    rows = torch.stack([torch.randperm(200, generator=generator)[:50] for _ in range(3)])
    config = TrainConfig("adam", 0.01, 3, 16, 2, 0.5, shuffle=shuffle)
    group = train_group(
        name, x, y, rows, config=config, init_seeds=[1, 2, 3], order_seeds=[4, 5, 6],
        device=device,
    )  # fmt: skip
    alone = train_group(name, x, y, rows[1:2], config=config, init_seeds=[2], order_seeds=[5])
    reference = literal_training(name, x, y, rows[1], config=config, init_seed=2, order_seed=5)
    grouped = unstack(group.params)[1]
    for key, value in reference.items():
        assert grouped[key].device.type == "cpu", "trained weights come back to the CPU"
        torch.testing.assert_close(grouped[key], value, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(alone.params[key][0], value, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(group.params[key][0], group.params[key][1])


def test_train_group_validates_seeds():
    x, y = torch.zeros(10, 600), torch.zeros(10, dtype=torch.int64)
    config = TrainConfig("adam", 0.01, 1, 4, 1, 1.0)
    with pytest.raises(ValueError, match="K seeds"):
        train_group(
            "mlp-purchase",
            x,
            y,
            torch.zeros(2, 5, dtype=torch.int64),
            config=config,
            init_seeds=[1],
            order_seeds=[1, 2],
        )


def test_accuracy_matches_each_module_on_its_rows(device):
    from benchmark.zoo.engine import accuracy
    from benchmark.zoo.models import init_stacked

    generator = torch.Generator().manual_seed(2)
    x = torch.randn(40, 600, generator=generator)
    params = init_stacked("mlp-purchase", [1, 2])
    rows = torch.stack([torch.randperm(40, generator=generator)[:25] for _ in range(2)])
    y = torch.randint(0, 100, (40,), generator=generator)
    with torch.no_grad():  # make some predictions right so accuracy is not trivially 0
        y[:20] = forward_many(params, "mlp-purchase", x[:20])[0].argmax(dim=1)
    got = accuracy(params, "mlp-purchase", x, y, rows, batch=7, device=device)
    for k, state in enumerate(unstack(params)):
        module = architecture("mlp-purchase")()
        module.load_state_dict(state)
        with torch.no_grad():
            expected = (module(x[rows[k]]).argmax(dim=1) == y[rows[k]]).float().mean()
        assert got[k].item() == pytest.approx(expected.item())


def test_bfloat16_changes_only_the_matmuls(device):
    """Autocast on the device: bfloat16 logits stay close to float32 ones, and the result is
    float32 on the CPU."""
    from benchmark.zoo.models import init_stacked

    params = {k: v.to(device) for k, v in init_stacked("mlp-purchase", [1, 2]).items()}
    x = (torch.rand(64, 600, generator=torch.Generator().manual_seed(3)) < 0.1).float()
    exact = forward_many(params, "mlp-purchase", x, dtype="float32")
    rounded = forward_many(params, "mlp-purchase", x, dtype="bfloat16")
    assert rounded.dtype == torch.float32 and rounded.device.type == "cpu"
    assert not torch.equal(exact, rounded), "bfloat16 did run"
    torch.testing.assert_close(rounded, exact, rtol=0.05, atol=0.05)


@pytest.mark.parametrize("private", [False, True])
def test_physical_batches_accumulate_to_the_same_step(private):
    """A batch run in slices of ``physical_batch`` samples (gradient accumulation; under DP
    each sample still clipped alone) trains the models the whole batch trains."""
    from benchmark.zoo.engine import DPSettings

    generator = torch.Generator().manual_seed(3)
    x = torch.randn(60, 600, generator=generator)
    y = torch.randint(0, 100, (60,), generator=generator)
    rows = torch.stack([torch.randperm(60, generator=generator)[:40] for _ in range(2)])
    settings = DPSettings(noise_multiplier=0.5, clip=1.0, sample_rate=0.4) if private else None
    trained = []
    for physical in (0, 7):
        config = TrainConfig("adam", 1e-3, 2, 16, 5, 1.0, dp=settings, physical_batch=physical)
        trained.append(
            train_group(
                "mlp-purchase", x, y, rows, config=config, init_seeds=[1, 2], order_seeds=[3, 4],
                noise_seeds=[5, 6] if private else None,
            ).params
        )  # fmt: skip
    for key, value in trained[0].items():
        torch.testing.assert_close(trained[1][key], value, rtol=1e-4, atol=1e-5)
