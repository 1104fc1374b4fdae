"""Finding and masking personal data in free text, on Microsoft Presidio.

A leaf library: it knows nothing of the catalog, the API or the database. Nothing here fetches
anything at run time: tldextract (behind Presidio's email validation) is pointed at its bundled
public suffix list before Presidio is imported, and spaCy models must already be installed.
"""

import os

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from pii.config import DEFAULT_MODEL, OperatorSpec, ScannerConfig, detector_version  # noqa: E402
from pii.errors import ModelNotInstalledError, ScannerConfigError  # noqa: E402
from pii.offsets import masked_to_raw, raw_to_masked  # noqa: E402
from pii.parallel import ParallelScanner  # noqa: E402
from pii.recognizers import MaestroRecognizer, MoreCardsRecognizer  # noqa: E402
from pii.results import Finding, Masked, Replacement  # noqa: E402
from pii.scanner import Scanner, get_scanner  # noqa: E402

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
