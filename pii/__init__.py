"""Finding and masking personal data in free text, on Microsoft Presidio.

A leaf library: it knows nothing of the catalog, the API or the database. Nothing here fetches
anything at run time: tldextract (behind Presidio's email validation) is pointed at its bundled
public suffix list before Presidio is imported, and spaCy models must already be installed.

Presidio and spaCy (more than a second to import) load with the first name that needs them
(the scanner, the recognizers, a ner-mode configuration), so a program that only reads a
configuration, or never scans, does not pay for them.
"""

import importlib
import os
from typing import TYPE_CHECKING

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from pii.config import DEFAULT_MODEL, OperatorSpec, ScannerConfig, detector_version  # noqa: E402
from pii.errors import ModelNotInstalledError, ScannerConfigError  # noqa: E402
from pii.offsets import masked_to_raw, raw_to_masked  # noqa: E402
from pii.results import Finding, Masked, Replacement  # noqa: E402

if TYPE_CHECKING:
    from pii.parallel import ParallelScanner
    from pii.recognizers import MaestroRecognizer, MoreCardsRecognizer
    from pii.scanner import Scanner, get_scanner

# The names that import Presidio, and the module each comes from (loaded on first use).
_LAZY = {
    "ParallelScanner": "pii.parallel",
    "MaestroRecognizer": "pii.recognizers",
    "MoreCardsRecognizer": "pii.recognizers",
    "Scanner": "pii.scanner",
    "get_scanner": "pii.scanner",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'pii' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value

__all__ = [
    "DEFAULT_MODEL",
    "Finding",
    "MaestroRecognizer",
    "Masked",
    "ModelNotInstalledError",
    "MoreCardsRecognizer",
    "OperatorSpec",
    "ParallelScanner",
    "Replacement",
    "Scanner",
    "ScannerConfig",
    "ScannerConfigError",
    "detector_version",
    "get_scanner",
    "masked_to_raw",
    "raw_to_masked",
]
