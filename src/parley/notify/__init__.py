"""Notifications: deciding who hears of a stored message apart from delivering it.

The worker (``parley worker notify`` in a cluster, in-process in the embedded default)
reads the message log and decides; each channel (in-app inbox, e-mail, Web Push)
delivers through the small interface in ``base``.
"""
