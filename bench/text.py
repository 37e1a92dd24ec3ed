"""Fine-tuning a group of text models: ours against what a user writes, same data and cores.

The recipe is demo-text's (tracks/demo-text.toml): all-MiniLM-L6-v2 frozen, the text-mlp-384
head trained with Adam, batch 50, on n = 200 generated sentences per model, 64 tokens.

- ``speedup_text``: our group training (every sentence's frozen activations computed once,
  the time of that included, then K heads trained together by the batched engine) against a
  plain PyTorch loop over one model at a time, as one writes it with ``transformers``: each
  batch tokenized and run through the frozen encoder under ``no_grad``, then the head's
  forward, backward and Adam step.
- ``speedup_text_dp``: our DP-SGD (per-sample norms of the head's layers without per-sample
  gradients) against Opacus (``PrivacyEngine.make_private`` on the head, Poisson batches of
  sentences through the frozen encoder), same σ, clipping norm and sampling rate.
- ``speedup_text_top1`` and ``speedup_text_top1_dp``: the same two comparisons with the last
  transformer layer fine-tuned as well (top-1 fine-tuning, ``--top-epochs`` epochs): ours
  computes the five frozen layers' output once and trains K copies of the last layer and the
  head together (:mod:`benchmark.zoo.transformer`); the user's loop runs the frozen layers on
  every batch and trains Hugging Face's own layer, one model at a time; Opacus wraps that
  layer and head.
- ``speedup_text_full`` and ``speedup_text_full_dp``: full fine-tuning (``--full-epochs``
  epochs, lr 5e-5 as MICO's), embeddings and every layer trained: ours trains K copies of the
  whole network at once (:mod:`benchmark.zoo.finetune`), nothing shared between them; the
  user's loop trains Hugging Face's own model one at a time, Opacus wrapping all of it.
- ``mico_sst2_gpu_hours``: MICO's SST-2 track (600 RoBERTa-base models, 3 epochs over n =
  67,349 sentences of 67 tokens, full fine-tuning as MICO did) projected on one NVIDIA H200
  from FLOP counts (6 FLOPs per parameter per token for a forward and backward pass, dense
  BF16 peak 989 TFLOP/s) at a stated utilisation (``--utilisation``, default 0.4), not a
  measurement on one.

The baselines train fewer models than ours (``--baseline-models``): their time grows
linearly with models (each trains alone), so the per-model time is what is compared.

    .venv/bin/python bench/text.py [--models 8] [--baseline-models 2] [--epochs 20]
"""

import argparse
import copy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from benchmark.zoo import text, transformer  # noqa: E402
from benchmark.zoo.engine import DPSettings, TrainConfig, train_group  # noqa: E402
from benchmark.zoo.models import init_module  # noqa: E402

N, BATCH, LR, MAX_LENGTH, CLIP, SIGMA = 200, 50, 0.003, 64, 1.0, 1.0
TOP_LR = 5e-4
FULL_LR = 5e-5  # MICO's full fine-tuning rate
ROBERTA_BASE_PARAMETERS = 124_647_170  # RoBERTa-base with a 2-class head
H200_BF16_DENSE_FLOPS = 989e12


def _data(models: int):
    sentences, labels = text.sentiment_sentences(N * models + 400, 0)
    rows = torch.arange(N * models).reshape(models, N)
    return sentences, torch.from_numpy(labels), rows


def ours(sentences, labels, rows, epochs: int, dp: DPSettings | None) -> float:
    start = time.perf_counter()
    features = text.encode(sentences, max_length=MAX_LENGTH)
    config = TrainConfig("adam", LR, epochs, BATCH, epochs, 1.0, dp=dp)
    k = len(rows)
    noise = list(range(200, 200 + k)) if dp else None
    train_group(
        "text-mlp-384", features, labels, rows, config=config, init_seeds=list(range(k)),
        order_seeds=list(range(100, 100 + k)), noise_seeds=noise,
    )  # fmt: skip
    return time.perf_counter() - start


