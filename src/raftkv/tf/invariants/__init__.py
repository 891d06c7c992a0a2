"""Raft's invariants as a scenario framework sees them from outside, one rule per file.

Each rule looks at one observation at a time (a node's `/state`, see `Observer`) and says
what it broke, if anything. `InvariantChecker` runs them all over every observation; the
`InvariantsExpectation` (on in every scenario) feeds it during the run.

- `election`: at most one leader per term (Raft §5.2, Election Safety);
- `monotonic`: a node's term never goes back; its commit and applied indexes never go back
  while the same process runs (they are volatile state, Figure 2 of the paper);
- `keys`: a key a node held never disappears, and never changes except to a value a write
  of the run may have put there after the one it replaces (State Machine Safety, §5.4.3).
"""

from .checker import InvariantChecker
from .violation import Violation

__all__ = ["InvariantChecker", "Violation"]
