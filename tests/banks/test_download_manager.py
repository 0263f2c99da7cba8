"""The per-pin download manager: handles, wave lifetime, voice references, GM yield, tables."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest

from dmusd.banks.download import build_instrument_download, build_wave_download
from dmusd.banks.download_manager import DownloadManager, download_instruments
from dmusd.banks.model import Instrument, make_patch
from dmusd.errors import BankError, PropertyError
from dmusd.synth.engine import Engine
from dmusd.synth.engine import layout as L
from tests.banks.builders import sample_bank


@pytest.fixture
def kit():
    return sample_bank(stereo=False).instruments[0x8000_0000]


def _load(manager, inst, wave_id=1, inst_id=2, gm=False):
    wave = inst.regions[0].wave
    wave_handle = manager.download(build_wave_download(wave, wave_id))
    inst_handle = manager.download(
        build_instrument_download(inst, inst_id, {id(wave): wave_id}, gm)
    )
    return wave_handle, inst_handle


def test_download_returns_handles_and_publishes_a_new_table(kit):
    manager = DownloadManager()
    before = manager.table
    wave_handle, inst_handle = _load(manager, kit)
    assert wave_handle != inst_handle and 0 not in (wave_handle, inst_handle)
    assert manager.table is not before and before.instruments == {}
    assert manager.table.generation > before.generation
    assert manager.table.find(0x8000_0000).name == "Kit"
    with pytest.raises(TypeError):
        manager.table.instruments[5] = kit  # published tables are read-only
    manager.unload(inst_handle)
    assert manager.table.find(0x8000_0000) is None
    with pytest.raises(PropertyError) as err:
        manager.unload(inst_handle)
    assert err.value.status == "STATUS_INVALID_HANDLE"


def test_instruments_need_their_waves_downloaded_first(kit):
    manager = DownloadManager()
    wave = kit.regions[0].wave
    with pytest.raises(BankError, match="names a wave on this pin"):
        manager.download(build_instrument_download(kit, 2, {id(wave): 1}))
    assert manager.handles == []


def test_a_dlid_cannot_be_downloaded_twice(kit):
    manager = DownloadManager()
    _load(manager, kit)
    with pytest.raises(PropertyError) as err:
        manager.download(build_wave_download(kit.regions[0].wave, 1))
    assert err.value.status == "STATUS_OBJECT_NAME_COLLISION"


def test_a_wave_stays_while_an_instrument_uses_it(kit):
    manager = DownloadManager()
    wave_handle, inst_handle = _load(manager, kit)
    playing = manager.table.find(0x8000_0000).regions[0].wave
    size = playing.nbytes
    manager.unload(wave_handle)  # deferred: the kit still uses it
    assert playing.frames > 0 and manager.sample_memory == size
    assert manager.table.find(0x8000_0000) is not None
    manager.unload(inst_handle)  # the last user goes, and the wave with it
    assert playing.frames == 0 and manager.sample_memory == 0


def test_sample_data_waits_for_the_last_voice_and_the_engine(kit):
    manager = DownloadManager()
    manager.engine_uses(manager.table.generation)
    wave_handle, inst_handle = _load(manager, kit)
    table = manager.table
    manager.engine_uses(table.generation)
    wave = table.find(0x8000_0000).regions[0].wave
    wave.acquire()  # a voice starts
    wave.acquire()  # and another
    manager.unload(inst_handle)
    manager.unload(wave_handle)
    assert manager.collect() == 0 and wave.frames > 0  # two voices and an old table
    manager.engine_uses(manager.table.generation)
    wave.release()
    assert manager.collect() == 0 and wave.frames > 0  # one voice left
    wave.release()
    freed = manager.collect()
    assert freed > 0 and wave.frames == 0 and manager.sample_memory == 0
    wave.release()  # an extra release never goes negative
    assert wave.voices == 0


def test_an_engine_on_an_old_table_keeps_the_data(kit):
    manager = DownloadManager()
    wave_handle, inst_handle = _load(manager, kit)
    manager.engine_uses(manager.table.generation)  # the engine can reach the kit
    wave = manager.table.find(0x8000_0000).regions[0].wave
    manager.unload(inst_handle)
    manager.unload(wave_handle)
    assert manager.collect() == 0 and wave.frames > 0
    manager.engine_uses(manager.table.generation)
    assert manager.collect() > 0 and wave.frames == 0


def test_gm_instruments_yield_to_user_instruments_with_the_same_patch(kit):
    manager = DownloadManager()
    wave = kit.regions[0].wave
    manager.download(build_wave_download(wave, 1))
    gm = Instrument(kit.patch, "GM kit", kit.regions)
    user = Instrument(kit.patch, "User kit", kit.regions)
    gm_handle = manager.download(build_instrument_download(gm, 2, {id(wave): 1}, gm=True))
    assert manager.table.find(kit.patch).name == "GM kit"
    user_handle = manager.download(build_instrument_download(user, 3, {id(wave): 1}))
    assert manager.table.find(kit.patch).name == "User kit"
    gm2 = Instrument(kit.patch, "GM kit 2", kit.regions)
    manager.download(build_instrument_download(gm2, 4, {id(wave): 1}, gm=True))
    assert manager.table.find(kit.patch).name == "User kit"  # GM never wins over a user one
    manager.unload(user_handle)
    assert manager.table.find(kit.patch).name == "GM kit 2"
    manager.unload(gm_handle)
    assert manager.table.find(kit.patch).name == "GM kit 2"


def test_table_fallbacks_follow_gm_rules():
    bank = sample_bank()
    manager = DownloadManager()
    download_instruments(manager, list(bank.instruments.values()))
    table = manager.table
    assert table.find(make_patch(0, drum=True) | 5 << 16).name == "Kit"  # any kit -> standard
    assert table.find(make_patch(89, msb=3)).name == "Stereo Pad"  # unknown bank -> bank 0
    assert table.find(make_patch(1)) is None


def test_whole_bank_downloads_share_waves_and_free_them_all():
    bank = sample_bank()
    manager = DownloadManager()
    handles = download_instruments(manager, list(bank.instruments.values()))
    waves = {id(r.wave): r.wave for i in manager.table.instruments.values() for r in i.regions}
    assert manager.sample_memory == sum(w.nbytes for w in waves.values())
    for handle in handles:
        manager.unload(handle)
    assert manager.sample_memory == 0 and manager.handles == []
    assert manager.table.instruments == {}


def test_readers_see_whole_tables_while_a_writer_publishes(kit):
    manager = DownloadManager()
    wave = kit.regions[0].wave
    manager.download(build_wave_download(wave, 1))
    stop = threading.Event()
    seen: list[tuple[int, int]] = []

    def engine():
        while not stop.is_set():
            table = manager.table  # one read per "block"
            seen.append((table.generation, len(table.instruments)))

    thread = threading.Thread(target=engine)
    thread.start()
    try:
        for n in range(200):
            inst = Instrument(make_patch(n % 128), f"i{n}", kit.regions)
            handle = manager.download(build_instrument_download(inst, 1000 + n, {id(wave): 1}))
            if n % 2:
                manager.unload(handle)
    finally:
        stop.set()
        thread.join()
    generations = [g for g, _ in seen]
    assert generations == sorted(generations)  # tables only move forward
    assert all(count <= 128 for _, count in seen)


# -- one copy of the samples: the engine's pool --------------------------------------------------
def _pooled(manager):
    """Every wave the manager holds, by the wave's object id."""
    return {id(e.wave): e.wave for e in manager._held()}