def plain_loop(sentences, labels, rows, epochs: int) -> float:
    """One model at a time, the frozen encoder run on every batch (a user's loop)."""
    tokenizer, encoder = text._encoder(text.MINILM)
    start = time.perf_counter()
    for k, members in enumerate(rows):
        head = init_module("text-mlp-384", k)
        optimizer = torch.optim.Adam(head.parameters(), lr=LR)
        generator = torch.Generator().manual_seed(k)
        for _ in range(epochs):
            order = members[torch.randperm(len(members), generator=generator)]
            for batch in order.split(BATCH):
                features = _encode_batch(tokenizer, encoder, [sentences[i] for i in batch])
                optimizer.zero_grad()
                F.cross_entropy(head(features), labels[batch]).backward()
                optimizer.step()
    return time.perf_counter() - start


def _encode_batch(tokenizer, encoder, batch):
    with torch.no_grad():
        tokens = tokenizer(
            batch, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt"
        )
        hidden = encoder(**tokens).last_hidden_state
        mask = tokens["attention_mask"].unsqueeze(-1).float()
        return (hidden * mask).sum(1) / mask.sum(1)


def opacus_loop(sentences, labels, rows, epochs: int, dp: DPSettings) -> float:
    """One model at a time with Opacus: Poisson batches, the encoder run on each."""
    from opacus import PrivacyEngine
    from torch.utils.data import DataLoader, TensorDataset

    tokenizer, encoder = text._encoder(text.MINILM)
    start = time.perf_counter()
    for k, members in enumerate(rows):
        head = init_module("text-mlp-384", k)
        optimizer = torch.optim.Adam(head.parameters(), lr=LR)
        loader = DataLoader(TensorDataset(members), batch_size=BATCH)
        engine = PrivacyEngine(accountant="prv")
        head, optimizer, loader = engine.make_private(
            module=head, optimizer=optimizer, data_loader=loader,
            noise_multiplier=dp.noise_multiplier, max_grad_norm=dp.clip, poisson_sampling=True,
        )  # fmt: skip
        for _ in range(epochs):
            for (batch,) in loader:
                if not len(batch):
                    continue
                features = _encode_batch(tokenizer, encoder, [sentences[i] for i in batch])
                optimizer.zero_grad()
                F.cross_entropy(head(features), labels[batch]).backward()
                optimizer.step()
    return time.perf_counter() - start


def _trainable(module: torch.nn.Module) -> torch.nn.Module:
    """A float32 copy of a pre-trained module in training mode, trainable, without dropout
    (ours trains without dropout too)."""
    copied = copy.deepcopy(module).float().train()
    for child in copied.modules():
        if isinstance(child, torch.nn.Dropout):
            child.p = 0.0
    return copied.requires_grad_(True)


class TopModel(torch.nn.Module):
    """The user's top-1 model: a copy of the encoder's last layer, mean pooling, the head."""

    def __init__(self, encoder, seed: int):
        super().__init__()
        self.layer = _trainable(encoder.encoder.layer[-1])
        self.head = init_module("text-mlp-384", seed)

    def forward(self, hidden, mask):
        blocked = (1.0 - mask[:, None, None, :]) * torch.finfo(hidden.dtype).min
        out = self.layer(hidden, attention_mask=blocked)
        out = out[0] if isinstance(out, tuple) else out
        weights = mask.unsqueeze(-1)
        return self.head((out * weights).sum(1) / weights.sum(1).clamp(min=1))


def _frozen_batch(tokenizer, encoder, batch):
    tokens = tokenizer(
        batch, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt"
    )
    return transformer.frozen_hidden(encoder, dict(tokens), 1)


def _group(name: str, x, labels, rows, epochs: int, dp: DPSettings | None, lr: float) -> None:
    """Our K models of the pre-trained architecture ``name`` trained together on points ``x``."""
    k = len(rows)
    config = TrainConfig("adam", lr, epochs, BATCH, epochs, 1.0, dp=dp)
    train_group(
        name, x, labels, rows, config=config, init_seeds=list(range(k)),
        order_seeds=list(range(100, 100 + k)),
        noise_seeds=list(range(200, 200 + k)) if dp else None,
        init=transformer.init_params(name, text.encoder_model(text.MINILM), list(range(k))),
    )  # fmt: skip


