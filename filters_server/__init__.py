"""dsio-filters server: an open implementation of the Dentsply Sirona Intraoral Filters API v1."""

__version__ = "0.1.0"
