"""Infrastructure behind small interfaces: database, Redis, sessions, cache, rate limits, jobs."""
