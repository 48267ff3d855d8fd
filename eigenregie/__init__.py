"""The composition root: wires the services into the shared machinery (cosmicpython: bootstrap + entrypoints)."""
