"""The names of the check kinds, in the order ``probe --only`` lists them.

A module of its own so that the command line can name them in ``--help``
without importing the parameter classes (creating a dozen dataclasses costs
about 10 ms of start-up). tests/test_probe_plan.py holds it equal to the
``KIND`` of every parameter class.
"""

KINDS: tuple[str, ...] = (
    "dns",
    "tcp",
    "syn",
    "ntp",
    "tls",
    "stun",
    "sip",
    "pac",
    "proxy",
    "path",
    "sniff",
    "note",
)
