"""Helpers the test suite shares: real servers on free loopback ports, a live app, a client."""
