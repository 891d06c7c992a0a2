"""The seeded simulator: clusters of the pure core under a virtual clock and a hostile network.

`raftkv-sim --seed N` (or `python -m raftkv.sim`) replays any run: one `random.Random(seed)`
draws every option (cluster size, timing, fault rates, workload) and the sub-seeds of the
components, so the same seed and flags give the same run, event for event.

A **step** is one iteration of the simulation loop: the virtual clock advances by `TICK_MS`
(10 ms); the network delivers every message due by then; the disks complete every write,
state store swap and snapshot copy due by then; every live node is ticked; faults, the operator
and the clients act; then every live node hands out its Readies until one waits for its disk. The checkers run as those things
happen, so the whole cluster is checked after every step. A **node-step** is one live node in
one step (steps times live nodes).

Layout: `network` (loss, duplication, delay and reordering, partitions), `storage` and `log`
(durable state vs the write in flight), `state_store` (the key-value state: synced now and then,
swapped by installs), `node` (one incarnation running the plan of each `Ready`, as the node's
driver does), `snapshot_send` (the state a snapshot to send carries, attached as production
does: often a later copy of the store), `cluster` (nodes, crash and restart), `faults`,
`operator` (membership and leadership transfer), `clients` and `history` (the client oracle),
`checkers/` (one safety rule per module), `runner` (safety phase, liveness phase, history
check), `main` (the CLI).
"""
