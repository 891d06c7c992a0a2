"""The replicated key-value state machine: commands, client sessions, the digest, and where the
state lives (in memory for the simulator, `StateStore` on disk for the node)."""

from .commands import Put, decode_command, encode_command
from .digest import StateDigest
from .sessions import KvResult, Session
from .state_machine import Applied, KvStateMachine
from .state_store import STATE_FILE, StateStore, StateStoreError

__all__ = [
    "STATE_FILE",
    "Applied",
    "KvResult",
    "KvStateMachine",
    "Put",
    "Session",
    "StateDigest",
    "StateStore",
    "StateStoreError",
    "decode_command",
    "encode_command",
]
