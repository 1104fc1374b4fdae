"""The lineage graph around a node, as Marquez serves it: jobs and datasets within ``depth`` steps.

A job and a dataset are joined when a run of the job read the dataset (dataset -> job) or wrote
it (job -> dataset). The neighbourhood is one recursive query over those edges taken both ways,
bounded by ``depth``; then the nodes it reached and the edges among them are read.
"""

import uuid

from sqlalchemy import and_, literal, or_, select, union
from sqlalchemy.orm import Session

from catalog.access.policy import Action, require
from catalog.core.errors import InvalidInput, NotFound
from catalog.core.models import LineageDatasetRow, LineageIoRow, LineageJobRow, LineageRunRow
from catalog.core.principal import Principal
from catalog.lineage_graph.schemas import LineageEdge, LineageGraph, LineageNode

MAX_DEPTH = 20


def lineage_graph(session: Session, *, principal: Principal, node_id: str, depth: int) -> LineageGraph:
    require(principal, Action.LINEAGE_READ)
    if not 0 <= depth <= MAX_DEPTH:
        raise InvalidInput(f"depth must be between 0 and {MAX_DEPTH}", {"depth": depth})
    start = _find_node(session, node_id)
    reached = set(session.scalars(select(_neighbourhood(start, depth).c.node)))
    jobs = {row.id: row for row in session.scalars(select(LineageJobRow).where(LineageJobRow.id.in_(reached)))}
    datasets = {row.id: row for row in session.scalars(select(LineageDatasetRow).where(LineageDatasetRow.id.in_(reached)))}
    names = {**{i: f"job:{j.namespace}:{j.name}" for i, j in jobs.items()},
             **{i: f"dataset:{d.namespace}:{d.name}" for i, d in datasets.items()}}  # fmt: skip
    edges = [LineageEdge(origin=names[a], destination=names[b]) for a, b in _edges(session, reached)]
    nodes = [_node(names[i], "JOB", j.namespace, j.name, False, edges) for i, j in jobs.items()]
    nodes += [_node(names[i], "DATASET", d.namespace, d.name, d.is_model, edges) for i, d in datasets.items()]
    return LineageGraph(graph=sorted(nodes, key=lambda node: node.id))


def _find_node(session: Session, node_id: str) -> uuid.UUID:
    """The node a Marquez id names. Namespaces may hold ':' ("s3://bucket"), so every split is tried."""
    kind, _, rest = node_id.partition(":")
    model = {"job": LineageJobRow, "dataset": LineageDatasetRow}.get(kind)
    if model is None or not rest:
        raise InvalidInput("nodeId is 'job:<namespace>:<name>' or 'dataset:<namespace>:<name>'", {"nodeId": node_id})
    splits = [(rest[:at], rest[at + 1 :]) for at, char in enumerate(rest) if char == ":"]
    if splits:  # every split in one statement; the first that names a node wins, as if tried in turn
        matches = session.execute(
            select(model.namespace, model.name, model.id).where(
                or_(*(and_(model.namespace == namespace, model.name == name) for namespace, name in splits))
            )
        ).all()
        found = {(namespace, name): id_ for namespace, name, id_ in matches}
        for split in splits:
            if split in found:
                return found[split]
    raise NotFound(f"no lineage node '{node_id}'", {"nodeId": node_id})


def _directed_edges():
    """(from, to) node ids: dataset -> job for what runs read, job -> dataset for what they wrote."""
    joined = select(LineageRunRow.job_id, LineageIoRow.dataset_id, LineageIoRow.direction).join(
        LineageRunRow, LineageRunRow.id == LineageIoRow.run_id
    ).subquery()
    reads = select(joined.c.dataset_id.label("origin"), joined.c.job_id.label("destination")).where(joined.c.direction == "input")
    writes = select(joined.c.job_id.label("origin"), joined.c.dataset_id.label("destination")).where(joined.c.direction == "output")
    return union(reads, writes).subquery()


def _neighbourhood(start: uuid.UUID, depth: int):
    edges = _directed_edges()
    both_ways = union(
        select(edges.c.origin.label("node"), edges.c.destination.label("other")),
        select(edges.c.destination.label("node"), edges.c.origin.label("other")),
    ).subquery()
    walk = select(literal(start, LineageJobRow.id.type).label("node"), literal(0).label("depth")).cte("walk", recursive=True)
    step = select(both_ways.c.other, walk.c.depth + 1).join(both_ways, both_ways.c.node == walk.c.node).where(walk.c.depth < depth)
    return walk.union(step)


def _edges(session: Session, nodes: set[uuid.UUID]) -> list[tuple[uuid.UUID, uuid.UUID]]:
    edges = _directed_edges()
    stmt = select(edges.c.origin, edges.c.destination).where(edges.c.origin.in_(nodes), edges.c.destination.in_(nodes))
    return sorted(session.execute(stmt).all())


def _node(node_id: str, kind: str, namespace: str, name: str, is_model: bool, edges: list[LineageEdge]) -> LineageNode:
    return LineageNode(
        id=node_id, type=kind, namespace=namespace, name=name, is_model=is_model,
        in_edges=[edge for edge in edges if edge.destination == node_id],
        out_edges=[edge for edge in edges if edge.origin == node_id],
    )  # fmt: skip
