"""Usage limits: plan windows and tier token buckets (pure core), their stores and headers."""
