"""Each action a person takes, with its writes and its audit row in one transaction.

And what follows one: the front desk told about a new submission (notifications).
"""
