"""Domain objects and transactional queries: the only users of the database."""
