"""The workload vocabulary the planner and the simulator share: the day curve and the latency SLO.

Pure: no I/O, no clock; callers pass the time (`now`) and their own `random.Random`.
"""
