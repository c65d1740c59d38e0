r"""The official VQA accuracy (GT-Vision-Lab/VQA ``vqaEval.py``), answer normalisation quirks included.

Per question: accuracy = mean over the 10 leave-one-out subsets of the ground-truth answers of
``min(1, matches / 3)``, where a subset leaves out one answer entry (entries are compared whole, as the official
code compares the answer dicts). Overall, per question type and per answer type: the mean over questions
(reported as fractions in [0, 1]; the official script prints percentages rounded to 2 decimals).

Two versions of the official script normalise answers differently; both are offered:

- ``official`` (default; the repository's current code, 2021): newlines and tabs become spaces and answers are
  stripped; only when the ground-truth answers of a question are not all equal, the ground-truth answers AND the
  predicted answer go through the punctuation rules and the digit/article rules.
- ``official-2017`` (the 2017 Python 3 port, which most published numbers before 2021 came from): the
  predicted answer always goes through both rule sets; the ground-truth answers only through the punctuation
  rules, and only when they are not all equal.

Punctuation rules: each of ``; / [ ] " { } ( ) = + \ _ - > < @ ` , ? !`` is deleted when the text has it next to
a space or has a digit-comma-digit, else replaced by a space; then periods not followed by a digit are deleted
(at most 32 of them: the official code passes ``re.UNICODE`` where ``re.sub`` expects its count). Digit/article
rules: lower case, split on whitespace, number words none..ten -> digits, the articles a/an/the dropped, then
the official table of contractions without apostrophes (``dont`` -> ``don't``) applied word by word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

_CONTRACTIONS = dict(pair.split("=", 1) for pair in (
    "aint=ain't arent=aren't cant=can't couldve=could've couldnt=couldn't couldn'tve=couldn't've "
    "couldnt've=couldn't've didnt=didn't doesnt=doesn't dont=don't hadnt=hadn't hadnt've=hadn't've "
    "hadn'tve=hadn't've hasnt=hasn't havent=haven't hed=he'd hed've=he'd've he'dve=he'd've hes=he's "
    "howd=how'd howll=how'll hows=how's Id've=I'd've I'dve=I'd've Im=I'm Ive=I've isnt=isn't itd=it'd "
    "itd've=it'd've it'dve=it'd've itll=it'll let's=let's maam=ma'am mightnt=mightn't "
    "mightnt've=mightn't've mightn'tve=mightn't've mightve=might've mustnt=mustn't mustve=must've "
    "neednt=needn't notve=not've oclock=o'clock oughtnt=oughtn't ow's'at='ow's'at 'ows'at='ow's'at "
    "'ow'sat='ow's'at shant=shan't shed've=she'd've she'dve=she'd've she's=she's shouldve=should've "
    "shouldnt=shouldn't shouldnt've=shouldn't've shouldn'tve=shouldn't've somebody'd=somebodyd "
    "somebodyd've=somebody'd've somebody'dve=somebody'd've somebodyll=somebody'll somebodys=somebody's "
    "someoned=someone'd someoned've=someone'd've someone'dve=someone'd've someonell=someone'll "
    "someones=someone's somethingd=something'd somethingd've=something'd've something'dve=something'd've "
    "somethingll=something'll thats=that's thered=there'd thered've=there'd've there'dve=there'd've "
    "therere=there're theres=there's theyd=they'd theyd've=they'd've they'dve=they'd've theyll=they'll "
    "theyre=they're theyve=they've twas='twas wasnt=wasn't wed've=we'd've we'dve=we'd've weve=we've "
    "werent=weren't whatll=what'll whatre=what're whats=what's whatve=what've whens=when's whered=where'd "
    "wheres=where's whereve=where've whod=who'd whod've=who'd've who'dve=who'd've wholl=who'll whos=who's "
    "whove=who've whyll=why'll whyre=why're whys=why's wont=won't wouldve=would've wouldnt=wouldn't "
    "wouldnt've=wouldn't've wouldn'tve=wouldn't've yall=y'all yall'll=y'all'll y'allll=y'all'll "
    "yall'd've=y'all'd've y'alld've=y'all'd've y'all'dve=y'all'd've youd=you'd youd've=you'd've "
    "you'dve=you'd've youll=you'll youre=you're youve=you've "
).split())
_NUMBERS = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
            "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
_ARTICLES = ("a", "an", "the")
_PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!")
_PERIOD = re.compile(r"(?!<=\d)(\.)(?!\d)")
_COMMA = re.compile(r"(\d)(\,)(\d)")
VERSIONS = ("official", "official-2017")


def process_punctuation(text: str) -> str:
    out = text
    for p in _PUNCT:
        if (p + " " in text or " " + p in text) or _COMMA.search(text) is not None:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD.sub("", out, 32)


def process_digit_article(text: str) -> str:
    words = [_NUMBERS.get(w, w) for w in text.lower().split()]
    words = [w for w in words if w not in _ARTICLES]
    return " ".join(_CONTRACTIONS.get(w, w) for w in words)


def normalize_answer(text: str) -> str:
    """Both rule sets, as applied to a predicted answer (also how answers are matched to the answer list)."""
    return process_digit_article(process_punctuation(" ".join(text.split()).strip()))


def question_accuracy(answer: str, gt_answers: Sequence[dict[str, Any]], version: str = "official") -> float:
    """The official accuracy of ``answer`` for one question with answer entries ``[{"answer", ...}]``."""
    res = answer.replace("\n", " ").replace("\t", " ").strip()
    entries = [dict(a) for a in gt_answers]
    if version == "official":
        for a in entries:
            a["answer"] = a["answer"].replace("\n", " ").replace("\t", " ").strip()
        if len({a["answer"] for a in entries}) > 1:
            for a in entries:
                a["answer"] = process_digit_article(process_punctuation(a["answer"]))
            res = process_digit_article(process_punctuation(res))
    elif version == "official-2017":
        res = process_digit_article(process_punctuation(res))
        if len({a["answer"] for a in entries}) > 1:
            for a in entries:
                a["answer"] = process_punctuation(a["answer"])
    else:
        raise ValueError(f"unknown VQA accuracy version {version!r} (choose from {', '.join(VERSIONS)})")
    accs = []
    for gt in entries:
        others = [a for a in entries if a != gt]
        matches = [a for a in others if a["answer"] == res]
        accs.append(min(1, float(len(matches)) / 3))
    return float(sum(accs)) / len(accs)


def vqa_accuracy(rows: Iterable[tuple[str, Sequence[dict[str, Any]], str, str]], version: str = "official"
                 ) -> dict[str, Any]:
    """``rows`` of ``(answer, ground-truth answer entries, question_type, answer_type)`` ->
    ``{"overall", "per_question_type": {...}, "per_answer_type": {...}}`` (fractions)."""
    overall: list[float] = []
    by_q: dict[str, list[float]] = {}
    by_a: dict[str, list[float]] = {}
    for answer, gts, qtype, atype in rows:
        acc = question_accuracy(answer, gts, version)
        overall.append(acc)
        by_q.setdefault(qtype, []).append(acc)
        by_a.setdefault(atype, []).append(acc)

    def mean(xs: list[float]) -> float:
        return float(sum(xs)) / len(xs) if xs else 0.0

    return {"overall": mean(overall), "per_question_type": {k: mean(v) for k, v in by_q.items()},
            "per_answer_type": {k: mean(v) for k, v in by_a.items()}}
