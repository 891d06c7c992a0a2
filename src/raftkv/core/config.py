"""Settings of the core. Times are milliseconds of the injected monotonic clock."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CoreConfig:
    heartbeat_interval: int = 500
    election_timeout_min: int = 1500
    election_timeout_max: int = 3000
    max_append_entries: int = 512
    """At most this many entries in one AppendRequest."""
    max_append_bytes: int = 512 * 1024
    """At most about this many bytes of entry data in one AppendRequest (below the 1 MiB body limit)."""
    max_inflight: int = 4
    """AppendRequests carrying entries in flight per follower (pipelining)."""
    max_promote_lag: int = 1000
    """A learner further than this behind the leader is refused promotion (409 learner_lagging)."""
    pre_vote: bool = True
    check_quorum: bool = True
    campaign_on_leader_disconnect: bool = True
    """A follower told that its leader's connection ended abruptly (`connection_lost`)
    campaigns within election_timeout_min / 4 instead of waiting out its election timeout."""

    @property
    def disconnect_campaign_max(self) -> int:
        """The early campaign's random delay is drawn from [0, this)."""
        return max(1, self.election_timeout_min // 4)

    def validate(self) -> None:
        """Raise ValueError naming the first unusable field."""
        if self.heartbeat_interval <= 0:
            raise ValueError("heartbeat_interval must be > 0")
        if self.election_timeout_min <= self.heartbeat_interval:
            raise ValueError("election_timeout_min must be greater than heartbeat_interval")
        if self.election_timeout_max <= self.election_timeout_min:
            raise ValueError("election_timeout_max must be greater than election_timeout_min")
        if self.max_append_entries < 1:
            raise ValueError("max_append_entries must be >= 1")
        if self.max_inflight < 1:
            raise ValueError("max_inflight must be >= 1")
