"""The discrete-event simulator: the real limits and routing code on a virtual clock."""
