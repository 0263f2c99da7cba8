"""dmusd: a real-time software synthesizer daemon on the DirectMusic DMus port/miniport model."""

__version__ = "0.1.0"
