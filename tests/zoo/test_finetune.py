"""Full fine-tuning: K stacked copies of a whole pre-trained transformer (embeddings, every
layer, head) against Hugging Face's own model trained alone, the DP clipped sum against
Opacus, and MICO's RoBERTa-base classifier rebuilt exactly."""

import copy

import pytest
import torch
from torch import nn

from benchmark.zoo import finetune, text, transformer
from benchmark.zoo.engine import DPSettings, TrainConfig, compute_inputs, train_group
from benchmark.zoo.models import architecture, init_module, stack, unstack

from .test_dp import opacus_clipped_sum

SENTENCES = [
    "a wonderful film.",
    "the script is dull and tired from start to finish.",
    "bold.",
    "the cast seems utterly charming and the cast is warm.",
    "this sequel was rather noisy at times.",
    "the ending looks honest.",
]


class OneModel(nn.Module):
    """The reference: Hugging Face's whole encoder on token points, mean pooling, the head."""

    def __init__(self, encoder: nn.Module, head: nn.Module):
        super().__init__()
        self.encoder, self.head = encoder, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ids, mask = x[..., 0].long(), x[..., 1].long()
        positions = torch.arange(ids.shape[1]).expand(ids.shape)  # per sample, for Opacus
        out = self.encoder(
            input_ids=ids, attention_mask=mask, position_ids=positions,
            token_type_ids=torch.zeros_like(ids),
        ).last_hidden_state  # fmt: skip
        weights = mask.unsqueeze(-1).float()
        return self.head((out * weights).sum(1) / weights.sum(1).clamp(min=1))


@pytest.fixture(scope="module")
def minilm():
    encoder = text.encoder_model(text.MINILM)
    return encoder, text.encode(SENTENCES, tokens=True)


def _trainable(encoder: nn.Module, perturb: bool) -> nn.Module:
    """A float copy of the encoder in training mode without dropout (Opacus records only in
    training mode), trainable, its weights moved a little when ``perturb``."""
    copied = copy.deepcopy(encoder).float().train()
    copied.requires_grad_(True)
    copied.pooler = None  # type: ignore[assignment]  # the heads pool themselves
    for module in copied.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    if perturb:
        with torch.no_grad():
            generator = torch.Generator().manual_seed(9)
            for p in copied.parameters():
                p.add_(0.02 * torch.randn(p.shape, generator=generator))
    return copied


def _models(encoder):
    """Two models: the pre-trained encoder (the second one perturbed) and seeded heads,
    stacked under the architecture's keys."""
    encoders = [_trainable(encoder, perturb=bool(k)) for k in range(2)]
    heads = [init_module("text-mlp-384", 20 + k) for k in range(2)]
    params = stack([_state(e, h) for e, h in zip(encoders, heads)])
    assert set(params) == set(architecture("text-full-minilm")().state_dict())
    return params, encoders, heads


def _named(encoder: nn.Module, head: nn.Module) -> dict[str, nn.Parameter]:
    """A reference's parameters under the architecture's keys."""
    named = {f"head.{n}": p for n, p in head.named_parameters()}
    for name, p in encoder.named_parameters():
        if name.startswith("embeddings."):
            named[name] = p
        else:
            named[name.removeprefix("encoder.layer.")] = p
    return named


def _state(encoder: nn.Module, head: nn.Module) -> dict[str, torch.Tensor]:
    return {key: p.detach().clone() for key, p in _named(encoder, head).items()}


def test_full_model_starts_as_the_pretrained_encoder(minilm):
    """``init_params`` gives all-MiniLM-L6-v2 itself: the registered module on token points is
    the head on the encoder's pooled last hidden states, the same for every model."""
    encoder, x = minilm
    params = transformer.init_params("text-full-minilm", encoder, [3, 4])
    model = architecture("text-full-minilm")()
    model.load_state_dict(unstack(params)[1])
    with torch.no_grad():
        expected = OneModel(encoder, model.head)(x)
        torch.testing.assert_close(model(x), expected, rtol=1e-4, atol=1e-5)
    assert torch.equal(params[finetune.WORD][0], params[finetune.WORD][1])
    assert not torch.equal(params["head.mlp.0.weight"][0], params["head.mlp.0.weight"][1])
    with pytest.raises(ValueError, match="encoder of 12 layers"):
        transformer.init_params("text-full-roberta-base", encoder, [0])


