"""Caption metrics against pycocoevalcap's Bleu, Rouge and Cider on the same tokenised text (to the last bit),
and the tokeniser against coco-caption's PTB rules."""

from __future__ import annotations

import contextlib
import io
import random
import shutil

import pytest

from cvkit.text import PUNCTUATION, Vocabulary, normalize, tokenize
from cvkit_caption.metrics.scores import bleu, caption_scores, cider_d, rouge_l

pycoco = pytest.importorskip("pycocoevalcap")
from pycocoevalcap.bleu.bleu import Bleu  # noqa: E402
from pycocoevalcap.cider.cider import Cider  # noqa: E402
from pycocoevalcap.rouge.rouge import Rouge  # noqa: E402

COCO_LIKE = [
    "A man riding a wave on top of a surfboard.", "Two dogs' toys, on the floor!",
    "The man's hat (red) is on the table.", "I don't think it's a T-shirt...",
    "A 3.5 inch screen shows 1,000 pixels; wow", "\"Quoted\" text -- with dashes - and: colons?",
    "A cat sitting on a laptop's keyboard.", "they're here and we'll go, I'm sure you'd agree",
    "a black-and-white photo of a bus", "Pizza & beer at 5:30 p.m.", "A plate with food on it .",
    "A sign reads 'STOP'.", "An image of a dog/cat.", "  A   giraffe\nstanding next to a tree  ",
]


def reference(gts: dict, res: dict) -> dict:
    with contextlib.redirect_stdout(io.StringIO()):
        b, b_per = Bleu(4).compute_score(gts, res)
    r, r_per = Rouge().compute_score(gts, res)
    c, c_per = Cider().compute_score(gts, res)
    return {"bleu": (b, b_per), "rouge": (r, list(r_per)), "cider": (c, list(c_per))}


def random_corpus(seed: int) -> tuple[dict, dict]:
    rng = random.Random(seed)
    words = "a the red blue circle square left of right small large and there is an of".split()
    gts, res = {}, {}
    for i in range(rng.randint(1, 40)):
        gts[i] = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) for _ in range(rng.randint(1, 6))]
        res[i] = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))]
    return gts, res


@pytest.mark.parametrize("seed", range(12))
def test_scores_equal_pycocoevalcap_bit_for_bit(seed):
    gts, res = random_corpus(seed)
    hyps = {k: v[0] for k, v in res.items()}
    ref = reference(gts, res)
    assert bleu(gts, hyps) == ref["bleu"]
    assert rouge_l(gts, hyps) == ref["rouge"]
    assert cider_d(gts, hyps) == ref["cider"]


def test_scores_on_tokenised_coco_like_captions():
    gts = {i: [normalize(c), normalize(COCO_LIKE[(i + 3) % len(COCO_LIKE)])] for i, c in enumerate(COCO_LIKE)}
    res = {i: [normalize(COCO_LIKE[(i + 1) % len(COCO_LIKE)] if i % 3 else c)] for i, c in enumerate(COCO_LIKE)}
    ref = reference(gts, res)
    scores = caption_scores(gts, {k: v[0] for k, v in res.items()})
    assert [scores[f"BLEU-{k}"] for k in range(1, 5)] == ref["bleu"][0]
    assert scores["ROUGE-L"] == ref["rouge"][0]
    assert scores["CIDEr-D"] == ref["cider"][0]


def test_perfect_and_empty_hypotheses():
    gts = {0: ["a red circle", "a small red circle"], 1: ["two blue squares", "blue squares"]}
    perfect = caption_scores(gts, {0: "a red circle", 1: "two blue squares"})
    assert perfect["BLEU-1"] == pytest.approx(1.0) and perfect["ROUGE-L"] == pytest.approx(1.0)
    empty = caption_scores(gts, {0: "", 1: ""})
    assert empty["BLEU-1"] < 1e-8 and empty["ROUGE-L"] == 0.0 and empty["CIDEr-D"] == 0.0


def test_tokenize_rules():
    assert tokenize("A man's hat, isn't it?") == ["a", "man", "'s", "hat", "is", "n't", "it"]
    assert tokenize("The T-shirt costs 3.50 (cheap)!") == ["the", "t-shirt", "costs", "3.50", "-lrb-", "cheap",
                                                           "-rrb-"]
    assert tokenize("Wait... what -- no.") == ["wait", "what", "no"]
    assert not set(tokenize(" ".join(COCO_LIKE))) & PUNCTUATION


@pytest.mark.skipif(shutil.which("java") is None, reason="the reference PTB tokenizer needs Java")
def test_tokenize_equals_the_java_ptb_tokenizer():
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    ref = PTBTokenizer().tokenize({i: [{"caption": c}] for i, c in enumerate(COCO_LIKE)})
    assert [normalize(c) for c in COCO_LIKE] == [ref[i][0] for i in range(len(COCO_LIKE))]


def test_vocabulary_round_trip():
    vocab = Vocabulary.build([["a", "red", "circle"], ["a", "blue", "circle"], ["a", "rare"]], min_count=2)
    assert vocab.to_list()[:4] == ["<pad>", "<start>", "<end>", "<unk>"]
    assert vocab.to_list()[4:] == ["a", "circle"]
    ids = vocab.encode(["a", "red", "circle"])
    assert ids[0] == vocab.start and ids[-1] == vocab.end and ids[2] == vocab.unk
    assert vocab.decode([*ids, 5, 5]) == ["a", "<unk>", "circle"]
    assert Vocabulary(vocab.to_list()).index == vocab.index
