"""docs/access.md is the policy table, rendered: it fails here when someone changes one and not the other."""

from pathlib import Path

from catalog.access.doc import MEANING, render
from catalog.access.policy import Action

DOC = Path(__file__).resolve().parents[3] / "docs" / "access.md"


def test_every_action_says_what_it_means():
    assert set(MEANING) == set(Action)


def test_the_access_doc_matches_the_policy_table():
    assert DOC.read_text() == render(), "docs/access.md is stale: run `python -m catalog.access.doc > docs/access.md`"
