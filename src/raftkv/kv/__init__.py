"""The replicated key-value state machine: commands, client sessions, snapshots."""

from .commands import Put, decode_command, encode_command
from .state_machine import KvResult, KvStateMachine

__all__ = ["KvResult", "KvStateMachine", "Put", "decode_command", "encode_command"]
