"""HTTP handlers, one module per resource family; they parse requests and serialise records only."""
