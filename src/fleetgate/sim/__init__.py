"""The discrete-event simulator: the real limits and routing code on a virtual clock.

Public API:

    load_scenario(path, seed=None) -> LoadedScenario          fleetgate.sim.scenario
    Simulation(loaded).run(progress=None) -> Recorder         fleetgate.sim.simulation
        recorder.result: the JSON-ready result mapping
    run_file(path, overrides=None, seed=None, progress=None) -> dict    fleetgate.sim.sweep
    run_many(path, override_sets, seed, workers, ray_address=None, on_done=None) -> list[dict]
    write_result(result, out_dir) / compare_rows(a, b)        fleetgate.sim.report

Modules: loop (event heap), scenario / scenario_types / faults_config (the file, read through
`fleetgate.configfile`), workload / draws / trace / sources (requests), batch_replica / group /
fleet_model (engines), fault_schedule, metrics / recorder / report (outputs); limits are the
gateway's own `Limiter`. The `fleetgate simulate` command is fleetgate.cli.simulate. See
docs/simulator.md.
"""
