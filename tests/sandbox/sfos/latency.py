"""Emulated WAN latency for a fleet: one round-trip time per firewall, drawn from a seeded distribution.

``options.latency`` of the sfos emulator (README "Latency"), for example::

    {"rtt_ms": {"distribution": "lognormal", "median": 80, "sigma": 0.6, "min": 20, "max": 300},
     "get_ms": 50, "set_ms": 500, "seed": 17}

``rtt_ms`` may also be a plain number (every firewall the same) or ``{"distribution": "uniform", "min", "max"}``.
The same seed gives every firewall the same round-trip time in every run.
"""

import math
import random

# The figures `make bench-latency` uses. None is public for SFOS; README "Latency" says where each comes from.
DEFAULT_LATENCY = {"rtt_ms": {"distribution": "lognormal", "median": 80, "sigma": 0.6, "min": 20, "max": 300},
                   "get_ms": 50, "set_ms": 500, "seed": 17}
DISTRIBUTIONS = ("uniform", "lognormal")


def _draw(rng, spec):
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return float(spec)
    low, high = float(spec["min"]), float(spec["max"])
    if not 0 <= low <= high:
        raise ValueError("rtt_ms needs 0 <= min <= max, got %s" % spec)
    distribution = spec.get("distribution", "uniform")
    if distribution == "uniform":
        return rng.uniform(low, high)
    if distribution == "lognormal":
        # Truncated, not clipped: drawing again keeps the bounds from piling up probability.
        for dummy in range(1000):
            value = rng.lognormvariate(math.log(float(spec["median"])), float(spec["sigma"]))
            if low <= value <= high:
                return value
        raise ValueError("rtt_ms: median %s and sigma %s almost never fall in [%s, %s]" % (
            spec["median"], spec["sigma"], low, high))
    raise ValueError("rtt_ms distribution must be one of %s, got %r" % (DISTRIBUTIONS, distribution))


def fleet_latency(count, options):
    """One ``{rtt_ms, get_ms, set_ms}`` per firewall (all 0 without ``options``)."""
    if not options:
        return [{} for dummy in range(count)]
    rng = random.Random(options.get("seed", 0))
    rtt_spec = options.get("rtt_ms", 0)
    return [{"rtt_ms": round(_draw(rng, rtt_spec), 1), "get_ms": float(options.get("get_ms", 0)),
             "set_ms": float(options.get("set_ms", 0))} for dummy in range(count)]
