"""The edges of dmusd: audio sinks (the file sink for offline render; PortAudio and null sinks to
come), MIDI ports, the control socket."""
