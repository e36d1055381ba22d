"""`fleetgate demo`: three simulated sites, the gateway, and real SDK traffic, in one process."""
