"""OpenLineage: events in (training runs reporting what they consumed), events out (from the outbox), the graph."""
