"""The CLI's administration commands (``users``, ``keys``, ``audit``), run inside the test's
rolled-back transaction; keys they print are tried over HTTP with the test client."""

import json
import re
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from api.cli.support import operator_name
from catalog.core.config import Settings
from catalog.core.models import AuditEntryRow, AuditSealRow, utcnow
from catalog.core.principal import Role
from tests.conftest import TEST_SEALER
from tests.support.builders import TEXT_SCHEMA, undone

KEY_LINE = re.compile(r"^lt_[0-9a-f]{16}_[A-Za-z0-9_-]{32,}$")


@pytest.fixture(scope="module")
def made_datasets(module_actors) -> dict[str, str]:
    """Datasets named alpha and beta, made by the data steward once per module and backend: name → id."""
    steward = module_actors(Role.DATA_STEWARD)
    return {name: steward.dataset(name, TEXT_SCHEMA)["id"] for name in ("alpha", "beta")}


@pytest.fixture
def sessions(module_sessions, made_datasets):
    with undone(module_sessions):
        yield module_sessions


@pytest.fixture
def datasets(made_datasets, sessions) -> dict[str, str]:
    """Datasets named alpha and beta: name → id."""
    return made_datasets


def operator() -> str:
    """The principal the CLI acts as when no ``--as`` is given: the operating-system user."""
    return f"os:{operator_name()}"


def ok(result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def refused(result, message: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output


def key_printed(result) -> str:
    """The key a command printed: alone, on the last line."""
    lines = ok(result).strip().splitlines()
    assert len(lines) == 2 and "shown only now" in lines[0], lines
    assert KEY_LINE.match(lines[-1]), lines[-1]
    return lines[-1]


def key_id_of(key: str) -> str:
    return key.split("_", 2)[1]


def me(client, key: str):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})


def status(client, key: str) -> int:
    return me(client, key).status_code


def listed_roles(cli) -> dict[str, str]:
    """``users list`` as name → roles column."""
    lines = ok(cli("users", "list")).strip().splitlines()
    return dict(line.split("\t") for line in lines)


def listed_keys(cli, name: str) -> dict[str, list[str]]:
    """``keys list NAME`` as key id → the other columns."""
    lines = ok(cli("keys", "list", name)).strip().splitlines()
    return {line.split("\t")[0]: line.split("\t")[1:] for line in lines}


# --- users --------------------------------------------------------------------------------


def test_users_create_with_several_roles_grants_each_and_prints_the_key_last(cli, client):
    result = cli("users", "create", "mia", "--role", "ml_engineer", "--role", "compliance_officer")
    key = key_printed(result)
    assert "created mia (ml_engineer, compliance_officer)" in result.stdout
    body = me(client, key).json()
    assert (body["name"], body["roles"], body["dataset_roles"]) == ("mia", ["compliance_officer", "ml_engineer"], {})


def test_users_create_on_a_dataset_grants_there_only(cli, client, datasets):
    key = key_printed(cli("users", "create", "rev", "--role", "reviewer", "--dataset", "alpha"))
    body = me(client, key).json()
    assert body["roles"] == [] and body["dataset_roles"] == {datasets["alpha"]: ["reviewer"]}
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get(f"/api/v1/datasets/{datasets['alpha']}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/datasets/{datasets['beta']}", headers=headers).status_code == 404


def test_users_create_without_roles_makes_a_principal_that_can_only_say_who_it_is(cli, client, datasets):
    result = cli("users", "create", "bare")
    key = key_printed(result)
    assert "(no roles)" in result.stdout
    assert me(client, key).json()["roles"] == []
    listed = client.get("/api/v1/datasets", headers={"Authorization": f"Bearer {key}"})
    assert listed.status_code == 200 and listed.json()["items"] == []


def test_users_create_on_an_unknown_dataset_exits_2_and_creates_nothing(cli, datasets):
    refused(cli("users", "create", "ann", "--role", "annotator", "--dataset", "nope"), "dataset 'nope' not found")
    assert "ann" not in listed_roles(cli)


