"""The peer: the same workloads served by python-socketio, installed by the bench itself."""
