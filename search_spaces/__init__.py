"""The search spaces and the warm-start portfolio that ship with autoimb."""