def test_users_create_with_a_key_expiry_sets_it(cli, client):
    before = utcnow()
    key = key_printed(cli("users", "create", "temp", "--role", "ml_engineer", "--expires-in-days", "7"))
    assert status(client, key) == 200
    expires, revoked = listed_keys(cli, "temp")[key_id_of(key)][1:3]
    assert revoked == "revoked=-"
    ends = datetime.fromisoformat(expires.removeprefix("expires="))
    assert before + timedelta(days=7) - timedelta(seconds=1) <= ends <= utcnow() + timedelta(days=7)


def test_users_list_shows_roles_by_dataset_name_or_star(cli, datasets):
    ok(cli("users", "create", "mixed", "--role", "ml_engineer"))
    ok(cli("users", "grant", "mixed", "annotator", "--dataset", "alpha"))
    ok(cli("users", "grant", "mixed", "reviewer", "--dataset", "beta"))
    ok(cli("users", "create", "bare"))
    roles = listed_roles(cli)
    assert set(roles["mixed"].split(", ")) == {
        "ml_engineer@*", "annotator@alpha", "reviewer@beta",
    }
    assert roles["bare"] == "-"
    assert roles["system"] == "admin@*"
    assert roles[operator()] == "admin@*"  # the host's operator the command ran as
    assert roles["data_steward"] == "data_steward@*"
    assert not [line for line in roles.values() if "lt_" in line]


def test_users_list_hides_revoked_bindings(cli, datasets):
    ok(cli("users", "create", "ann", "--role", "annotator", "--dataset", "alpha"))
    ok(cli("users", "revoke", "ann", "annotator", "--dataset", "alpha"))
    assert listed_roles(cli)["ann"] == "-"


def test_users_grant_takes_effect_on_the_next_request(cli, client, datasets):
    key = key_printed(cli("users", "create", "ann"))
    result = cli("users", "grant", "ann", "annotator", "--dataset", "alpha")
    assert "granted annotator to ann on alpha (binding " in ok(result)
    binding = re.search(r"binding ([0-9a-f-]{36})", result.stdout).group(1)
    assert uuid.UUID(binding)
    assert me(client, key).json()["dataset_roles"] == {datasets["alpha"]: ["annotator"]}
    assert "granted compliance_officer to ann globally" in ok(cli("users", "grant", "ann", "compliance_officer"))
    assert me(client, key).json()["roles"] == ["compliance_officer"]


def test_users_grant_refuses_duplicates_global_dataset_roles_and_unknown_names(cli, datasets):
    ok(cli("users", "create", "ann", "--role", "annotator", "--dataset", "alpha"))
    refused(cli("users", "grant", "ann", "annotator", "--dataset", "alpha"), "already holds annotator")
    refused(cli("users", "grant", "ann", "reviewer"), "granted per dataset only")
    refused(cli("users", "grant", "ghost", "ml_engineer"), "no principal named 'ghost'")
    refused(cli("users", "grant", "ann", "reviewer", "--dataset", "nope"), "dataset 'nope' not found")
    wrong_role = cli("users", "grant", "ann", "wizard")
    assert wrong_role.exit_code == 2 and "wizard" in wrong_role.stderr
    assert listed_roles(cli)["ann"] == "annotator@alpha"


def test_users_revoke_removes_exactly_the_named_binding(cli, client, datasets):
    key = key_printed(cli("users", "create", "ann", "--role", "annotator", "--dataset", "alpha"))
    ok(cli("users", "grant", "ann", "annotator", "--dataset", "beta"))
    assert "revoked annotator from ann" in ok(cli("users", "revoke", "ann", "annotator", "--dataset", "alpha"))
    assert me(client, key).json()["dataset_roles"] == {datasets["beta"]: ["annotator"]}
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get(f"/api/v1/datasets/{datasets['alpha']}", headers=headers).status_code == 404


