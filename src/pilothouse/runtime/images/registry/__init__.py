"""Talking to registries with the OCI distribution API: settings, authentication, pull, push."""
