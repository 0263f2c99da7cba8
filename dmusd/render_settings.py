"""RenderSettings: how an offline render is set up, checked once, for every way to render.

`dmusd render` (one file or a batch), the Python API (dmusd.Synth) and the Dask path build their
synth from one of these. It is a small frozen record, so it can cross to worker processes (a
batch's pool, a Dask cluster) and each worker opens the same synth from it. Errors name the key
the user typed: the Python keyword by default, the CLI option when the CLI passes its names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dmusd.config import PinConfig
from dmusd.errors import ConfigError

MAX_LENGTH = 4 * 3600.0  # seconds: the longest output by default


@dataclass(slots=True, frozen=True)
class RenderSettings:
    banks: tuple[str, ...] = ()  # in order, later override earlier; () = the default GM bank
    rate: int = 48000
    voices: int = 256
    interpolation: str = "cubic"  # linear | cubic | sinc
    effects: bool = True  # reverb and chorus
    volume_db: float = 0.0  # KSPROPERTY_SYNTH_VOLUME, -200..20
    block: int = 4096  # frames per Render call (the output depends on it by rounding only; fewer
    # calls cost less Python: a short song renders in a quarter less CPU than at 1024)
    sample_memory_mb: int = 0  # MiB the banks' samples may take; 0 = as a pin's default
    max_length: float = MAX_LENGTH  # seconds: a longer song is cut

    def pin_config(self) -> PinConfig:
        return PinConfig(
            "render",
            voices=self.voices,
            banks=self.banks,
            interpolation=self.interpolation,
            reverb=self.effects,
            chorus=self.effects,
            volume_db=self.volume_db,  # KSPROPERTY_SYNTH_VOLUME, as a DirectMusic client sets it
            sample_memory_mb=self.sample_memory_mb,
        )

    def check(self, keys: Mapping[str, str] | None = None) -> None:
        """ConfigError for the first setting out of range, named by keys[field] (else the
        field's name). The synth volume is checked by the pin that sets it."""
        from dmusd.pin import synth_config
        from dmusd.synth.stream import INTERPOLATION

        keys = keys or {}

        def fail(field: str, message: str) -> ConfigError:
            return ConfigError(message, key=keys.get(field, field))

        if isinstance(self.block, bool) or not isinstance(self.block, int) or self.block < 1:
            raise fail("block", f"block size {self.block} must be at least 1 frame")
        if self.sample_memory_mb < 0:
            raise fail("sample_memory_mb", f"{self.sample_memory_mb} MiB is negative")
        if not self.max_length > 0:
            raise fail("max_length", f"{self.max_length} must be a positive number of seconds")
        if self.interpolation not in INTERPOLATION:
            raise fail(
                "interpolation",
                f"unknown interpolation {self.interpolation!r}: use one of "
                f"{', '.join(sorted(INTERPOLATION))}",
            )
        try:
            synth_config(self.pin_config(), self.rate)  # rate and voices
        except ConfigError as error:
            raise fail(error.key or "", error.message) from None
