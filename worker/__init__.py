"""The RQ worker entry point (`python -m worker`) and the periodic sweeps."""
