"""A migration's life on the vCenter side: its spec, admission, the source's state machine, the
arrivals side, and the one settle (finish or undo) that the live path and recovery share.

Nothing here imports the VCenter class: each piece gets what it needs through `ports.VCenterParts`.
"""
