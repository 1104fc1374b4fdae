"""Alembic migrations for the catalog's schema (target metadata: ``catalog.core.models.Base.metadata``)."""
