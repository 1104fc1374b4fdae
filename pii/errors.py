"""Errors raised while building a scanner, before any text is scanned."""


class ScannerConfigError(ValueError):
    """The configuration cannot be turned into a working scanner."""


class ModelNotInstalledError(ScannerConfigError):
    """A configured spaCy model is not an installed package.

    Raised instead of letting Presidio call ``spacy download``: models come from the project's
    locked requirements, never from the network at run time.
    """
