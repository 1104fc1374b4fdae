"""The spaCy pipeline under the analyzer runs what Presidio reads, and no more."""

from pii import ScannerConfig
from pii.nlp import build_nlp_engine


def test_ner_mode_runs_no_parser_but_all_that_entities_and_lemmas_need():
    nlp = build_nlp_engine(ScannerConfig(mode="ner")).get_nlp("en")
    assert "parser" not in nlp.pipe_names
    assert {"tagger", "attribute_ruler", "lemmatizer", "ner"} <= set(nlp.pipe_names)
    doc = nlp("She phoned Maria Garcia about the numbers.")
    assert [(ent.text, ent.label_) for ent in doc.ents] == [("Maria Garcia", "PERSON")]
    assert [token.lemma_ for token in doc][:2] == ["she", "phone"]
    assert doc[-2].lemma_ == "number"
