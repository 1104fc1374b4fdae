"""Contamination: test and benchmark prompts that also occur, exactly or nearly, in the train split.

Exact means the same sha256 of the normalised prompt. Near means not exact, but a MinHash estimate
of the Jaccard similarity of 3-word shingles at or above the threshold, with the train candidates
found by MinHashLSH. Only digests and MinHashes are kept, never the texts, so a release of 200k
prompts can stream through: about 4 KB a train prompt (most of it the LSH's buckets, a set per
band), under 1 KB a test or benchmark prompt. The report does not depend on the order the prompts
arrive in: ties go to the smallest train record id, and examples are ordered by the test or
benchmark record id.
"""

import hashlib
import heapq
import itertools
import sys
import unicodedata
import uuid
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # datasketch is imported when a release is checked, not with the catalog
    from datasketch import LeanMinHash

from catalog.releases.schemas import ContaminationExample, ContaminationOut

SEED = 1  # fixed, so the same prompts give the same MinHashes, and the same report, on every run
SHINGLE_WORDS = 3
_BATCH = 1024  # prompts hashed per MinHash.bulk call: its set-up is shared, memory stays bounded
_ROLES = {"train": "train", "validation": None, "test": "test", "benchmark": "benchmark"}


@dataclass(frozen=True)
class Prompt:
    record_id: uuid.UUID
    split: str  # "train" | "validation" | "test" | "benchmark"
    text: str  # the prompt text as released (already PII-masked by the caller)


@dataclass(frozen=True)
class _Sketch:
    """What is kept of a prompt: its id, the sha256 of its normalised text, and its MinHash."""

    record_id: uuid.UUID
    digest: bytes
    minhash: "LeanMinHash"