def ours_top(sentences, labels, rows, epochs: int, dp: DPSettings | None) -> float:
    tokenizer, encoder = text._encoder(text.MINILM)
    start = time.perf_counter()
    used = sentences[: int(rows.max()) + 1]
    x = transformer.points(*_frozen_batch(tokenizer, encoder, used))
    _group("text-top1-minilm", x, labels, rows, epochs, dp, TOP_LR)
    return time.perf_counter() - start


def _alone(labels, rows, epochs: int, dp: DPSettings | None, lr: float, make_model, inputs):
    """One model at a time as a user trains it: ``make_model(k)``, Adam at ``lr``, shuffled
    batches of its members (Opacus's Poisson batches under ``dp``); ``inputs(batch)`` gives
    the model's arguments. Returns the seconds taken."""
    from opacus import PrivacyEngine
    from torch.utils.data import DataLoader, TensorDataset

    start = time.perf_counter()
    for k, members in enumerate(rows):
        model = make_model(k)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        loader = DataLoader(TensorDataset(members), batch_size=BATCH, shuffle=True)
        if dp is not None:
            model, optimizer, loader = PrivacyEngine(accountant="prv").make_private(
                module=model, optimizer=optimizer, data_loader=loader,
                noise_multiplier=dp.noise_multiplier, max_grad_norm=dp.clip,
                poisson_sampling=True,
            )  # fmt: skip
        for _ in range(epochs):
            for (batch,) in loader:
                if not len(batch):
                    continue
                optimizer.zero_grad()
                F.cross_entropy(model(*inputs(batch)), labels[batch]).backward()
                optimizer.step()
    return time.perf_counter() - start


def top_loop(sentences, labels, rows, epochs: int, dp: DPSettings | None) -> float:
    """One top-1 model at a time, the frozen layers run on every batch; Opacus with DP."""
    tokenizer, encoder = text._encoder(text.MINILM)
    return _alone(
        labels, rows, epochs, dp, TOP_LR, lambda k: TopModel(encoder, k),
        lambda batch: _frozen_batch(tokenizer, encoder, [sentences[i] for i in batch]),
    )  # fmt: skip


class FullModel(torch.nn.Module):
    """The user's fully fine-tuned model: a copy of the whole encoder (no pooler), mean
    pooling, the head; positions given per sample (Opacus needs a batch dimension)."""

    def __init__(self, encoder, seed: int):
        super().__init__()
        self.encoder = _trainable(encoder)
        self.encoder.pooler = None  # type: ignore[assignment]  # the head pools itself
        self.head = init_module("text-mlp-384", seed)

    def forward(self, ids, mask):
        positions = torch.arange(ids.shape[1]).expand(ids.shape)
        out = self.encoder(
            input_ids=ids, attention_mask=mask, position_ids=positions,
            token_type_ids=torch.zeros_like(ids),
        ).last_hidden_state  # fmt: skip
        weights = mask.unsqueeze(-1).float()
        return self.head((out * weights).sum(1) / weights.sum(1).clamp(min=1))


def ours_full(sentences, labels, rows, epochs: int, dp: DPSettings | None) -> float:
    start = time.perf_counter()
    x = text.encode(sentences[: int(rows.max()) + 1], max_length=MAX_LENGTH, tokens=True)
    _group("text-full-minilm", x, labels, rows, epochs, dp, FULL_LR)
    return time.perf_counter() - start


