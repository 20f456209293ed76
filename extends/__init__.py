"""Infrastructure behind small interfaces: database engine, Redis, sessions, cache, lease, jobs."""
