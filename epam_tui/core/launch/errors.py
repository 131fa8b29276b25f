"""What a refused launch raises: ``LaunchError``, one line naming the cause and the fix."""


class LaunchError(Exception):
    """Bad launch input; the message is one line naming the cause and the fix."""
