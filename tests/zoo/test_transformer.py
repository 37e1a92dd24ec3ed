"""Top-k fine-tuning: K stacked copies of a pre-trained layer against Hugging Face's own layer
trained alone, and the DP clipped sum against Opacus on that layer."""

import copy

import pytest
import torch
from torch import nn

from benchmark.zoo import transformer
from benchmark.zoo.engine import DPSettings, TrainConfig, train_group
from benchmark.zoo.models import architecture, init_module, stack, unstack
from benchmark.zoo.text import MINILM, _encoder

from .test_dp import opacus_clipped_sum


class OneModel(nn.Module):
    """The reference: Hugging Face's layer, mean pooling over the tokens, the head."""

    def __init__(self, layer: nn.Module, head: nn.Module, mask: torch.Tensor):
        super().__init__()
        self.layer, self.head, self.mask = layer, head, mask

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        mask = self.mask[: len(hidden)]
        blocked = (1.0 - mask[:, None, None, :]) * torch.finfo(hidden.dtype).min
        out = self.layer(hidden, attention_mask=blocked)
        out = out[0] if isinstance(out, tuple) else out
        weights = mask.unsqueeze(-1)
        return self.head((out * weights).sum(1) / weights.sum(1).clamp(min=1))


@pytest.fixture(scope="module")
def minilm():
    tokenizer, encoder = _encoder(MINILM)
    tokens = tokenizer(
        ["a wonderful film.", "the script is dull and tired from start to finish.", "bold.",
         "the cast seems utterly charming.", "this sequel was rather noisy at times.",
         "the ending looks honest."],
        padding=True, return_tensors="pt",
    )  # fmt: skip
    hidden, mask = transformer.frozen_hidden(encoder, dict(tokens), 1)
    return encoder, hidden, mask


def _models(encoder):
    """Two models: the pre-trained last layer (the second one perturbed) and seeded heads."""
    base = transformer.top_layers(encoder, 1)
    layers = []
    for k in range(2):
        layer = copy.deepcopy(encoder.encoder.layer[-1]).float()
        layer.requires_grad_(True)
        for module in layer.modules():  # training mode (Opacus records only then), no dropout
            if isinstance(module, nn.Dropout):
                module.p = 0.0
        if k:
            with torch.no_grad():
                for p in layer.parameters():
                    p.add_(0.02 * torch.randn(p.shape, generator=torch.Generator().manual_seed(9)))
        layers.append(layer)
    heads = [init_module("text-mlp-384", 20 + k) for k in range(2)]
    params = stack(
        [
            {**{f"5.{key}": v for key, v in layer.state_dict().items()},
             **{f"head.{key}": v for key, v in head.state_dict().items()}}
            for layer, head in zip(layers, heads)
        ]
    )  # fmt: skip
    assert set(params) == set(base) | {f"head.{key}" for key in heads[0].state_dict()}
    return params, layers, heads


def test_top_layer_group_step_equals_one_model_reference(minilm):
    encoder, hidden, mask = minilm
    params, layers, heads = _models(encoder)
    shape = transformer.LayerShape.of(encoder.config)
    y = torch.tensor([1, 0, 1, 1, 0, 1])
    for tensor in params.values():
        tensor.requires_grad_()
    logits = transformer.top_forward(
        params, "text-mlp-384", hidden.expand(2, *hidden.shape), mask.expand(2, *mask.shape), shape
    )
    loss = sum(nn.functional.cross_entropy(logits[k], y) for k in range(2))
    loss.backward()
    for k in range(2):
        reference = OneModel(layers[k], heads[k], mask).train()
        expected = reference(hidden)
        torch.testing.assert_close(logits[k].detach(), expected.detach(), rtol=1e-4, atol=1e-5)
        nn.functional.cross_entropy(expected, y).backward()
        named = {f"5.{n}": p for n, p in layers[k].named_parameters()}
        named |= {f"head.{n}": p for n, p in heads[k].named_parameters()}
        for key, p in named.items():
            torch.testing.assert_close(params[key].grad[k], p.grad, rtol=1e-3, atol=1e-5)


def test_top_layer_clipped_sum_equals_opacus(minilm):
    encoder, hidden, mask = minilm
    params, layers, heads = _models(encoder)
    shape = transformer.LayerShape.of(encoder.config)
    y = torch.tensor([[1, 0, 1, 1, 0, 1], [0, 0, 1, 0, 1, 1]])
    weights = torch.ones(2, 6)
    weights[1, -2:] = 0  # model 1's Poisson batch is smaller, padded
    clip = 0.05
    grads, norms = transformer.clipped_gradient(
        params, "text-mlp-384", hidden.expand(2, *hidden.shape), mask.expand(2, *mask.shape),
        y, weights, shape, clip=clip,
    )  # fmt: skip
    assert (norms > clip).any(), "the test must exercise clipping"
    for k in range(2):
        real = int(weights[k].sum())
        reference = OneModel(layers[k], heads[k], mask).train()
        expected = opacus_clipped_sum(reference, hidden[:real], y[k, :real], clip=clip)
        assert set(expected) == {key.replace("5.", "layer.", 1) for key in grads}
        for key, value in grads.items():
            name = key.replace("5.", "layer.", 1)
            torch.testing.assert_close(value[k], expected[name], rtol=1e-3, atol=1e-6)
        assert torch.all(norms[k, real:] == 0)


