"""Release gates: the policy a release must meet, and whether a release about to be cut meets it.

The policy is configuration (``LABELTRAIL_RELEASE_*``). A failing gate refuses the release with
every reason at once; an admin may release anyway with a stated reason, which is audited and
kept on the release.
"""

from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from catalog.dtos import GateResult


class ReleasePolicy(BaseSettings):
    """``LABELTRAIL_RELEASE_*``: which gates every release passes, and the contamination check's settings."""

    model_config = SettingsConfigDict(env_prefix="LABELTRAIL_RELEASE_", env_file=".env", extra="ignore")

    require_masked: bool = Field(default=True, description="no released record or label text still awaits the PII gate")
    require_guideline_version: bool = Field(default=False, description="every released label names its guideline")
    max_contamination: float | None = Field(
        default=None, ge=0, le=1, description="largest share of test records overlapping train (exact or near)"
    )
    near_duplicate_threshold: float = Field(default=0.8, gt=0, le=1, description="MinHash Jaccard for near-duplicates")


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
        pending = facts.pending_records + facts.pending_labels
        results.append(GateResult(
            gate="masked", passed=pending == 0,
            detail=f"{facts.pending_records} records and {facts.pending_labels} labels await PII masking",
        ))  # fmt: skip
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
