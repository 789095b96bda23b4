"""The circuit breaker's states, on a clock the test moves."""

from __future__ import annotations

from edgeward.drivers.breaker import BreakerPolicy, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_threshold_probes_after_backoff_and_closes_on_success() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerPolicy(threshold=2, backoff=4.0, backoff_max=10.0), clock)
    assert breaker.suspect and breaker.allow()  # unknown until it answers
    breaker.succeeded()
    assert not breaker.suspect
    breaker.failed()
    assert breaker.suspect and not breaker.is_open and breaker.allow()
    breaker.failed()
    assert breaker.is_open and not breaker.allow()
    assert 2.0 <= breaker.seconds_to_retry() <= 4.0
    clock.now += 4.0
    assert breaker.allow()  # one probe
    breaker.failed()  # the probe failed: the wait doubles (jittered in its upper half)
    assert 4.0 <= breaker.seconds_to_retry() <= 8.0
    clock.now += 8.0
    breaker.failed()
    assert 5.0 <= breaker.seconds_to_retry() <= 10.0  # capped at backoff_max
    breaker.succeeded()
    assert not breaker.is_open and not breaker.suspect and breaker.allow()
    breaker.failed()
    breaker.failed()
    assert breaker.seconds_to_retry() <= 4.0  # the wait starts over after a success
