"""labeltrail's domain: models, services, authorization, import and the CLI."""
