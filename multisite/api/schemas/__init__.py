"""JSON Schemas of request bodies, as data."""
