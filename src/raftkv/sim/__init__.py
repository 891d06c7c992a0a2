"""The seeded simulator: clusters of the pure core under a virtual clock and network."""