def test_users_revoke_of_a_role_not_held_exits_2_saying_so(cli, client, datasets):
    key = key_printed(cli("users", "create", "mia", "--role", "ml_engineer"))
    ok(cli("users", "grant", "mia", "reviewer", "--dataset", "alpha"))
    refused(cli("users", "revoke", "mia", "compliance_officer"), "mia does not hold compliance_officer globally")
    refused(cli("users", "revoke", "mia", "ml_engineer", "--dataset", "alpha"), "mia does not hold ml_engineer on alpha")
    refused(cli("users", "revoke", "mia", "reviewer", "--dataset", "beta"), "mia does not hold reviewer on beta")
    refused(cli("users", "revoke", "ghost", "ml_engineer"), "no principal named 'ghost'")
    ok(cli("users", "revoke", "mia", "ml_engineer"))
    refused(cli("users", "revoke", "mia", "ml_engineer"), "mia does not hold ml_engineer globally")
    body = me(client, key).json()
    assert body["roles"] == [] and body["dataset_roles"] == {datasets["alpha"]: ["reviewer"]}


# --- keys ---------------------------------------------------------------------------------


@pytest.fixture
def first_key(cli) -> str:
    """The key ``users create`` printed for principal 'mia'."""
    return key_printed(cli("users", "create", "mia", "--role", "ml_engineer"))


def test_keys_create_prints_another_working_key_last(cli, client, first_key):
    result = cli("keys", "create", "mia")
    key = key_printed(result)
    assert key != first_key
    assert f"key {key_id_of(key)} for mia" in result.stdout
    assert me(client, key).json()["name"] == "mia"
    assert status(client, first_key) == 200


def test_keys_create_for_an_unknown_principal_exits_2(cli):
    result = cli("keys", "create", "ghost")
    refused(result, "no principal named 'ghost'")
    assert "lt_" not in result.stdout


def test_keys_list_shows_every_key_and_never_a_secret(cli, client, first_key):
    second = key_printed(cli("keys", "create", "mia"))
    output = ok(cli("keys", "list", "mia"))
    for key in (first_key, second):
        assert key.split("_", 2)[2] not in output
    assert "lt_" not in output
    listed = listed_keys(cli, "mia")
    assert set(listed) == {key_id_of(first_key), key_id_of(second)}
    for created, expires, revoked, last_used in listed.values():
        assert datetime.fromisoformat(created).tzinfo is not None
        assert (expires, revoked, last_used) == ("expires=-", "revoked=-", "last_used=-")
    assert status(client, second) == 200
    listed = listed_keys(cli, "mia")
    assert listed[key_id_of(second)][3] != "last_used=-"
    assert datetime.fromisoformat(listed[key_id_of(second)][3].removeprefix("last_used="))
    assert listed[key_id_of(first_key)][3] == "last_used=-"


def test_keys_list_for_an_unknown_principal_exits_2(cli):
    refused(cli("keys", "list", "ghost"), "no principal named 'ghost'")


def test_keys_expire_in_the_past_stops_the_key(cli, client, first_key):
    spare = key_printed(cli("keys", "create", "mia"))
    assert status(client, first_key) == 200
    result = cli("keys", "expire", key_id_of(first_key), "--at", "2000-01-01T00:00:00+00:00")
    assert f"key {key_id_of(first_key)} expires at 2000-01-01T00:00:00+00:00" in ok(result)
    assert status(client, first_key) == 401
    assert status(client, spare) == 200
    assert listed_keys(cli, "mia")[key_id_of(first_key)][1] == "expires=2000-01-01T00:00:00+00:00"


def test_keys_expire_reads_a_time_without_zone_as_utc(cli, client, first_key):
    ok(cli("keys", "expire", key_id_of(first_key), "--at", "2999-01-01T00:00:00"))
    assert listed_keys(cli, "mia")[key_id_of(first_key)][1] == "expires=2999-01-01T00:00:00+00:00"
    assert status(client, first_key) == 200


def test_keys_rotate_prints_a_new_key_last_and_stops_the_old_one(cli, client, first_key):
    result = cli("keys", "rotate", key_id_of(first_key))
    new_key = key_printed(result)
    assert f"replaces {key_id_of(first_key)}" in result.stdout
    assert new_key != first_key
    assert me(client, new_key).json()["name"] == "mia"
    assert status(client, first_key) == 401
    assert set(listed_keys(cli, "mia")) == {key_id_of(first_key), key_id_of(new_key)}