def test_downloaded_samples_live_only_in_the_engine_pool():
    bank = sample_bank()
    engine = Engine(pool_samples=64)  # tiny: the downloads make the pool grow several times
    manager = DownloadManager()
    manager.attach(engine)
    download_instruments(manager, list(bank.instruments.values()))
    waves = _pooled(manager)
    assert len(waves) >= 3
    for wave in waves.values():
        # a view of the pool as it is now (no stale view keeps an older array alive)
        assert wave.samples.base is engine.pool.array and not wave.samples.flags.owndata
    frames = sum(w.frames for w in waves.values())
    assert engine.pool.used == L.GUARD + frames + L.GUARD * len(waves)  # each wave once
    assert manager.sample_memory == 4 * frames
    originals = [r.wave for i in bank.instruments.values() for r in i.regions]
    for wave in waves.values():  # 16-bit data survives the round trip exactly
        assert any(np.array_equal(wave.samples, w.samples) for w in originals)


def test_first_notes_find_downloaded_waves_in_place():
    bank = sample_bank()
    engine = Engine()
    manager = DownloadManager()
    manager.attach(engine)
    download_instruments(manager, list(bank.instruments.values()))
    used = engine.pool.used
    for wave in _pooled(manager).values():
        offset = engine.pool.add_wave(wave.samples)  # what a voice's first note asks
        assert np.shares_memory(engine.pool.view(offset, wave.frames), wave.samples)
    assert engine.pool.used == used


