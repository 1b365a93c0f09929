"""Skip tracing engine: parse uploaded phone books and call records, rank kin, associates and new numbers."""
