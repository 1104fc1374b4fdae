"""Walking the lineage graph in SQL: recursive CTEs with a depth bound.

Upstream, from the runs that produced a model, through the datasets they read, to the runs
that wrote those datasets (at the version read, when one is named), and so on: so tokenising
and packing steps between a release and a training run do not break the trace. Downstream,
the same edges the other way, from the runs that read a release to the models they lead to.
"""

import uuid
from collections.abc import Collection

from sqlalchemy import CTE, Select, and_, literal, or_, select
from sqlalchemy.orm import aliased

from catalog.core.models import LineageIoRow, ModelVersionRow


def upstream_runs(run_ids: Collection[uuid.UUID], max_depth: int) -> CTE:
    """Every run upstream of ``run_ids`` (themselves included), at most ``max_depth`` steps away."""
    walk = select(LineageIoRow.run_id.label("run_id"), literal(0).label("depth")).where(
        LineageIoRow.run_id.in_(run_ids)
    ).cte("upstream", recursive=True)
    read, wrote = aliased(LineageIoRow), aliased(LineageIoRow)
    step = (
        select(wrote.run_id, walk.c.depth + 1)
        .join(read, and_(read.run_id == walk.c.run_id, read.direction == "input"))
        .join(wrote, and_(
            wrote.dataset_id == read.dataset_id, wrote.direction == "output",
            or_(read.version == "", wrote.version == read.version),
        ))  # fmt: skip
        .where(walk.c.depth < max_depth)
    )
    return walk.union(step)


def releases_read(walk: CTE) -> Select:
    """The releases the walked runs read."""
    return (
        select(LineageIoRow.release_id)
        .join(walk, walk.c.run_id == LineageIoRow.run_id)
        .where(LineageIoRow.direction == "input", LineageIoRow.release_id.is_not(None))
        .distinct()
    )


def downstream_runs(release_ids: Select, max_depth: int) -> CTE:
    """Every run downstream of the runs that read ``release_ids``, at most ``max_depth`` steps away."""
    walk = select(LineageIoRow.run_id.label("run_id"), literal(0).label("depth")).where(
        LineageIoRow.direction == "input", LineageIoRow.release_id.in_(release_ids)
    ).cte("downstream", recursive=True)
    wrote, read = aliased(LineageIoRow), aliased(LineageIoRow)
    step = (
        select(read.run_id, walk.c.depth + 1)
        .join(wrote, and_(wrote.run_id == walk.c.run_id, wrote.direction == "output"))
        .join(read, and_(
            read.dataset_id == wrote.dataset_id, read.direction == "input",
            or_(read.version == "", read.version == wrote.version),
        ))  # fmt: skip
        .where(walk.c.depth < max_depth)
    )
    return walk.union(step)


def models_of(walk: CTE) -> Select:
    """The ids of the model versions the walked runs produced."""
    return select(ModelVersionRow.id).where(ModelVersionRow.run_id.in_(select(walk.c.run_id)))
