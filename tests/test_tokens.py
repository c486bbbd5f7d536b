from playground.tokens import TokenBucket


def test_bucket_spends_refills_and_caps():
    bucket = TokenBucket(rate=50, burst=100, now=0.0)
    assert all(bucket.take(0.0) for _ in range(100))
    assert not bucket.take(0.0)
    assert bucket.due(0.0) == 0.02
    assert bucket.take(0.02)
    assert bucket.refill(1000.0) == 100  # never more than the burst
    assert not TokenBucket(1, 1, now=5.0, tokens=0).take(5.5)
    assert TokenBucket(1, 1, now=5.0, tokens=0).take(6.0)


def test_time_going_backwards_adds_nothing():
    bucket = TokenBucket(rate=10, burst=10, now=10.0, tokens=0)
    assert bucket.refill(9.0) == 0


def test_reservations_go_into_debt_and_are_served_in_order_at_the_rate():
    bucket = TokenBucket(rate=10, burst=2, now=0.0)
    assert [bucket.reserve(0.0) for _ in range(5)] == [0.0, 0.0, 0.1, 0.2, 0.3]
    assert bucket.reserve(0.3) == 0.1  # the debt paid down meanwhile: behind one more
    assert bucket.reserve(10.0) == 0.0 and bucket.tokens == 1.0  # and never saved beyond the burst
