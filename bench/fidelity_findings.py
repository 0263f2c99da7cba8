"""What the measurements mean: the hand-written findings section of the fidelity report."""

FINDINGS = """## Findings

(to be written from the measured results)
"""
