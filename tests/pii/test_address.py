"""Postal addresses (pii.address): what is masked as ADDRESS, and near misses that are not."""

import pytest

from pii.address import AddressRecognizer

RECOGNIZER = AddressRecognizer()


def addresses(text: str) -> list[str]:
    """What the recognizer finds on its own, above the default threshold (no context words)."""
    return [text[r.start : r.end] for r in RECOGNIZER.analyze(text, ["ADDRESS"]) if r.score >= 0.35]


@pytest.mark.parametrize(
    "address",
    [
        "12 Oak Street, Springfield, IL 62704",  # street type, place, region and ZIP
        "51 Franklin Street, Fifth Floor, Boston, MA 02110-1301 USA",
        "4 main rd.",  # lower case before an unambiguous street type
        "27 Abbey Road, London NW8 9AY",  # a UK postcode
        "Lindenstraße 4, 10115 Berlin",  # street type as the name's ending; postcode first
        "Storgatan 9",
        "14 rue de la Paix, Paris",  # street type written first, number before
        "Via Garibaldi 12, Milano",  # ... number after
        "ul. Polna 3",
        "Apt. 4C",
        "Flat 3",
        "17 Birkelunden 8\n Apt. 9B\n LILLEHAMMER\n Norway 2609",  # a block, the line above the unit too
        "Suite 210\nspringvale\nmadagascar 40121",  # lower-case place lines
        "P.O. Box 4521, Anchorage, AK 99501",
        "Postfach 1203",
        "PSC 1234, Box 5678\nAPO AE 09876",  # US military
        "Unit 2050 Box 4190",
        "USNS Comfort\nFPO AA 34090",
    ],
)
def test_addresses_are_found_whole(address):
    assert addresses(f"Please send it to:\n{address}\n\nThanks!") == [address]


def test_an_address_in_a_sentence_does_not_take_in_the_words_after_it(scanner):
    assert scanner.scan("I live at 12 Oak Street, and I love it.").text == "I live at <ADDRESS>, and I love it."
    assert scanner.scan("Ship it to Via Garibaldi 12, Milano. Thanks!").text == "Ship it to <ADDRESS>. Thanks!"
    assert addresses("Ship to 12 Oak Street Right Now please") == ["12 Oak Street"]


@pytest.mark.parametrize(
    "text",
    [
        "I walked 5 miles down the road today",  # no street name starts with "down"/"the"
        "it takes 2 hours each way",  # "way" needs a capitalised name
        "a 10 minute walk from here",
        "The tyre went flat 5 miles out",  # "Flat" only capitalised
        "We won 3 games in a row",
        "the match ended in a tie 2 weeks ago",  # "...tie" ends a street name of at least three letters
        "sent via email 24 hours later",  # "via" needs a capitalised name
        "Release 2 of the suite of tools",
        "We sold 60614 units last year",  # a bare postcode needs a context word
        "USS Enterprise",  # a ship alone is no address
    ],
)
def test_near_misses_are_not_addresses(text):
    assert addresses(text) == []


def test_a_bare_postcode_is_masked_only_after_a_context_word(pattern):
    assert pattern.scan("My zip code is 60614").text == "My zip code is <ADDRESS>"
    assert pattern.scan("We sold 60614 units last year.").findings == ()
    assert pattern.scan("See pull/14247 for the zip fix").findings == ()
