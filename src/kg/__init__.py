"""kg: a reference-managed knowledge graph with search for health and social care policy writing."""

__version__ = "0.1.0"
