"""The gateway shell: the walk of one request (auth, admit, route, relay, settle), its state."""
