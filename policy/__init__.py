"""The rules engine: load and validate inputs, compile a site policy, explain and lint it.

Pure code: nothing here touches the network or the kernel.
"""