def test_keys_rotate_with_grace_keeps_the_old_key_working(cli, client, first_key):
    new_key = key_printed(cli("keys", "rotate", key_id_of(first_key), "--grace-seconds", "3600"))
    assert status(client, first_key) == 200 and status(client, new_key) == 200
    assert listed_keys(cli, "mia")[key_id_of(first_key)][1] != "expires=-"


def test_keys_revoke_stops_the_key_and_cannot_be_repeated(cli, client, first_key):
    assert status(client, first_key) == 200
    assert f"key {key_id_of(first_key)} revoked" in ok(cli("keys", "revoke", key_id_of(first_key)))
    assert status(client, first_key) == 401
    assert listed_keys(cli, "mia")[key_id_of(first_key)][2] != "revoked=-"
    refused(cli("keys", "revoke", key_id_of(first_key)), "already revoked")
    refused(cli("keys", "rotate", key_id_of(first_key)), "already revoked")
    refused(cli("keys", "expire", key_id_of(first_key), "--at", "2999-01-01T00:00:00+00:00"), "already revoked")
    assert status(client, first_key) == 401
    assert set(listed_keys(cli, "mia")) == {key_id_of(first_key)}


@pytest.mark.parametrize(
    "command",
    [("expire", "--at", "2000-01-01T00:00:00+00:00"), ("rotate",), ("revoke",)],
    ids=["expire", "rotate", "revoke"],
)
def test_keys_commands_on_an_unknown_key_id_exit_2(cli, client, first_key, command):
    result = cli("keys", command[0], "0123456789abcdef", *command[1:])
    refused(result, "API key not found")
    assert "lt_" not in result.stdout
    assert status(client, first_key) == 200


def test_cli_changes_are_audited_as_the_host_operator(cli, sessions, datasets, first_key):
    ok(cli("users", "grant", "mia", "reviewer", "--dataset", "alpha"))
    ok(cli("users", "revoke", "mia", "reviewer", "--dataset", "alpha"))
    ok(cli("keys", "create", "mia"))
    ok(cli("keys", "rotate", key_id_of(first_key)))
    with sessions() as session:
        entries = session.scalars(
            select(AuditEntryRow).where(AuditEntryRow.action == "principal:manage").order_by(AuditEntryRow.seq)
        ).all()
        ours = [
            e for e in entries if e.details.get("name") == "mia" or e.details.get("operation") not in {"create", "provision"}
        ]
        [provisioned] = [e for e in entries if e.details.get("operation") == "provision"]
    assert [e.details["operation"] for e in ours] == ["create", "grant", "revoke", "key:create", "key:rotate"]
    assert {e.actor_name for e in ours} == {operator()}
    # The operator's principal was made on the CLI's first use, by the built-in admin, on record.
    assert (provisioned.actor_name, provisioned.details["name"]) == ("system", operator())
    assert ours[-1].details["replaced"] == key_id_of(first_key)


# --- audit --------------------------------------------------------------------------------


def head_seq(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.max(AuditEntryRow.seq))) or 0


def test_audit_seal_seals_the_current_head(cli, sessions, datasets):
    # Make sure the head is not one of the entries sealed on the way (every 5th).
    if head_seq(sessions) % TEST_SEALER.every == 0:
        ok(cli("users", "create", "filler"))
    head = head_seq(sessions)
    with sessions() as session:
        assert session.get(AuditSealRow, head) is None
        head_sha256 = session.get(AuditEntryRow, head).sha256
    assert ok(cli("audit", "seal")).strip() == f"sealed entry {head}"
    with sessions() as session:
        seal = session.get(AuditSealRow, head)
        assert seal is not None and seal.entry_sha256 == head_sha256
        assert seal.key_id == TEST_SEALER.key_id and TEST_SEALER.holds(head, head_sha256, seal.hmac_sha256)
        count = session.scalar(select(func.count()).select_from(AuditSealRow))
    # Sealing an already sealed head adds nothing.
    assert ok(cli("audit", "seal")).strip() == f"sealed entry {head}"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditSealRow)) == count


