"""Release gates: the policy a release must meet, and whether a release about to be cut meets it.

The policy is configuration (``LABELTRAIL_RELEASE_*``). A failing gate refuses the release with
every reason at once; an admin may release anyway with a stated reason, which is audited and
kept on the release.
"""

from dataclasses import dataclass

from catalog.core.config import ReleasePolicy
from catalog.releases.schemas import GateResult


@dataclass(frozen=True)
class ReleaseFacts:
    """What the gates look at, counted over the release about to be cut."""

    pending_records: int
    pending_labels: int
    labels_without_guideline: int
    contamination_share: float


def evaluate(policy: ReleasePolicy, facts: ReleaseFacts) -> list[GateResult]:
    """The result of every gate the policy turns on."""
    results = []
    if policy.require_masked:
        results.append(masking_gate(facts.pending_records, facts.pending_labels))
    if policy.require_guideline_version:
        results.append(GateResult(
            gate="guideline_version", passed=facts.labels_without_guideline == 0,
            detail=f"{facts.labels_without_guideline} labels name no guideline version",
        ))  # fmt: skip
    if policy.max_contamination is not None:
        results.append(GateResult(
            gate="contamination", passed=facts.contamination_share <= policy.max_contamination,
            detail=f"{facts.contamination_share:.4f} of test records overlap train (at most {policy.max_contamination})",
        ))  # fmt: skip
    return results


def masking_gate(pending_records: int, pending_labels: int) -> GateResult:
    """No released record or label text still awaits the PII gate."""
    return GateResult(
        gate="masked", passed=pending_records + pending_labels == 0,
        detail=f"{pending_records} records and {pending_labels} labels await PII masking",
    )  # fmt: skip