@pytest.mark.parametrize("private", [False, True])
def test_top_group_model_equals_it_trained_alone(minilm, private):
    encoder, hidden, mask = minilm
    x = transformer.points(hidden, mask)
    y = torch.tensor([1, 0, 1, 1, 0, 1])
    rows = torch.tensor([[0, 1, 2, 3], [2, 3, 4, 5]])
    settings = DPSettings(noise_multiplier=1.0, clip=0.1, sample_rate=0.5) if private else None
    config = TrainConfig("adam", 1e-3, 2, 2, 2, 1.0, dp=settings)
    start = transformer.init_params("text-top1-minilm", encoder, [3, 4])
    noise = [7, 8] if private else None
    group = train_group(
        "text-top1-minilm", x, y, rows, config=config, init_seeds=[3, 4],
        order_seeds=[5, 6], noise_seeds=noise, init=start,
    ).params  # fmt: skip
    alone = train_group(
        "text-top1-minilm", x, y, rows[:1], config=config, init_seeds=[3], order_seeds=[5],
        noise_seeds=noise and noise[:1], init={key: v[:1] for key, v in start.items()},
    ).params  # fmt: skip
    for key, value in alone.items():
        # Adam turns float rounding of near-zero gradients into steps of up to lr
        torch.testing.assert_close(group[key][:1], value, rtol=1e-3, atol=1e-4)
        assert not torch.equal(group[key], start[key]), f"{key} was not trained"


def test_top_architecture_module_matches_stacked_models(minilm):
    """The registered module (what a bundle's model.pt loads into) gives the stacked logits,
    and the pre-trained start is the encoder's own last layer."""
    encoder, hidden, mask = minilm
    x = transformer.points(hidden, mask)
    params = transformer.init_params("text-top1-minilm", encoder, [3, 4])
    model = architecture("text-top1-minilm")()
    model.load_state_dict(unstack(params)[1])
    top = transformer.top_architecture("text-top1-minilm")
    assert top is not None and transformer.top_architecture("text-mlp-384") is None
    stacked = top.stacked_logits(params, x.expand(2, *x.shape))
    torch.testing.assert_close(model(x), stacked[1], rtol=1e-5, atol=1e-6)
    layer = encoder.encoder.layer[-1].state_dict()
    for key, value in layer.items():
        torch.testing.assert_close(params[f"5.{key}"][0], value.float())
    with pytest.raises(ValueError, match="encoder of 12 layers"):
        transformer.init_params("text-top1-roberta-base", encoder, [0])


def test_every_layer_architecture_is_the_whole_encoder_over_frozen_embeddings():
    """``text-top6-minilm`` starts as all-MiniLM-L6-v2 itself: on the embeddings' output it
    gives the pre-trained encoder's pooled last hidden states through its head."""
    tokenizer, encoder = _encoder(MINILM)
    tokens = dict(
        tokenizer(["a wonderful film.", "the cast seems dull."], padding=True, return_tensors="pt")
    )
    params = transformer.init_params("text-top6-minilm", encoder, [0])
    model = architecture("text-top6-minilm")()
    model.load_state_dict(unstack(params)[0])
    x = transformer.points(*transformer.frozen_hidden(encoder, tokens, 6))
    with torch.no_grad():
        last = encoder(**tokens).last_hidden_state
        weights = tokens["attention_mask"].unsqueeze(-1).float()
        pooled = (last * weights).sum(1) / weights.sum(1)
        torch.testing.assert_close(model(x), model.head(pooled), rtol=1e-4, atol=1e-5)
    assert sorted(params)[:3] == ["0.attention.output.LayerNorm.bias",
                                  "0.attention.output.LayerNorm.weight",
                                  "0.attention.output.dense.bias"]  # fmt: skip


@pytest.mark.parametrize("k", [1, 2, 6])
def test_frozen_hidden_states_are_the_encoder_s_own(k):
    """Running only the embeddings and the frozen layers gives ``hidden_states[L - k]``."""
    tokenizer, encoder = _encoder(MINILM)
    tokens = dict(
        tokenizer(["a wonderful film.", "the cast seems dull and tired."], padding=True,
                  return_tensors="pt")
    )  # fmt: skip
    hidden, mask = transformer.frozen_hidden(encoder, tokens, k)
    with torch.no_grad():
        expected = encoder(**tokens, output_hidden_states=True).hidden_states[6 - k]
    real = mask.bool()
    torch.testing.assert_close(hidden[real], expected[real], rtol=1e-4, atol=1e-5)
    assert torch.equal(mask, tokens["attention_mask"].float())
