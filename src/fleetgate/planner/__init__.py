"""The capacity planner: GPUs, models and megawatts in, offerable limits out."""
