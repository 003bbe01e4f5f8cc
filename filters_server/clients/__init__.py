"""Clients of other services the server talks to (the DSIO Modality API), kept apart from the domain."""
