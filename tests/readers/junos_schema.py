"""The JunOS statements the rendered set lines may use, as a tree with typed values.

Written from Juniper's configuration statement references (``[edit firewall family
inet filter]``, ``[edit security policies]`` / ``zones`` / ``address-book`` /
``nat source``, ``[edit applications]``, ``[edit class-of-service]``), so a
misspelt statement or a value of the wrong type fails the reader as ``commit
check`` would fail the device. Only the statements this project uses are listed:
anything else is an error, on purpose.
"""

from __future__ import annotations

import ipaddress
import re

NAME = "<name>"


def _prefix(word: str) -> bool:
    try:
        ipaddress.ip_network(word, strict=True)
    except ValueError:
        return False
    return "/" in word


def _ports(word: str) -> bool:
    m = re.fullmatch(r"(\d+)(?:-(\d+))?", word)
    return bool(m) and int(m[1]) <= int(m[2] or m[1]) <= 65535


TYPES = {
    NAME: lambda w: bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,62}", w)),
    "<ifd>": lambda w: bool(re.fullmatch(r"[a-z]+[0-9]*(-\d+/\d+/\d+)?", w)),
    "<unit>": lambda w: bool(re.fullmatch(r"[a-z]+[0-9]*(-\d+/\d+/\d+)?\.\d+", w)),
    "<num>": str.isdigit,
    "<family>": lambda w: w in ("inet", "inet6"),
    "<prefix>": _prefix,
    "<l4>": lambda w: w in ("tcp", "udp", "icmp", "icmp6"),
    "<ports>": _ports,
    "<code-point>": lambda w: bool(re.fullmatch(r"[01]{6}|be|ef|cs[1-7]|af[1-4][1-3]", w)),
    "<dscp-kind>": lambda w: w in ("dscp", "dscp-ipv6"),
    "<loss>": lambda w: w in ("low", "medium-low", "medium-high", "high"),
    "<service>": lambda w: w in ("all", "dhcp", "dhcpv6", "ping", "traceroute", "ssh", "https"),
    "<protocol>": lambda w: w in ("all", "bgp", "ospf", "ospf3", "router-discovery", "vrrp"),
    "<rate>": lambda w: bool(re.fullmatch(r"\d+[kmg]?", w)),
}

LEAF: dict = {}
FROM = {
    "source-address": {"<prefix>": LEAF},
    "destination-address": {"<prefix>": LEAF},
    "source-prefix-list": {NAME: LEAF},
    "destination-prefix-list": {NAME: LEAF},
    "protocol": {"<l4>": LEAF},
    "next-header": {"<l4>": LEAF},
    "destination-port": {"<ports>": LEAF},
    "tcp-established": LEAF,
}
THEN = {
    "accept": LEAF,
    "discard": LEAF,
    "reject": {"": LEAF, "tcp-reset": LEAF},
    "count": {NAME: LEAF},
    "forwarding-class": {NAME: LEAF},
    "dscp": {"<code-point>": LEAF},
    "traffic-class": {"<code-point>": LEAF},
    "next": {"term": LEAF},
}
CODE_POINTS = {NAME: {"forwarding-class": {NAME: {"loss-priority": {"<loss>": {}}}}}}
SCHEMA = {
    "interfaces": {
        "<ifd>": {
            "unit": {
                "<num>": {
                    "family": {
                        "<family>": {"filter": {"input": {NAME: LEAF}, "output": {NAME: LEAF}}}
                    }
                }
            }
        }
    },
    "firewall": {
        "family": {"<family>": {"filter": {NAME: {"term": {NAME: {"from": FROM, "then": THEN}}}}}}
    },
    "policy-options": {"prefix-list": {NAME: {"<prefix>": LEAF}}},
    "applications": {
        "application": {NAME: {"protocol": {"<l4>": LEAF}, "destination-port": {"<ports>": LEAF}}}
    },
    "security": {
        "address-book": {
            NAME: {
                "address": {NAME: {"<prefix>": LEAF}},
                "address-set": {NAME: {"address": {NAME: LEAF}}},
                "attach": {"zone": {NAME: LEAF}},
            }
        },
        "zones": {
            "security-zone": {
                NAME: {
                    "interfaces": {
                        "<unit>": {
                            "host-inbound-traffic": {
                                "system-services": {"<service>": LEAF},
                                "protocols": {"<protocol>": LEAF},
                            }
                        }
                    }
                }
            }
        },
        "policies": {
            "default-policy": {"deny-all": LEAF, "permit-all": LEAF},
            "from-zone": {
                NAME: {
                    "to-zone": {
                        NAME: {
                            "policy": {
                                NAME: {
                                    "match": {
                                        "source-address": {NAME: LEAF},
                                        "destination-address": {NAME: LEAF},
                                        "application": {NAME: LEAF},
                                    },
                                    "then": {
                                        "permit": LEAF,
                                        "deny": LEAF,
                                        "reject": LEAF,
                                        "count": LEAF,
                                    },
                                }
                            }
                        }
                    }
                }
            },
        },
        "nat": {
            "source": {
                "rule-set": {
                    NAME: {
                        "from": {"zone": {NAME: LEAF}},
                        "to": {"zone": {NAME: LEAF}},
                        "rule": {
                            NAME: {
                                "match": {"source-address": {"<prefix>": LEAF}},
                                "then": {"source-nat": {"interface": LEAF}},
                            }
                        },
                    }
                }
            }
        },
    },
    "class-of-service": {
        "forwarding-classes": {"class": {NAME: {"queue-num": {"<num>": LEAF}}}},
        "classifiers": {"<dscp-kind>": CODE_POINTS},
        "rewrite-rules": {"<dscp-kind>": CODE_POINTS},
        "schedulers": {
            NAME: {
                "transmit-rate": {
                    "percent": {"<num>": {"": LEAF, "exact": LEAF}},
                    "remainder": LEAF,
                },
                "priority": {"strict-high": LEAF},
            }
        },
        "scheduler-maps": {NAME: {"forwarding-class": {NAME: {"scheduler": {NAME: LEAF}}}}},
        "interfaces": {
            "<ifd>": {
                "scheduler-map": {NAME: LEAF},
                "shaping-rate": {"<rate>": LEAF},
                "unit": {
                    "<num>": {
                        "classifiers": {"<dscp-kind>": {NAME: LEAF}},
                        "rewrite-rules": {"<dscp-kind>": {NAME: LEAF}},
                    }
                },
            }
        },
    },
}
# code points of classifiers (a list) and of rewrite rules (one)
SCHEMA["class-of-service"]["classifiers"]["<dscp-kind>"][NAME]["forwarding-class"][NAME][
    "loss-priority"
]["<loss>"] = {"code-points": {"<code-point>": LEAF}}
SCHEMA["class-of-service"]["rewrite-rules"]["<dscp-kind>"] = {
    NAME: {
        "forwarding-class": {
            NAME: {"loss-priority": {"<loss>": {"code-point": {"<code-point>": LEAF}}}}
        }
    }
}


def check(path: list[str], whole: bool) -> None:
    """Raise AssertionError unless ``path`` is a statement of the schema (``whole``: down to
    a leaf, as a set line must be; else any prefix, as a delete may name)."""
    node = SCHEMA
    for n, word in enumerate(path):
        if word in node and word:
            node = node[word]
            continue
        typed = [k for k in node if k.startswith("<") and TYPES[k](word)]
        assert typed, f"unknown statement or bad value {word!r} after {' '.join(path[:n])!r}"
        node = node[typed[0]]
    assert not whole or not node or "" in node, f"incomplete statement: {' '.join(path)!r}"
