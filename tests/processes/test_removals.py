"""The count of removals the --processes share: every process sees any process's removals."""

from __future__ import annotations

import os

import pytest

from filters_server.core.removals import Removals, shared_slots


def test_each_process_counts_in_its_own_slot_and_reads_the_sum():
    slots = shared_slots(3)
    first, second = Removals(slots, 0), Removals(slots, 2)
    assert first.generation() == second.generation() == 0
    first.count()
    second.count()
    second.count()
    assert first.generation() == second.generation() == 3
    assert list(slots) == [1, 0, 2]


def test_a_forked_process_counts_in_the_same_memory():
    slots = shared_slots(2)
    parent = Removals(slots, 0)
    pid = os.fork()
    if pid == 0:  # the child: count one removal and leave at once
        Removals(slots, 1).count()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert parent.generation() == 1


@pytest.mark.parametrize("slot", [-1, 2])
def test_a_slot_outside_the_shared_memory_is_refused(slot):
    with pytest.raises(ValueError):
        Removals(shared_slots(2), slot)