def test_full_group_step_equals_one_model_reference(minilm):
    encoder, x = minilm
    params, encoders, heads = _models(encoder)
    y = torch.tensor([1, 0, 1, 1, 0, 1])
    for tensor in params.values():
        tensor.requires_grad_()
    full = architecture("text-full-minilm")
    logits = full.stacked_logits(params, x.expand(2, *x.shape))
    sum(nn.functional.cross_entropy(logits[k], y) for k in range(2)).backward()
    for k in range(2):
        reference = OneModel(encoders[k], heads[k])
        expected = reference(x)
        torch.testing.assert_close(logits[k].detach(), expected.detach(), rtol=1e-4, atol=1e-5)
        nn.functional.cross_entropy(expected, y).backward()
        for key, p in _named(encoders[k], heads[k]).items():
            torch.testing.assert_close(params[key].grad[k], p.grad, rtol=1e-3, atol=1e-5)


def test_full_clipped_sum_equals_opacus(minilm):
    """Per-sample clipping over every parameter, the embedding tables' norms from the (T, T)
    products of the outputs' gradients, equals Opacus's per-sample gradients."""
    encoder, x = minilm
    params, encoders, heads = _models(encoder)
    y = torch.tensor([[1, 0, 1, 1, 0, 1], [0, 0, 1, 0, 1, 1]])
    weights = torch.ones(2, 6)
    weights[1, -2:] = 0  # model 1's Poisson batch is smaller, padded
    clip = 5.0
    full = architecture("text-full-minilm")
    grads, norms = full.clipped_gradient(params, x.expand(2, *x.shape), y, weights, clip)
    assert (norms > clip).any() and (norms[weights > 0] < clip).any(), "clip some, not all"
    assert set(grads) == set(params)
    for k in range(2):
        real = int(weights[k].sum())
        reference = OneModel(encoders[k], heads[k])
        expected = opacus_clipped_sum(reference, x[:real], y[k, :real], clip=clip)
        for key, p in _named(encoders[k], heads[k]).items():
            name = next(n for n, q in reference.named_parameters() if q is p)
            torch.testing.assert_close(grads[key][k], expected[name], rtol=1e-3, atol=1e-6)
        assert torch.all(norms[k, real:] == 0)


@pytest.mark.parametrize("private", [False, True])
def test_full_group_model_equals_it_trained_alone(minilm, private):
    encoder, x = minilm
    y = torch.tensor([1, 0, 1, 1, 0, 1])
    rows = torch.tensor([[0, 1, 2, 3], [2, 3, 4, 5]])
    settings = DPSettings(noise_multiplier=1.0, clip=0.1, sample_rate=0.5) if private else None
    config = TrainConfig("adam", 1e-4, 2, 2, 2, 1.0, dp=settings)
    start = transformer.init_params("text-full-minilm", encoder, [3, 4])
    noise = [7, 8] if private else None
    group = train_group(
        "text-full-minilm", x, y, rows, config=config, init_seeds=[3, 4],
        order_seeds=[5, 6], noise_seeds=noise, init=start,
    ).params  # fmt: skip
    alone = train_group(
        "text-full-minilm", x, y, rows[:1], config=config, init_seeds=[3], order_seeds=[5],
        noise_seeds=noise and noise[:1], init={key: v[:1] for key, v in start.items()},
    ).params  # fmt: skip
    for key, value in alone.items():
        torch.testing.assert_close(group[key][:1], value, rtol=1e-3, atol=1e-4)
    for key in ("embeddings.word_embeddings.weight", "0.attention.self.query.weight"):
        assert not torch.equal(group[key], start[key]), f"{key} was not trained"


def test_token_points_survive_bfloat16_and_perturbation(minilm):
    """Token ids stay float32 where other inputs are cast to bfloat16 (which rounds 30522),
    and perturbed points (an attack's) read as the nearest ids of the vocabulary."""
    _, x = minilm
    assert compute_inputs(x, "bfloat16", "text-full-minilm").dtype == torch.float32
    assert compute_inputs(x, "bfloat16", "text-mlp-384").dtype == torch.bfloat16
    moved = x.clone()
    moved[0, 1, 0] = 1036.7
    moved[1, 2, 0] = 1e9
    moved[2, 1, 1] = 0.3
    moved[3, 0, 1] = 0.0  # the first token is always attended
    ids, mask = finetune.split_tokens(moved, 30522)
    assert ids[0, 1] == 1037 and ids[1, 2] == 30521 and mask[2, 1] == 0 and mask[3, 0] == 1
    assert ids.shape == x.shape[:2] and torch.equal(mask[4], x[4, :, 1])


