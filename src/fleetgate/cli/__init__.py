"""The `fleetgate` command line: the only package that imports typer.

`main` builds the application from one module per command group (serve, keys, engine, plan,
simulate, limits, fleet, perfmodel, demo); `admin_client` is how commands reach a running
gateway's admin API, `console` where they print, `config_option` the fleet-file option several
groups share.
"""
