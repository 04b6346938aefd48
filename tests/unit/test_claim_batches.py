"""How many waiting claims the ingest sends in one call of the claim script (store.ledger.batch_size): as many
as fit in CLAIM_BATCH_MAX_BYTES, and always at least one."""

from __future__ import annotations

import pytest

from store.ledger import batch_size

CASES = [
    # sizes of the waiting claims (oldest first), cap, how many go
    ([], 100, 0),
    ([10], 100, 1),
    ([10] * 10, 100, 10),  # exactly the cap
    ([10] * 11, 100, 10),
    ([60, 50, 10], 100, 1),
    ([150, 10], 100, 1),  # larger than the cap: alone
    ([10, 150], 100, 1),  # the large one waits for a call of its own
    ([40, 40, 40, 40], 100, 2),
]


@pytest.mark.parametrize(("sizes", "cap", "taken"), CASES)
def test_a_batch_takes_the_oldest_claims_that_fit(sizes: list[int], cap: int, taken: int) -> None:
    assert batch_size(sizes, cap) == taken


@pytest.mark.parametrize(("sizes", "cap", "taken"), CASES)
def test_no_batch_of_several_claims_exceeds_the_cap(sizes: list[int], cap: int, taken: int) -> None:
    rest, calls = list(sizes), []
    while rest:
        n = batch_size(rest, cap)
        calls.append(rest[:n])
        rest = rest[n:]
    assert [size for call in calls for size in call] == sizes  # every claim, once, in order
    assert all(sum(call) <= cap or len(call) == 1 for call in calls)
