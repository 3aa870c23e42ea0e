from fleetdocs.cli.main import run

run()
