"""Route planning engine: matrices, the PyVRP-backed planner and a greedy baseline."""
