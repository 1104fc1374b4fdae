"""The lineage graph around a node, as Marquez serves it: jobs and datasets within ``depth`` steps.

A job and a dataset are joined when a run of the job read the dataset (dataset -> job) or wrote
it (job -> dataset). The neighbourhood is one recursive query over those edges taken both ways,
bounded by ``depth``, and the nodes it reached and the edges among them are read in the same
statement (the node the id names is found inside it too): one round trip.
"""


from sqlalchemy import Boolean, String, and_, case, cast, literal, null, or_, select, union, union_all
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
    rows = session.execute(_graph(_start(node_id), depth)).all()
    if not rows:  # the walk starts at the node, so it reaches at least that one when it exists
        raise NotFound(f"no lineage node '{node_id}'", {"nodeId": node_id})
    names = {row.id: f"{row.kind}:{row.namespace}:{row.name}" for row in rows if row.kind != "edge"}
    edges = [LineageEdge(origin=names[a], destination=names[b]) for a, b in sorted(
        (row.id, row.other) for row in rows if row.kind == "edge"
    )]  # fmt: skip
    nodes = [
        _node(names[row.id], row.kind.upper(), row.namespace, row.name, bool(row.is_model), edges)
        for row in rows
        if row.kind != "edge"
    ]
    return LineageGraph(graph=sorted(nodes, key=lambda node: node.id))


def _start(node_id: str):
    """The node a Marquez id names, as a scalar subquery (NULL when none does). Namespaces may
    hold ':' ("s3://bucket"), so every split is tried at once; the first that names a node wins,
    as if tried in turn."""
    kind, _, rest = node_id.partition(":")
    model = {"job": LineageJobRow, "dataset": LineageDatasetRow}.get(kind)
    if model is None or not rest:
        raise InvalidInput("nodeId is 'job:<namespace>:<name>' or 'dataset:<namespace>:<name>'", {"nodeId": node_id})
    splits = [(rest[:at], rest[at + 1 :]) for at, char in enumerate(rest) if char == ":"]
    if not splits:
        raise NotFound(f"no lineage node '{node_id}'", {"nodeId": node_id})
    names = [and_(model.namespace == namespace, model.name == name) for namespace, name in splits]
    return (
        select(model.id).where(or_(*names)).order_by(case(*((named, at) for at, named in enumerate(names)))).limit(1)
    ).scalar_subquery()


def _graph(start, depth: int):
    """One statement: the jobs and datasets the walk from ``start`` reaches (``kind`` job or
    dataset, ``id``, ``namespace``, ``name``, ``is_model``), and the edges among them (``kind``
    edge, ``id`` the origin, ``other`` the destination)."""
    walk = _neighbourhood(start, depth)
    reached = select(walk.c.node)
    edges = _directed_edges()
    no_text, no_flag, no_id = (cast(null(), kind) for kind in (String(), Boolean(), LineageJobRow.id.type))
    return union_all(
        select(
            literal("job").label("kind"), LineageJobRow.id.label("id"), LineageJobRow.namespace.label("namespace"),
            LineageJobRow.name.label("name"), literal(False).label("is_model"), no_id.label("other"),
        ).where(LineageJobRow.id.in_(reached)),
        select(
            literal("dataset"), LineageDatasetRow.id, LineageDatasetRow.namespace, LineageDatasetRow.name,
            LineageDatasetRow.is_model, no_id,
        ).where(LineageDatasetRow.id.in_(reached)),
        select(literal("edge"), edges.c.origin, no_text, no_text, no_flag, edges.c.destination).where(
            edges.c.origin.in_(reached), edges.c.destination.in_(reached)
        ),
    )  # fmt: skip


def _directed_edges():
    """(from, to) node ids: dataset -> job for what runs read, job -> dataset for what they wrote."""
    joined = select(LineageRunRow.job_id, LineageIoRow.dataset_id, LineageIoRow.direction).join(
        LineageRunRow, LineageRunRow.id == LineageIoRow.run_id
    ).subquery()
    reads = select(joined.c.dataset_id.label("origin"), joined.c.job_id.label("destination")).where(joined.c.direction == "input")
    writes = select(joined.c.job_id.label("origin"), joined.c.dataset_id.label("destination")).where(joined.c.direction == "output")
    return union(reads, writes).subquery()


def _neighbourhood(start, depth: int):
    edges = _directed_edges()
    both_ways = union(
        select(edges.c.origin.label("node"), edges.c.destination.label("other")),
        select(edges.c.destination.label("node"), edges.c.origin.label("other")),
    ).subquery()
    walk = select(start.label("node"), literal(0).label("depth")).cte("walk", recursive=True)
    step = select(both_ways.c.other, walk.c.depth + 1).join(both_ways, both_ways.c.node == walk.c.node).where(walk.c.depth < depth)
    return walk.union(step)


def _node(node_id: str, kind: str, namespace: str, name: str, is_model: bool, edges: list[LineageEdge]) -> LineageNode:
    return LineageNode(
        id=node_id, type=kind, namespace=namespace, name=name, is_model=is_model,
        in_edges=[edge for edge in edges if edge.destination == node_id],
        out_edges=[edge for edge in edges if edge.origin == node_id],
    )  # fmt: skip
