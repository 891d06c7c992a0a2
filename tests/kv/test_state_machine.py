from raftkv.kv import KvStateMachine, Put, encode_command


def put(key: str, value: str, client: str = "c1", serial: int = 1) -> bytes:
    return encode_command(Put(key, value, client, serial))


def test_put_returns_previous_value() -> None:
    sm = KvStateMachine()
    assert sm.apply(1, put("a", "1", serial=1)).previous is None
    assert sm.apply(2, put("a", "2", serial=2)).previous == "1"
    assert sm.get("a") == "2"
    assert sm.applied_index == 2


def test_retry_with_same_serial_returns_first_result_without_applying_again() -> None:
    sm = KvStateMachine()
    first = sm.apply(1, put("a", "1", serial=1))
    sm.apply(2, put("a", "x", client="other", serial=1))
    again = sm.apply(3, put("a", "1", serial=1))
    assert again == first
    assert sm.get("a") == "x"


def test_same_serial_other_request_is_a_conflict() -> None:
    sm = KvStateMachine()
    sm.apply(1, put("a", "1", serial=5))
    result = sm.apply(2, put("a", "2", serial=5))
    assert (result.ok, result.error) == (False, "serial_conflict")
    assert sm.get("a") == "1"


def test_serial_below_last_is_stale() -> None:
    sm = KvStateMachine()
    sm.apply(1, put("a", "1", serial=5))
    result = sm.apply(2, put("a", "2", serial=4))
    assert (result.ok, result.error) == (False, "stale_serial")
    assert sm.get("a") == "1"


def test_without_client_id_the_session_is_per_key() -> None:
    sm = KvStateMachine()
    sm.apply(1, put("a", "1", client="", serial=1))
    assert sm.apply(2, put("b", "1", client="", serial=1)).ok
    assert sm.apply(3, put("a", "1", client="", serial=1)).previous is None


def test_eviction_is_by_applied_order() -> None:
    sm = KvStateMachine(max_sessions=2)
    sm.apply(1, put("a", "1", client="c1"))
    sm.apply(2, put("a", "2", client="c2"))
    sm.apply(3, put("a", "3", client="c1", serial=2))
    sm.apply(4, put("a", "4", client="c3"))
    assert sm.session_count() == 2
    # c2 was touched least recently, so it went; a retry of its write now applies again.
    assert sm.apply(5, put("a", "2", client="c2")).previous == "4"


def test_snapshot_round_trip_keeps_data_and_sessions() -> None:
    sm = KvStateMachine()
    first = sm.apply(1, put("a", "1"))
    restored = KvStateMachine()
    restored.restore(sm.snapshot())
    assert restored.kv == {"a": "1"}
    assert restored.applied_index == 1
    assert restored.apply(2, put("a", "1")) == first
