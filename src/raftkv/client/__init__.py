"""Clients of a node's HTTP contract (DESIGN.md "HTTP contract", "Outcomes").

General layout:
- `NodeClient`: one node, every endpoint of the contract.
- `ClusterClient`: several nodes; finds the leader, follows `not_leader` hints, retries
  writes under the same (client_id, serial) until a deadline.
- `ApiError` (and `ApiTimeout`, also a `TimeoutError`): every failure, with its HTTP status
  (0 when no answer came), machine code and whether it may have been applied.
- `NodeState`: the typed `GET /state`; `ScanPage`: one page of `GET /kv/scan`
  (`NodeClient.scan`, or `NodeClient.scan_all` for every page).
"""

from .cluster_client import ClusterClient
from .errors import RETRYABLE_CODES, ApiError, ApiTimeout
from .models import NodeState, ScanPage
from .node_client import NodeClient

__all__ = [
    "RETRYABLE_CODES",
    "ApiError",
    "ApiTimeout",
    "ClusterClient",
    "NodeClient",
    "NodeState",
    "ScanPage",
]
