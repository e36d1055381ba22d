"""The gateway: the walk of one request (admit, failover, attempt, answer, settle), its process."""
