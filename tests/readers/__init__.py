"""Independent readers of rendered configurations, one module per dialect.

Each reader parses a target's text the way the device (or shell) would and
evaluates packets against it from the vendor's documented semantics. They
know nothing of the renderers (nothing here imports nhn_appliance.render),
so a renderer that misunderstands its dialect fails the tests that compare
a reader's verdicts with ``explain``.
"""
