"""The HTTP/1.1 client the gateway talks to backends with: connection pool, requests, streams."""
