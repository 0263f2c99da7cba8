"""The engine's master-bus stages: a Freeverb-class stereo reverb and a stereo chorus fed by its
send buses, and the master limiter."""

# The stages are compiled into the engine's block call and use its layout, and the engine
# imports them: load the engine first, so importing a stage on its own finds no half-made module.
import dmusd.synth.engine  # noqa: F401
