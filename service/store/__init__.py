"""Everything kept in Redis: the connection, the verdict cache, comment records and the queue."""
