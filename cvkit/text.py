"""Text for the sequence tasks (captioning, visual question answering): tokenisation and vocabularies.

Torch-free. :func:`tokenize` reproduces what the coco-caption evaluation does to every caption before scoring
(Stanford's PTBTokenizer with ``-lowerCase -preserveLines``, then its punctuation tokens dropped), in pure
Python, so that scores need no Java:

- lower case; whitespace (newlines included) separates tokens;
- quotes and the punctuation marks ``. , ? ! : ; - -- ...`` are split off words and dropped (a hyphen or a dot
  *inside* a word stays: ``t-shirt``, ``3.5``, ``1,000``; abbreviations keep their dots: ``p.m.``);
- brackets become the PTB tokens ``-lrb- -rrb- -lsb- -rsb- -lcb- -rcb-`` and, as in coco-caption (whose list of
  punctuation to drop is upper case while the tokenizer lower-cases), they are kept;
- the clitics ``'s 're 've 'll 'm 'd n't`` become tokens of their own, as the PTB tokenizer writes them
  (``don't`` -> ``do n't``, ``man's`` -> ``man 's``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"
SPECIALS = (PAD, START, END, UNK)

# The tokens coco-caption removes after PTB tokenisation (brackets come out of the tokenizer as -LRB- etc.).
PUNCTUATION = frozenset(["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-",
                         "--", "...", ";"])
_EDGE = set("\"'`.,?!:;-")
_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-"}
_BRACKET_RE = re.compile(r"[()\[\]{}]")
_ABBREVIATION = re.compile(r"^(?:[a-z]\.){2,}$")
_CLITIC = re.compile(r"^(.+?)(n't|'s|'re|'ve|'ll|'m|'d)$")
_INNER = re.compile(r"(?<!\d)[,;]|[,;](?!\d)|[\"!?]|\.\.\.+|--+")


def _split_word(word: str) -> list[str]:
    """One whitespace-separated chunk -> its word tokens (punctuation removed)."""
    if word in _BRACKETS.values():
        return [word]
    if _ABBREVIATION.match(word):
        return [word]
    while word and word[0] in _EDGE:
        word = word[1:]
    while word and word[-1] in _EDGE:
        word = word[:-1]
    if not word:
        return []
    out: list[str] = []
    for part in _INNER.split(word):
        part = part.strip("".join(_EDGE))
        if not part:
            continue
        m = _CLITIC.match(part)
        out.extend([m.group(1), m.group(2)] if m and m.group(1) not in ("'", "") else [part])
    return [t for t in out if t not in PUNCTUATION]


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of ``text`` with punctuation removed, as coco-caption scores them."""
    tokens: list[str] = []
    text = _BRACKET_RE.sub(lambda m: f" {_BRACKETS[m.group(0)]} ", text.lower())
    for chunk in text.split():
        tokens.extend(_split_word(chunk))
    return tokens


def normalize(text: str) -> str:
    """``text`` tokenised and joined by single spaces (the form the caption metrics compare)."""
    return " ".join(tokenize(text))


class Vocabulary:
    """Words <-> indices. Indices 0-3 are ``<pad> <start> <end> <unk>``; then words by descending count (ties in
    alphabetical order). Stored in checkpoints as its plain word list (:meth:`to_list`)."""

    def __init__(self, words: Sequence[str]) -> None:
        words = list(words)
        if tuple(words[: len(SPECIALS)]) != SPECIALS:
            words = [*SPECIALS, *(w for w in words if w not in SPECIALS)]
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_count: int = 1, max_size: int | None = None
              ) -> Vocabulary:
        """From tokenised sentences: words seen at least ``min_count`` times, the ``max_size`` most frequent."""
        counts = Counter(t for s in sentences for t in s)
        kept = sorted((w for w, c in counts.items() if c >= min_count and w not in SPECIALS),
                      key=lambda w: (-counts[w], w))
        if max_size is not None:
            kept = kept[: max(0, max_size - len(SPECIALS))]
        return cls([*SPECIALS, *kept])

    def to_list(self) -> list[str]:
        return list(self.words)

    def __len__(self) -> int:
        return len(self.words)

    @property
    def pad(self) -> int:
        return 0

    @property
    def start(self) -> int:
        return 1

    @property
    def end(self) -> int:
        return 2

    @property
    def unk(self) -> int:
        return 3

    def encode(self, tokens: Sequence[str], bos_eos: bool = True) -> list[int]:
        """Token ids (unknown words -> ``<unk>``), framed by ``<start>`` ... ``<end>`` when ``bos_eos``."""
        ids = [self.index.get(t, self.unk) for t in tokens]
        return [self.start, *ids, self.end] if bos_eos else ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Words of ``ids`` up to the first ``<end>``; ``<start>`` and ``<pad>`` are skipped."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.end:
                break
            if i in (self.start, self.pad):
                continue
            out.append(self.words[i] if 0 <= i < len(self.words) else UNK)
        return out
