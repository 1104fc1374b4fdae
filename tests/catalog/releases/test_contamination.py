"""Contamination: exact and near overlap of test and benchmark prompts with train."""

import random
import uuid

import pytest

from catalog.releases.contamination import Prompt, find_contamination, normalise

_VOCABULARY = [f"word{n}" for n in range(5000)]


def _id(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def _words(seed: int, count: int = 40) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(_VOCABULARY) for _ in range(count)]


def _text(seed: int, count: int = 40) -> str:
    return " ".join(_words(seed, count))


def _one_word_changed(seed: int) -> str:
    words = _words(seed)
    words[20] = "changed"
    return " ".join(words)


def test_normalise_folds_case_width_punctuation_and_whitespace():
    assert normalise("  What's\tthe CAPITAL,  of\nFrance?! ") == "whats the capital of france"
    assert normalise("ｆｕｌｌｗｉｄｔｈ «Straße»") == "fullwidth strasse"


def test_duplicates_differing_only_in_case_punctuation_and_whitespace_are_exact():
    train = Prompt(_id(1), "train", "What is the capital of France? Answer briefly.")
    test = Prompt(_id(2), "test", "  what IS the capital of   france -- answer, briefly ")
    out = find_contamination([train, test])
    assert (out.exact_train_test, out.near_train_test, out.test_records) == (1, 0, 1)
    [example] = out.examples
    assert (example.kind, example.against, example.record_id, example.other_id) == ("exact", "train", _id(1), _id(2))
    assert example.similarity == 1.0


def test_short_prompts_are_one_shingle():
    prompts = [Prompt(_id(1), "train", "Hi there"), Prompt(_id(2), "test", "hi, there!"), Prompt(_id(3), "test", "bye")]
    out = find_contamination(prompts)
    assert (out.exact_train_test, out.near_train_test) == (1, 0)


def test_one_word_changed_in_a_40_word_prompt_is_near_not_exact():
    out = find_contamination([Prompt(_id(1), "train", _text(7)), Prompt(_id(2), "test", _one_word_changed(7))])
    assert (out.exact_train_test, out.near_train_test) == (0, 1)
    [example] = out.examples
    assert (example.kind, example.record_id, example.other_id) == ("near", _id(1), _id(2))
    assert 0.8 <= example.similarity < 1.0


def test_unrelated_prompts_are_neither():
    prompts = [Prompt(_id(n), "train", _text(n)) for n in range(1, 6)]
    prompts += [Prompt(_id(n), "test", _text(n)) for n in range(10, 15)]
    out = find_contamination(prompts)
    assert (out.exact_train_test, out.near_train_test, out.share, out.examples) == (0, 0, 0.0, [])
    assert out.test_records == 5


def test_a_test_prompt_repeating_another_test_prompt_is_not_contamination():
    prompts = [Prompt(_id(1), "train", _text(1)), Prompt(_id(2), "test", _text(2)), Prompt(_id(3), "test", _text(2))]
    out = find_contamination(prompts)
    assert (out.exact_train_test, out.near_train_test, out.test_records) == (0, 0, 2)


def test_validation_prompts_are_neither_indexed_nor_queried():
    prompts = [
        Prompt(_id(1), "validation", _text(1)),
        Prompt(_id(2), "test", _text(1)),  # repeats only a validation prompt
        Prompt(_id(3), "train", _text(3)),
        Prompt(_id(4), "validation", _text(3)),  # repeats train, but is not a test record
    ]
    out = find_contamination(prompts)
    assert (out.test_records, out.exact_train_test, out.near_train_test, out.examples) == (1, 0, 0, [])


def test_benchmark_prompts_count_apart_from_the_share():
    prompts = [Prompt(_id(1), "train", _text(1)), Prompt(_id(2), "train", _text(2)), Prompt(_id(3), "test", _text(3))]
    benchmark = [
        Prompt(_id(10), "benchmark", _text(1).upper()),
        Prompt(_id(11), "benchmark", _one_word_changed(2)),
        Prompt(_id(12), "benchmark", _text(12)),
    ]
    out = find_contamination(prompts, benchmark=benchmark)
    assert (out.benchmark_records, out.exact_benchmark, out.near_benchmark) == (3, 1, 1)
    assert (out.test_records, out.exact_train_test, out.near_train_test, out.share) == (1, 0, 0, 0.0)
    assert [(e.kind, e.against, e.record_id, e.other_id) for e in out.examples] == [
        ("exact", "benchmark", _id(1), _id(10)),
        ("near", "benchmark", _id(2), _id(11)),
    ]


def test_benchmark_split_in_the_release_stream_counts_as_benchmark():
    out = find_contamination([Prompt(_id(1), "train", _text(1)), Prompt(_id(2), "benchmark", _text(1))])
    assert (out.benchmark_records, out.exact_benchmark, out.test_records) == (1, 1, 0)


def test_share_is_overlapping_test_records_over_all_test_records():
    prompts = [Prompt(_id(1), "train", _text(1)), Prompt(_id(2), "train", _text(2))]
    prompts += [
        Prompt(_id(3), "test", _text(1)),
        Prompt(_id(4), "test", _one_word_changed(2)),
        Prompt(_id(5), "test", _text(5)),
        Prompt(_id(6), "test", _text(6)),
    ]
    out = find_contamination(prompts, threshold=0.75)
    assert (out.exact_train_test, out.near_train_test, out.test_records) == (1, 1, 4)
    assert out.share == 0.5
    assert out.threshold == 0.75


def test_share_is_zero_without_test_records():
    out = find_contamination([Prompt(_id(1), "train", _text(1))])
    assert (out.test_records, out.share) == (0, 0.0)


def test_a_record_counts_once_and_exact_wins_over_near():
    prompts = [
        Prompt(_id(1), "train", _one_word_changed(1)),
        Prompt(_id(2), "train", _text(1)),
        Prompt(_id(3), "train", _text(1) + "!"),
        Prompt(_id(4), "test", _text(1)),
    ]
    out = find_contamination(prompts)
    assert (out.exact_train_test, out.near_train_test) == (1, 0)
    [example] = out.examples
    assert (example.kind, example.record_id) == ("exact", _id(2))  # the smallest of the equal train records


def test_runs_are_deterministic_whatever_the_order_of_the_stream():
    prompts = [Prompt(_id(n), "train", _text(n)) for n in range(1, 30)]
    prompts += [Prompt(_id(100 + n), "test", _one_word_changed(n) if n % 2 else _text(n)) for n in range(1, 30)]
    first = find_contamination(prompts)
    assert first == find_contamination(prompts)
    assert first == find_contamination(iter(prompts[::-1]))
    assert first.exact_train_test + first.near_train_test > 20


def test_examples_stop_at_max_examples_in_other_id_order():
    prompts = [Prompt(_id(n), "train", _text(n)) for n in range(1, 6)]
    prompts += [Prompt(_id(100 - n), "test", _text(n)) for n in range(1, 6)]
    out = find_contamination(prompts, max_examples=3)
    assert out.exact_train_test == 5
    assert [e.other_id for e in out.examples] == [_id(95), _id(96), _id(97)]
    assert find_contamination(prompts, max_examples=0).examples == []


def test_an_unknown_split_is_refused():
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        find_contamination([Prompt(_id(1), "dev", "text")])
