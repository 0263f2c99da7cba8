"""A pin's sample memory, through the service's real download path: a bank beyond the pin's
budget is refused with a typed error while what is loaded plays on, SYNTH_STATS FreeMemory is
what the budget has left, and banks loaded and unloaded again and again give their memory back
to the system (this process's RSS)."""

from __future__ import annotations

import gc
import time

import pytest

from dmusd.banks.dls_writer import save_dls
from dmusd.banks.memory_budget import CEILING, FLOOR, MIB, budget_bytes, default_budget
from dmusd.config import PinConfig
from dmusd.errors import PropertyError, SampleMemoryError
from dmusd.kernel.ks import PropertyRequest
from dmusd.kernel.synth_props import KSPROPERTY_SYNTH, SYNTH_STATS, KSPROPSETID_Synth
from dmusd.service import parse_bank
from tests.daemon.test_service import ORGAN, TIMGM, Rig, config, fundamental, rms_db
from tests.support import resident_mb
from tests.synth.test_stream import sine_bank

COPIES = 4  # TimGM6mb copies loaded at once: about 44 MiB of samples, well above RSS noise
CYCLES = 2


@pytest.fixture
def rig_of():
    rigs: list[Rig] = []

    def make(*pins: PinConfig) -> Rig:
        rigs.append(Rig(config(*pins)))
        return rigs[-1]

    yield make
    for rig in rigs:
        rig.close()


def wait_until(condition, seconds: float = 5.0) -> None:
    """The late collector frees unloaded waves on its own thread, a tenth of a second apart."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the unloaded samples were never freed"
        time.sleep(0.02)


def free_memory(live) -> int:
    request = PropertyRequest.get(
        KSPROPSETID_Synth, KSPROPERTY_SYNTH.RUNNINGSTATS, SYNTH_STATS.SIZE
    )
    return SYNTH_STATS.unpack(live.request(request).value).FreeMemory


def test_the_default_budget_is_a_quarter_of_the_memory_within_its_bounds():
    assert FLOOR <= default_budget() <= CEILING
    assert budget_bytes(0) == default_budget() and budget_bytes(300) == 300 * MIB


def test_a_bank_beyond_the_budget_is_refused_and_what_is_loaded_plays_on(rig_of, tmp_path):
    sine = tmp_path / "sine.dls"
    save_dls(sine_bank(), sine)
    rig = rig_of(PinConfig("a", banks=(str(sine),), reverb=False, chorus=False, sample_memory_mb=4))
    live = rig.service.pins["a"]
    downloads = live.stream.downloads
    held = downloads.sample_memory
    assert 0 < held < 4 * MIB and free_memory(live) == 4 * MIB - held
    rig.send("a", 1, 0x90, 69, 100)  # A4 on the sine, held through the refused load
    before = rig.render(0.3)[RATE_TENTH:]
    with pytest.raises(SampleMemoryError) as refused:
        rig.service.load_bank("a", TIMGM)  # about 11 MiB of samples
    error = refused.value
    assert isinstance(error, PropertyError) and error.status == "STATUS_INSUFFICIENT_RESOURCES"
    message = str(error)
    assert "pin 'a'" in message and "budget of 4.0 MiB" in message
    assert f"a wave of {error.size} bytes" in message or "MiB does not fit" in message
    # the waves that went in before the refusal come out again; the sine stays
    after = rig.render(0.3)
    wait_until(lambda: downloads.sample_memory == held)
    assert [bank.path for bank in live.banks] == [str(sine)]
    assert free_memory(live) == 4 * MIB - held
    assert abs(rms_db(after) - rms_db(before)) < 0.5  # the held note sounded on, unchanged
    assert abs(fundamental(after) - 440.0) < 5
    rig.send("a", 1, 0x90, 81, 100)  # and a new note plays
    assert rms_db(rig.render(0.3)[RATE_TENTH:]) > rms_db(before) - 1


def test_loading_and_unloading_a_large_bank_gives_its_memory_back(rig_of):
    rig = rig_of(PinConfig("gm", banks=(TIMGM,), reverb=False, chorus=False))
    live = rig.service.pins["gm"]
    downloads = live.stream.downloads
    held = downloads.sample_memory  # TimGM6mb, from the config
    parsed = parse_bank(TIMGM)  # parsed once: the downloads are what is measured
    rig.send("gm", 1, 0xC0, ORGAN)
    rig.send("gm", 1, 0x90, 60, 100)  # a note sounds through every load and unload
    rig.render(0.1)
    gc.collect()
    start = resident_mb()
    figures = []
    for cycle in range(CYCLES):
        banks = [live.download(parsed, 100 * cycle + i) for i in range(COPIES)]
        rig.render(0.05)
        assert downloads.sample_memory == (COPIES + 1) * held
        loaded = resident_mb()
        for bank in banks:
            live.unload(bank)
        rig.render(0.05)  # the engine moves past the tables that could reach them
        wait_until(lambda: downloads.sample_memory == held)
        gc.collect()
        figures.append((round(loaded - start), round(resident_mb() - start)))
        assert loaded > start + 0.8 * COPIES * held / MIB, figures  # the copies were resident
        assert resident_mb() < start + 30, figures  # MiB above the start, after each unload
    assert rms_db(rig.render(0.1)) > -40  # the organ note still sounds


RATE_TENTH = 4800  # samples: skip the note's attack
