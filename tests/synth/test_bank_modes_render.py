"""Bank select by mode, heard through `dmusd render`: after GM2 System On, MSB 120 is a drum kit
and MSB 121 a melodic variation (a missing one plays its capital tone and is no missed patch);
XG MSB 127 a drum kit and MSB 126 an SFX kit; GM and GS as before."""

from __future__ import annotations

import math

import pytest

from dmusd.banks.dls_writer import save_dls
from dmusd.banks.model import make_patch

from .song_render import GM2_ON, XG_ON, cc, note_off, note_on, pitch_at, program, render
from .test_stream import bank_of, instrument, region, sine

# periods of the test sines at 44 kHz, played at key 69: which instrument sounds is its pitch
MELODIC, KIT, VARIATION, KIT_8, SFX = 100, 50, 80, 25, 40


def hz(period: int) -> float:
    return 44000 / period


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    path = tmp_path_factory.mktemp("bank") / "modes.dls"
    save_dls(
        bank_of(
            instrument(make_patch(0), region(sine(MELODIC))),
            instrument(make_patch(0, drum=True), region(sine(KIT))),
            instrument(make_patch(8, drum=True), region(sine(KIT_8))),
            instrument(make_patch(0, 121, 1), region(sine(VARIATION))),
            instrument(make_patch(0, 126, drum=True), region(sine(SFX))),
        ),
        path,
    )
    return path


def sounds(x, start: float, period: int) -> bool:
    """The note at [start, start + 0.4) s is the sine of that period (A4 = its unity note)."""
    key = 69 + 12 * math.log2(hz(period) / 440.0)
    return abs(pitch_at(x, start + 0.05, start + 0.4, key)) < 2


def select(seconds: float, msb: int, lsb: int, prog: int, ch: int = 0) -> list:
    return [(seconds, cc(0, msb, ch)), (seconds, cc(32, lsb, ch)), (seconds, program(prog, ch))]


def notes(*starts: float, ch: int = 0) -> list:
    return [e for t in starts for e in ((t, note_on(69, ch=ch)), (t + 0.45, note_off(69, ch=ch)))]


def test_gm2_bank_select_drum_kits_and_variations(tmp_path, bank, capsys):
    events = [(0.0, GM2_ON), *select(0.1, 120, 0, 8), *notes(0.1),  # MSB 120: kit 8
              *select(0.6, 121, 1, 0), *notes(0.6),  # MSB 121 LSB 1: the variation
              *select(1.1, 121, 5, 0), *notes(1.1),  # no LSB 5: the capital tone
              *select(1.6, 121, 0, 0, ch=9), *notes(1.6, ch=9),  # channel 10 melodic by MSB 121
              *select(2.1, 120, 0, 0, ch=9), *notes(2.1, ch=9)]  # fmt: skip
    x = render(tmp_path, bank, events)
    err = capsys.readouterr().err
    assert sounds(x, 0.1, KIT_8)
    assert sounds(x, 0.6, VARIATION)
    assert sounds(x, 1.1, MELODIC)
    assert sounds(x, 1.6, MELODIC)
    assert sounds(x, 2.1, KIT)
    assert "0 missed patches" in err


def test_without_gm2_on_msb_120_is_a_bank_nobody_has(tmp_path, bank, capsys):
    events = [*select(0.1, 120, 0, 0), *notes(0.1)]
    x = render(tmp_path, bank, events)
    assert sounds(x, 0.1, MELODIC)  # GM: a melodic bank 120, falling back to bank 0
    assert "1 missed patches" in capsys.readouterr().err


def test_xg_msb_127_is_a_drum_kit_and_126_an_sfx_kit(tmp_path, bank):
    events = [(0.0, XG_ON), *select(0.1, 127, 0, 8), *notes(0.1),
              *select(0.6, 126, 0, 0), *notes(0.6), *select(1.1, 0, 0, 0), *notes(1.1)]  # fmt: skip
    x = render(tmp_path, bank, events)
    assert sounds(x, 0.1, KIT_8)
    assert sounds(x, 0.6, SFX)
    assert sounds(x, 1.1, MELODIC)
