"""linkedmode: vCenter Servers in Enhanced Linked Mode and their ESXi hosts, emulated, with real encrypted vMotion."""

__version__ = "0.1.0"