def test_full_text_points_and_the_whole_model_on_sentences(minilm):
    """``encode(tokens=True)`` gives the tokenizer's ids with the mask, padding zeroed, and a
    fully fine-tuned model rebuilds as a TextClassifier on sentences."""
    encoder, x = minilm
    tokenizer, _ = text._encoder(text.MINILM)
    tokens = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    assert torch.equal(x[..., 0].long(), tokens["input_ids"] * tokens["attention_mask"])
    assert torch.equal(x[..., 1].long(), tokens["attention_mask"])
    with pytest.raises(ValueError, match="not both"):
        text.encode(SENTENCES, tokens=True, layers=1)
    model = architecture("text-full-minilm")()
    model.load_state_dict(unstack(transformer.init_params("text-full-minilm", encoder, [5]))[0])
    whole = text.TextClassifier(text.MINILM, model).eval()
    with torch.no_grad():
        torch.testing.assert_close(whole(SENTENCES[:2]), model(x[:2]), rtol=1e-5, atol=1e-6)


def _roberta_base():
    """A randomly initialised RoBERTa-base classifier (roberta-base's config; no weights are
    downloaded): MICO's SST-2 model."""
    from transformers import RobertaConfig, RobertaForSequenceClassification

    config = RobertaConfig(
        num_labels=2, layer_norm_eps=1e-5, max_position_embeddings=514, type_vocab_size=1,
        pad_token_id=1, bos_token_id=0, eos_token_id=2,
    )  # fmt: skip
    torch.manual_seed(0)
    return RobertaForSequenceClassification(config).eval()


def test_roberta_full_model_is_mico_s_classifier(tmp_path):
    """``text-full-roberta-base`` (RoBERTa's positions, the first token's state, its
    classification head) gives ``RobertaForSequenceClassification``'s logits, and its state
    converts back into that class (what ``save_pretrained`` writes for MICO's loader)."""
    hf = _roberta_base()
    ids = torch.tensor([[0, 713, 16, 372, 2, 1, 1], [0, 5, 6, 7, 8, 9, 2]])
    mask = (ids != 1).long()
    x = torch.stack([ids * mask, mask], dim=-1).float()  # encode's padding: id 0, mask 0
    full = architecture("text-full-roberta-base")
    full.check_encoder("text-full-roberta-base", hf.roberta)
    params = full.init_from(hf.roberta, [0])
    classifier = {"mlp.0": hf.classifier.dense, "mlp.2": hf.classifier.out_proj}
    for name, layer in classifier.items():
        params[f"head.{name}.weight"] = layer.weight.detach()[None].clone()
        params[f"head.{name}.bias"] = layer.bias.detach()[None].clone()
    with torch.no_grad():
        expected = hf(input_ids=ids, attention_mask=mask).logits
        torch.testing.assert_close(full.stacked_logits(params, x[None])[0], expected)
    hf.save_pretrained(tmp_path / "roberta-base")
    rebuilt = finetune.hugging_face_model(unstack(params)[0], str(tmp_path / "roberta-base"))
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(input_ids=ids, attention_mask=mask).logits, expected)


def test_a_point_s_logits_do_not_depend_on_the_batch_it_comes_in():
    """Padding after a sentence changes nothing, even for a point an attack drew with no token
    attended (its first token is: every tokenized sentence has one), read on the first token's
    state as RoBERTa's head reads it."""
    full = architecture("text-full-roberta-base")
    params = full.init_from(_roberta_base().roberta, [1])
    sentence = torch.tensor([[0, 713, 16, 372, 2, 0, 0], [1, 1, 1, 1, 1, 0, 0]]).T.float()
    drawn = torch.tensor([[0, 5, 6, 0, 0, 0, 0], [0.0] * 7]).T  # nothing attended
    with torch.no_grad():
        alone = full.stacked_logits(params, drawn[None, None])[0, 0]
        beside = full.stacked_logits(params, torch.stack([drawn, sentence])[None])[0, 0]
    torch.testing.assert_close(beside, alone, rtol=1e-5, atol=1e-6)
