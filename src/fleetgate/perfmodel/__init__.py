"""The performance model: GPU and model catalogs, roofline step times, KV capacity (pure core)."""
