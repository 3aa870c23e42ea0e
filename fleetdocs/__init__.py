"""fleetdocs: serverless fleet management on iroh-docs."""

__version__ = "0.1.0"
