"""raftkv: a replicated key-value service on Raft, and a scenario framework to test it."""
