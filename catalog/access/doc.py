"""Renders ``docs/access.md`` from the policy table, so the document cannot drift from the code.

Regenerate with ``python -m catalog.access.doc > docs/access.md``; a test fails when it is stale.
"""

from catalog.access.policy import DATASET_ONLY_ROLES, GLOBAL_ACTIONS, POLICY, Action, Reach
from catalog.core.principal import Role

MEANING: dict[Action, str] = {
    Action.DATASET_READ: "see a dataset, its guidelines, records (masked without `text:read_raw`), "
    "annotations and their history, releases (their manifests, profiles, diffs and exports)",
    Action.DATASET_CREATE: "create a dataset",
    Action.GUIDELINE_CREATE: "add a guideline version",
    Action.RECORD_CREATE: "add records",
    Action.RECORD_RETIRE: "retire records",
    Action.IMPORT_RUN: "import a file (CLI or REST)",
    Action.ANNOTATION_CREATE: "annotate a record",
    Action.ANNOTATION_EDIT: "edit an annotation (a new revision)",
    Action.ANNOTATION_REVIEW: "accept or reject an annotation (never one's own)",
    Action.READ_RAW: "receive record text unmasked; every such read is audited",
    Action.AUDIT_READ: "read and export the audit log and its seals",
    Action.PRINCIPAL_MANAGE: "create principals, grant and revoke roles, issue, expire, rotate and revoke API keys",
    Action.SUBJECT_ERASE: "erase a data subject's raw text in every dataset (GDPR); provenance stays",
    Action.RELEASE_CREATE: "cut a release of a dataset (it must pass the release gates)",
    Action.RELEASE_OVERRIDE: "cut a release despite failing gates, with a reason that is audited",
    Action.LINEAGE_WRITE: "report OpenLineage events (training runs) to `POST /api/v1/lineage`",
    Action.LINEAGE_READ: "see models, their traces to releases and labels, impact, and the lineage graph",
}
_CELL = {Reach.ANY: "yes", Reach.OWN: "own"}


def render() -> str:
    roles = list(Role)
    lines = [
        "# Access: roles × actions",
        "",
        "<!-- Generated from catalog/access/policy.py by `python -m catalog.access.doc > docs/access.md`; "
        "do not edit by hand. -->",
        "",
        "Deny by default: an action a role's row does not grant is refused. `yes` grants the action on any "
        "resource within the role's scope; `own` only on resources the principal made.",
        "",
        "A role is held **globally** or **on one dataset**. A role on a dataset grants its actions on that "
        "dataset only; a dataset on which a principal holds no role that can read it does not exist for "
        "that principal (404, never 403).",
        "",
        "| action | " + " | ".join(f"`{role.value}`" for role in roles) + " | meaning |",
        "|---|" + "---|" * len(roles) + "---|",
    ]
    for action in Action:
        cells = [_CELL.get(POLICY[role].get(action), "") for role in roles]
        scope = " (global roles only)" if action in GLOBAL_ACTIONS else ""
        lines.append(f"| `{action.value}`{scope} | " + " | ".join(cells) + f" | {MEANING[action]} |")
    lines += [
        "",
        "Actions marked *global roles only* concern the catalog as a whole: a role held on a dataset never "
        "grants them.",
        "",
        "Roles granted per dataset only: " + ", ".join(f"`{role.value}`" for role in sorted(DATASET_ONLY_ROLES))
        + ". Annotators and reviewers work on the datasets they are assigned to and nowhere else.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
