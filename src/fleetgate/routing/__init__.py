"""Fleet routing: placement (isolation), routing policies, health and live fleet state."""
