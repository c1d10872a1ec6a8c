# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one place that decides whether and when a request is tried again.

Usage::

    policy = RetryPolicy(max_attempts=6, total_seconds=120)          # tests: RetryPolicy(sleep=fake.sleep, ...)
    response, attempts = send_with_retries(
        lambda: session.get(url), policy, retry_on=throttled)         # retry_on(response) -> bool
    if response.status_code >= 400:
        raise SomeError("... after %d tries" % attempts)

``next_delay()`` is the pure decision: given the attempt number, the time spent and what the server said
(Retry-After), it returns how long to wait, or None to stop. 429, 503 and 504 are retryable everywhere; callers
add their own cases (Graph's 404 right after a create) through ``retry_on``.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass, field
from typing import Callable

RETRYABLE_STATUS = frozenset((429, 503, 504))


@dataclass
class RetryPolicy:
    """How often and how long to retry. ``sleep``, ``clock`` and ``random`` are injectable so tests never wait."""

    max_attempts: int = 6
    total_seconds: float = 120.0
    base_delay: float = 1.0
    max_delay: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    random: Callable[[], float] = field(default=random.random, repr=False)

    def backoff(self, attempt):
        """Exponential backoff with jitter for the wait after try number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        # "Equal jitter": never less than half the ceiling, so retries cannot bunch up at zero.
        return ceiling / 2 + self.random() * ceiling / 2


NO_RETRIES = RetryPolicy(max_attempts=1)


def retry_after_seconds(headers, now=None):
    """Seconds the server asked us to wait (``Retry-After`` as seconds or an HTTP date), or None."""
    if not headers:
        return None
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def next_delay(policy, attempt, elapsed, retry_after=None):
    """Seconds to wait before try ``attempt + 1``, or None when the policy says stop.

    ``attempt`` is the number of tries made so far, ``elapsed`` the seconds spent since the first one. The server's
    ``Retry-After`` is honoured as a minimum; if honouring it would overrun the total budget, stop now rather than
    sleep and fail anyway.
    """
    if attempt >= policy.max_attempts:
        return None
    delay = policy.backoff(attempt)
    if retry_after is not None:
        delay = max(delay, retry_after)
    if elapsed + delay > policy.total_seconds:
        return None
    return delay


def is_retryable_status(response):
    return getattr(response, "status_code", None) in RETRYABLE_STATUS


def send_with_retries(send, policy, retry_on=is_retryable_status):
    """Call ``send()`` until ``retry_on(response)`` is false or the policy stops; return (response, attempts).

    The last response is returned as it is (possibly still a 429): the caller turns it into its own error and says
    how many tries were made. Exceptions from ``send`` propagate unchanged.
    """
    started = policy.clock()
    attempt = 0
    while True:
        attempt += 1
        response = send()
        if not retry_on(response):
            return response, attempt
        delay = next_delay(policy, attempt, policy.clock() - started,
                           retry_after_seconds(getattr(response, "headers", None)))
        if delay is None:
            return response, attempt
        policy.sleep(delay)
