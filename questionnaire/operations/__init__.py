"""Each action a person takes, with its writes and its audit row in one transaction; and what follows one (notifications)."""
