"""Hooks: the only layer that talks to Azure ML and Azure Storage."""
