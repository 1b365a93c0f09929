"""Pure tests of the skip-tracing engine (no database)."""
