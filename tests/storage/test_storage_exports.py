"""The public surface the node codes against (the storage brief's fixed interface)."""

from __future__ import annotations

import inspect

import raftkv.storage as storage


def test_public_names_are_exactly_the_contract() -> None:
    assert sorted(storage.__all__) == [
        "DamagedStorage",
        "DurableStore",
        "Identity",
        "IdentityMismatch",
        "StorageError",
        "check_data_directory",
        "create_identity",
        "load_identity",
        "load_or_create_identity",
    ]


def test_store_methods_have_the_contract_shapes() -> None:
    store = storage.DurableStore
    assert inspect.iscoroutinefunction(store.persist)
    assert inspect.iscoroutinefunction(store.save_snapshot)
    assert inspect.iscoroutinefunction(store.close)
    assert not inspect.iscoroutinefunction(store.recover)
    assert not inspect.iscoroutinefunction(store.latest_snapshot)
    assert list(inspect.signature(store.persist).parameters) == [
        "self",
        "hard_state",
        "entries",
        "snapshot",
    ]
