"""Network policy and connectivity diagnostics for Norsk Helsenett customer sites.

The repository's top-level folders ``policy/``, ``probes/``, ``render/`` and
``rules/`` are installed as sub-packages of this one.
"""

__version__ = "0.1.0"