def full_loop(sentences, labels, rows, epochs: int, dp: DPSettings | None) -> float:
    """One fully fine-tuned model at a time, each batch tokenized; Opacus with DP."""
    tokenizer, encoder = text._encoder(text.MINILM)

    def tokens(batch):
        encoded = tokenizer(
            [sentences[i] for i in batch], padding=True, truncation=True,
            max_length=MAX_LENGTH, return_tensors="pt",
        )  # fmt: skip
        return encoded["input_ids"], encoded["attention_mask"]

    return _alone(labels, rows, epochs, dp, FULL_LR, lambda k: FullModel(encoder, k), tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=8)
    parser.add_argument("--baseline-models", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--top-epochs", type=int, default=3)
    parser.add_argument("--full-epochs", type=int, default=2)
    parser.add_argument("--utilisation", type=float, default=0.4)
    args = parser.parse_args()
    sentences, labels, rows = _data(args.models)
    text._encoder(text.MINILM)  # load once, outside every timing
    dp = DPSettings(noise_multiplier=SIGMA, clip=CLIP, sample_rate=BATCH / N)
    base_rows = rows[: args.baseline_models]

    ours_plain = ours(sentences, labels, rows, args.epochs, None) / args.models
    base_plain = plain_loop(sentences, labels, base_rows, args.epochs) / args.baseline_models
    ours_dp = ours(sentences, labels, rows, args.epochs, dp) / args.models
    base_dp = opacus_loop(sentences, labels, base_rows, args.epochs, dp) / args.baseline_models

    top = args.top_epochs
    ours_top_plain = ours_top(sentences, labels, rows, top, None) / args.models
    base_top_plain = top_loop(sentences, labels, base_rows, top, None) / args.baseline_models
    ours_top_dp = ours_top(sentences, labels, rows, top, dp) / args.models
    base_top_dp = top_loop(sentences, labels, base_rows, top, dp) / args.baseline_models

    full = args.full_epochs
    ours_full_plain = ours_full(sentences, labels, rows, full, None) / args.models
    base_full_plain = full_loop(sentences, labels, base_rows, full, None) / args.baseline_models
    ours_full_dp = ours_full(sentences, labels, rows, full, dp) / args.models
    base_full_dp = full_loop(sentences, labels, base_rows, full, dp) / args.baseline_models

    tokens = 67_349 * 67 * 3
    flops = 6 * ROBERTA_BASE_PARAMETERS * tokens * 600
    hours = flops / (H200_BF16_DENSE_FLOPS * args.utilisation) / 3600
    print(f"text: {args.models} models in a group, {args.epochs} epochs, n = {N}, batch {BATCH}")
    print(f"ours_s_per_model: {ours_plain:.3f}")
    print(f"plain_loop_s_per_model: {base_plain:.3f}")
    print(f"ours_dp_s_per_model: {ours_dp:.3f}")
    print(f"opacus_s_per_model: {base_dp:.3f}")
    print(f"top1: {top} epochs; ours {ours_top_plain:.3f} s/model, loop {base_top_plain:.3f}")
    print(f"top1_dp: ours {ours_top_dp:.3f} s/model, opacus {base_top_dp:.3f}")
    print(f"speedup_text_top1: {base_top_plain / ours_top_plain:.1f}")
    print(f"speedup_text_top1_dp: {base_top_dp / ours_top_dp:.1f}")
    print(f"full: {full} epochs; ours {ours_full_plain:.3f} s/model, loop {base_full_plain:.3f}")
    print(f"full_dp: ours {ours_full_dp:.3f} s/model, opacus {base_full_dp:.3f}")
    print(f"speedup_text_full: {base_full_plain / ours_full_plain:.1f}")
    print(f"speedup_text_full_dp: {base_full_dp / ours_full_dp:.1f}")
    print(
        f"mico_sst2: {flops:.3g} FLOPs (full fine-tuning, 600 models) at "
        f"{args.utilisation:.0%} of an H200's dense BF16 peak: projected from FLOP counts"
    )
    print(f"speedup_text: {base_plain / ours_plain:.1f}")
    print(f"speedup_text_dp: {base_dp / ours_dp:.1f}")
    print(f"mico_sst2_gpu_hours: {hours:.1f}")


if __name__ == "__main__":
    main()
