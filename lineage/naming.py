"""How labeltrail's outgoing events name their jobs and datasets (OpenLineage's naming conventions).

A dataset's namespace is its datasource, ``scheme://authority``: labeltrail's is the setting
``LABELTRAIL_LINEAGE_NAMESPACE`` (``labeltrail://localhost`` unless set; use the host and port
people reach this catalog at, and never change it, or lineage splits in two). The name is the
labeltrail dataset's name. A release is that same dataset with the ``version`` facet's
``datasetVersion`` set to its tag: ``lineage.derive`` resolves a training run's input named so to
the release. A file an import read is in the ``file`` namespace, named as the importer gave it.

Jobs share the catalog's namespace: ``<dataset>.import``, ``<dataset>.release``, and
``pii.masking`` and ``pii.erasure``, which reach several datasets at once.
"""

from importlib.metadata import version

FILE_NAMESPACE = "file"
VERSION = version("labeltrail")
PRODUCER = f"https://labeltrail.dev/labeltrail/{VERSION}"  # the `producer` of every event and facet we write


def import_job(dataset: str) -> str:
    return f"{dataset}.import"


def release_job(dataset: str) -> str:
    return f"{dataset}.release"


MASKING_JOB = "pii.masking"
ERASURE_JOB = "pii.erasure"