def test_audit_seal_without_a_key_exits_2(cli, sessions, datasets):
    unkeyed = Settings(database_url="sqlite://", log_json=True, log_level="WARNING")
    before = head_seq(sessions)
    with sessions() as session:
        seals = session.scalar(select(func.count()).select_from(AuditSealRow))
    result = cli("audit", "seal", settings=unkeyed)
    refused(result, "LABELTRAIL_AUDIT_SEAL_KEY is not set")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditSealRow)) == seals
    assert head_seq(sessions) == before


def test_audit_seals_writes_every_seal_as_json_lines(cli, sessions, datasets, tmp_path):
    # Enough entries for one seal on the way, and a head that is not sealed yet.
    fillers = 0
    while head_seq(sessions) <= TEST_SEALER.every or head_seq(sessions) % TEST_SEALER.every == 0:
        fillers += 1
        ok(cli("users", "create", f"filler-{fillers}"))
    ok(cli("audit", "seal"))
    output = tmp_path / "seals.jsonl"
    with sessions() as session:
        stored = session.scalars(select(AuditSealRow).order_by(AuditSealRow.seq)).all()
        expected = [(s.seq, s.entry_sha256, s.key_id, s.hmac_sha256) for s in stored]
    assert len(expected) >= 2  # one sealed on the way, one just now
    result = cli("audit", "seals", "--output", output)
    assert f"{len(expected)} seals written to {output}" in ok(result)
    lines = output.read_text().splitlines()
    assert output.read_text().endswith("\n")
    seals = [json.loads(line) for line in lines]
    assert [(s["seq"], s["entry_sha256"], s["key_id"], s["hmac_sha256"]) for s in seals] == expected
    assert all(set(s) == {"seq", "entry_sha256", "key_id", "hmac_sha256", "sealed_at"} for s in seals)
    assert all(TEST_SEALER.holds(s["seq"], s["entry_sha256"], s["hmac_sha256"]) for s in seals)


def test_audit_seals_without_output_prints_the_same_lines(cli, sessions, datasets, tmp_path):
    output = tmp_path / "seals.jsonl"
    ok(cli("audit", "seals", "--output", output))
    assert ok(cli("audit", "seals")) == output.read_text()


def test_audit_export_writes_only_the_matching_entries(cli, sessions, datasets, first_key, tmp_path):
    output = tmp_path / "export.jsonl"
    result = cli("audit", "export", "--output", output, "--action", "dataset:create")
    assert "2 entries written to" in ok(result)
    entries = [json.loads(line) for line in output.read_text().splitlines()]
    assert [e["action"] for e in entries] == ["dataset:create", "dataset:create"]
    assert [e["details"]["name"] for e in entries] == ["alpha", "beta"]
    assert [e["resource"] for e in entries] == [f"dataset:{datasets['alpha']}", f"dataset:{datasets['beta']}"]
    assert all(e["actor_name"] == "data_steward" and e["sha256"] for e in entries)
    # The export itself is on record, with its filter.
    with sessions() as session:
        last = session.scalar(select(AuditEntryRow).order_by(AuditEntryRow.seq.desc()).limit(1))
        assert (last.action, last.actor_name, last.details) == ("audit:export", operator(), {"action": "dataset:create"})


def test_audit_export_with_no_match_writes_an_empty_file(cli, datasets, tmp_path):
    output = tmp_path / "export.jsonl"
    assert "0 entries written to" in ok(cli("audit", "export", "--output", output, "--action", "nothing:here"))
    assert output.read_text() == ""


def test_audit_export_filters_by_actor_too(cli, datasets, first_key, tmp_path):
    output = tmp_path / "export.jsonl"
    ok(cli("audit", "export", "--output", output, "--actor", operator(), "--action", "principal:manage"))
    entries = [json.loads(line) for line in output.read_text().splitlines()]
    assert entries and {(e["actor_name"], e["action"]) for e in entries} == {(operator(), "principal:manage")}
    assert "mia" in [e["details"].get("name") for e in entries]
    assert first_key.split("_", 2)[2] not in output.read_text()
