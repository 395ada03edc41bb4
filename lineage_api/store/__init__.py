"""All SQL of the lineage API: lineage operations and graph queries, catalog reads, derivation writes."""
