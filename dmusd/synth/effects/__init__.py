"""Send effects fed by the engine's buses: a Freeverb-class stereo reverb and a stereo chorus."""
