"""Rich renderings of fleetdocs data; they take the JSON documents the operations return."""
