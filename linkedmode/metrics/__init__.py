"""Prometheus metrics of each part (vCenter and host), each in a registry of its own, served on a port
of its own: several parts in one process never share a metric."""
