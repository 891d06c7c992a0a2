"""History checkers: linearizability of per-key register histories (Wing-Gong/Lowe)."""
