"""The command line. gRPC's own C-core logging is silenced here: the commands say what went wrong."""

import os

os.environ.setdefault("GRPC_VERBOSITY", "NONE")
