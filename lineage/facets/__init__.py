"""labeltrail's custom OpenLineage facets: each an attrs class beside the JSON Schema it follows."""
