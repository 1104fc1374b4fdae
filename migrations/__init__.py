"""Alembic migrations for the catalog's schema (target metadata: ``catalog.models.Base.metadata``)."""