def normalise(text: str) -> str:
    """What "exact" means: NFKC, casefold, punctuation (Unicode category P*) removed, whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.translate(_punctuation()).split())


@cache
def _punctuation() -> dict[int, None]:
    """A str.translate table deleting every Unicode punctuation character; built on first use (~0.2 s)."""
    return dict.fromkeys(c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)).startswith("P"))


def _shingles(normalised: bytes) -> list[bytes]:
    """The 3-word shingles of a normalised, UTF-8 encoded text; a shorter text is one shingle."""
    words = normalised.split()
    if len(words) < SHINGLE_WORDS:
        return [b" ".join(words)]
    return list(map(b" ".join, zip(*(words[i:] for i in range(SHINGLE_WORDS)))))


def find_contamination(
    prompts: Iterable[Prompt],
    *,
    benchmark: Iterable[Prompt] = (),
    threshold: float = 0.8,
    num_perm: int = 128,
    max_examples: int = 20,
) -> ContaminationOut:
    """Index the train prompts, then match every test and benchmark prompt against them.

    ``prompts`` is a release's records by split; every prompt in ``benchmark`` counts as a
    benchmark prompt whatever its ``split`` says. Validation prompts are skipped.
    """
    train = _TrainIndex(threshold, num_perm)
    queries: dict[str, list[_Sketch]] = {"test": [], "benchmark": []}
    for role, sketch in _sketch_all(_roles(prompts, benchmark), num_perm):
        if role == "train":
            train.add(sketch)
        else:
            queries[role].append(sketch)
    test = _matches(train, queries["test"], "train")
    bench = _matches(train, queries["benchmark"], "benchmark")
    return _report(len(queries["test"]), test, len(queries["benchmark"]), bench, threshold, max_examples)


def _roles(prompts: Iterable[Prompt], benchmark: Iterable[Prompt]) -> Iterator[tuple[str, Prompt]]:
    """Each prompt with the part it plays (train, test or benchmark); validation prompts dropped."""
    for prompt in prompts:
        if prompt.split not in _ROLES:
            raise ValueError(f"record {prompt.record_id}: unknown split {prompt.split!r}")
        if role := _ROLES[prompt.split]:
            yield role, prompt
    for prompt in benchmark:
        yield "benchmark", prompt


def _sketch_all(tagged: Iterable[tuple[str, Prompt]], num_perm: int) -> Iterator[tuple[str, _Sketch]]:
    """Hash the prompts batch by batch; each text is normalised and encoded once, then dropped.

    Shingles are hashed with CRC-32, not datasketch's default SHA-1, which took half the time:
    it is C called directly, the same in every process (unlike ``hash()``), and datasketch 2 mixes
    each value with MurmurHash3's finaliser before permuting, so the estimates are as good.
    """
    from datasketch import LeanMinHash, MinHash

    tagged = iter(tagged)
    while batch := list(itertools.islice(tagged, _BATCH)):
        encoded = [normalise(prompt.text).encode() for _, prompt in batch]
        minhashes = MinHash.bulk(map(_shingles, encoded), num_perm=num_perm, seed=SEED, hashfunc=zlib.crc32)
        for (role, prompt), data, minhash in zip(batch, encoded, minhashes):
            yield role, _Sketch(prompt.record_id, hashlib.sha256(data).digest(), LeanMinHash(minhash))


class _TrainIndex:
    """The train side: normalised-text digests for exact matches, an LSH and MinHashes for near ones."""

    def __init__(self, threshold: float, num_perm: int) -> None:
        from datasketch import MinHashLSH

        self.threshold = threshold
        self.lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.by_digest: dict[bytes, uuid.UUID] = {}
        self.minhashes: dict[uuid.UUID, LeanMinHash] = {}

    def add(self, sketch: _Sketch) -> None:
        known = self.by_digest.get(sketch.digest)
        if known is None or sketch.record_id < known:
            self.by_digest[sketch.digest] = sketch.record_id
        self.lsh.insert(sketch.record_id, sketch.minhash)
        self.minhashes[sketch.record_id] = sketch.minhash

    def match(self, sketch: _Sketch, against: str) -> ContaminationExample | None:
        """The exact match if there is one, else the most similar near match, else None."""
        exact = self.by_digest.get(sketch.digest)
        if exact is not None:
            return ContaminationExample(
                kind="exact", against=against, record_id=exact, other_id=sketch.record_id, similarity=1.0
            )
        return self._near(sketch, against)

    def _near(self, sketch: _Sketch, against: str) -> ContaminationExample | None:
        """LSH candidates are only likely to be similar: keep those whose estimate reaches the threshold."""
        scored = [(sketch.minhash.jaccard(self.minhashes[key]), key) for key in self.lsh.query(sketch.minhash)]
        near = [(similarity, key) for similarity, key in scored if similarity >= self.threshold]
        if not near:
            return None
        similarity, train_id = min(near, key=lambda pair: (-pair[0], pair[1]))
        return ContaminationExample(
            kind="near", against=against, record_id=train_id, other_id=sketch.record_id, similarity=similarity
        )


def _matches(train: _TrainIndex, sketches: list[_Sketch], against: str) -> list[ContaminationExample]:
    return [match for sketch in sketches if (match := train.match(sketch, against)) is not None]


def _report(
    test_records: int,
    test: list[ContaminationExample],
    benchmark_records: int,
    bench: list[ContaminationExample],
    threshold: float,
    max_examples: int,
) -> ContaminationOut:
    exact_test = _count(test, "exact")
    near_test = _count(test, "near")
    return ContaminationOut(
        test_records=test_records,
        exact_train_test=exact_test,
        near_train_test=near_test,
        benchmark_records=benchmark_records,
        exact_benchmark=_count(bench, "exact"),
        near_benchmark=_count(bench, "near"),
        share=(exact_test + near_test) / test_records if test_records else 0.0,
        threshold=threshold,
        examples=heapq.nsmallest(max_examples, test + bench, key=lambda example: example.other_id),
    )


def _count(matches: list[ContaminationExample], kind: str) -> int:
    return sum(1 for match in matches if match.kind == kind)
