"""Everything that talks to the network: name pinning now, the site probes later.

Each module here imports its network libraries itself, so the command line
pays for them only when a probe runs.
"""
