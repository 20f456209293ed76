"""The consistent hash ring that spreads sessions over Redis nodes."""

from collections import Counter

from extends.hashring import HashRing

KEYS = [f"session-{i}" for i in range(20000)]


def test_keys_spread_evenly_over_nodes():
    ring = HashRing(["redis-a", "redis-b", "redis-c", "redis-d"])
    counts = Counter(ring.node_for(key) for key in KEYS)
    assert set(counts) == {"redis-a", "redis-b", "redis-c", "redis-d"}
    for node, count in counts.items():
        assert abs(count - len(KEYS) / 4) < len(KEYS) / 4 * 0.2, (node, count)


def test_adding_a_node_moves_about_one_nth_of_the_keys():
    before = HashRing(["a", "b", "c", "d"])
    after = HashRing(["a", "b", "c", "d", "e"])
    moved = [key for key in KEYS if before.node_for(key) != after.node_for(key)]
    # Ideal is 1/5; every moved key must go to the new node, none between old nodes.
    assert 0.12 < len(moved) / len(KEYS) < 0.28
    assert all(after.node_for(key) == "e" for key in moved)


def test_removing_a_node_moves_only_its_keys():
    before = HashRing(["a", "b", "c"])
    after = HashRing(["a", "b"])
    for key in KEYS[:5000]:
        if before.node_for(key) != "c":
            assert after.node_for(key) == before.node_for(key)


def test_weights_shift_the_share():
    ring = HashRing({"big": 3, "small": 1})
    counts = Counter(ring.node_for(key) for key in KEYS)
    assert 0.65 < counts["big"] / len(KEYS) < 0.85


def test_same_key_same_node_across_rings():
    assert HashRing(["x", "y", "z"]).node_for("abc") == HashRing(["z", "y", "x"]).node_for("abc")
