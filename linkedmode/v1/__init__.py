"""Generated from protos/linkedmode/v1 by scripts/generate_protos.py. Do not edit."""
