"""The retry decision and loop: bounded, honours Retry-After, never sleeps for real."""

import datetime
import email.utils

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils._retry import (
    RetryPolicy,
    next_delay,
    retry_after_seconds,
    send_with_retries,
)


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self):
        return self.now


class Reply:
    def __init__(self, status, headers=None):
        self.status_code = status
        self.headers = headers or {}


def policy(clock, **kwargs):
    return RetryPolicy(sleep=clock.sleep, clock=clock.clock, random=lambda: 1.0, **kwargs)


def replies(*answers):
    """send() answering from ``answers`` (a status, or a (status, headers) pair), and the list of calls made."""
    queue = [Reply(*answer) if isinstance(answer, tuple) else Reply(answer) for answer in answers]
    calls = []

    def send():
        calls.append(1)
        return queue.pop(0)
    return send, calls


@pytest.mark.parametrize("value, expected", [
    ("7", 7.0),
    ("0", 0.0),
    ("-3", 0.0),
    ("soon", None),
    (None, None),
], ids=["seconds", "zero", "negative-means-now", "garbage-is-ignored", "absent"])
def test_retry_after_seconds(value, expected):
    assert retry_after_seconds({"Retry-After": value} if value is not None else {}) == expected


def test_retry_after_as_http_date_counts_from_now():
    when = datetime.datetime(2026, 11, 25, 12, 0, 30, tzinfo=datetime.timezone.utc)
    now = datetime.datetime(2026, 11, 25, 12, 0, 0, tzinfo=datetime.timezone.utc).timestamp()
    assert retry_after_seconds({"Retry-After": email.utils.format_datetime(when, usegmt=True)}, now=now) == 30


def test_backoff_doubles_up_to_the_cap_with_jitter_between_half_and_full():
    low = RetryPolicy(base_delay=1, max_delay=8, random=lambda: 0.0)
    high = RetryPolicy(base_delay=1, max_delay=8, random=lambda: 1.0)
    assert [high.backoff(n) for n in range(1, 6)] == [1, 2, 4, 8, 8]
    assert [low.backoff(n) for n in range(1, 6)] == [0.5, 1, 2, 4, 4]


@pytest.mark.parametrize("attempt, elapsed, retry_after, expected", [
    (1, 0, None, 1.0),
    (1, 0, 5, 5),
    (3, 0, 1, 4.0),
    (6, 0, None, None),
    (2, 119, None, None),
    (1, 0, 500, None),
], ids=["first-backoff", "retry-after-wins-when-longer", "backoff-wins-when-longer", "attempts-exhausted",
        "budget-exhausted", "retry-after-beyond-budget-stops-now"])
def test_next_delay(attempt, elapsed, retry_after, expected):
    assert next_delay(RetryPolicy(random=lambda: 1.0), attempt, elapsed, retry_after) == expected


def test_throttled_twice_then_ok_sleeps_as_told():
    clock = FakeClock()
    send, calls = replies((429, {"Retry-After": "3"}), (503, {}), 200)
    response, attempts = send_with_retries(send, policy(clock))
    assert (response.status_code, attempts, len(calls)) == (200, 3, 3)
    assert clock.sleeps == [3.0, 2.0]


def test_gives_up_after_max_attempts_and_returns_the_last_reply():
    clock = FakeClock()
    send, calls = replies(*([429] * 10))
    response, attempts = send_with_retries(send, policy(clock, max_attempts=4))
    assert (response.status_code, attempts, len(calls)) == (429, 4, 4)
    assert len(clock.sleeps) == 3


def test_total_budget_bounds_the_time_spent():
    clock = FakeClock()
    send, dummy = replies(*([(503, {"Retry-After": "20"})] * 10))
    response, attempts = send_with_retries(send, policy(clock, max_attempts=10, total_seconds=50))
    assert response.status_code == 503
    assert sum(clock.sleeps) <= 50
    assert attempts == 3


def test_not_retryable_status_returns_at_once():
    clock = FakeClock()
    send, calls = replies(404, 200)
    response, attempts = send_with_retries(send, policy(clock))
    assert (response.status_code, attempts, len(calls), clock.sleeps) == (404, 1, 1, [])


def test_caller_decides_extra_retryable_cases():
    clock = FakeClock()
    send, dummy = replies(404, 404, 201)
    response, attempts = send_with_retries(send, policy(clock), retry_on=lambda r: r.status_code in (404, 429))
    assert (response.status_code, attempts) == (201, 3)
