"""Triggers: async waits that run in the triggerer, serialisable, with no database access."""
