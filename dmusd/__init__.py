"""dmusd: a real-time software synthesizer daemon on the DirectMusic DMus port/miniport model."""

from dmusd.user_cache import use_numba_cache

__version__ = "0.1.0"

# before any dmusd module can import numba, which reads its cache folder once (user_cache.py)
use_numba_cache()
