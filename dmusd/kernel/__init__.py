"""The port-driver side of the DMus model: events, allocator, IMXF nodes, clocks, port, properties.

Nothing here does audio I/O. Names follow the DDI (dmusicks.h / dmusprop.h) so that the code and
the DDK documentation explain each other.
"""
