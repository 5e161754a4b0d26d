"""Everything that touches the network: name pinning, the probe plan, runner and probers.

Each module here imports its network libraries itself, so the command line
pays for them only when a probe runs.
"""
