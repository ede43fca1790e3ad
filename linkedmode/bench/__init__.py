"""Benchmarks that measure the emulator through the same servers and calls its users drive."""
