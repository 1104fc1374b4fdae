"""GraphQL at /graphql over the same services as REST; ``schema.py`` puts it together."""