def test_a_freed_wave_gives_its_pool_span_to_the_next_download(kit):
    engine = Engine()
    manager = DownloadManager()
    manager.attach(engine)
    wave_handle, inst_handle = _load(manager, kit)
    manager.engine_uses(manager.table.generation)  # the engine can reach the kit
    wave = manager.table.find(kit.patch).regions[0].wave
    used, frames = engine.pool.used, wave.frames
    manager.unload(inst_handle)
    manager.unload(wave_handle)
    assert wave.frames == frames and engine.pool.used == used  # still reachable
    manager.engine_uses(manager.table.generation)
    assert manager.collect() == 4 * frames and wave.frames == 0
    assert engine.pool.used == L.GUARD and not engine.pool.array[:used].any()
    _load(manager, kit, wave_id=3, inst_id=4)
    assert engine.pool.used == used  # the same span again, not a second one


def test_a_wave_a_voice_still_plays_keeps_its_pool_span(kit):
    engine = Engine()
    manager = DownloadManager()
    manager.attach(engine)
    wave_handle, inst_handle = _load(manager, kit)
    wave = manager.table.find(kit.patch).regions[0].wave
    offset = engine.pool.add_wave(wave.samples)
    data = wave.samples.copy()
    wave.acquire()  # a voice plays it
    manager.unload(inst_handle)
    manager.unload(wave_handle)
    manager.engine_uses(manager.table.generation)
    assert manager.collect() == 0
    _load(manager, kit, wave_id=3, inst_id=4)  # a new download must not land on it
    assert np.array_equal(engine.pool.view(offset, len(data)), data)
    wave.release()
    assert manager.collect() == data.nbytes
    assert not engine.pool.array[offset : offset + len(data)].any()


def test_a_new_engine_gets_the_samples_and_the_old_pool_is_let_go(kit):
    old = Engine()
    manager = DownloadManager()
    manager.attach(old)
    _load(manager, kit)
    wave = manager.table.find(kit.patch).regions[0].wave
    data = wave.samples.copy()
    old_pool = weakref.ref(old.pool.array)
    new = Engine()
    manager.attach(new)  # a re-opened synth
    assert wave.samples.base is new.pool.array and np.array_equal(wave.samples, data)
    del old
    gc.collect()
    assert old_pool() is None  # no view of it is left


def test_a_refused_download_leaves_the_pool_as_it_was(kit):
    engine = Engine()
    manager = DownloadManager()
    manager.attach(engine)
    _load(manager, kit)
    used = engine.pool.used
    with pytest.raises(PropertyError):  # the same dwDLId again
        manager.download(build_wave_download(kit.regions[0].wave, 1))
    bad = bytearray(build_wave_download(kit.regions[0].wave, 7))
    bad[12:16] = (len(bad) + 1).to_bytes(4, "little")  # cbSize past the buffer
    with pytest.raises(BankError):
        manager.download(bytes(bad))
    assert engine.pool.used == used and engine.pool.free == 0
