"""Disaster recovery kinds (docs/dr.md): plan discovery and checkpoints; one package, so that
they share the discovery rules while staying independent of every other kind."""
