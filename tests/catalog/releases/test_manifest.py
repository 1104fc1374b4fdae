"""The Merkle root and split assignment: the documented construction, and what it must resist."""

import hashlib
import uuid

import pytest

from catalog.releases.manifest import LabelEntry, Leaf, merkle_root
from catalog.releases.schemas import SplitRatios
from catalog.releases.splits import assign_split


def digest(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def node(left: str, right: str) -> str:
    return hashlib.sha256(b"\x01" + bytes.fromhex(left) + bytes.fromhex(right)).hexdigest()


def test_one_leaf_is_its_own_root_and_none_is_refused():
    assert merkle_root([digest(1)]) == digest(1)
    with pytest.raises(ValueError):
        merkle_root([])


def test_pairs_are_hashed_with_the_node_prefix_and_an_odd_leaf_is_carried_up():
    a, b, c = digest(1), digest(2), digest(3)
    assert merkle_root([a, b]) == node(a, b)
    assert merkle_root([a, b, c]) == node(node(a, b), c)


def test_a_duplicated_last_leaf_does_not_give_the_same_root():
    """The flaw of trees that pair an odd node with itself (CVE-2012-2459)."""
    a, b, c = digest(1), digest(2), digest(3)
    assert merkle_root([a, b, c]) != merkle_root([a, b, c, c])


def test_order_and_every_field_of_a_leaf_matter():
    leaf = Leaf(uuid.uuid4(), digest(1), digest(2), "presidio:1", "train", (LabelEntry(uuid.uuid4(), uuid.uuid4(), digest(3)),))
    moved = Leaf(leaf.record_id, leaf.record_sha256, leaf.masked_sha256, leaf.detector_version, "test", leaf.annotations)
    assert leaf.sha256() != moved.sha256()
    assert merkle_root([leaf.sha256(), moved.sha256()]) != merkle_root([moved.sha256(), leaf.sha256()])


def test_a_declared_split_wins_and_the_drawn_one_follows_the_ratios():
    ratios = SplitRatios(train=0.7, validation=0.1, test=0.2)
    assert assign_split("validation", digest(0), ratios) == "validation"
    drawn = [assign_split(None, digest(n), ratios) for n in range(20_000)]
    assert drawn == [assign_split(None, digest(n), ratios) for n in range(20_000)]
    shares = {split: drawn.count(split) / len(drawn) for split in ("train", "validation", "test")}
    assert shares == pytest.approx({"train": 0.7, "validation": 0.1, "test": 0.2}, abs=0.015)


def test_ratios_must_add_up_to_one():
    with pytest.raises(ValueError, match="add up to 1"):
        SplitRatios(train=0.5, validation=0.1, test=0.1)
