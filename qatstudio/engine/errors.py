"""The base of every error a user can fix by changing something: its message says what."""
from __future__ import annotations


class UserError(Exception):
    """An error whose message tells the user what to change. ``title`` heads it in the window;
    '{task}' in it stands for the work that failed ("Compile failed")."""

    title = "{task} failed"

    def words(self) -> str:
        """The message, as one paragraph."""
        return str(self)
