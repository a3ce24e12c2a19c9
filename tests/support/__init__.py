"""Helpers the whole test suite shares: waiting on conditions, free ports, databases, real servers."""
