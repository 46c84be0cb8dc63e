"""The gateway's front door: who is calling (auth), and the limits every request meets."""
