"""Sensors: wait for Azure ML jobs and for blob changes, in poke or deferrable mode."""
